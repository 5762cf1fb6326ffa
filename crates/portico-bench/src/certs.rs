//! Certificates the bench makes with openssl: the self-signed one every HTTPS listener of a
//! run serves, and, for the rotation scenario, a CA and the leaves it signs (so the client
//! verifies the chain each handshake gets, as a real client would, and can tell the leaves
//! apart).

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A PEM certificate and its unencrypted PEM key, as files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// ECDSA P-256, valid for two days: cheap to make and to handshake with.
const NEW_KEY: [&str; 7] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
];

impl TlsFiles {
    /// A self-signed certificate for `localhost` under `dir` (wrk does not verify
    /// certificates).
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        let files = Self::named(dir, "tls");
        openssl(
            &files,
            &["-subj", "/CN=localhost", "-addext", LEAF_NAMES],
            "the benchmark certificate",
        )?;
        Ok(files)
    }

    fn named(dir: &Path, name: &str) -> Self {
        Self {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        }
    }

    /// The certificate file's text.
    pub fn cert_pem(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(&self.cert)
            .with_context(|| format!("reading {}", self.cert.display()))
    }

    /// The key file's text.
    pub fn key_pem(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(&self.key)
            .with_context(|| format!("reading {}", self.key.display()))
    }
}

const LEAF_NAMES: &str = "subjectAltName=DNS:localhost,IP:127.0.0.1";

/// A throwaway certificate authority.
#[derive(Debug, Clone)]
pub struct Ca {
    pub files: TlsFiles,
}

impl Ca {
    /// A self-signed CA under `dir` (openssl's default extensions make it `CA:TRUE`).
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        let files = TlsFiles::named(dir, "ca");
        openssl(
            &files,
            &["-subj", "/CN=Portico bench CA"],
            "the benchmark CA",
        )?;
        Ok(Self { files })
    }

    /// A leaf for `localhost` signed by this CA, written under `dir` as `name.crt`/`.key`.
    /// `CA:FALSE` is explicit: a verifier refuses a CA certificate used as a leaf.
    pub fn issue(&self, dir: &Path, name: &str) -> anyhow::Result<TlsFiles> {
        let files = TlsFiles::named(dir, name);
        let (ca_cert, ca_key) = (path_arg(&self.files.cert)?, path_arg(&self.files.key)?);
        openssl(
            &files,
            &[
                "-CA",
                ca_cert,
                "-CAkey",
                ca_key,
                "-subj",
                "/CN=localhost",
                "-addext",
                LEAF_NAMES,
                "-addext",
                "basicConstraints=critical,CA:FALSE",
            ],
            &format!("the leaf certificate {name}"),
        )?;
        Ok(files)
    }
}

fn path_arg(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// `openssl req -x509` with a new key, writing `files`.
fn openssl(files: &TlsFiles, extra: &[&str], what: &str) -> anyhow::Result<()> {
    let status = Command::new("openssl")
        .args(["req", "-x509"])
        .args(NEW_KEY)
        .args(extra)
        .arg("-keyout")
        .arg(&files.key)
        .arg("-out")
        .arg(&files.cert)
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running openssl to make {what} (apt-get install openssl)"))?;
    anyhow::ensure!(status.success(), "openssl could not make {what}");
    Ok(())
}
