//! [`Readiness`]: lines of detail for `/readyz`, one per named part, so that independent
//! sources of trouble can speak without overwriting each other: the config source ("serving
//! the backup: control plane unreachable", "token expired") and the shared Redis ("Redis
//! unreachable: counting locally"). Read only by the ops listener and written on state
//! changes, so a plain mutex is fine: no request ever takes it.

use std::sync::{Arc, Mutex, MutexGuard};

/// The part [`Readiness::set`] writes: the config source's, always shown first.
const CONFIG: &str = "config";

type Parts = Arc<Mutex<Vec<(&'static str, String)>>>;

/// The gateway's current word on readiness, part by part.
#[derive(Debug, Default)]
pub struct Readiness {
    parts: Parts,
}

impl Readiness {
    /// Replaces the config source's detail (`None` clears it).
    pub fn set(&self, detail: Option<String>) {
        set_part(&self.parts, CONFIG, detail);
    }

    /// A handle that writes the part `name`, for a component that outlives this borrow.
    pub fn part(&self, name: &'static str) -> ReadinessPart {
        ReadinessPart {
            name,
            parts: self.parts.clone(),
        }
    }

    /// Every part's detail, one after another (the config source's first); `None` when no
    /// part has anything to say.
    pub fn detail(&self) -> Option<String> {
        let parts = lock(&self.parts);
        let config = parts.iter().filter(|(n, _)| *n == CONFIG);
        let others = parts.iter().filter(|(n, _)| *n != CONFIG);
        let lines: Vec<&str> = config.chain(others).map(|(_, d)| d.as_str()).collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// Writes one named part of a [`Readiness`].
#[derive(Debug, Clone)]
pub struct ReadinessPart {
    name: &'static str,
    parts: Parts,
}

impl ReadinessPart {
    /// Replaces this part's detail (`None` clears it).
    pub fn set(&self, detail: Option<String>) {
        set_part(&self.parts, self.name, detail);
    }
}

fn lock(parts: &Parts) -> MutexGuard<'_, Vec<(&'static str, String)>> {
    // Only whole strings are swapped under the lock: a poisoned one still holds a valid list.
    parts.lock().unwrap_or_else(|e| e.into_inner())
}

fn set_part(parts: &Parts, name: &'static str, detail: Option<String>) {
    let mut parts = lock(parts);
    let at = parts.iter().position(|(n, _)| *n == name);
    match (at, detail) {
        (Some(i), Some(d)) => parts[i].1 = d,
        (Some(i), None) => {
            parts.remove(i);
        }
        (None, Some(d)) => parts.push((name, d)),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_coexist_config_first() {
        let r = Readiness::default();
        assert_eq!(r.detail(), None);
        let redis = r.part("redis");
        redis.set(Some("redis: unreachable".into()));
        r.set(Some("config source: control plane".into()));
        assert_eq!(
            r.detail().as_deref(),
            Some("config source: control plane\nredis: unreachable")
        );
        r.set(Some("config source: backup".into()));
        redis.set(None);
        assert_eq!(r.detail().as_deref(), Some("config source: backup"));
        r.set(None);
        assert_eq!(r.detail(), None);
    }
}
