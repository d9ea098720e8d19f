//! The fulfillment queue consumer: email the prospect their kit and the owner
//! the lead package, each exactly once however often the message arrives.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use leadflow::adapters::sqs_batch::each_message;
use leadflow::app::fulfil::{fulfil, FulfilError};
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
        each_message(event, |req: FulfilRequest| async move {
            let o = fulfil(
                &self.store,
                &self.mailer,
                &self.playbook,
                self.clock.now(),
                &req,
            )
            .await?;
            tracing::info!(
                lead_id = %req.lead_id, sent = ?o.sent, already_sent = ?o.already_sent,
                skipped = ?o.skipped, "fulfilled"
            );
            Ok::<_, FulfilError>(())
        })
        .await
    }
}
