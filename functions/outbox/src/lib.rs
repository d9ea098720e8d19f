//! The outbox sweeper, on an EventBridge schedule: publishes the messages whose
//! writer died between committing and publishing them. "Now" is the event's time.
//! Each sweep counts what it re-published (`OutboxRepublished`) and what it could not.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use leadflow::app::outbox::{sweep, SweepReport};
use leadflow::ports::{Clock, LeadStore, Publisher, StoreError};
use leadflow_aws::metrics::Emf;

pub struct Sweeper<S, P, C> {
    pub store: S,
    pub publisher: P,
    /// Used only when the event carries no time.
    pub clock: C,
}

impl<S: LeadStore, P: Publisher, C: Clock> Sweeper<S, P, C> {
    pub async fn handle(&self, event: EventBridgeEvent) -> Result<SweepReport, StoreError> {
        self.handle_until(event, None).await
    }

    /// Sweeps until nothing is due or `deadline` (less a margin) is near; the
    /// next tick takes the rest.
    pub async fn handle_until(
        &self,
        event: EventBridgeEvent,
        deadline: Option<std::time::SystemTime>,
    ) -> Result<SweepReport, StoreError> {
        let now = event.time.unwrap_or_else(|| self.clock.now());
        let report = sweep(&self.store, &self.publisher, now, deadline).await?;
        sweep_metrics(&report).emit(now);
        if report.published + report.failed + report.unreadable > 0 {
            tracing::warn!(
                published = report.published,
                failed = report.failed,
                not_cleared = report.not_cleared,
                unreadable = report.unreadable,
                stopped_early = report.stopped_early,
                "swept the outbox"
            );
        }
        Ok(report)
    }
}

/// A healthy sweep re-publishes nothing: anything here is a writer that died
/// between its commit and its publish (or a queue that refused).
pub fn sweep_metrics(r: &SweepReport) -> Emf {
    Emf::leadflow()
        .count("OutboxRepublished", r.published as u64)
        .count("OutboxPublishFailed", r.failed as u64)
        .count("OutboxUnreadable", r.unreadable as u64)
}
