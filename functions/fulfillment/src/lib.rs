//! The fulfillment queue consumer: email the prospect their kit and the owner
//! the lead package, each exactly once however often the message arrives.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use leadflow::app::fulfil::fulfil;
use leadflow::messages::FulfilRequest;
use leadflow::ports::{Clock, LeadStore, Mailer};
use leadflow::Playbook;

pub struct Fulfillment<S, M, C> {
    pub store: S,
    pub mailer: M,
    pub clock: C,
    pub playbook: Playbook,
}

impl<S: LeadStore, M: Mailer, C: Clock> Fulfillment<S, M, C> {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let id = record.message_id.clone().unwrap_or_default();
            let req: FulfilRequest = match serde_json::from_str(
                record.body.as_deref().unwrap_or(""),
            ) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, "malformed fulfilment message; it will reach the dead-letter queue");
                    response.batch_item_failures.push(failure(id));
                    continue;
                }
            };
            match fulfil(
                &self.store,
                &self.mailer,
                &self.playbook,
                self.clock.now(),
                &req,
            )
            .await
            {
                Ok(o) => tracing::info!(
                    message_id = %id, lead_id = %req.lead_id,
                    sent = ?o.sent, already_sent = ?o.already_sent, skipped = ?o.skipped,
                    "fulfilled"
                ),
                Err(e) => {
                    tracing::error!(message_id = %id, lead_id = %req.lead_id, error = %e, retryable = e.is_retryable(), "fulfilment failed");
                    response.batch_item_failures.push(failure(id));
                }
            }
        }
        response
    }
}

fn failure(id: String) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id;
    f
}
