//! Retry delays: exponential, jittered, capped. Pure (the random draw is passed in) so the
//! schedule is tested exactly.

use std::time::Duration;

/// The first retry's ceiling.
pub const BASE: Duration = Duration::from_millis(200);
/// No wait between attempts is ever longer than this (the design promises a gateway polls at
/// least every 10 s while the channel is failing).
pub const CAP: Duration = Duration::from_secs(10);

/// The wait before retry number `failures` (1 after the first failure). `unit` is a random
/// draw in `[0, 1)`. "Equal jitter": half the ceiling is fixed so retries never spin, the
/// other half is random so a fleet that lost the control plane together does not come back in
/// lockstep.
pub fn delay(failures: u32, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let ceiling = BASE.saturating_mul(1 << exp).min(CAP);
    let unit = unit.clamp(0.0, 1.0);
    ceiling / 2 + ceiling.mul_f64(unit / 2.0)
}

/// A random draw in `[0, 1)`, from the v4 UUID generator the crate already uses (no extra
/// dependency; the quality is ample for jitter).
pub fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u64_pair().0 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_and_never_passes_the_cap() {
        assert_eq!(delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(delay(1, 1.0), Duration::from_millis(200));
        assert_eq!(delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(delay(3, 1.0), Duration::from_millis(800));
        for failures in [7, 8, 20, 1000, u32::MAX] {
            assert!(delay(failures, 1.0) <= CAP);
            assert!(delay(failures, 0.0) >= CAP / 2);
        }
    }

    #[test]
    fn jitter_stays_inside_the_band() {
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
            let d = delay(4, u);
            assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1600));
        }
    }
}
