//! Standard output for the commands that print (`transcribe`, `--headless`, `sessions`,
//! `devices`, `models list`, `config`). `println!` panics when the reader has gone
//! (`recorder sessions show last | head -3` printed a backtrace); here a closed pipe ends the
//! run quietly, as it ends any Unix tool (exit 141, 128 + SIGPIPE). SIGPIPE itself stays
//! ignored: the pool learns of a dead worker from its broken pipe.

use std::io::Write;

/// Writes `text` to stdout and flushes; exits 141 if the reader is gone.
pub fn text(text: &str) {
    let mut out = std::io::stdout().lock();
    let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = result {
        gone(&e);
    }
}

/// [`text`] with a newline.
pub fn line(line: &str) {
    text(&format!("{line}\n"));
}

fn gone(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // What was recorded is on disk already (the journal is written before anything
        // prints), so nothing is lost by stopping here.
        tracing::info!("stdout closed by its reader: ending the run");
        std::process::exit(141);
    }
    tracing::warn!("cannot write to stdout: {e}");
}

/// `println!` through [`line`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::line("")
    };
    ($($arg:tt)*) => {
        $crate::out::line(&format!($($arg)*))
    };
}
