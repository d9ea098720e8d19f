//! The outbox sweeper, on an EventBridge schedule: publishes the messages whose
//! writer died between committing and publishing them. "Now" is the event's time.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use leadflow::app::outbox::{sweep, SweepReport};
use leadflow::ports::{Clock, LeadStore, Publisher, StoreError};

pub struct Sweeper<S, P, C> {
    pub store: S,
    pub publisher: P,
    /// Used only when the event carries no time.
    pub clock: C,
}

/// Messages published per invocation; the next tick takes the rest.
pub const BATCH: usize = 500;

impl<S: LeadStore, P: Publisher, C: Clock> Sweeper<S, P, C> {
    pub async fn handle(&self, event: EventBridgeEvent) -> Result<SweepReport, StoreError> {
        let now = event.time.unwrap_or_else(|| self.clock.now());
        let report = sweep(&self.store, &self.publisher, now, BATCH).await?;
        if report.published + report.failed > 0 {
            tracing::warn!(
                published = report.published,
                failed = report.failed,
                "swept the outbox"
            );
        }
        Ok(report)
    }
}
