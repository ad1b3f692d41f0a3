//! The textfile exporter: the pipeline's metrics as a `.prom` file that node_exporter's
//! textfile collector reads, rewritten atomically every interval and once more at shutdown.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use otel_core::export::{Exporter, Plug};
use otel_core::BuildError;

use crate::exposition::Scraper;
use crate::push::atomic_file::{temporary_of, AtomicFile, ReplaceError};
use crate::push::periodic::{self, Sink};
use crate::source::Source;
use crate::{EncodeOptions, Format};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Writes the pipeline's metrics to `DIRECTORY/NAME.prom` for node_exporter's textfile
/// collector (`--collector.textfile.directory`).
///
/// Settings come from the builder, else `OTEL_EXPORTER_TEXTFILE_DIRECTORY`,
/// `OTEL_EXPORTER_TEXTFILE_NAME` (default `<service.name>_<pid>`, so several processes of one
/// service each write their own file), `OTEL_EXPORTER_TEXTFILE_INTERVAL` (ms, default 10000)
/// and `OTEL_EXPORTER_TEXTFILE_REMOVE_STALE` (`true` removes, at start, the files of this
/// service's processes that no longer run). Every series carries `service_instance_id`, so
/// node_exporter never sees the same series in two files.
///
/// Each write goes to a temporary file of its own in the same directory, is synced, and renamed
/// over the file: a reader never sees a partial or empty file, however many threads call
/// [`TextfileWriter::write_now`] at once and however many processes share the directory; writes
/// in one process are serialised, so the file never goes back to older values. A write that
/// fails (disk full, directory removed) leaves the previous file as it was, is logged a bounded
/// number of times and counted in `otel_pipeline_export_failed_total{reason="textfile_write"}`;
/// recording never waits for it.
///
/// ```
/// use otel_core::Telemetry;
/// use otel_exporters::TextfileExporter;
///
/// let dir = std::env::temp_dir().join(format!("textfile-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let textfile = TextfileExporter::new().directory(&dir).file_name("doc");
/// let writer = textfile.writer();
/// let telemetry = Telemetry::builder().service_name("doc").exporter(textfile).build()?;
/// telemetry.meter("doc").u64_counter("jobs.done").build().add(3, &[]);
/// let path = writer.write_now()?;
/// assert!(std::fs::read_to_string(&path)?.contains("jobs_done_total{"));
/// # telemetry.shutdown()?; std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TextfileExporter {
    directory: Option<PathBuf>,
    file_name: Option<String>,
    interval: Option<Duration>,
    remove_stale: Option<bool>,
    writer: TextfileWriter,
}

impl Default for TextfileExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl TextfileExporter {
    /// An exporter configured from the environment (and defaults).
    pub fn new() -> Self {
        let options = EncodeOptions { resource_labels: vec!["service.instance.id".to_owned()], ..EncodeOptions::default() };
        TextfileExporter {
            directory: None,
            file_name: None,
            interval: None,
            remove_stale: None,
            writer: TextfileWriter { state: Arc::new(WriterState::new(Scraper::new(options))) },
        }
    }

    /// The directory node_exporter reads (`--collector.textfile.directory`).
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// The file's name, with or without its `.prom` extension (default `<service.name>_<pid>`):
    /// `worker` and `worker.prom` both write `worker.prom`.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// How often the file is rewritten (default 10 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Remove, at start, the files of this service's processes that no longer run (default off).
    pub fn remove_stale_files(mut self, on: bool) -> Self {
        self.remove_stale = Some(on);
        self
    }

    /// Naming and labelling options, as for the pull endpoint. Keep `service.instance.id` among
    /// `resource_labels` when several processes write into one directory.
    pub fn encode_options(self, options: EncodeOptions) -> Self {
        self.writer.state.scraper.set_options(options);
        self
    }

    /// A handle that writes the file now, usable once the pipeline is built.
    pub fn writer(&self) -> TextfileWriter {
        self.writer.clone()
    }

    fn resolve(&self, plug: &Plug) -> Result<(PathBuf, String, Duration, bool), BuildError> {
        let env = plug.env();
        let builder_directory = self.directory.as_ref().map(|d| d.to_string_lossy().into_owned());
        let (directory, source) =
            Source::pick(builder_directory, "directory", env, &["OTEL_EXPORTER_TEXTFILE_DIRECTORY"]).ok_or_else(|| {
                BuildError::InvalidSetting {
                    setting: "directory",
                    reason:
                        "the textfile exporter needs a directory: set OTEL_EXPORTER_TEXTFILE_DIRECTORY or call TextfileExporter::directory"
                            .into(),
                }
            })?;
        let directory = self.directory.clone().unwrap_or_else(|| PathBuf::from(directory));
        check_writable(&directory, &source)?;
        let service = plug
            .resource()
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown_service".to_owned());
        let name = match Source::pick(self.file_name.clone(), "file_name", env, &["OTEL_EXPORTER_TEXTFILE_NAME"]) {
            Some((name, source)) => {
                let name = name.strip_suffix(".prom").map(str::to_owned).unwrap_or(name);
                if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') || name.chars().any(char::is_control) {
                    return Err(source.error("a plain file name (no `/`, not starting with `.`, no control characters)"));
                }
                name
            }
            None => format!("{}_{}", file_safe(&service), std::process::id()),
        };
        let interval = match self.interval {
            Some(i) if i.is_zero() => {
                return Err(BuildError::InvalidSetting { setting: "interval", reason: "must be longer than zero".into() })
            }
            Some(i) => i,
            None => env.millis(&["OTEL_EXPORTER_TEXTFILE_INTERVAL"])?.unwrap_or(DEFAULT_INTERVAL),
        };
        let remove_stale = match self.remove_stale {
            Some(on) => on,
            None => env.choice(&["OTEL_EXPORTER_TEXTFILE_REMOVE_STALE"], &["true", "false"])?.as_deref() == Some("true"),
        };
        Ok((directory, name, interval, remove_stale))
    }
}

/// `service.name` as a file name: letters, digits, `-` and `_`.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// A program's exporter keeps what it set; a configuration file's fills the rest.
#[cfg(feature = "config-file")]
impl crate::selection::from_file::OrFile for TextfileExporter {
    fn or_file(self, file: TextfileExporter) -> Self {
        TextfileExporter {
            directory: self.directory.or(file.directory),
            file_name: self.file_name.or(file.file_name),
            interval: self.interval.or(file.interval),
            remove_stale: self.remove_stale.or(file.remove_stale),
            writer: self.writer,
        }
    }
}

impl Exporter for TextfileExporter {
    fn name(&self) -> &'static str {
        "textfile"
    }

    fn attach(self: Box<Self>, plug: &mut Plug) -> Result<(), BuildError> {
        let (directory, name, interval, remove_stale) = self.resolve(plug)?;
        clean_directory(&directory, &name, remove_stale);
        let path = directory.join(format!("{name}.prom"));
        let state = self.writer.state.clone();
        let _ = state.target.set(AtomicFile::new(path.clone()));
        plug.announce(path.display().to_string());
        periodic::attach(plug, state.scraper.clone(), Arc::new(self.writer.clone()), Some(interval))
    }
}

/// A build error unless files can be created in `directory`.
fn check_writable(directory: &Path, source: &Source) -> Result<(), BuildError> {
    let fail = |why: String| source.error(&format!("a writable directory: {} {why}", directory.display()));
    if !directory.is_dir() {
        return Err(fail("is not a directory; create it (node_exporter's --collector.textfile.directory)".into()));
    }
    let probe = directory.join(format!(".otel-pipeline-probe.{}.tmp", std::process::id()));
    fs::write(&probe, b"").map_err(|e| fail(format!("cannot be written ({e}); make it writable for this process")))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// Removes temporary files left by processes that crashed mid-write, and, when asked, the files
/// of this service's processes that no longer run. Files of live processes are never touched.
fn clean_directory(directory: &Path, name: &str, remove_stale: bool) {
    let Ok(entries) = fs::read_dir(directory) else { return };
    // `<service>_<pid>`: the prefix other processes of this service share.
    let prefix = name.rsplit_once('_').filter(|(_, pid)| pid.parse::<u32>().is_ok()).map(|(prefix, _)| format!("{prefix}_"));
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let dead = |pid: &str| pid.parse::<u32>().is_ok_and(|pid| pid != std::process::id() && !process_alive(pid));
        let remove = if let Some((written, pid)) = temporary_of(&file) {
            written.ends_with(".prom") && dead(&pid.to_string())
        } else if let (true, Some(prefix)) = (remove_stale, &prefix) {
            file.strip_prefix(prefix.as_str()).and_then(|f| f.strip_suffix(".prom")).is_some_and(dead)
        } else {
            false
        };
        if remove {
            match fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(target: "otel_pipeline::textfile", file = %entry.path().display(), "removed the file of a process that no longer runs")
                }
                Err(e) => {
                    tracing::warn!(target: "otel_pipeline::textfile", file = %entry.path().display(), error = %e, "cannot remove a stale file")
                }
            }
        }
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

struct WriterState {
    scraper: Scraper,
    target: OnceLock<AtomicFile>,
}

impl WriterState {
    fn new(scraper: Scraper) -> Self {
        WriterState { scraper, target: OnceLock::new() }
    }
}

/// Writes the textfile on demand (the exporter also writes it every interval and at shutdown).
#[derive(Clone)]
pub struct TextfileWriter {
    state: Arc<WriterState>,
}

impl fmt::Debug for TextfileWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextfileWriter").field("target", &self.state.target.get()).finish_non_exhaustive()
    }
}

/// Why the textfile could not be written.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TextfileError {
    /// The exporter is not attached to a pipeline, or the pipeline is shut down.
    #[error("nothing to write: {0}")]
    NotCollecting(String),
    /// The file system refused the write; the previous file is left as it was.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl TextfileWriter {
    /// Writes the current metrics to the file now, atomically; returns its path.
    pub fn write_now(&self) -> Result<PathBuf, TextfileError> {
        let target =
            self.state.target.get().ok_or_else(|| TextfileError::NotCollecting("the exporter is not attached to a pipeline".into()))?;
        target.replace(|| self.state.scraper.scrape(Format::Text)).map_err(|e| match e {
            ReplaceError::Content(e) => TextfileError::NotCollecting(e.to_string()),
            ReplaceError::Io(source) => TextfileError::Io { path: target.path().to_owned(), source },
        })?;
        Ok(target.path().to_owned())
    }
}

impl Sink for TextfileWriter {
    const NAME: &'static str = "textfile";
    const COMPONENT: &'static str = "textfile_metric_exporter";

    fn deliver(&self, _scraper: &Scraper) -> Result<(), (&'static str, String)> {
        match self.write_now() {
            Ok(_) | Err(TextfileError::NotCollecting(_)) => Ok(()),
            Err(e) => Err(("textfile_write", format!("{e}; the previous file is left as it was, the next interval tries again"))),
        }
    }
}

otel_core::debug_as_report!(TextfileError);
