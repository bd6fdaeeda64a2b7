//! Numbers to digits, so "twenty one", "21" and "twenty-one" score the same: spelled-out
//! cardinals ("six hundred thousand"), year style ("nineteen ninety five"), decimals ("three
//! point five"), ordinals ("twenty first" = "21st"), and digits with a scale word ("5 million").
//! "first" and "second" alone stay words ("wait a second"); "1st" and "2nd" become them.

/// What a number word contributes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// 0–9
    Unit,
    /// 10–19
    Teen,
    /// 20, 30 … 90
    Tens,
    Hundred,
    /// thousand, million, billion
    Scale,
}

const UNITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const TEENS: [&str; 10] = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [(&str, u64); 3] = [
    ("thousand", 1_000),
    ("million", 1_000_000),
    ("billion", 1_000_000_000),
];

/// Ordinal words whose cardinal is not the word minus "th".
const ORDINALS: [(&str, &str); 9] = [
    ("first", "one"),
    ("second", "two"),
    ("third", "three"),
    ("fifth", "five"),
    ("eighth", "eight"),
    ("ninth", "nine"),
    ("twelfth", "twelve"),
    ("twentieth", "twenty"),
    ("thirtieth", "thirty"),
];

/// (kind, value, ordinal) of a number word.
fn word_value(w: &str) -> Option<(Kind, u64, bool)> {
    if let Some(v) = cardinal(w) {
        return Some((v.0, v.1, false));
    }
    let base = ORDINALS
        .iter()
        .find(|(o, _)| *o == w)
        .map(|(_, c)| c.to_string())
        .or_else(|| {
            // "fortieth" … "ninetieth" and "fourth", "sixth", "hundredth", "thousandth"
            w.strip_suffix("ieth")
                .map(|s| format!("{s}y"))
                .or_else(|| w.strip_suffix("th").map(String::from))
        })?;
    cardinal(&base).map(|(k, v)| (k, v, true))
}

fn cardinal(w: &str) -> Option<(Kind, u64)> {
    let pos = |list: &[&str]| list.iter().position(|x| *x == w).map(|i| i as u64);
    if let Some(i) = pos(&UNITS) {
        return Some((Kind::Unit, i));
    }
    if let Some(i) = pos(&TEENS) {
        return Some((Kind::Teen, 10 + i));
    }
    if let Some(i) = pos(&TENS) {
        return Some((Kind::Tens, 20 + 10 * i));
    }
    if w == "hundred" {
        return Some((Kind::Hundred, 100));
    }
    SCALES
        .iter()
        .find(|(s, _)| *s == w)
        .map(|&(_, v)| (Kind::Scale, v))
}

/// A number being read.
#[derive(Debug)]
struct Reading {
    /// Completed thousand groups.
    total: u64,
    /// The group under construction (below 1000, or a year-style 4-digit value).
    current: u64,
    last: Kind,
    /// The smallest scale used so far ("two million three thousand": scales must fall).
    last_scale: u64,
    decimals: String,
    ordinal: bool,
}

impl Reading {
    fn start(kind: Kind, v: u64) -> Reading {
        let mut r = Reading {
            total: 0,
            current: 0,
            last: Kind::Unit,
            last_scale: u64::MAX,
            decimals: String::new(),
            ordinal: false,
        };
        match kind {
            Kind::Hundred => r.current = 100,
            Kind::Scale => {
                r.total = v;
                r.last_scale = v;
            }
            _ => r.current = v,
        }
        r.last = kind;
        r
    }

    /// Takes the next number word if it continues this number.
    fn push(&mut self, kind: Kind, v: u64) -> bool {
        let after_group = matches!(self.last, Kind::Hundred | Kind::Scale);
        match kind {
            // "twenty" + "one", "hundred" + "five", "thousand" + "twelve"
            Kind::Unit if self.last == Kind::Tens && self.current.is_multiple_of(10) => {
                self.current += v
            }
            Kind::Unit | Kind::Teen | Kind::Tens if after_group => self.current += v,
            // Year style: "nineteen ninety", "twenty twenty"
            Kind::Teen | Kind::Tens
                if self.total == 0
                    && (10..100).contains(&self.current)
                    && matches!(self.last, Kind::Teen | Kind::Tens | Kind::Unit) =>
            {
                self.current = self.current * 100 + v
            }
            Kind::Hundred if (1..100).contains(&self.current) && self.last != Kind::Hundred => {
                self.current *= 100
            }
            Kind::Scale if v < self.last_scale && self.current > 0 => {
                self.total += self.current * v;
                self.current = 0;
                self.last_scale = v;
            }
            _ => return false,
        }
        self.last = kind;
        true
    }

    fn finish(self) -> String {
        let n = self.total + self.current;
        if self.ordinal {
            return ordinal_text(n);
        }
        if self.decimals.is_empty() {
            n.to_string()
        } else {
            format!("{n}.{}", self.decimals)
        }
    }
}

/// 1 → "first", 2 → "second" (see the module doc), otherwise "21st", "3rd", "11th".
fn ordinal_text(n: u64) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        _ => {
            let suffix = match (n % 10, n % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{n}{suffix}")
        }
    }
}

/// A token of digits: "21", "3.5", or an ordinal "21st"; returned in canonical form.
fn digit_token(w: &str) -> Option<String> {
    let digits_end = w
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(w.len());
    let (num, suffix) = w.split_at(digits_end);
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    match suffix {
        "" => Some(num.to_string()),
        "st" | "nd" | "rd" | "th" => num.parse::<u64>().ok().map(ordinal_text),
        _ => None,
    }
}

/// Rewrites number words as digits; every other word passes through.
pub fn to_digits(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut reading: Option<Reading> = None;
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let next = words.get(i + 1).map(String::as_str);
        i += 1;
        if let Some(r) = reading.as_mut() {
            match w {
                // "one hundred and five"
                "and"
                    if matches!(r.last, Kind::Hundred | Kind::Scale)
                        && next.and_then(cardinal).is_some_and(|(k, _)| {
                            matches!(k, Kind::Unit | Kind::Teen | Kind::Tens)
                        }) =>
                {
                    continue;
                }
                "point" if r.decimals.is_empty() && next.and_then(unit).is_some() => {
                    while let Some(d) = words.get(i).and_then(|w| unit(w)) {
                        r.decimals.push_str(&d.to_string());
                        i += 1;
                    }
                    continue;
                }
                _ => {}
            }
            if let Some((kind, v, ordinal)) = word_value(w)
                && r.decimals.is_empty()
                && r.push(kind, v)
            {
                if ordinal {
                    r.ordinal = true;
                    out.push(reading.take().expect("reading").finish());
                }
                continue;
            }
            out.push(reading.take().expect("reading").finish());
        }
        if let Some(d) = digit_token(w) {
            out.push(with_scale(d, next, &mut i));
            continue;
        }
        // "a hundred", "a thousand"
        if w == "a"
            && next
                .and_then(cardinal)
                .is_some_and(|(k, _)| matches!(k, Kind::Hundred | Kind::Scale))
        {
            reading = Some(Reading::start(Kind::Unit, 1));
            continue;
        }
        match word_value(w) {
            Some((_, v, true)) if v <= 2 => out.push(w.to_string()),
            Some((kind, v, ordinal)) => {
                let mut r = Reading::start(kind, v);
                r.ordinal = ordinal;
                if ordinal {
                    out.push(r.finish());
                } else {
                    reading = Some(r);
                }
            }
            None => out.push(w.to_string()),
        }
    }
    if let Some(r) = reading {
        out.push(r.finish());
    }
    out
}

fn unit(w: &str) -> Option<u64> {
    UNITS.iter().position(|u| *u == w).map(|i| i as u64)
}

/// "5" + "million" → "5000000"; "1.5" + "million" → "1500000".
fn with_scale(digits: String, next: Option<&str>, i: &mut usize) -> String {
    let Some((Kind::Scale | Kind::Hundred, scale)) = next.and_then(cardinal) else {
        return digits;
    };
    match digits.parse::<f64>() {
        Ok(x) if (x * scale as f64).fract() == 0.0 => {
            *i += 1;
            format!("{}", (x * scale as f64) as u64)
        }
        _ => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        let words: Vec<String> = s.split_whitespace().map(String::from).collect();
        to_digits(&words).join(" ")
    }

    #[test]
    fn cardinals() {
        assert_eq!(d("zero"), "0");
        assert_eq!(d("seven"), "7");
        assert_eq!(d("thirteen"), "13");
        assert_eq!(d("forty two"), "42");
        assert_eq!(d("one hundred"), "100");
        assert_eq!(d("a hundred"), "100");
        assert_eq!(d("one hundred and five"), "105");
        assert_eq!(d("three hundred twenty one"), "321");
        assert_eq!(d("six hundred thousand"), "600000");
        assert_eq!(d("two million three thousand and one"), "2003001");
        assert_eq!(d("a thousand"), "1000");
        assert_eq!(d("twenty one hundred"), "2100");
    }

    #[test]
    fn separate_numbers_stay_separate() {
        assert_eq!(d("one two three"), "1 2 3");
        assert_eq!(d("four queen of clubs"), "4 queen of clubs");
        assert_eq!(d("platforms one and three"), "platforms 1 and 3");
        assert_eq!(d("eight of spades four of clubs"), "8 of spades 4 of clubs");
        assert_eq!(d("bread and butter"), "bread and butter");
    }

    #[test]
    fn years() {
        assert_eq!(d("nineteen ninety five"), "1995");
        assert_eq!(d("twenty twenty one"), "2021");
        assert_eq!(d("in nineteen eighty"), "in 1980");
    }

    #[test]
    fn decimals() {
        assert_eq!(d("three point five"), "3.5");
        assert_eq!(d("zero point two five"), "0.25");
        assert_eq!(d("the point is"), "the point is");
        assert_eq!(d("one point"), "1 point");
    }

    #[test]
    fn ordinals() {
        assert_eq!(d("third"), "3rd");
        assert_eq!(d("3rd"), "3rd");
        assert_eq!(d("twenty first"), "21st");
        assert_eq!(d("21st"), "21st");
        assert_eq!(d("eleventh"), "11th");
        assert_eq!(d("fortieth"), "40th");
        assert_eq!(d("one hundredth"), "100th");
        assert_eq!(d("twelfth night"), "12th night");
        assert_eq!(d("first"), "first");
        assert_eq!(d("1st"), "first");
        assert_eq!(d("wait a second"), "wait a second");
        assert_eq!(d("2nd"), "second");
        assert_eq!(d("fifth avenue"), "5th avenue");
    }

    #[test]
    fn digits_with_scale_words() {
        assert_eq!(d("5 million"), d("five million"));
        assert_eq!(d("1.5 million"), "1500000");
        assert_eq!(d("10"), "10");
        assert_eq!(d("3.5"), "3.5");
    }

    #[test]
    fn words_that_only_look_like_numbers_pass() {
        assert_eq!(d("someone anyone tenth"), "someone anyone 10th");
        assert_eq!(d("month"), "month");
        assert_eq!(d("with"), "with");
        assert_eq!(d("teeth"), "teeth");
    }
}
