//! The master key that seals secrets at rest (see [`crate::store::SealedStore`]): 32 bytes
//! from `PORTICO_MASTER_KEY`, or from a `master-key` file in the data directory that is
//! generated (mode 0600) on first start. A PostgreSQL control plane has no data directory of
//! its own, so it must be given the key: replicas have to share it.
//!
//! The key never shows itself: `Debug` prints no byte of it and no error repeats what the
//! operator supplied.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The environment variable that holds the key.
pub const ENV: &str = "PORTICO_MASTER_KEY";

/// The key file's name in the data directory.
pub const FILE_NAME: &str = "master-key";

/// How the key must be written, repeated in every parse error.
const EXPECTED: &str = "32 random bytes, written as base64 (`openssl rand -base64 32`) or as 64 hex characters (`openssl rand -hex 32`)";

/// A 256-bit key. Lose it and the secrets stored with it cannot be read back.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

/// Why no master key could be had.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The text is not a key; `origin` names where it came from, never what it holds.
    #[error("{origin} is not a valid master key ({length} characters): it must be {EXPECTED}")]
    Invalid { origin: String, length: usize },
    #[error("set {ENV} ({EXPECTED}): a control plane without a data directory (PostgreSQL) does not generate its own master key, and every replica must use the same one")]
    Missing,
    #[error("{path} is readable by other users (mode {mode:o}): run `chmod 600 {path}`, since whoever reads it can read every secret in the database")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the key came from, so the caller can tell the operator what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
    /// Created now; the operator must back it up along with the database.
    Generated(PathBuf),
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes, for deriving the working keys. Never log them.
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex characters or base64 (standard or URL-safe, padded or not) of exactly
    /// 32 bytes. Surrounding whitespace (a file's trailing newline) is ignored. `origin` names
    /// the source in the error.
    pub fn parse(text: &str, origin: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let invalid = || MasterKeyError::Invalid {
            origin: origin.to_owned(),
            length: text.chars().count(),
        };
        // 64 characters of hex cannot be 32 bytes of base64 (that is 43 or 44 characters),
        // so trying hex first is unambiguous.
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or_else(invalid)?
        };
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| invalid())
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator failed");
        Self(bytes)
    }

    /// `PORTICO_MASTER_KEY` if set; otherwise the `master-key` file in `dir`, created on first
    /// use; with neither, [`MasterKeyError::Missing`].
    pub fn from_env_or_file(dir: Option<&Path>) -> Result<(Self, KeySource), MasterKeyError> {
        Self::resolve(std::env::var(ENV).ok(), dir)
    }

    /// [`Self::from_env_or_file`] with the variable's value passed in (tests cannot set the
    /// environment of a multi-threaded process safely).
    pub fn resolve(
        env: Option<String>,
        dir: Option<&Path>,
    ) -> Result<(Self, KeySource), MasterKeyError> {
        if let Some(text) = env {
            return Ok((Self::parse(&text, ENV)?, KeySource::Env));
        }
        let dir = dir.ok_or(MasterKeyError::Missing)?;
        let path = dir.join(FILE_NAME);
        match Self::read_file(&path)? {
            Some(key) => Ok((key, KeySource::File(path))),
            None => Self::create_file(dir, &path),
        }
    }

    /// The key in `path`, or `None` when there is no such file.
    fn read_file(path: &Path) -> Result<Option<Self>, MasterKeyError> {
        let io = |action| {
            move |source| MasterKeyError::Io {
                action,
                path: path.to_owned(),
                source,
            }
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("reading")(e)),
        };
        // Like ssh with private keys: a key others can read protects nothing.
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(MasterKeyError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let text = std::fs::read_to_string(path).map_err(io("reading"))?;
        Self::parse(&text, &path.display().to_string()).map(Some)
    }

    /// Generates a key into `path`. The file appears whole or not at all: the key is written
    /// and synced to a private temporary file first, then linked into place, which fails if
    /// another process got there first (whose key is then used).
    fn create_file(dir: &Path, path: &Path) -> Result<(Self, KeySource), MasterKeyError> {
        let io = |action, at: &Path| {
            let at = at.to_owned();
            move |source| MasterKeyError::Io {
                action,
                path: at,
                source,
            }
        };
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let key = Self::generate();
        let temp = dir.join(format!(".{FILE_NAME}.{}", uuid::Uuid::new_v4().simple()));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            writeln!(file, "{}", STANDARD.encode(key.0))?;
            file.sync_all()
        })();
        let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                // The new name must survive a crash too: the database will soon need it.
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io("syncing", dir))?;
                Ok((key, KeySource::Generated(path.to_owned())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let key = Self::read_file(path)?.ok_or_else(|| io("reading", path)(e))?;
                Ok((key, KeySource::File(path.to_owned())))
            }
            Err(e) => Err(io("writing", path)(e)),
        }
    }
}

fn decode_hex(text: &str) -> Vec<u8> {
    let nibble = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| nibble(pair[0]) << 4 | nibble(pair[1]))
        .collect()
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn counting() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn parses_hex_and_every_base64_spelling() {
        let want = MasterKey::from_bytes(counting());
        assert_eq!(MasterKey::parse(HEX, ENV).unwrap(), want);
        assert_eq!(
            MasterKey::parse(&HEX.to_ascii_uppercase(), ENV).unwrap(),
            want
        );
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            let text = format!("  {}\n", engine.encode(counting()));
            assert_eq!(MasterKey::parse(&text, ENV).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn refuses_wrong_lengths_and_garbage_without_repeating_them() {
        for bad in [
            "",
            "secret-passphrase",
            &HEX[..62],
            &format!("{HEX}00"),
            &STANDARD.encode([7u8; 31]),
            &STANDARD.encode([7u8; 33]),
            "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ] {
            let err = MasterKey::parse(bad, ENV).unwrap_err().to_string();
            assert!(
                err.contains(ENV) && err.contains("32 random bytes"),
                "{err}"
            );
            if !bad.is_empty() {
                assert!(!err.contains(bad), "the error repeats the value: {err}");
            }
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let shown = format!("{:?}", MasterKey::parse(HEX, ENV).unwrap());
        assert_eq!(shown, "MasterKey(***)");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (key, source) = MasterKey::resolve(Some(HEX.into()), Some(dir.path())).unwrap();
        assert_eq!(
            (key, source),
            (MasterKey::from_bytes(counting()), KeySource::Env)
        );
        assert!(
            !dir.path().join(FILE_NAME).exists(),
            "no file is generated when the key is given"
        );
        let err = MasterKey::resolve(Some("short".into()), Some(dir.path())).unwrap_err();
        assert!(matches!(err, MasterKeyError::Invalid { .. }), "{err}");
    }

    #[test]
    fn generates_a_private_file_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (first, source) = MasterKey::resolve(None, Some(&data)).unwrap();
        let path = data.join(FILE_NAME);
        assert_eq!(source, KeySource::Generated(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(&data).unwrap().count(),
            1,
            "no temporary file is left behind"
        );
        let (again, source) = MasterKey::resolve(None, Some(&data)).unwrap();
        assert_eq!(source, KeySource::File(path));
        assert_eq!(again, first);
        assert_ne!(first, MasterKey::generate(), "keys are random");
    }

    #[test]
    fn refuses_a_key_file_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, HEX).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::resolve(None, Some(dir.path())).unwrap_err();
        assert!(
            matches!(err, MasterKeyError::TooOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (key, _) = MasterKey::resolve(None, Some(dir.path())).unwrap();
        assert_eq!(key, MasterKey::from_bytes(counting()));
    }

    #[test]
    fn without_env_or_directory_the_operator_is_told_to_set_the_variable() {
        let err = MasterKey::resolve(None, None).unwrap_err();
        assert!(matches!(err, MasterKeyError::Missing));
        assert!(err.to_string().contains(ENV), "{err}");
    }

    #[test]
    fn a_damaged_key_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "not a key").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = MasterKey::resolve(None, Some(dir.path())).unwrap_err();
        assert!(
            err.to_string().contains(&*path.display().to_string()),
            "{err}"
        );
    }
}
