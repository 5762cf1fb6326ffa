//! The file config source: a declarative document on disk, loaded at start and watched
//! afterwards. A valid change is applied with the next revision; an invalid one is logged
//! with every error, counted in `portico_config_reloads_total{result="failure"}`, and the
//! configuration already serving stays.
//!
//! The file's directory is watched rather than the file, so editors that write a new file and
//! rename it over the old one, and Kubernetes' `..data` symlink swap, are both seen.

use crate::gateway::Gateway;
use notify::{EventKind, RecursiveMode, Watcher};
use portico_model::{ConfigErrors, Document, DocumentFormat, Snapshot};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after the last file event before reloading, so a burst of writes from one save
/// is read once, complete.
const SETTLE: Duration = Duration::from_millis(100);

/// Why a file could not become a configuration.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is empty; an empty configuration is refused (write `apis: []` to serve nothing)"
    )]
    Empty { path: PathBuf },
    #[error("{path}: {errors}")]
    Invalid { path: PathBuf, errors: ConfigErrors },
    #[error("{path}: {message}")]
    Compile { path: PathBuf, message: String },
    #[error("cannot watch {path} for changes: {source}")]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
}

/// A watched configuration file feeding one gateway.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    gateway: Gateway,
    revision: u64,
    /// The last document applied, with its referenced files read in.
    last: Option<Document>,
    /// Kept alive for as long as changes should be seen.
    _watcher: notify::RecommendedWatcher,
    changes: mpsc::UnboundedReceiver<()>,
}

impl FileSource {
    /// Starts watching `path`, then loads it. Watching first means an edit made while the
    /// first load runs is seen by [`FileSource::run`].
    pub fn start(path: impl Into<PathBuf>, gateway: Gateway) -> Result<Self, LoadError> {
        let path = path.into();
        let (tx, changes) = mpsc::unbounded_channel();
        let watch_error = |source| LoadError::Watch {
            path: path.clone(),
            source,
        };
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Reading the file raises access events; reacting to those would reload forever.
                if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                    let _ = tx.send(());
                }
            })
            .map_err(watch_error)?;
        watcher
            .watch(watch_dir(&path), RecursiveMode::NonRecursive)
            .map_err(watch_error)?;
        let mut source = Self {
            path,
            gateway,
            revision: 0,
            last: None,
            _watcher: watcher,
            changes,
        };
        source.load()?;
        Ok(source)
    }

    /// Reads, validates and applies the file. Unchanged content is not applied again. Every
    /// refusal is counted in the reload-failure metric.
    pub fn load(&mut self) -> Result<bool, LoadError> {
        let result = self.try_load();
        if matches!(
            result,
            Err(LoadError::Read { .. } | LoadError::Empty { .. } | LoadError::Invalid { .. })
        ) {
            // (Compile failures are counted by `Gateway::apply` itself.)
            self.gateway.record_refused_config();
        }
        result
    }

    fn try_load(&mut self) -> Result<bool, LoadError> {
        let path = self.path.clone();
        let doc = read_document(&path)?;
        if self.last.as_ref() == Some(&doc) {
            return Ok(false);
        }
        let snapshot =
            Snapshot::new(self.revision + 1, doc).map_err(|errors| LoadError::Invalid {
                path: path.clone(),
                errors,
            })?;
        self.gateway
            .apply(&snapshot)
            .map_err(|message| LoadError::Compile {
                path: path.clone(),
                message,
            })?;
        self.revision = snapshot.revision();
        self.last = Some(snapshot.document().clone());
        Ok(true)
    }

    /// Reloads on every change until `shutdown` fires.
    pub async fn run(mut self, shutdown: crate::server::ShutdownSignal) {
        let stop = crate::server::shutdown_requested(shutdown);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                event = self.changes.recv() => if event.is_none() { return },
                _ = &mut stop => return,
            }
            // Let the burst of events from one save settle.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, self.changes.recv()).await {}
            match self.load() {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(path = %self.path.display(), "file event without a content change")
                }
                Err(e) => {
                    tracing::error!(error = %e, "configuration change refused; the previous configuration keeps serving")
                }
            }
        }
    }
}

/// Reads a declarative document and the files it references (`policyFile`, `pemFile`, …,
/// relative to the document's folder). The result is parsed but not yet validated.
pub fn read_document(path: &Path) -> Result<Document, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    if text.trim().is_empty() {
        // Almost always a file caught mid-write; serving nothing is never what was meant.
        return Err(LoadError::Empty {
            path: path.to_owned(),
        });
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let invalid = |errors| LoadError::Invalid {
        path: path.to_owned(),
        errors,
    };
    let mut doc = Document::parse(&text, DocumentFormat::detect(name, &text)).map_err(invalid)?;
    let dir = watch_dir(path);
    doc.resolve_files(&mut |file: &str| std::fs::read(dir.join(file)).map_err(|e| e.to_string()))
        .map_err(invalid)?;
    Ok(doc)
}

fn watch_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
