use std::io::Write;

use super::*;
use crate::protocol::Timings;

fn journal_with(dir: &Path, entries: &[Entry]) -> Journal {
    let j = Journal::open(dir).unwrap();
    for e in entries {
        j.append(e, true).unwrap();
    }
    j
}

fn rec(id: u64) -> Entry {
    Entry::UtteranceRecorded {
        id: UtteranceId(id),
        start_s: id as f64,
        end_s: id as f64 + 0.5,
        wav: format!("utt-{id:06}.wav"),
        hints: Hints::default(),
    }
}

fn text(id: u64, t: &str) -> Entry {
    Entry::Transcribed {
        id: UtteranceId(id),
        text: t.into(),
        segments: vec![],
        no_speech_prob: 0.0,
        timings: Timings::default(),
    }
}

#[test]
fn journal_round_trip_and_unfinished_detection() {
    let dir = tempfile::tempdir().unwrap();
    journal_with(
        dir.path(),
        &[
            Entry::SessionStarted {
                time: "t".into(),
                input: "mic".into(),
                model: "m".into(),
                version: "1".into(),
            },
            rec(1),
            text(1, "one"),
            rec(2),
            Entry::Failed {
                id: UtteranceId(2),
                reason: "boom".into(),
            },
            rec(3),
        ],
    );
    let s = Session::load(dir.path()).unwrap();
    assert_eq!(s.utterances.len(), 3);
    assert_eq!(s.transcribed(), 1);
    let pending: Vec<u64> = s.untranscribed().iter().map(|u| u.id.0).collect();
    assert_eq!(pending, vec![2, 3]);
    assert_eq!(
        s.utterances[&UtteranceId(2)].failed.as_deref(),
        Some("boom")
    );
    assert!(s.is_unfinished());
}

#[test]
fn a_torn_last_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    journal_with(
        dir.path(),
        &[
            rec(1),
            text(1, "one"),
            Entry::SessionEnded {
                time: "t".into(),
                reason: "stop".into(),
            },
        ],
    );
    let mut f = private_append(&dir.path().join(JOURNAL)).unwrap();
    f.write_all(b"{\"event\":\"utterance_rec").unwrap();
    let s = Session::load(dir.path()).unwrap();
    assert_eq!(s.bad_lines, 1);
    assert!(!s.is_unfinished());
}

#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    journal_with(dir.path(), &[rec(1)]);
    let a = SessionAudio::create(dir.path()).unwrap();
    a.finish().unwrap();
    for f in [JOURNAL, SESSION_WAV] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
}

#[test]
fn session_audio_survives_a_crash_between_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = SessionAudio::create(dir.path()).unwrap();
    a.write(&vec![0.25; 16_000]).unwrap();
    a.checkpoint().unwrap();
    a.write(&vec![0.5; 8_000]).unwrap();
    // Simulate a crash: the process dies without finalising.
    std::mem::forget(a);
    let path = dir.path().join(SESSION_WAV);
    let r = hound::WavReader::open(&path).unwrap();
    assert_eq!(r.duration(), 16_000, "readable up to the last checkpoint");
    drop(r);
    assert_eq!(repair_wav_header(&path).unwrap(), 24_000);
    let r = hound::WavReader::open(&path).unwrap();
    assert_eq!(r.duration(), 24_000, "everything after repair");
}

#[test]
fn find_by_prefix_and_last() {
    let root = tempfile::tempdir().unwrap();
    for name in ["2026-01-01T10-00-00", "2026-01-02T10-00-00"] {
        let d = root.path().join(name);
        std::fs::create_dir(&d).unwrap();
        journal_with(&d, &[rec(1)]);
    }
    assert_eq!(find(root.path(), "last").unwrap().id, "2026-01-02T10-00-00");
    assert_eq!(
        find(root.path(), "2026-01-01").unwrap().id,
        "2026-01-01T10-00-00"
    );
    assert!(
        find(root.path(), "2026")
            .unwrap_err()
            .contains("2 sessions")
    );
    assert!(
        find(root.path(), "1999")
            .unwrap_err()
            .contains("sessions list")
    );
}

#[test]
fn an_append_after_a_torn_line_starts_a_line_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    journal_with(dir.path(), &[rec(1), text(1, "one"), rec(2)]);
    let mut f = private_append(&dir.path().join(JOURNAL)).unwrap();
    f.write_all(br#"{"event":"transcribed","id":2,"text":"8 of spades, 4 of clos"#)
        .unwrap();
    drop(f);
    journal_with(dir.path(), &[text(2, "two")]);
    let s = Session::load(dir.path()).unwrap();
    assert_eq!(s.bad_lines, 1);
    assert_eq!(s.problems, ["line 4: not a journal entry"]);
    assert_eq!(s.utterances[&UtteranceId(2)].text.as_deref(), Some("two"));
}

#[test]
fn a_line_that_is_not_utf8_is_skipped_and_the_rest_read() {
    let dir = tempfile::tempdir().unwrap();
    journal_with(dir.path(), &[rec(1)]);
    let mut f = private_append(&dir.path().join(JOURNAL)).unwrap();
    f.write_all(b"{\"event\":\"transcribed\",\"id\":1,\"text\":\"caf\xe9\"}\n")
        .unwrap();
    drop(f);
    journal_with(dir.path(), &[rec(2), text(2, "two")]);
    let s = Session::load(dir.path()).unwrap();
    assert_eq!(s.bad_lines, 1);
    assert_eq!(s.problems, ["line 2: not UTF-8"]);
    assert_eq!(s.utterances.len(), 2);
    let listed = list(dir.path().parent().unwrap());
    assert!(
        listed
            .iter()
            .any(|x| x.dir == dir.path() && x.bad_lines == 1)
    );
}

#[test]
fn entries_pointing_outside_the_folder_or_with_wild_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wav = |id: u64, wav: &str| Entry::UtteranceRecorded {
        id: UtteranceId(id),
        start_s: 0.0,
        end_s: 1.0,
        wav: wav.into(),
        hints: Hints::default(),
    };
    journal_with(
        dir.path(),
        &[
            wav(1, "/etc/passwd"),
            wav(2, "../other/utt-000001.wav"),
            wav(3, ".."),
            wav(1 << 48, "utt-1.wav"),
            wav(0, "utt-0.wav"),
            wav(4, "utt-000004.wav"),
            Entry::Discarded {
                start_s: 0.0,
                end_s: 1.0,
                wav: Some("/tmp/x.wav".into()),
            },
        ],
    );
    let s = Session::load(dir.path()).unwrap();
    assert_eq!(
        s.utterances.keys().copied().collect::<Vec<_>>(),
        [UtteranceId(4)]
    );
    assert!(s.discarded.is_empty());
    assert_eq!(s.bad_lines, 6, "{:?}", s.problems);
    assert!(s.problems[0].contains("'/etc/passwd' is not a file in the session folder"));
    assert!(
        s.problems[3].contains("id 281474976710656 out of range"),
        "{:?}",
        s.problems
    );
}

#[test]
fn a_folder_whose_journal_cannot_be_read_is_still_listed() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("2026-01-01T10-00-00");
    std::fs::create_dir(&d).unwrap();
    // A journal that is a folder: reading it fails.
    std::fs::create_dir(d.join(JOURNAL)).unwrap();
    let all = list(root.path());
    assert_eq!(all.len(), 1);
    assert!(all[0].unreadable.is_some());
}

#[test]
fn a_resume_journal_ends_the_session_when_its_last_handle_goes() {
    let dir = tempfile::tempdir().unwrap();
    journal_with(dir.path(), &[rec(1)]);
    let j = std::sync::Arc::new(
        Journal::open(dir.path())
            .unwrap()
            .ending_when_dropped("resumed"),
    );
    let job_handle = j.clone();
    drop(j);
    assert!(
        Session::load(dir.path()).unwrap().ended.is_none(),
        "a job still holds it"
    );
    job_handle.append(&text(1, "one"), true).unwrap();
    drop(job_handle);
    let s = Session::load(dir.path()).unwrap();
    assert!(s.ended.is_some());
    assert!(!s.is_unfinished());
}

#[test]
fn edits_win_and_deletes_hide_but_both_keep_the_first_text() {
    let dir = tempfile::tempdir().unwrap();
    let id = UtteranceId;
    journal_with(
        dir.path(),
        &[
            rec(1),
            text(1, "one"),
            Entry::Settled {
                id: id(1),
                text: "One.".into(),
            },
            Entry::Edited {
                id: id(1),
                text: "Won.".into(),
            },
            rec(2),
            text(2, "two"),
            Entry::Deleted { id: id(2) },
            rec(3),
            text(3, "three"),
            Entry::Deleted { id: id(3) },
            Entry::Restored { id: id(3) },
        ],
    );
    let s = Session::load(dir.path()).unwrap();
    assert_eq!(s.bad_lines, 0, "{:?}", s.problems);
    let u = |n| &s.utterances[&id(n)];
    assert_eq!(u(1).shown_text().map(String::as_str), Some("Won."));
    assert_eq!(u(1).text.as_deref(), Some("one"), "the first text stays");
    assert_eq!(u(2).shown_text(), None);
    assert_eq!(u(2).final_text().map(String::as_str), Some("two"));
    assert_eq!(u(3).shown_text().map(String::as_str), Some("three"));
    assert!(
        s.untranscribed().is_empty(),
        "a deleted utterance is not owed a text"
    );
}
