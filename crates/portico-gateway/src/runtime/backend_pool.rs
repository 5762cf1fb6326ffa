//! Pool backends (APIM's `type: Pool`): requests go to the members of the lowest priority
//! that has one whose circuit breaker admits it, spread among them in proportion to their
//! weights (a shared counter walks the weighted slots, so the spread is exact and lock-free).

use super::backend::BackendTarget;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A pool's members, grouped by priority (lowest first).
#[derive(Debug)]
pub struct PoolMembers {
    groups: Vec<Group>,
}

/// A member and its weight.
type Weighted = (Arc<BackendTarget>, u32);

#[derive(Debug)]
struct Group {
    members: Vec<Weighted>,
    total_weight: u64,
    next: AtomicU64,
}

impl PoolMembers {
    /// `members`: (target, priority, weight).
    pub fn new(mut members: Vec<(Arc<BackendTarget>, u32, u32)>) -> Self {
        members.sort_by_key(|(_, priority, _)| *priority);
        let mut groups: Vec<(u32, Vec<Weighted>)> = Vec::new();
        for (target, priority, weight) in members {
            match groups.last_mut() {
                Some((p, g)) if *p == priority => g.push((target, weight)),
                _ => groups.push((priority, vec![(target, weight)])),
            }
        }
        Self {
            groups: groups
                .into_iter()
                .map(|(_, members)| Group {
                    total_weight: members.iter().map(|(_, w)| u64::from(*w)).sum(),
                    members,
                    next: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    /// The member to use now, or `None` when every member's breaker is open.
    pub fn pick(&self, now: Instant) -> Option<&Arc<BackendTarget>> {
        self.groups.iter().find_map(|g| g.pick(now))
    }

    /// The first member, whose address stands for the pool where one URL is needed.
    pub fn first(&self) -> Option<&Arc<BackendTarget>> {
        self.groups
            .first()
            .and_then(|g| g.members.first())
            .map(|(t, _)| t)
    }
}

impl Group {
    fn pick(&self, now: Instant) -> Option<&Arc<BackendTarget>> {
        if self.total_weight == 0 {
            return None;
        }
        let mut slot = self.next.fetch_add(1, Ordering::Relaxed) % self.total_weight;
        let start = self
            .members
            .iter()
            .position(|(_, w)| {
                let inside = slot < u64::from(*w);
                slot = slot.saturating_sub(u64::from(*w));
                inside
            })
            .unwrap_or(0);
        // The weighted choice first, then the others in order if its breaker is open.
        (0..self.members.len())
            .map(|i| &self.members[(start + i) % self.members.len()])
            .find(|(t, w)| *w > 0 && t.admits(now))
            .map(|(t, _)| t)
    }
}
