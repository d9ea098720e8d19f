//! How far a local stack's pipeline has got, for waits that fail when nothing
//! moves rather than after a fixed time (a busy 2-core machine is slow, not
//! stuck).
//!
//! The stack's parts report work as it happens: an SQS poller taking new
//! messages and finishing some of a batch, a function process starting or
//! dying, and (when the proxy stands between the functions and the emulator)
//! a state change that went through — a DynamoDB write, an SQS send or
//! delete, an email. Trying again is not progress: a message taken for
//! another try, or a batch that failed again, moves nothing (else a function
//! that fails every time would never stall). Nor is a schedule's tick by
//! itself (ticks come every period whether or not anything is due): what a
//! tick changes is.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stack's record of its last movement; cheap to clone and share.
#[derive(Clone, Default)]
pub struct Progress(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    moves: u64,
    last: Option<(Instant, String)>,
    refused: Vec<String>,
    refusals: u64,
}

/// How many of the latest refusals a [`Seen`] names.
const REFUSALS_KEPT: usize = 3;

/// What a [`Progress`] had seen at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// How many movements so far (only ever grows).
    pub moves: u64,
    /// The latest movement, and how long before the snapshot it came.
    pub last: Option<(Duration, String)>,
    /// How many calls a function's role refused, and the latest of them: a
    /// pipeline that stalls on a denied call says so.
    pub refusals: u64,
    pub refused: Vec<String>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Progress").field(&self.seen()).finish()
    }
}

impl Progress {
    /// Records one movement, described for a person reading a failed wait.
    pub fn moved(&self, what: impl Into<String>) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        state.moves += 1;
        state.last = Some((Instant::now(), what.into()));
    }

    /// Records a call that a function's role refused (not a movement).
    pub fn refused(&self, what: impl Into<String>) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        state.refusals += 1;
        if state.refused.len() == REFUSALS_KEPT {
            state.refused.remove(0);
        }
        state.refused.push(what.into());
    }

    /// The movements so far.
    pub fn seen(&self) -> Seen {
        let state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Seen {
            moves: state.moves,
            last: state
                .last
                .as_ref()
                .map(|(at, what)| (at.elapsed(), what.clone())),
            refusals: state.refusals,
            refused: state.refused.clone(),
        }
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.last {
            None => write!(f, "the pipeline has not moved at all")?,
            Some((ago, what)) => write!(
                f,
                "the pipeline moved {} times, last {:.0} s ago: {what}",
                self.moves,
                ago.as_secs_f64()
            )?,
        }
        if self.refusals > 0 {
            write!(
                f,
                "; {} call(s) refused by the functions' roles, the latest: {}",
                self.refusals,
                self.refused.join(" | ")
            )?;
        }
        Ok(())
    }
}

/// Tells a wait whether it should give up: it has, when neither the stack
/// nor what the wait itself watches has moved for `window`.
#[derive(Debug)]
pub struct Stall {
    window: Duration,
    moves: u64,
    observed: Option<String>,
    since: Instant,
}

impl Stall {
    pub fn new(window: Duration, progress: &Progress) -> Self {
        Self {
            window,
            moves: progress.seen().moves,
            observed: None,
            since: Instant::now(),
        }
    }

    /// Looks again at `progress` and at what the wait saw this time (any
    /// description; a change is movement). `true` once the window passed
    /// with neither changing.
    pub fn stalled(&mut self, progress: &Progress, observed: Option<String>) -> bool {
        self.stalled_at(Instant::now(), progress.seen().moves, observed)
    }

    fn stalled_at(&mut self, now: Instant, moves: u64, observed: Option<String>) -> bool {
        if moves != self.moves || (observed.is_some() && observed != self.observed) {
            self.moves = moves;
            if observed.is_some() {
                self.observed = observed;
            }
            self.since = now;
        }
        now.saturating_duration_since(self.since) >= self.window
    }

    /// What the wait watched, as it last saw it.
    pub fn observed(&self) -> Option<&str> {
        self.observed.as_deref()
    }

    pub fn window(&self) -> Duration {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_stalls_only_after_a_window_with_no_movement() {
        let progress = Progress::default();
        let window = Duration::from_secs(60);
        let mut stall = Stall::new(window, &progress);
        let t0 = stall.since;
        let at = |s: u64| t0 + Duration::from_secs(s);
        // Slow but moving: an hour with a movement every 59 s is no stall.
        for minute in 1..=60 {
            assert!(!stall.stalled_at(at(minute * 59), minute, None));
        }
        assert!(!stall.stalled_at(at(60 * 59 + 59), 60, None));
        assert!(stall.stalled_at(at(60 * 59 + 60), 60, None));
        // What the wait watches changing is movement too; the same again is not.
        let later = 60 * 59 + 60;
        assert!(!stall.stalled_at(at(later + 1), 60, Some("3 entries".into())));
        assert!(!stall.stalled_at(at(later + 60), 60, Some("3 entries".into())));
        assert!(stall.stalled_at(at(later + 61), 60, Some("3 entries".into())));
        assert!(!stall.stalled_at(at(later + 62), 60, Some("4 entries".into())));
        assert_eq!(stall.observed(), Some("4 entries"));
    }

    #[test]
    fn progress_says_what_moved_last() {
        let progress = Progress::default();
        assert_eq!(progress.seen().moves, 0);
        assert!(progress.seen().to_string().contains("not moved"));
        progress.moved("RouterFunction took 2 messages from RoutingQueue");
        progress.moved("FulfillmentFunction's process started");
        let seen = progress.seen();
        assert_eq!(seen.moves, 2);
        assert!(
            seen.to_string()
                .contains("FulfillmentFunction's process started"),
            "{seen}"
        );
    }
}
