//! The routing queue consumer: qualify, route and assign each lead.
//!
//! Answers with a partial batch response: a message that fails (malformed, a
//! lead that does not exist, a store outage) is reported alone and retried, and
//! after `maxReceiveCount` lands in the dead-letter queue; its batch-mates go on.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use leadflow::app::route::{route_lead, RouteOutcome};
use leadflow::messages::RouteRequest;
use leadflow::ports::{Clock, LeadStore, Publisher};
use leadflow::Playbook;

pub struct Router<S, P, C> {
    pub store: S,
    pub publisher: P,
    pub clock: C,
    pub playbook: Playbook,
}

impl<S: LeadStore, P: Publisher, C: Clock> Router<S, P, C> {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or("");
            let req: RouteRequest = match serde_json::from_str(body) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, "malformed routing message; it will reach the dead-letter queue");
                    response.batch_item_failures.push(failure(id));
                    continue;
                }
            };
            match route_lead(
                &self.store,
                &self.publisher,
                &self.playbook,
                self.clock.now(),
                &req,
            )
            .await
            {
                Ok(RouteOutcome::Routed(d)) => {
                    tracing::info!(message_id = %id, lead_id = %req.lead_id, stage = %d.stage, route = %d.route, owner = %d.owner.display_name(), "routed")
                }
                Ok(RouteOutcome::AlreadyRouted) => {
                    tracing::info!(message_id = %id, lead_id = %req.lead_id, "duplicate delivery; already routed")
                }
                Err(e) => {
                    tracing::error!(message_id = %id, lead_id = %req.lead_id, error = %e, "routing failed");
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
