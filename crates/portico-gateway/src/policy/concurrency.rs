//! The gateway's in-flight counts for `limit-concurrency`: a key's count lives only while
//! some request holds it, so memory follows the keys in use. It lives with the gateway, so
//! a configuration change does not let a burst past the bound.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Concurrency {
    held: Mutex<HashMap<Box<str>, u32>>,
}

/// One request's place under a key; dropping it frees the place.
#[derive(Debug)]
pub struct Permit<'a> {
    owner: &'a Concurrency,
    key: Box<str>,
}

impl Concurrency {
    /// A place under `key` if fewer than `max` are held.
    pub fn try_acquire(&self, key: &str, max: u32) -> Option<Permit<'_>> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = held.entry(key.into()).or_insert(0);
        if *n >= max {
            if *n == 0 {
                held.remove(key);
            }
            return None;
        }
        *n += 1;
        Some(Permit {
            owner: self,
            key: key.into(),
        })
    }

    /// Keys with requests in flight.
    pub fn keys(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut held = self.owner.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_max_and_forgets_idle_keys() {
        let c = Concurrency::default();
        let a = c.try_acquire("k", 2).unwrap();
        let b = c.try_acquire("k", 2).unwrap();
        assert!(c.try_acquire("k", 2).is_none());
        drop(a);
        let _c = c.try_acquire("k", 2).unwrap();
        drop(b);
        drop(_c);
        assert_eq!(c.keys(), 0);
    }
}
