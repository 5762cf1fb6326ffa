//! Percentiles of measured durations (nearest rank, so every figure reported is a duration
//! that was actually measured), in milliseconds for the report.

use serde::Serialize;
use std::time::Duration;

/// Count, median, p99 and maximum of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// `None` for no samples: an empty set has no percentiles.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let ms = |p: f64| nearest_rank(&sorted, p).map(|d| d.as_secs_f64() * 1e3);
        Some(Self {
            count: sorted.len(),
            p50_ms: ms(0.50)?,
            p99_ms: ms(0.99)?,
            max_ms: ms(1.0)?,
        })
    }

    /// `p50 / p99 / max` for a table cell.
    pub fn cell(p: Option<&Self>) -> String {
        p.map_or("-".to_owned(), |p| {
            format!("{:.2} / {:.2} / {:.2}", p.p50_ms, p.p99_ms, p.max_ms)
        })
    }
}

/// The smallest sample with at least `p` of the samples at or below it.
fn nearest_rank(sorted: &[Duration], p: f64) -> Option<Duration> {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let p = Percentiles::of(&hundred).unwrap();
        assert_eq!(
            (p.count, p.p50_ms, p.p99_ms, p.max_ms),
            (100, 50.0, 99.0, 100.0)
        );
        let one = Percentiles::of(&[ms(7)]).unwrap();
        assert_eq!((one.p50_ms, one.p99_ms, one.max_ms), (7.0, 7.0, 7.0));
        let three = Percentiles::of(&[ms(3), ms(1), ms(2)]).unwrap();
        assert_eq!((three.p50_ms, three.p99_ms), (2.0, 3.0));
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(Percentiles::of(&[]), None);
        assert_eq!(Percentiles::cell(None), "-");
    }
}
