//! The email-events queue consumer: SES publishes what became of each email
//! (configuration set → SNS → SQS); each record is SNS's envelope around SES's
//! event JSON. Poison goes to the dead-letter queue; its batch-mates go on.
//! Each event counts once under its kind (`Bounces`, `Complaints`, ...).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use leadflow::app::email_events::{handle, EventError, Handled};
use leadflow::messages::{SesEvent, SnsEnvelope};
use leadflow::ports::{BatchQueues, Clock, LeadStore, Publisher};
use leadflow::Playbook;
use leadflow_aws::metrics::Emf;
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
            let now = self.clock.now();
            let done = handle(&self.store, &self.publisher, &self.playbook, &event, now).await?;
            tracing::info!(event = %event.event_type, message_id = %event.mail.message_id, ?done, "email event");
            if let Some(line) = event_metrics(&event.event_type, &done) {
                line.emit(now);
            }
            Ok::<_, EventError>(())
        })
        .await
    }
}

/// The event under its kind's metric (SES's kinds we act on or keep), the
/// addresses it suppressed and the leads it handed to inside sales. A
/// redelivery (the lead's history has it already) counts nothing.
pub fn event_metrics(event_type: &str, done: &Handled) -> Option<Emf> {
    if done.duplicates > 0 && done.recorded == 0 {
        return None;
    }
    let name = match event_type.to_ascii_lowercase().as_str() {
        "bounce" => "Bounces",
        "complaint" => "Complaints",
        "delivery" => "Deliveries",
        "open" => "Opens",
        "click" => "Clicks",
        _ => "OtherEmailEvents",
    };
    Some(
        Emf::leadflow()
            .count(name, 1)
            .count("AddressesSuppressed", done.suppressed as u64)
            .count("SalesReadyByClick", done.sales_ready as u64),
    )
}
