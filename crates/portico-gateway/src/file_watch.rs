//! Watching files for changes the way deployments replace them: the *directory* of each
//! file is watched, so an in-place write, an editor's write-and-rename and Kubernetes'
//! `..data` symlink swap are all seen. Events are coalesced: [`DirWatch::changed`] resolves
//! once a burst of events has settled.

use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after the last event before reporting a change, so a burst of writes from
/// one save is read once, complete.
const SETTLE: Duration = Duration::from_millis(100);

/// The directories of some files, watched.
#[derive(Debug)]
pub struct DirWatch {
    watcher: notify::RecommendedWatcher,
    dirs: HashSet<PathBuf>,
    events: mpsc::UnboundedReceiver<()>,
}

impl DirWatch {
    pub fn new() -> notify::Result<Self> {
        let (tx, events) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Reading a file raises access events; reacting to those would reload forever.
            if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                let _ = tx.send(());
            }
        })?;
        Ok(Self {
            watcher,
            dirs: HashSet::new(),
            events,
        })
    }

    /// Watches the directory holding `file` (once, however many files it holds).
    pub fn add(&mut self, file: &Path) -> notify::Result<()> {
        let dir = dir_of(file).to_path_buf();
        if !self.dirs.contains(&dir) {
            self.watcher.watch(&dir, RecursiveMode::NonRecursive)?;
            self.dirs.insert(dir);
        }
        Ok(())
    }

    /// Resolves after something changed in a watched directory and the burst settled;
    /// `false` once the watcher is gone.
    pub async fn changed(&mut self) -> bool {
        if self.events.recv().await.is_none() {
            return false;
        }
        while let Ok(Some(())) = tokio::time::timeout(SETTLE, self.events.recv()).await {}
        true
    }
}

/// The directory holding `path`: its parent, or `.` for a bare file name.
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
