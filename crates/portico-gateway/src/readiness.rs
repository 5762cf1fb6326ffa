//! [`Readiness`]: a line of detail a config source sets for `/readyz`, such as "serving the
//! backup: control plane unreachable" or "token expired". Read only by the ops listener, so a
//! plain mutex is fine: no request ever takes it.

use std::sync::Mutex;

/// The config source's current word on readiness.
#[derive(Debug, Default)]
pub struct Readiness {
    detail: Mutex<Option<String>>,
}

impl Readiness {
    /// Replaces the detail (`None` clears it).
    pub fn set(&self, detail: Option<String>) {
        *self.detail.lock().unwrap_or_else(|e| e.into_inner()) = detail;
    }

    pub fn detail(&self) -> Option<String> {
        self.detail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
