//! The start-up question about a session a crash left with untranscribed audio: the status
//! line asks "resume? y/n"; `y` transcribes those utterances in the background (their text
//! goes into that session's journal, progress shows in the header), `n` or the close key
//! dismisses it (`recorder sessions resume` still can later). Recording goes on meanwhile.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Effect, EntryState, NoticeLevel};
use crate::engine::EngineEvent;

/// An unfinished session offered for resuming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeOffer {
    /// The session's id (its folder name), as `recorder sessions` shows it.
    pub session: String,
    pub dir: PathBuf,
    /// Utterances with audio but no text.
    pub untranscribed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Asked on the status line; waiting for `y` or `n`.
    Offered(ResumeOffer),
    /// `y` was pressed; the engine has not said yet how many it queued.
    Starting { session: String },
    Running {
        session: String,
        total: usize,
        done: usize,
        failed: usize,
    },
}

/// The keys that answer the question (fixed, like `Enter` in the lists: they only mean this
/// while the question is on screen).
pub const YES: char = 'y';
pub const NO: char = 'n';

impl App {
    /// Asks (on the status line) whether to resume `offer`.
    pub fn offer_resume(&mut self, offer: ResumeOffer) {
        self.resume = Some(Resume::Offered(offer));
        self.dirty = true;
    }

    /// The question on the status line, while it is open.
    pub fn resume_question(&self) -> Option<String> {
        match &self.resume {
            Some(Resume::Offered(o)) => Some(format!(
                "Session {} has {} without text — resume? {YES}/{NO}",
                o.session,
                utterances(o.untranscribed)
            )),
            _ => None,
        }
    }

    /// (transcribed, total) of a background resume in progress.
    pub fn resume_progress(&self) -> Option<(usize, usize)> {
        match &self.resume {
            Some(Resume::Running { total, done, .. }) => Some((*done, *total)),
            Some(Resume::Starting { .. }) => Some((0, 0)),
            _ => None,
        }
    }

    /// Utterances of a resumed session still to come (quitting waits for them too).
    pub fn resume_pending(&self) -> usize {
        match &self.resume {
            Some(Resume::Running { total, done, .. }) => total - done,
            _ => 0,
        }
    }

    /// `y` / `n` while the question is open (and no overlay takes the keys); `None`: not such
    /// a key, or no question.
    pub(super) fn resume_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        let Some(Resume::Offered(offer)) = &self.resume else {
            return None;
        };
        if self.overlay.is_some()
            || key.kind == KeyEventKind::Release
            || key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        match key.code {
            KeyCode::Char(YES) => {
                let dir = offer.dir.clone();
                self.resume = Some(Resume::Starting {
                    session: offer.session.clone(),
                });
                Some(vec![Effect::ResumeSession(dir)])
            }
            KeyCode::Char(NO) => {
                self.dismiss_resume();
                Some(vec![])
            }
            _ => None,
        }
    }

    /// Drops the question; true if there was one.
    pub(super) fn dismiss_resume(&mut self) -> bool {
        let Some(Resume::Offered(offer)) = &self.resume else {
            return false;
        };
        let text = format!(
            "session {} left as it is; `recorder sessions resume {}` transcribes it later",
            offer.session, offer.session
        );
        self.resume = None;
        self.set_notice(NoticeLevel::Info, text);
        true
    }

    /// The engine queued the session's utterances (`Ok(count)`) or could not.
    pub(super) fn resume_started(&mut self, result: Result<usize, String>) {
        let Some(Resume::Starting { session }) = self.resume.take() else {
            return;
        };
        match result {
            Ok(0) => self.set_notice(
                NoticeLevel::Info,
                format!("session {session} has nothing left to transcribe"),
            ),
            Ok(total) => {
                self.resume = Some(Resume::Running {
                    session,
                    total,
                    done: 0,
                    failed: 0,
                });
            }
            Err(e) => self.set_notice(
                NoticeLevel::Error,
                format!("cannot resume session {session}: {e}"),
            ),
        }
    }

    /// One utterance of the resumed session is through (a `Resumed` event): its text goes
    /// into the session's section; says so when it was the last.
    pub(super) fn resumed_one(&mut self, event: EngineEvent) {
        let EngineEvent::Resumed {
            id,
            span,
            text,
            error,
        } = event
        else {
            return;
        };
        let state = match (text, &error) {
            (Some(t), _) => EntryState::Done(t.trim().to_string()),
            (None, e) => EntryState::Failed(e.clone().unwrap_or_default()),
        };
        self.history.resumed(id, span, state);
        let Some(Resume::Running {
            session,
            total,
            done,
            failed,
        }) = &mut self.resume
        else {
            return;
        };
        *done += 1;
        // The reason is in the session's journal (`recorder sessions show`).
        if error.is_some() {
            *failed += 1;
        }
        if done < total {
            return;
        }
        let text = match *failed {
            0 => format!(
                "session {session}: {} transcribed into its journal",
                utterances(*total)
            ),
            n => format!(
                "session {session}: {} of {} transcribed, {n} failed (audio kept)",
                *total - n,
                *total
            ),
        };
        let level = if *failed > 0 {
            NoticeLevel::Warn
        } else {
            NoticeLevel::Info
        };
        self.resume = None;
        self.set_notice(level, text);
    }
}

pub(super) fn utterances(n: usize) -> String {
    match n {
        1 => "1 utterance".into(),
        n => format!("{n} utterances"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::app::{EngineEvent, Msg};

    fn offered() -> App {
        let mut app = recording();
        app.offer_resume(ResumeOffer {
            session: "S".into(),
            dir: "/tmp/S".into(),
            untranscribed: 2,
        });
        app
    }

    fn resumed(error: Option<&str>) -> Msg {
        ev(EngineEvent::Resumed {
            id: crate::vocab::UtteranceId(1),
            span: crate::vocab::Span::new(0.0, 1.0),
            text: error.is_none().then(|| "resumed text".to_string()),
            error: error.map(String::from),
        })
    }

    #[test]
    fn yes_resumes_in_the_background_and_reports_when_done() {
        let mut app = offered();
        assert!(app.resume_question().unwrap().contains("2 utterances"));
        assert_eq!(
            app.update(ch('y')),
            [Effect::ResumeSession("/tmp/S".into())]
        );
        assert!(app.resume_question().is_none());
        app.update(Msg::ResumeStarted(Ok(2)));
        assert_eq!(app.resume_progress(), Some((0, 2)));
        assert_eq!(app.pending(), 2);
        app.update(resumed(None));
        assert_eq!(app.resume_progress(), Some((1, 2)));
        app.update(resumed(Some("worker crashed")));
        assert_eq!(app.resume, None);
        let notice = app.notice.clone().unwrap();
        assert_eq!(notice.level, NoticeLevel::Warn);
        assert!(
            notice.text.contains("1 of 2 transcribed, 1 failed"),
            "{notice:?}"
        );
        // `y` is copy again once the question is answered.
        assert!(!matches!(
            app.update(ch('y'))[..],
            [Effect::ResumeSession(_)]
        ));
    }

    #[test]
    fn no_or_close_dismisses_and_says_how_to_resume_later() {
        for answer in [ch('n'), key(KeyCode::Esc)] {
            let mut app = offered();
            assert_eq!(app.update(answer), []);
            assert_eq!(app.resume, None);
            assert!(
                app.notice
                    .unwrap()
                    .text
                    .contains("recorder sessions resume S")
            );
        }
    }

    #[test]
    fn a_failed_start_is_an_error_line_and_quitting_waits_for_resumed_text() {
        let mut app = offered();
        app.update(ch('y'));
        app.update(Msg::ResumeStarted(Err("journal unreadable".into())));
        assert_eq!(app.notice.unwrap().level, NoticeLevel::Error);

        let mut app = offered();
        app.update(ch('y'));
        app.update(Msg::ResumeStarted(Ok(1)));
        app.update(ch('q'));
        app.update(stopped());
        assert!(app.quitting);
        assert_eq!(app.update(resumed(None)), [Effect::Quit]);
    }

    #[test]
    fn quitting_drops_an_unanswered_question() {
        let mut app = offered();
        app.update(ch('q'));
        assert!(app.resume_question().is_none());
    }
}
