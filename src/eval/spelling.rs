//! British spellings to American ones, so "colour" and "color" score the same. whisper's
//! English models write American spelling; some references are British. Stems with their
//! regular endings cover most inflections ("organis" + "ed" → "organized"); a short list of
//! whole words covers the rest.

/// (British stem, American stem, endings that may follow). An ending list keeps a stem from
/// matching unrelated words ("realis" must not turn "realistic" into "realiztic").
const STEMS: &[(&str, &str, &[&str])] = &[
    // -our → -or
    ("colour", "color", OUR),
    ("favour", "favor", OUR),
    ("honour", "honor", OUR),
    ("labour", "labor", OUR),
    ("neighbour", "neighbor", OUR),
    ("behaviour", "behavior", OUR),
    ("flavour", "flavor", OUR),
    ("humour", "humor", OUR),
    ("harbour", "harbor", OUR),
    ("rumour", "rumor", OUR),
    ("vapour", "vapor", OUR),
    ("savour", "savor", OUR),
    ("armour", "armor", OUR),
    ("endeavour", "endeavor", OUR),
    ("odour", "odor", OUR),
    ("parlour", "parlor", OUR),
    ("vigour", "vigor", OUR),
    ("valour", "valor", OUR),
    ("splendour", "splendor", OUR),
    ("clamour", "clamor", OUR),
    ("tumour", "tumor", OUR),
    // -ise → -ize (and -yse → -yze)
    ("organis", "organiz", ISE),
    ("recognis", "recogniz", ISE),
    ("realis", "realiz", ISE),
    ("apologis", "apologiz", ISE),
    ("criticis", "criticiz", ISE),
    ("emphasis", "emphasiz", &["e", "es", "ed", "ing"]),
    ("specialis", "specializ", ISE),
    ("summaris", "summariz", ISE),
    ("memoris", "memoriz", ISE),
    ("prioritis", "prioritiz", ISE),
    ("minimis", "minimiz", ISE),
    ("maximis", "maximiz", ISE),
    ("categoris", "categoriz", ISE),
    ("utilis", "utiliz", ISE),
    ("authoris", "authoriz", ISE),
    ("standardis", "standardiz", ISE),
    ("finalis", "finaliz", ISE),
    ("visualis", "visualiz", ISE),
    ("civilis", "civiliz", ISE),
    ("symbolis", "symboliz", ISE),
    ("sympathis", "sympathiz", ISE),
    ("characteris", "characteriz", ISE),
    ("initialis", "initializ", ISE),
    ("normalis", "normaliz", ISE),
    ("optimis", "optimiz", ISE),
    ("customis", "customiz", ISE),
    ("synchronis", "synchroniz", ISE),
    ("agonis", "agoniz", ISE),
    ("analys", "analyz", &["e", "es", "ed", "ing", "er", "ers"]),
    ("paralys", "paralyz", &["e", "es", "ed", "ing"]),
    // -re → -er
    ("centre", "center", RE),
    ("metre", "meter", RE),
    ("theatre", "theater", RE),
    ("litre", "liter", RE),
    ("fibre", "fiber", RE),
    ("calibre", "caliber", RE),
    ("sombre", "somber", &[""]),
    ("spectre", "specter", RE),
    ("lustre", "luster", RE),
    ("meagre", "meager", &[""]),
    ("sabre", "saber", RE),
    ("manoeuvre", "maneuver", RE),
    // -ence → -ense
    ("defence", "defense", &["", "s", "less"]),
    ("offence", "offense", &["", "s"]),
    ("pretence", "pretense", &["", "s"]),
    ("licence", "license", &["", "s"]),
    // doubled l
    ("travell", "travel", LL),
    ("cancell", "cancel", LL),
    ("labell", "label", LL),
    ("modell", "model", LL),
    ("fuell", "fuel", LL),
    ("counsell", "counsel", LL),
    ("signall", "signal", LL),
    ("quarrell", "quarrel", LL),
    ("marvell", "marvel", &["ous", "ously"]),
    // ae / oe
    (
        "anaesthe",
        "anesthe",
        &["sia", "tic", "tics", "tist", "tists"],
    ),
    ("paediatric", "pediatric", &["", "s", "ian", "ians"]),
    ("encyclopaedia", "encyclopedia", &["", "s"]),
    ("oesophag", "esophag", &["us", "eal"]),
];

const OUR: &[&str] = &[
    "", "s", "ed", "ing", "ful", "fully", "ite", "ites", "able", "ably", "er", "ers", "hood",
    "less", "ly", "ist", "ists", "y",
];
const ISE: &[&str] = &[
    "e", "es", "ed", "ing", "ation", "ations", "er", "ers", "able",
];
const RE: &[&str] = &["", "s", "d"];
const LL: &[&str] = &["ed", "ing", "er", "ers"];

/// Whole British words and their American spelling.
const WORDS: &[(&str, &str)] = &[
    ("grey", "gray"),
    ("greys", "grays"),
    ("tyre", "tire"),
    ("tyres", "tires"),
    ("programme", "program"),
    ("programmes", "programs"),
    ("cheque", "check"),
    ("cheques", "checks"),
    ("aluminium", "aluminum"),
    ("plough", "plow"),
    ("ageing", "aging"),
    ("judgement", "judgment"),
    ("acknowledgement", "acknowledgment"),
    ("sceptical", "skeptical"),
    ("sceptic", "skeptic"),
    ("storey", "story"),
    ("storeys", "stories"),
    ("pyjamas", "pajamas"),
    ("cosy", "cozy"),
    ("draught", "draft"),
    ("kerb", "curb"),
    ("moustache", "mustache"),
    ("enrol", "enroll"),
    ("fulfil", "fulfill"),
    ("skilful", "skillful"),
    ("wilful", "willful"),
    ("jewellery", "jewelry"),
    ("woollen", "woolen"),
    ("catalogue", "catalog"),
    ("catalogues", "catalogs"),
    ("analogue", "analog"),
    ("dialogue", "dialog"),
    ("mould", "mold"),
    ("smoulder", "smolder"),
    ("artefact", "artifact"),
    ("artefacts", "artifacts"),
    ("practise", "practice"),
    ("practised", "practiced"),
    ("practising", "practicing"),
    ("centred", "centered"),
    ("gaol", "jail"),
    ("whilst", "while"),
    ("amongst", "among"),
    ("mum", "mom"),
];

/// The American spelling of `word` (already lowercase), or the word itself.
pub fn americanize(word: &str) -> String {
    if let Some(&(_, us)) = WORDS.iter().find(|(uk, _)| *uk == word) {
        return us.to_string();
    }
    for &(uk, us, endings) in STEMS {
        if let Some(ending) = word.strip_prefix(uk)
            && endings.contains(&ending)
        {
            return format!("{us}{ending}");
        }
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::americanize as us;

    #[test]
    fn stems_with_endings() {
        assert_eq!(us("colour"), "color");
        assert_eq!(us("colours"), "colors");
        assert_eq!(us("favourite"), "favorite");
        assert_eq!(us("honourable"), "honorable");
        assert_eq!(us("organised"), "organized");
        assert_eq!(us("organisation"), "organization");
        assert_eq!(us("recognise"), "recognize");
        assert_eq!(us("analysed"), "analyzed");
        assert_eq!(us("centre"), "center");
        assert_eq!(us("metres"), "meters");
        assert_eq!(us("travelling"), "traveling");
        assert_eq!(us("cancelled"), "canceled");
        assert_eq!(us("defence"), "defense");
    }

    #[test]
    fn whole_words() {
        assert_eq!(us("grey"), "gray");
        assert_eq!(us("programme"), "program");
        assert_eq!(us("judgement"), "judgment");
    }

    #[test]
    fn look_alikes_are_left_alone() {
        for w in [
            "realistic",
            "realism",
            "emphasis",
            "analysis",
            "colonel",
            "centrifuge",
            "laborious",
            "travel",
            "traveled",
            "color",
            "hour",
            "our",
            "four",
            "pour",
            "metro",
            "mumble",
            "advise",
            "wise",
            "rise",
            "promise",
            "exercise",
        ] {
            assert_eq!(us(w), w, "{w}");
        }
    }
}
