//! What an encoding left out so its output stays valid, counted per reason and subject.

use std::collections::HashMap;

/// What a walk left out, by reason and subject, each counted, with the message for the log.
#[derive(Default)]
pub(crate) struct Issues {
    found: HashMap<&'static str, HashMap<String, (u64, String)>>,
}

impl Issues {
    /// Notes one occurrence; `message` is built only the first time per reason and subject.
    pub(crate) fn note(&mut self, reason: &'static str, subject: &str, message: impl FnOnce() -> String) {
        let by_subject = self.found.entry(reason).or_default();
        match by_subject.get_mut(subject) {
            Some((n, _)) => *n += 1,
            None => {
                by_subject.insert(subject.to_owned(), (1, message()));
            }
        }
    }

    /// Every noted issue: reason, subject, count, message.
    pub(crate) fn drain(self) -> impl Iterator<Item = (&'static str, String, u64, String)> {
        self.found
            .into_iter()
            .flat_map(|(reason, by_subject)| by_subject.into_iter().map(move |(subject, (n, message))| (reason, subject, n, message)))
    }
}
