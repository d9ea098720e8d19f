//! Publishing outbox messages to SQS.

use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;
use leadflow::ports::{OutboxMessage, PublishError, Publisher, Queue};

#[derive(Debug, Clone)]
pub struct SqsPublisher {
    client: Client,
    routing_url: Option<String>,
    fulfillment_url: Option<String>,
    exports_url: Option<String>,
}

impl SqsPublisher {
    /// template.yaml gives each function only the URLs of the queues it sends
    /// to (and IAM lets it send to no other); `None` for the others.
    pub fn new(
        client: Client,
        routing_url: Option<String>,
        fulfillment_url: Option<String>,
    ) -> Self {
        Self {
            client,
            routing_url,
            fulfillment_url,
            exports_url: None,
        }
    }

    /// Also sends to the export queue (the rep's API: large exports).
    pub fn with_exports(self, exports_url: Option<String>) -> Self {
        Self {
            exports_url,
            ..self
        }
    }

    fn url(&self, q: Queue) -> Option<&str> {
        match q {
            Queue::Routing => self.routing_url.as_deref(),
            Queue::Fulfillment => self.fulfillment_url.as_deref(),
            Queue::Exports => self.exports_url.as_deref(),
        }
    }
}

/// `GetQueueAttributes` (the queue's ARN only) of `url`: no message moves.
async fn prime_queue(client: &Client, url: &str) {
    let result = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await;
    crate::prime::log_outcome("sqs:GetQueueAttributes", result);
}

impl crate::Prime for SqsPublisher {
    /// Asks about the first queue it sends to (one SQS endpoint for all).
    async fn prime(&self) {
        if let Some(url) = self.routing_url.as_ref().or(self.fulfillment_url.as_ref()) {
            prime_queue(&self.client, url).await;
        }
    }
}

/// `SendMessageBatch` calls in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

impl Publisher for SqsPublisher {
    /// `SendMessageBatch`, ten at a time per queue, the batches in parallel.
    async fn publish_all(&self, messages: &[OutboxMessage]) -> Vec<Result<(), PublishError>> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let mut results: Vec<Result<(), PublishError>> = messages
            .iter()
            .map(|_| Err(PublishError("not sent".into())))
            .collect();
        let mut pending = Vec::new();
        for queue in [Queue::Routing, Queue::Fulfillment] {
            let indexed: Vec<(usize, &OutboxMessage)> = messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m.queue == queue)
                .collect();
            if indexed.is_empty() {
                continue;
            }
            let Some(url) = self.url(queue) else {
                for (i, _) in indexed {
                    results[i] = Err(PublishError(format!(
                        "no queue URL configured for {queue:?}"
                    )));
                }
                continue;
            };
            for chunk in indexed.chunks(10) {
                let mut entries = Vec::new();
                for (i, m) in chunk {
                    let attr = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(m.id.as_str())
                        .build();
                    let entry = attr.and_then(|attr| {
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(&m.body)
                            .message_attributes("outbox_id", attr)
                            .set_delay_seconds(
                                (m.delay_seconds > 0).then_some(m.delay_seconds.min(900) as i32),
                            )
                            .build()
                    });
                    match entry {
                        Ok(e) => entries.push(e),
                        Err(e) => results[*i] = Err(PublishError(e.to_string())),
                    }
                }
                let call = self
                    .client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries));
                let ids: Vec<usize> = chunk.iter().map(|(i, _)| *i).collect();
                pending.push((ids, call));
            }
        }
        // A few batches in flight at once: fast, without a burst of connections.
        let mut batches = tokio::task::JoinSet::new();
        let mut pending = pending.into_iter();
        for (ids, call) in pending.by_ref().take(BATCHES_IN_FLIGHT) {
            batches.spawn(async move { (ids, call.send().await) });
        }
        while let Some(joined) = batches.join_next().await {
            if let Some((ids, call)) = pending.next() {
                batches.spawn(async move { (ids, call.send().await) });
            }
            let Ok((ids, outcome)) = joined else { continue };
            match outcome {
                Ok(out) => {
                    for ok in out.successful() {
                        if let Ok(i) = ok.id().parse::<usize>() {
                            results[i] = Ok(());
                        }
                    }
                    for failed in out.failed() {
                        if let Ok(i) = failed.id().parse::<usize>() {
                            results[i] = Err(PublishError(format!(
                                "{}: {}",
                                failed.code(),
                                failed.message().unwrap_or_default()
                            )));
                        }
                    }
                }
                Err(e) => {
                    for i in ids {
                        results[i] = Err(PublishError(format!("{e:?}")));
                    }
                }
            }
        }
        results
    }

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
    max_receives: Option<u32>,
}

impl SqsBatchQueues {
    /// The source queue's `maxReceiveCount` comes from `MAX_RECEIVE_COUNT`
    /// (template.yaml sets it beside the redrive policy); without it a message
    /// failing to the end is moved by SQS, without its error.
    pub fn new(client: Client, source_url: String, dead_letter_url: String) -> Self {
        let max_receives = crate::env_opt("MAX_RECEIVE_COUNT").and_then(|v| v.parse().ok());
        Self {
            client,
            source_url,
            dead_letter_url,
            max_receives,
        }
    }
}

impl crate::Prime for SqsBatchQueues {
    /// Asks about its own queue (which its event source mapping reads).
    async fn prime(&self) {
        prime_queue(&self.client, &self.source_url).await;
    }
}

impl leadflow::ports::BatchQueues for SqsBatchQueues {
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

    fn max_receives(&self) -> Option<u32> {
        self.max_receives
    }
}

/// The depth of each dead-letter queue, for the health report: the queues
/// come from `DEAD_LETTER_QUEUES` (`Name=url,Name=url`, set by template.yaml).
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: Client,
    queues: Vec<(String, String)>,
}

impl SqsDeadLetters {
    pub fn new(client: Client, queues: Vec<(String, String)>) -> Self {
        Self { client, queues }
    }

    /// `Name=url,Name=url` → pairs; entries without a name or URL are skipped.
    pub fn parse_list(list: &str) -> Vec<(String, String)> {
        list.split(',')
            .filter_map(|e| e.split_once('='))
            .map(|(n, u)| (n.trim().to_string(), u.trim().to_string()))
            .filter(|(n, u)| !n.is_empty() && !u.is_empty())
            .collect()
    }
}

impl leadflow::ports::DeadLetters for SqsDeadLetters {
    async fn depths(&self) -> Vec<leadflow::domain::reports::QueueDepth> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let mut out = Vec::new();
        for (name, url) in &self.queues {
            let got = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .send()
                .await;
            match got {
                Ok(a) => {
                    let n = a
                        .attributes()
                        .and_then(|m| m.get(&A::ApproximateNumberOfMessages))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    out.push(leadflow::domain::reports::QueueDepth {
                        queue: name.clone(),
                        messages: n,
                    });
                }
                Err(e) => tracing::warn!(queue = %name, error = ?e, "dead-letter depth not read"),
            }
        }
        out
    }
}
