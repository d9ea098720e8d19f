//! Optimistic writers that lost a race wait a little before they read again,
//! so a burst of writers to one lead spreads out instead of colliding in step.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Attempts a use case makes before it reports contention (a retryable error).
pub const ATTEMPTS: usize = 8;

/// Full jitter on an exponential ceiling: 0..min(5 ms · 2^attempt, 400 ms).
pub fn backoff_delay(attempt: usize) -> Duration {
    jitter(Duration::from_millis((5u64 << attempt.min(10)).min(400)))
}

/// A random duration in 0..max (microsecond steps).
pub fn jitter(max: Duration) -> Duration {
    // A fresh RandomState is randomly seeded: enough jitter, no dependency.
    let h = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let micros = max.as_micros().max(1) as u64;
    Duration::from_micros(h % micros)
}

pub async fn backoff(attempt: usize) {
    tokio::time::sleep(backoff_delay(attempt)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_a_rising_ceiling_and_vary() {
        for attempt in 0..12 {
            let ceiling = Duration::from_millis((5u64 << attempt.min(10)).min(400));
            assert!(backoff_delay(attempt) < ceiling);
        }
        let delays: std::collections::BTreeSet<_> = (0..20).map(|_| backoff_delay(6)).collect();
        assert!(delays.len() > 1, "jittered");
    }
}
