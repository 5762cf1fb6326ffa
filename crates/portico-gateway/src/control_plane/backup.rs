//! The on-disk last-known-good: every applied snapshot is written to `DIR/snapshot.json`
//! atomically (temp file, fsync, rename, fsync of the directory) with mode 0600, because it
//! holds subscription keys and secret named values. A gateway that boots while the control
//! plane is unreachable starts from it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const FILE: &str = "snapshot.json";

/// The backup directory.
#[derive(Debug, Clone)]
pub struct Backup {
    dir: PathBuf,
}

impl Backup {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Replaces the backup with `body` (the control plane's `{revision, document}` answer):
    /// a crash at any point leaves either the old file or the new one, never a torn one.
    pub fn write(&self, body: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{FILE}.{}.tmp", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(body)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, self.path())?;
        // The rename itself is durable only once the directory is.
        std::fs::File::open(&self.dir)?.sync_all()
    }

    /// The last backup written, if any.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Where a backup lives, for log lines.
pub fn describe(dir: &Path) -> String {
    dir.join(FILE).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_atomically_with_mode_0600_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let backup = Backup::new(dir.path().join("nested"));
        assert_eq!(backup.read().unwrap(), None);
        backup.write(b"{\"revision\":1}").unwrap();
        backup.write(b"{\"revision\":2}").unwrap();
        assert_eq!(backup.read().unwrap().unwrap(), b"{\"revision\":2}");
        let mode = std::fs::metadata(backup.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temp file left behind");
    }
}
