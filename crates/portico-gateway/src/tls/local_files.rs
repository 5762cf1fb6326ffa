//! A certificate from local PEM files (`--tls-cert`/`--tls-key`), for gateways fed by
//! cert-manager or a Kubernetes secret volume. Both files' directories are watched, so an
//! in-place write, an editor's rename and Kubernetes' `..data` symlink swap are all seen.
//! A change is loaded only when the pair parses and the key belongs to the certificate; a
//! half-written or mismatched pair is logged, counted in
//! `portico_certificate_reload_failures_total`, and the good certificate keeps serving.

use super::site::{Site, SiteOptions};
use crate::file_watch::DirWatch;
use crate::gateway::Gateway;
use portico_model::{Certificate, Secret};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A pair still failing after a change is read again this often (a writer may replace the
/// key file a moment after the certificate file).
const RETRY: Duration = Duration::from_secs(2);

/// A watched certificate/key pair feeding one gateway's fallback certificate.
#[derive(Debug)]
pub struct CertificateFiles {
    cert: PathBuf,
    key: PathBuf,
    gateway: Gateway,
    /// The PEM text last loaded, to skip events that changed nothing.
    loaded: Option<(String, String)>,
    watch: DirWatch,
}

impl CertificateFiles {
    /// Starts watching, then loads the pair: an unusable pair at start is an error (the
    /// operator is there to fix it); later it only keeps the previous certificate.
    pub fn start(cert: PathBuf, key: PathBuf, gateway: Gateway) -> Result<Self, String> {
        let watch_error = |e: notify::Error| format!("cannot watch certificate files: {e}");
        let mut watch = DirWatch::new().map_err(watch_error)?;
        watch.add(&cert).map_err(watch_error)?;
        watch.add(&key).map_err(watch_error)?;
        let mut files = Self {
            cert,
            key,
            gateway,
            loaded: None,
            watch,
        };
        files.load()?;
        Ok(files)
    }

    /// Reads the pair and serves it if it changed. Errors name the files and the problem.
    fn load(&mut self) -> Result<bool, String> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let pair = (read(&self.cert)?, read(&self.key)?);
        if self.loaded.as_ref() == Some(&pair) {
            return Ok(false);
        }
        let certificate = Certificate {
            id: "tls-cert".into(),
            data: None,
            password: None,
            pem: Some(pair.0.clone()),
            key: Some(Secret::new(pair.1.clone())),
            pfx_file: None,
            pem_file: None,
            key_file: None,
        };
        let context =
            |e: String| format!("{} with {}: {e}", self.cert.display(), self.key.display());
        let parsed = certificate.parse().map_err(context)?;
        let options = SiteOptions {
            http2: true,
            client_certificates: None,
        };
        let site = Site::new(self.cert.display().to_string(), parsed, &options).map_err(context)?;
        tracing::info!(
            cert = %self.cert.display(),
            thumbprint = %site.certificate.thumbprint,
            expires = %site.certificate.expiration_date,
            "certificate loaded from files"
        );
        self.gateway.set_local_certificate(Arc::new(site));
        self.loaded = Some(pair);
        Ok(true)
    }

    /// Reloads on every change until `shutdown` fires.
    pub async fn run(mut self, shutdown: crate::server::ShutdownSignal) {
        let stop = crate::server::shutdown_requested(shutdown);
        tokio::pin!(stop);
        let mut failing = false;
        loop {
            let wait = if failing { RETRY } else { Duration::MAX };
            tokio::select! {
                changed = self.watch.changed() => if !changed { return },
                _ = tokio::time::sleep(wait) => {}
                _ = &mut stop => return,
            }
            match self.load() {
                Ok(_) => failing = false,
                Err(e) => {
                    if !failing {
                        self.gateway.metrics().record_certificate_reload_failure();
                        tracing::error!(error = %e, "certificate files changed but cannot be loaded; the previous certificate keeps serving");
                    }
                    failing = true;
                }
            }
        }
    }
}
