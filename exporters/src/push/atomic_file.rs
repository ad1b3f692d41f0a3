//! Files other programs read (node_exporter's textfile collector, a line-protocol tailer),
//! replaced whole so that a reader never sees a partial or empty file.
//!
//! Each write goes to a temporary file of its own in the same directory
//! (`.<file>.<pid>.<sequence>.tmp`, created exclusively, so no two writes, in this process or
//! another, ever share one), is synced, and renamed over the file. Writes of one file in this
//! process are serialised together with producing their content, so the file never goes back
//! to older content than it had.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One file replaced atomically.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    path: PathBuf,
    /// Writes so far; held while a write produces and replaces the content.
    writes: Mutex<u64>,
}

/// Why a replacement did not happen.
#[derive(Debug)]
pub(crate) enum ReplaceError<E> {
    /// There was no content to write; the file is left as it was.
    Content(E),
    /// The file system refused; the file is left as it was.
    Io(std::io::Error),
}

impl AtomicFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        AtomicFile { path, writes: Mutex::new(0) }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file with what `content` produces. On failure the temporary file is
    /// removed and the file is left as it was.
    pub(crate) fn replace<E>(&self, content: impl FnOnce() -> Result<Vec<u8>, E>) -> Result<(), ReplaceError<E>> {
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = content().map_err(ReplaceError::Content)?;
        let temporary = self.temporary(*writes);
        *writes += 1;
        let written = (|| {
            let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map_err(ReplaceError::Io)
    }

    fn temporary(&self, sequence: u64) -> PathBuf {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.path.with_file_name(format!(".{name}.{}.{sequence}.tmp", std::process::id()))
    }
}

/// The file and the writing process of one of these temporary files
/// (`.<file>.<pid>.<sequence>.tmp`, or the older `.<file>.<pid>.tmp`).
#[cfg_attr(not(feature = "textfile"), allow(dead_code))]
pub(crate) fn temporary_of(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (before, last) = rest.rsplit_once('.')?;
    last.parse::<u64>().ok()?;
    match before.rsplit_once('.') {
        Some((file, pid)) if pid.parse::<u32>().is_ok() && !file.is_empty() => Some((file, pid.parse().ok()?)),
        _ => Some((before, last.parse().ok()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_name_their_file_and_writer() {
        let file = AtomicFile::new(PathBuf::from("/d/worker_7.prom"));
        let name = file.temporary(3).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        assert_eq!(temporary_of(&name), Some(("worker_7.prom", std::process::id())));
        assert_eq!(temporary_of(".worker_7.prom.4000000.tmp"), Some(("worker_7.prom", 4_000_000)));
        for other in ["worker_7.prom", ".worker_7.prom.x.tmp", ".worker_7.prom.1.x.tmp", ".worker_7.prom.1.2", "worker.1.2.tmp"] {
            assert_eq!(temporary_of(other), None, "{other}");
        }
    }
}
