//! Client-facing TLS: which certificate, protocols and client-certificate request each
//! handshake gets.
//!
//! A [`Catalog`] is compiled from a snapshot's gateway hostname configurations when the
//! snapshot is applied (off the hot path) and swapped in atomically beside the runtime; a
//! certificate from local files ([`local_files`], `--tls-cert`/`--tls-key`) can sit beside it
//! as the fallback. The TLS listener reads the client's hello, picks a [`Site`] by server
//! name, and finishes the handshake with that site's configuration, so a rotation changes
//! what *new* handshakes get and never touches a listener or an open connection.

mod catalog;
mod client_auth;
mod client_cert;
mod client_names;
mod issuer;
pub mod local_files;
pub mod signatures;
mod site;

pub use catalog::Catalog;
pub use client_cert::ClientCertificate;
pub use site::Site;

use arc_swap::{ArcSwap, ArcSwapOption};
use std::sync::Arc;

/// What TLS serves now: the snapshot's catalog and the local-file fallback certificate.
#[derive(Debug, Default)]
pub struct TlsState {
    catalog: ArcSwap<Catalog>,
    local: ArcSwapOption<Site>,
}

impl TlsState {
    /// The site a handshake naming `server_name` (SNI) gets: an exact hostname, then the
    /// longest matching wildcard, then the default binding, then the local-file certificate,
    /// then the first configured certificate. `None` refuses the handshake.
    pub fn select(&self, server_name: Option<&str>) -> Option<Arc<Site>> {
        let catalog = self.catalog.load();
        if let Some(site) = server_name.and_then(|name| catalog.matching(name)) {
            return Some(site);
        }
        if let Some(site) = catalog.default_binding() {
            return Some(site);
        }
        if let Some(site) = self.local.load_full() {
            return Some(site);
        }
        catalog.first()
    }

    /// The catalog being served.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    pub(crate) fn set_catalog(&self, catalog: Catalog) {
        self.catalog.store(Arc::new(catalog));
    }

    /// The local-file certificate, if one is loaded.
    pub fn local(&self) -> Option<Arc<Site>> {
        self.local.load_full()
    }

    pub(crate) fn set_local(&self, site: Arc<Site>) {
        self.local.store(Some(site));
    }
}
