//! Publishing outbox messages to SQS.

use crate::ports::{OutboxMessage, PublishError, Publisher, Queue};
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;

#[derive(Debug, Clone)]
pub struct SqsPublisher {
    client: Client,
    routing_url: Option<String>,
    fulfillment_url: Option<String>,
}

impl SqsPublisher {
    /// A function is given only the queue URLs it may send to; `None` for the others.
    pub fn new(
        client: Client,
        routing_url: Option<String>,
        fulfillment_url: Option<String>,
    ) -> Self {
        Self {
            client,
            routing_url,
            fulfillment_url,
        }
    }

    fn url(&self, q: Queue) -> Option<&str> {
        match q {
            Queue::Routing => self.routing_url.as_deref(),
            Queue::Fulfillment => self.fulfillment_url.as_deref(),
        }
    }
}

impl Publisher for SqsPublisher {
    async fn publish(&self, m: &OutboxMessage) -> Result<(), PublishError> {
        let url = self
            .url(m.queue)
            .ok_or_else(|| PublishError(format!("no queue URL configured for {:?}", m.queue)))?;
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(m.id.as_str())
            .build()
            .map_err(|e| PublishError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(&m.body)
            .message_attributes("outbox_id", attr)
            .set_delay_seconds((m.delay_seconds > 0).then_some(m.delay_seconds.min(900) as i32))
            .send()
            .await
            .map_err(|e| PublishError(format!("{e:?}")))?;
        Ok(())
    }
}

/// A consumer's own queue (to defer to) and its dead-letter queue (to bury in).
#[derive(Debug, Clone)]
pub struct SqsBatchQueues {
    client: Client,
    source_url: String,
    dead_letter_url: String,
}

impl SqsBatchQueues {
    pub fn new(client: Client, source_url: String, dead_letter_url: String) -> Self {
        Self {
            client,
            source_url,
            dead_letter_url,
        }
    }
}

impl crate::ports::BatchQueues for SqsBatchQueues {
    async fn bury(&self, body: &str, reason: &str) -> Result<(), PublishError> {
        let reason: String = reason.chars().take(1000).collect();
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason)
            .build()
            .map_err(|e| PublishError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.dead_letter_url)
            .message_body(body)
            .message_attributes("failure", attr)
            .send()
            .await
            .map_err(|e| PublishError(format!("{e:?}")))?;
        Ok(())
    }

    async fn defer(&self, body: &str, delay: std::time::Duration) -> Result<(), PublishError> {
        self.client
            .send_message()
            .queue_url(&self.source_url)
            .message_body(body)
            .delay_seconds(delay.as_secs().min(900) as i32)
            .send()
            .await
            .map_err(|e| PublishError(format!("{e:?}")))?;
        Ok(())
    }
}
