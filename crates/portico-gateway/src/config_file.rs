//! The file config source: a declarative document on disk, loaded at start and watched
//! afterwards. A valid change is applied with the next revision; an invalid one is logged
//! with every error, counted in `portico_config_reloads_total{result="failure"}`, and the
//! configuration already serving stays.
//!
//! The file's directory is watched rather than the file, so editors that write a new file and
//! rename it over the old one, and Kubernetes' `..data` symlink swap, are both seen; so are
//! the directories of the files it references (policies, certificates), so a certificate
//! renewed by cert-manager in its own volume is picked up like an edit of the document.

use crate::file_watch::{dir_of, DirWatch};
use crate::gateway::Gateway;
use portico_model::{ConfigErrors, Document, DocumentFormat, Snapshot};
use std::path::{Path, PathBuf};

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
    /// The directories of the file and of every file it references.
    watch: DirWatch,
}

impl FileSource {
    /// Starts watching `path`, then loads it. Watching first means an edit made while the
    /// first load runs is seen by [`FileSource::run`].
    pub fn start(path: impl Into<PathBuf>, gateway: Gateway) -> Result<Self, LoadError> {
        let path = path.into();
        let watch_error = |source| LoadError::Watch {
            path: path.clone(),
            source,
        };
        let mut watch = DirWatch::new().map_err(watch_error)?;
        watch.add(&path).map_err(watch_error)?;
        let mut source = Self {
            path,
            gateway,
            revision: 0,
            last: None,
            watch,
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
        let mut referenced = Vec::new();
        let doc = read_document_noting(&path, &mut referenced);
        for file in &referenced {
            // A directory that cannot be watched only delays a reload until the next edit of
            // the document itself; it is no reason to refuse the configuration.
            if let Err(e) = self.watch.add(file) {
                tracing::warn!(file = %file.display(), error = %e, "cannot watch a referenced file; edit the document to reload it");
            }
        }
        let doc = doc?;
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
                changed = self.watch.changed() => if !changed { return },
                _ = &mut stop => return,
            }
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
    read_document_noting(path, &mut Vec::new())
}

/// [`read_document`], adding to `referenced` each file the document refers to (also when
/// reading fails, so a missing file is watched for).
fn read_document_noting(path: &Path, referenced: &mut Vec<PathBuf>) -> Result<Document, LoadError> {
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
    let dir = dir_of(path);
    doc.resolve_files(&mut |file: &str| {
        let file = dir.join(file);
        let read = std::fs::read(&file).map_err(|e| e.to_string());
        referenced.push(file);
        read
    })
    .map_err(invalid)?;
    Ok(doc)
}
