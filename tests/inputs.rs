//! Inputs that can be read only once: `--input -` (standard input), a FIFO, and a pipe as
//! `<(cat x.wav)` gives it. The input used to be opened twice (a check, then the pipeline):
//! the check consumed the header and the run failed with "no RIFF tag found", or hung.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::process::Stdio;

use support::run::{Sandbox, eval_clip, norm, texts, tiny_en};
use support::skip;

fn jfk_bytes(test: &str) -> Option<Vec<u8>> {
    match eval_clip("fw_jfk.wav") {
        Some(p) => Some(std::fs::read(p).unwrap()),
        None => {
            skip(test, "../shared/eval is absent");
            None
        }
    }
}

fn assert_jfk(o: &std::process::Output) {
    let (out, err) = texts(o);
    assert!(o.status.success(), "{err}");
    let text = norm(&out);
    assert!(
        text.contains("fellow americans") && text.contains("country"),
        "{out}"
    );
}

#[test]
fn standard_input_is_read_with_a_dash() {
    tiny_en();
    let Some(bytes) = jfk_bytes("standard_input_is_read_with_a_dash") else {
        return;
    };
    let sb = Sandbox::new();
    let mut child = sb
        .cmd()
        .args(["--headless", "--fast", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_jfk(&o);
}

#[test]
fn a_fifo_and_a_process_substitution_pipe_are_read_once() {
    tiny_en();
    let Some(bytes) = jfk_bytes("a_fifo_and_a_process_substitution_pipe_are_read_once") else {
        return;
    };
    let sb = Sandbox::new();
    let fifo = sb.path().join("talk.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let feed = {
        let (fifo, bytes) = (fifo.clone(), bytes.clone());
        // Opening a FIFO for writing blocks until the reader opens it.
        std::thread::spawn(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(fifo)?
                .write_all(&bytes)
        })
    };
    let mut cmd = sb.cmd();
    cmd.args(["--headless", "--fast", "--input"]).arg(&fifo);
    let o = within_a_minute(cmd);
    feed.join().unwrap().unwrap();
    assert_jfk(&o);

    // `--input <(cat talk.wav)`: bash hands over /dev/fd/N, a pipe.
    let wav = sb.path().join("talk.wav");
    std::fs::write(&wav, &bytes).unwrap();
    let mut bash = std::process::Command::new("bash");
    bash.arg("-c")
        .arg("exec \"$0\" --headless --fast --input <(cat \"$1\")")
        .arg(support::run::bin())
        .arg(&wav)
        .envs(sb.cmd().get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::null());
    assert_jfk(&within_a_minute(bash));
}

/// Runs `cmd`, killing it if it has not finished after 60 s (a FIFO opened twice hung).
fn within_a_minute(mut cmd: std::process::Command) -> std::process::Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("still running after 60 s: the input was opened twice?");
        }
    }
}

/// A data folder whose name is not UTF-8: the utterance paths cross the worker protocol as
/// they are (this panicked in the protocol encoder and the run hung).
#[test]
fn a_data_folder_that_is_not_utf8_works() {
    use std::os::unix::ffi::OsStrExt;
    tiny_en();
    let Some(jfk) = eval_clip("fw_jfk.wav") else {
        return skip(
            "a_data_folder_that_is_not_utf8_works",
            "../shared/eval is absent",
        );
    };
    let sb = Sandbox::new();
    let data = sb.path().join(std::ffi::OsStr::from_bytes(b"data\xff"));
    let mut cmd = sb.cmd();
    cmd.env("XDG_DATA_HOME", &data)
        .args(["--headless", "--fast", "--keep", "--input"])
        .arg(&jfk);
    assert_jfk(&within_a_minute(cmd));
    assert!(data.join("recorder/sessions").is_dir());
}
