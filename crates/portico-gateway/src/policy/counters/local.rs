//! [`LocalCounters`]: counts kept in this process, exact and bounded. The only store
//! without `--redis`, and the fallback while Redis is unavailable.

use super::{Decision, Window};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Slots kept per shard before expired ones are swept out.
const SWEEP_EVERY: u32 = 1024;
const SHARDS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Slot {
    end_ms: u64,
    count: u64,
}

#[derive(Debug, Default)]
struct Shard {
    slots: HashMap<Box<str>, Slot>,
    ops: u32,
}

/// The in-process store: exact (each key's update happens under its shard's lock), and
/// bounded: a key's slot is dropped once its window is over, by a sweep every
/// [`SWEEP_EVERY`] calls per shard, so memory follows the keys active in a window.
#[derive(Debug)]
pub struct LocalCounters {
    shards: Vec<Mutex<Shard>>,
    clock: fn() -> u64,
}

impl Default for LocalCounters {
    fn default() -> Self {
        Self::with_clock(now_ms)
    }
}

fn now_ms() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl LocalCounters {
    /// A store reading the time from `clock` (Unix ms), for tests.
    pub fn with_clock(clock: fn() -> u64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            clock,
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(key);
        &self.shards[(h as usize) % SHARDS]
    }

    /// [`Counters::increment`](super::Counters::increment) now.
    #[inline]
    pub fn increment(&self, key: &str, window: Window, limit: u64, cost: u64) -> Decision {
        self.increment_at(key, window, limit, cost, (self.clock)())
    }

    /// Adds `cost` to `key`'s count at time `now` (Unix ms); see
    /// [`Counters::increment`](super::Counters::increment).
    pub fn increment_at(
        &self,
        key: &str,
        window: Window,
        limit: u64,
        cost: u64,
        now: u64,
    ) -> Decision {
        // A poisoned lock only means another request panicked mid-update of plain numbers.
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        shard.ops += 1;
        if shard.ops >= SWEEP_EVERY {
            shard.ops = 0;
            shard.slots.retain(|_, s| s.end_ms > now);
        }
        let fresh = Slot {
            end_ms: window_end(window, now),
            count: 0,
        };
        let slot = match shard.slots.get_mut(key) {
            Some(s) if s.end_ms > now => s,
            Some(s) => {
                *s = fresh;
                s
            }
            None => shard.slots.entry(key.into()).or_insert(fresh),
        };
        let allowed = if cost == 0 {
            slot.count < limit
        } else {
            slot.count.saturating_add(cost) <= limit
        };
        if allowed {
            slot.count = slot.count.saturating_add(cost);
        }
        Decision {
            allowed,
            count: slot.count,
            reset_in: if slot.end_ms == u64::MAX {
                Duration::MAX
            } else {
                Duration::from_millis(slot.end_ms - now)
            },
        }
    }

    /// Keys currently held (for tests of the memory bound).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).slots.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// When the window holding `now` ends.
fn window_end(w: Window, now: u64) -> u64 {
    if w.period_ms == 0 {
        return u64::MAX;
    }
    match w.anchor_ms {
        None => now.saturating_add(w.period_ms),
        Some(anchor) => {
            let since = i128::from(now) - i128::from(anchor);
            let period = i128::from(w.period_ms);
            let end = i128::from(anchor) + (since.div_euclid(period) + 1) * period;
            u64::try_from(end).unwrap_or(u64::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Window = Window {
        period_ms: 60_000,
        anchor_ms: None,
    };

    #[test]
    fn counts_up_to_the_limit_then_renews() {
        let c = LocalCounters::default();
        for i in 1..=3 {
            let d = c.increment_at("k", MIN, 3, 1, 1_000);
            assert!(d.allowed);
            assert_eq!(d.count, i);
        }
        let d = c.increment_at("k", MIN, 3, 1, 30_000);
        assert!(!d.allowed);
        assert_eq!(d.reset_in, Duration::from_secs(31));
        assert!(!c.increment_at("k", MIN, 3, 0, 30_000).allowed);
        assert!(c.increment_at("k", MIN, 3, 1, 61_000).allowed);
        assert!(c.increment_at("other", MIN, 3, 1, 30_000).allowed);
    }

    #[test]
    fn anchored_windows_align_on_the_anchor() {
        let c = LocalCounters::default();
        let w = Window {
            period_ms: 10_000,
            anchor_ms: Some(5_000),
        };
        let d = c.increment_at("k", w, 5, 1, 27_000);
        assert_eq!(d.reset_in, Duration::from_secs(8));
        let never = Window {
            period_ms: 0,
            anchor_ms: None,
        };
        assert_eq!(c.increment_at("n", never, 1, 1, 0).reset_in, Duration::MAX);
    }

    #[test]
    fn expired_keys_are_swept() {
        let c = LocalCounters::default();
        for i in 0..5_000 {
            c.increment_at(&format!("k{i}"), MIN, 1, 1, 0);
        }
        assert_eq!(c.len(), 5_000);
        // Sweeps run per shard, so the later traffic must reach every shard: 256 keys spread
        // over the 16 shards, each shard seeing several sweep periods' worth of calls.
        for i in 0..(SWEEP_EVERY as usize * SHARDS * 8) {
            c.increment_at(&format!("later{}", i % 256), MIN, u64::MAX, 1, 120_000);
        }
        assert!(c.len() <= 256, "{} keys left", c.len());
    }

    #[test]
    fn exact_under_concurrency() {
        let c = std::sync::Arc::new(LocalCounters::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    (0..1_000)
                        .filter(|_| c.increment_at("k", MIN, 2_500, 1, 0).allowed)
                        .count()
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(allowed, 2_500);
    }
}
