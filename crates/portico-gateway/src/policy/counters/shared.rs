//! Counts in Redis, shared by every gateway that uses it: one Lua script per call checks
//! and adds atomically on the server, so N replicas together admit no more than the limit.
//! Windows are Redis key expiries (the key goes when its window ends, so memory follows the
//! keys active in a window), and anchored windows read the server's clock, so replicas
//! whose clocks differ still agree on when a period ends.

use super::{Decision, LocalCounters, Unavailable, Window};
use crate::redis::{FailureMode, Redis, Script};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// KEYS[1] the counter; ARGV period ms (0: never renews), anchor (Unix ms, or '' for none),
/// limit, cost (0: only check). Returns {allowed 1|0, count, ms until the window renews
/// (-1: never)}. The same rules as [`LocalCounters`].
const COUNT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local allowed
if cost == 0 then allowed = count < limit else allowed = count + cost <= limit end
if allowed and cost > 0 then count = redis.call('INCRBY', KEYS[1], cost) end
local function window()
  if ARGV[2] == '' then return period end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local anchor = tonumber(ARGV[2])
  return anchor + (math.floor((now - anchor) / period) + 1) * period - now
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 and period > 0 then
  ttl = window()
  redis.call('PEXPIRE', KEYS[1], ttl)
elseif ttl == -2 then
  if period > 0 then ttl = window() else ttl = -1 end
end
return {allowed and 1 or 0, count, ttl}
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(COUNT));

/// Counts in Redis.
#[derive(Debug)]
pub(super) struct SharedCounters {
    redis: Arc<Redis>,
}

impl SharedCounters {
    pub(super) fn new(redis: Arc<Redis>) -> Self {
        Self { redis }
    }

    /// Counts in Redis; while it is unavailable, counts in `local` (fail-open) or refuses.
    pub(super) async fn increment(
        &self,
        key: &str,
        window: Window,
        limit: u64,
        cost: u64,
        local: &LocalCounters,
    ) -> Result<Decision, Unavailable> {
        let counted = if self.redis.is_up() {
            let redis_key = self.redis.key("c:", key);
            let args = |c: &mut redis::Cmd| {
                c.arg(window.period_ms);
                match window.anchor_ms {
                    Some(a) => c.arg(a),
                    None => c.arg(""),
                };
                c.arg(limit).arg(cost);
            };
            self.redis.eval(&SCRIPT, &redis_key, &args).await
        } else {
            // Known down: not even a key to build.
            Err(crate::redis::Unavailable)
        };
        match counted {
            Ok((allowed, count, ttl)) => Ok(decision(allowed, count, ttl)),
            Err(crate::redis::Unavailable) => {
                let refuse = self.redis.failure_mode() == FailureMode::FailClosed;
                self.redis.metrics().counter_fallback(refuse);
                if refuse {
                    Err(Unavailable)
                } else {
                    Ok(local.increment(key, window, limit, cost))
                }
            }
        }
    }
}

fn decision(allowed: i64, count: i64, ttl_ms: i64) -> Decision {
    Decision {
        allowed: allowed == 1,
        count: u64::try_from(count).unwrap_or(0),
        reset_in: match u64::try_from(ttl_ms) {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => Duration::MAX,
        },
    }
}
