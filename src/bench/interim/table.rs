//! The interim section of bench/results.md (and the plain output of `recorder bench interim`).

use super::{InterimReport, UttResult};
use crate::bench::Stats;

fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0} ms")
    } else {
        "–".into()
    }
}

/// The section of bench/results.md (also the plain output of `recorder bench interim`).
pub fn render_md(r: &InterimReport) -> String {
    let mut out = summary_md(r);
    out += &passes_md(r);
    out += &clips_md(r);
    out
}

/// The heading and the summary table: latencies, the final text's cost, the audio lag.
fn summary_md(r: &InterimReport) -> String {
    let utts = &r.utterances;
    let timed: usize = utts.iter().map(|u| u.words_timed).sum();
    let shown: usize = utts.iter().map(|u| u.interim_ms.len()).sum();
    let (lat, first) = (r.interim_ms(), r.first_text_ms());
    let (on, off) = (r.final_on(), r.final_off());
    let mut out = format!(
        "**Interim text** ({} clips, {:.0} s of speech, {} run(s), played at real-time pace \
         through the engine as with `--input`; interim passes every {} ms; {} × {} threads; \
         word ends from an offline whisper pass with token timestamps)\n\n",
        r.clips.len(),
        r.audio_s,
        r.runs,
        r.interim_every_ms,
        r.workers,
        r.threads
    );
    out += "| | median | p95 | goal |\n| --- | ---: | ---: | --- |\n";
    out += &format!(
        "| word end → first shown as interim ({shown} of {timed} timed words) | {} | {} | median ≤ 1,000 ms |\n",
        ms(lat.median),
        ms(lat.p95)
    );
    out += &format!(
        "| word end → first shown, interim or final (all {timed}) | {} | {} | |\n",
        ms(first.median),
        ms(first.p95)
    );
    out += &format!(
        "| closed → final text, interim on ({} utterances) | {} | {} | ≤ 1.10 × off |\n",
        on.n,
        ms(on.median),
        ms(on.p95)
    );
    out += &format!(
        "| closed → final text, interim off ({} utterances) | {} | {} | |\n",
        off.n,
        ms(off.median),
        ms(off.p95)
    );
    let med = |v: Vec<f64>| Stats::of(&v).median;
    out += &format!(
        "| … of which waiting for the worker, on / off | {} / {} | | |\n",
        ms(med(utts.iter().map(|u| u.queue_ms).collect())),
        ms(med(r.final_off.iter().map(|u| u.queue_ms).collect())),
    );
    out += &format!(
        "| … of which the worker's own time, on / off | {} / {} | | |\n",
        ms(med(utts.iter().map(|u| u.worker_ms).collect())),
        ms(med(r.final_off.iter().map(|u| u.worker_ms).collect())),
    );
    out += &format!(
        "| on / off (medians) | {:.2} | {:.2} | ≤ 1.10 |\n",
        on.median / off.median,
        on.p95 / off.p95
    );
    out += &format!(
        "| audio thread behind real time, on / off | {} / {} | max {} / {} | < 2 s ring |\n\n",
        ms(r.lag_on_ms.median),
        ms(r.lag_off_ms.median),
        ms(r.lag_on_ms.max),
        ms(r.lag_off_ms.max)
    );
    out
}

/// The paragraph on the passes: how many, how far apart, how much the text moved.
fn passes_md(r: &InterimReport) -> String {
    let utts = &r.utterances;
    let words: usize = utts.iter().map(|u| u.words).sum();
    let timed: usize = utts.iter().map(|u| u.words_timed).sum();
    let with_flips: Vec<f64> = utts
        .iter()
        .filter_map(|u| u.flips.map(|f| f as f64))
        .collect();
    let flips = Stats::of(&with_flips);
    let gaps = Stats::of(
        &utts
            .iter()
            .flat_map(|u| u.pass_gaps_ms.clone())
            .collect::<Vec<_>>(),
    );
    let stable_wrong: usize = utts.iter().map(|u| u.stable_wrong).sum();
    let retracted: usize = utts.iter().map(|u| u.retractions).sum();
    let passes: usize = utts.iter().map(|u| u.passes).sum();
    format!(
        "{passes} interim passes over {} utterances, {} apart (median; p95 {}); {words} final \
         words, {timed} with a timestamp. Word flips, last interim text → final text: median {:.0}, max {:.0} per \
         utterance ({} utterances had interim text); stable words changed by the final text: \
         {stable_wrong}; stable prefixes retracted: {retracted}. Ring overruns do not apply to \
         `--input` (no capture ring); the lag above is what a microphone's 2 s ring would \
         absorb.\n\n",
        utts.len(),
        ms(gaps.median),
        ms(gaps.p95),
        flips.median,
        flips.max,
        flips.n,
    )
}

/// One row per clip, then the notices of the run.
fn clips_md(r: &InterimReport) -> String {
    let utts = &r.utterances;
    let mut out = String::new();
    out += "| clip | utterances | words shown as interim | median word → interim | final on | final off |\n";
    out += "| --- | ---: | ---: | ---: | ---: | ---: |\n";
    for name in &r.clips {
        let mine: Vec<&UttResult> = utts.iter().filter(|u| &u.clip == name).collect();
        let lat: Vec<f64> = mine.iter().flat_map(|u| u.interim_ms.clone()).collect();
        let fin: Vec<f64> = mine.iter().map(|u| u.final_ms).collect();
        let off: Vec<f64> = (r.final_off.iter())
            .filter(|u| &u.clip == name)
            .map(|u| u.final_ms)
            .collect();
        out += &format!(
            "| {name} | {} | {}/{} | {} | {} | {} |\n",
            mine.len(),
            lat.len(),
            mine.iter().map(|u| u.words_timed).sum::<usize>(),
            ms(Stats::of(&lat).median),
            ms(Stats::of(&fin).median),
            ms(Stats::of(&off).median),
        );
    }
    out += "\n";
    for n in &r.notices {
        out += &format!("Notice during the interim run: {n}\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::interim::OffUtt;

    #[test]
    fn the_table_has_the_goal_figures() {
        let u = |clip: &str, interim: &[f64], fin: f64| UttResult {
            clip: clip.into(),
            words: interim.len() + 1,
            words_timed: interim.len() + 1,
            words_interim: interim.len(),
            interim_ms: interim.to_vec(),
            final_only_ms: vec![900.0],
            flips: Some(1),
            passes: 3,
            final_ms: fin,
            ..UttResult::default()
        };
        let r = InterimReport {
            workers: 1,
            threads: 2,
            interim_every_ms: 700,
            runs: 1,
            clips: vec!["a".into(), "b".into()],
            audio_s: 10.0,
            utterances: vec![u("a", &[500.0, 700.0], 800.0), u("b", &[600.0], 900.0)],
            final_off: vec![
                OffUtt {
                    clip: "a".into(),
                    final_ms: 800.0,
                    ..OffUtt::default()
                },
                OffUtt {
                    clip: "b".into(),
                    final_ms: 800.0,
                    ..OffUtt::default()
                },
            ],
            ..InterimReport::default()
        };
        let md = render_md(&r);
        assert!(md.contains("(3 of 5 timed words) | 600 ms |"), "{md}");
        assert!(md.contains("| on / off (medians) | 1.06 |"), "{md}");
        assert!(
            md.contains("| a | 1 | 2/3 | 600 ms | 800 ms | 800 ms |"),
            "{md}"
        );
        assert!(md.contains("stable prefixes retracted: 0"), "{md}");
    }
}
