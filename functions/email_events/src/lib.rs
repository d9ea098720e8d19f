//! The email-events queue consumer: SES publishes what became of each email
//! (configuration set → SNS → SQS); each record is SNS's envelope around SES's
//! event JSON. Poison goes to the dead-letter queue; its batch-mates go on.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use leadflow::app::email_events::{handle, EventError};
use leadflow::messages::{SesEvent, SnsEnvelope};
use leadflow::ports::{BatchQueues, Clock, LeadStore, Publisher};
use leadflow::Playbook;
use leadflow_aws::sqs_batch::each_message;
use std::time::SystemTime;

pub struct EmailEvents<S, P, C, Q> {
    pub store: S,
    /// The fulfillment queue: a lead a click makes sales-ready gets a new owner, who is sent the package.
    pub publisher: P,
    pub clock: C,
    /// The email-events queue and its dead-letter queue.
    pub queues: Q,
    pub playbook: Playbook,
}

impl<S: LeadStore, P: Publisher, C: Clock, Q: BatchQueues> EmailEvents<S, P, C, Q> {
    pub async fn handle(&self, event: SqsEvent, deadline: Option<SystemTime>) -> SqsBatchResponse {
        each_message(event, &self.queues, deadline, |envelope: SnsEnvelope| async move {
            let event: SesEvent = serde_json::from_str(&envelope.message)
                .map_err(|e| EventError::Malformed(e.to_string()))?;
            let done = handle(&self.store, &self.publisher, &self.playbook, &event, self.clock.now()).await?;
            tracing::info!(event = %event.event_type, message_id = %event.mail.message_id, ?done, "email event");
            Ok::<_, EventError>(())
        })
        .await
    }
}
