//! The nurture tick, on an EventBridge schedule. "Now" is the event's time
//! (the local stack fires it at any time: `POST /_local/schedules/NurtureFunction`).
//! Each tick's counts are one metrics line (`NurtureEmailsSent`, ...).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use leadflow::app::nurture::{tick, NurtureReport};
use leadflow::links::ActionLinks;
use leadflow::ports::{Clock, LeadStore, Mailer, Publisher, StoreError};
use leadflow::Playbook;
use leadflow_aws::metrics::Emf;

pub struct Nurture<S, M, P, C> {
    pub store: S,
    pub mailer: M,
    /// The fulfillment queue: a sales-ready lead's new owner gets the package.
    pub publisher: P,
    /// The real time: "now" when the event carries no time, and where
    /// claims' leases start.
    pub clock: C,
    pub playbook: Playbook,
    /// The unsubscribe links every marketing email carries.
    pub links: Option<ActionLinks>,
}

impl<S: LeadStore, M: Mailer, P: Publisher, C: Clock> Nurture<S, M, P, C> {
    pub async fn handle(&self, event: EventBridgeEvent) -> Result<NurtureReport, StoreError> {
        self.handle_until(event, None).await
    }

    /// The tick, stopping before `deadline` (the invocation's, less a
    /// margin) with what is left for the next tick.
    pub async fn handle_until(
        &self,
        event: EventBridgeEvent,
        deadline: Option<std::time::SystemTime>,
    ) -> Result<NurtureReport, StoreError> {
        let now = event.time.unwrap_or_else(|| self.clock.now());
        let report = tick(
            &self.store,
            &self.mailer,
            &self.publisher,
            &self.playbook,
            self.links.as_ref(),
            deadline,
            now,
            self.clock.now(),
        )
        .await?;
        tracing::info!(?report, %now, "nurture tick");
        tick_metrics(&report).emit(now);
        Ok(report)
    }
}

pub fn tick_metrics(r: &NurtureReport) -> Emf {
    Emf::leadflow()
        .count("NurtureEmailsSent", r.sent as u64)
        .count("NurtureCalls", r.calls as u64)
        .count(
            "NurtureDeferred",
            (r.deferred_window + r.deferred_cap) as u64,
        )
        .count("NurtureExits", r.exited as u64)
        .count("NurtureSalesReady", r.sales_ready as u64)
        .count("NurtureFailures", r.failed as u64)
}
