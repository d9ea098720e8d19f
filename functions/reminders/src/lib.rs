//! The reminders tick, on an EventBridge schedule. "Now" is the event's time,
//! so a tick is a function of the stored state and that time (the local
//! stack fires it at any time: `POST /_local/schedules/RemindersFunction`).
//! Each tick's counts are one metrics line (`SlaBreaches`, `Reassigned`, ...).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use leadflow::app::reminders::{tick, TickReport};
use leadflow::ports::{Clock, LeadStore, Mailer, Publisher, StoreError};
use leadflow::Playbook;
use leadflow_aws::metrics::Emf;

pub struct Reminders<S, M, P, C> {
    pub store: S,
    pub mailer: M,
    /// The fulfillment queue: a reassigned lead's new owner gets the package.
    pub publisher: P,
    /// The real time: "now" when the event carries no time, and where
    /// claims' leases start (a retried old event holds them as long as a
    /// fresh tick would).
    pub clock: C,
    pub playbook: Playbook,
}

impl<S: LeadStore, M: Mailer, P: Publisher, C: Clock> Reminders<S, M, P, C> {
    pub async fn handle(&self, event: EventBridgeEvent) -> Result<TickReport, StoreError> {
        self.handle_until(event, None).await
    }

    /// The tick, stopping before `deadline` (the invocation's, less a
    /// margin) with what is left for the next tick.
    pub async fn handle_until(
        &self,
        event: EventBridgeEvent,
        deadline: Option<std::time::SystemTime>,
    ) -> Result<TickReport, StoreError> {
        let now = event.time.unwrap_or_else(|| self.clock.now());
        let report = tick(
            &self.store,
            &self.mailer,
            &self.publisher,
            &self.playbook,
            deadline,
            now,
            self.clock.now(),
        )
        .await?;
        tracing::info!(?report, %now, "reminders tick");
        tick_metrics(&report).emit(now);
        Ok(report)
    }
}

/// Every count, zeros included: a quiet tick is a data point, so the SLA
/// alarm sees "none" rather than "no data".
pub fn tick_metrics(r: &TickReport) -> Emf {
    Emf::leadflow()
        .count("SlaBreaches", r.leads_escalated as u64)
        .count("Reassigned", r.leads_reassigned as u64)
        .count("OverdueTasks", r.tasks_escalated as u64)
        .count("TasksReminded", r.tasks_reminded as u64)
        .count("Digests", r.digests as u64)
        .count("ReminderFailures", r.failed as u64)
}
