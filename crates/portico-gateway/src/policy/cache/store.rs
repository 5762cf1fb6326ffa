//! The gateway's internal cache: entries by key, each with an expiry, and a bound on the
//! bytes they take; when an insert would pass the bound the least recently used entries go
//! first. Time is passed in, so the rules are tested without sleeping. One mutex guards it,
//! held only for a map operation (never across an `.await`).

use portico_policy::expr::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A response kept by `cache-store`.
#[derive(Debug)]
pub struct CachedResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
    /// The `duration` it was stored for, for downstream `Cache-Control`.
    pub max_age: u32,
}

/// What an entry holds.
#[derive(Debug, Clone)]
pub enum Cached {
    /// A `cache-store-value` value, frozen (see [`super::values::freeze`]).
    Value(Value),
    Response(Arc<CachedResponse>),
}

#[derive(Debug)]
struct Entry {
    item: Cached,
    size: usize,
    expires: Instant,
    /// Position in the recency order.
    tick: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Recency: oldest tick first.
    order: BTreeMap<u64, String>,
    bytes: usize,
    next_tick: u64,
}

/// The cache shared by every request and every configuration.
#[derive(Debug)]
pub struct Cache {
    capacity: usize,
    inner: Mutex<Inner>,
}

/// What each entry costs besides its key and item: map slots, the order index, the expiry.
const ENTRY_OVERHEAD: usize = 96;

impl Cache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; if something did, the map is still whole.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The item under `key` if it has not expired; a hit becomes the most recently used.
    pub fn get(&self, key: &str, now: Instant) -> Option<Cached> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let entry = inner.entries.get_mut(key)?;
        if entry.expires <= now {
            let size = entry.size;
            let tick = entry.tick;
            inner.entries.remove(key);
            inner.order.remove(&tick);
            inner.bytes -= size;
            return None;
        }
        inner.order.remove(&entry.tick);
        entry.tick = inner.next_tick;
        inner.next_tick += 1;
        inner.order.insert(entry.tick, key.to_owned());
        Some(entry.item.clone())
    }

    /// Stores `item` (of about `size` bytes) until `expires`, evicting the least recently
    /// used entries to stay within the bound. An item larger than the whole bound is not kept.
    pub fn put(&self, key: &str, item: Cached, size: usize, expires: Instant) -> bool {
        let size = size + key.len() + ENTRY_OVERHEAD;
        let mut inner = self.lock();
        remove(&mut inner, key);
        if size > self.capacity {
            return false;
        }
        while inner.bytes + size > self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.size;
            }
        }
        let tick = inner.next_tick;
        inner.next_tick += 1;
        inner.order.insert(tick, key.to_owned());
        inner.bytes += size;
        inner.entries.insert(
            key.to_owned(),
            Entry {
                item,
                size,
                expires,
                tick,
            },
        );
        true
    }

    pub fn remove(&self, key: &str) {
        remove(&mut self.lock(), key);
    }

    /// Bytes in use, for tests and metrics.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

fn remove(inner: &mut Inner, key: &str) {
    if let Some(e) = inner.entries.remove(key) {
        inner.order.remove(&e.tick);
        inner.bytes -= e.size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn v(s: &str) -> Cached {
        Cached::Value(Value::str(s))
    }

    fn has(c: &Cache, key: &str, now: Instant) -> bool {
        c.get(key, now).is_some()
    }

    #[test]
    fn least_recently_used_goes_first_and_bytes_stay_bounded() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        // Room for three entries of 100 bytes (plus key and overhead).
        let cache = Cache::new(3 * (100 + 1 + ENTRY_OVERHEAD));
        for k in ["a", "b", "c"] {
            assert!(cache.put(k, v(k), 100, later));
        }
        assert!(has(&cache, "a", now), "a is now the most recent");
        assert!(cache.put("d", v("d"), 100, later));
        assert!(!has(&cache, "b", now), "b was the least recently used");
        for k in ["a", "c", "d"] {
            assert!(has(&cache, k, now), "{k}");
        }
        assert!(cache.bytes() <= 3 * (100 + 1 + ENTRY_OVERHEAD));
        assert!(
            !cache.put("huge", v("x"), 10_000, later),
            "larger than the bound"
        );
        assert!(has(&cache, "a", now), "a refused item evicts nothing");
    }

    #[test]
    fn expired_entries_are_gone_and_replacing_frees_the_old_size() {
        let now = Instant::now();
        let cache = Cache::new(10_000);
        cache.put("k", v("1"), 500, now + Duration::from_secs(1));
        let before = cache.bytes();
        cache.put("k", v("2"), 100, now + Duration::from_secs(1));
        assert_eq!(cache.bytes(), before - 400);
        assert!(has(&cache, "k", now));
        assert!(!has(&cache, "k", now + Duration::from_secs(1)));
        assert_eq!(cache.bytes(), 0);
        cache.put("k", v("3"), 10, now + Duration::from_secs(5));
        cache.remove("k");
        assert!(!has(&cache, "k", now));
    }
}
