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
    #[error("{path}: {errors}")]
    Invalid { path: PathBuf, errors: ConfigErrors },
    #[error(
        "{path} is empty; an empty configuration is refused (write `apis: []` to serve nothing)"
    )]
    Empty { path: PathBuf },
    #[error("{path}: {message}")]
    Compile { path: PathBuf, message: String },
}

/// A watched configuration file feeding one gateway.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    gateway: Gateway,
    revision: u64,
    last_text: Option<String>,
}

impl FileSource {
    pub fn new(path: impl Into<PathBuf>, gateway: Gateway) -> Self {
        Self {
            path: path.into(),
            gateway,
            revision: 0,
            last_text: None,
        }
    }

    /// Reads, validates and applies the file. Unchanged content is not applied again.
    pub fn load(&mut self) -> Result<bool, LoadError> {
        let path = self.path.clone();
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        if self.last_text.as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        if text.trim().is_empty() {
            // Almost always a file caught mid-write; serving nothing is never what was meant.
            self.gateway.record_refused_config();
            return Err(LoadError::Empty { path });
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let snapshot = Document::parse_valid(&text, DocumentFormat::detect(name, &text))
            .and_then(|doc| Snapshot::new(self.revision + 1, doc))
            .map_err(|errors| {
                self.gateway.record_refused_config();
                LoadError::Invalid {
                    path: path.clone(),
                    errors,
                }
            })?;
        self.gateway
            .apply(&snapshot)
            .map_err(|message| LoadError::Compile {
                path: path.clone(),
                message,
            })?;
        self.revision = snapshot.revision();
        self.last_text = Some(text);
        Ok(true)
    }

    /// Watches the file and reloads on every change until `shutdown` fires.
    pub async fn watch(mut self, shutdown: crate::server::ShutdownSignal) -> notify::Result<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Reading the file raises access events; reacting to those would reload forever.
                if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(watch_dir(&self.path), RecursiveMode::NonRecursive)?;
        let stop = crate::server::shutdown_requested(shutdown);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                event = rx.recv() => if event.is_none() { return Ok(()) },
                _ = &mut stop => return Ok(()),
            }
            // Let the burst of events from one save settle.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, rx.recv()).await {}
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

fn watch_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
