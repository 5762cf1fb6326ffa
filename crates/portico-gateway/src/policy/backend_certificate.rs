//! `authentication-certificate`: the request presents an uploaded client certificate in its
//! backend's TLS handshake (backend mTLS chosen by policy rather than by the backend's
//! `credentials.certificateIds`).
//!
//! The certificate and its key are read once, when the snapshot is compiled. At forwarding
//! time the chosen backend target is swapped for one whose connection pool presents the
//! certificate: the pool key includes the client identity, so connections made with another
//! certificate (or none) are never reused for it. Plain-HTTP backends have no handshake and
//! are left alone, as in APIM.

use crate::proxy::pool::{Endpoint, Upstreams};
use crate::proxy::tls::ClientIdentity;
use crate::runtime::{BackendTarget, BackendTlsSettings};
use http::uri::Scheme;
use std::sync::{Arc, Mutex};

/// Endpoints remembered per certificate; past this the oldest is let go (a policy that sends
/// one certificate to ever more hosts computed by expressions should not grow without bound).
const MAX_ENDPOINTS: usize = 64;

/// One `authentication-certificate` step's certificate, with the pools it has been used on.
#[derive(Debug)]
pub struct BackendCertificate {
    identity: Arc<ClientIdentity>,
    /// (backend endpoint, the same endpoint presenting `identity`). Held here for the
    /// configuration's life because the pool registry keeps only weak references: without
    /// this, the derived endpoint, and its warm connections, would die with each request.
    endpoints: Mutex<Vec<(Arc<Endpoint>, Arc<Endpoint>)>>,
}

impl BackendCertificate {
    pub fn new(identity: ClientIdentity) -> Self {
        Self {
            identity: Arc::new(identity),
            endpoints: Mutex::new(Vec::new()),
        }
    }

    /// `target` presenting this certificate: an HTTPS target moves to the endpoint whose
    /// TLS settings are the backend's own with this client identity; plain HTTP is unchanged.
    pub fn apply(
        &self,
        target: &BackendTarget,
        upstreams: &Upstreams,
    ) -> Result<BackendTarget, String> {
        let base = &target.endpoint;
        if *base.scheme() != Scheme::HTTPS {
            return Ok(target.clone());
        }
        Ok(BackendTarget {
            endpoint: self.endpoint_for(base, upstreams)?,
            ..target.clone()
        })
    }

    fn endpoint_for(
        &self,
        base: &Arc<Endpoint>,
        upstreams: &Upstreams,
    ) -> Result<Arc<Endpoint>, String> {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, derived)) = endpoints.iter().find(|(b, _)| Arc::ptr_eq(b, base)) {
            return Ok(derived.clone());
        }
        let settings = BackendTlsSettings {
            identity: Some(self.identity.clone()),
            ..base.tls_settings().clone()
        };
        let derived = upstreams.endpoint(base.scheme(), base.authority(), settings)?;
        if endpoints.len() >= MAX_ENDPOINTS {
            endpoints.remove(0);
        }
        endpoints.push((base.clone(), derived.clone()));
        Ok(derived)
    }
}
