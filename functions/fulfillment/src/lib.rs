//! The fulfillment queue consumer: email the prospect their kit and the owner
//! the lead package, each exactly once however often the message arrives.
//! What each delivery sent, had refused or coalesced counts by email kind
//! (`EmailsSent`, `EmailsRefused`, `EmailsCoalesced`).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use leadflow::app::fulfill::{fulfill, FulfillError, FulfillOutcome};
use leadflow::domain::lead::EmailKind;
use leadflow::links::ActionLinks;
use leadflow::messages::FulfillRequest;
use leadflow::ports::{BatchQueues, Clock, LeadStore, Mailer};
use leadflow::Playbook;
use leadflow_aws::metrics::Emf;
use leadflow_aws::sqs_batch::each_message;
use std::time::SystemTime;

pub struct Fulfillment<S, M, C, Q> {
    pub store: S,
    pub mailer: M,
    pub clock: C,
    /// The fulfillment queue (to defer to when throttled) and its dead-letter queue.
    pub queues: Q,
    pub playbook: Playbook,
    /// Signed one-click links in the owner's package (none when not configured).
    pub links: Option<ActionLinks>,
}

impl<S: LeadStore, M: Mailer, C: Clock, Q: BatchQueues> Fulfillment<S, M, C, Q> {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_until(event, None).await
    }

    /// Records not started by `deadline` (less a margin) are left for the next delivery.
    pub async fn handle_until(
        &self,
        event: SqsEvent,
        deadline: Option<SystemTime>,
    ) -> SqsBatchResponse {
        each_message(
            event,
            &self.queues,
            deadline,
            |req: FulfillRequest| async move {
                let now = self.clock.now();
                let o = fulfill(
                    &self.store,
                    &self.mailer,
                    &self.playbook,
                    self.links.as_ref(),
                    now,
                    &req,
                )
                .await?;
                for line in emails(&o) {
                    line.emit(now);
                }
                tracing::info!(
                    lead_id = %req.lead_id, sent = ?o.sent, already_sent = ?o.already_sent,
                    skipped = ?o.skipped, coalesced = ?o.coalesced, "fulfilled"
                );
                Ok::<_, FulfillError>(())
            },
        )
        .await
    }
}

/// One emission per email kind this delivery did something with: sent,
/// refused by the mail service for good, or coalesced into an earlier email.
/// (Sent by an earlier delivery, or with nobody to send to: nothing.)
pub fn emails(o: &FulfillOutcome) -> Vec<Emf> {
    let n =
        |list: &[EmailKind], kind: EmailKind| list.iter().filter(|k| **k == kind).count() as u64;
    [
        EmailKind::Fulfillment,
        EmailKind::OwnerNotice,
        EmailKind::Nurture,
    ]
    .into_iter()
    .filter_map(|kind| {
        let (sent, refused, coalesced) = (
            n(&o.sent, kind),
            n(&o.rejected, kind),
            n(&o.coalesced, kind),
        );
        (sent + refused + coalesced > 0).then(|| {
            Emf::leadflow()
                .by("Kind", kind.as_str())
                .and_total()
                .count("EmailsSent", sent)
                .count("EmailsRefused", refused)
                .count("EmailsCoalesced", coalesced)
        })
    })
    .collect()
}
