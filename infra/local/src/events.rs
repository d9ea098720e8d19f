//! Event sources: SQS event source mappings and `rate(...)` schedules.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{json, Map, Value};

use crate::progress::Progress;
use crate::runtime::Invoker;
use crate::task::{uuid_like, AbortOnDrop};
use crate::template::{ScheduleSpec, SqsSourceSpec};
use crate::{LOCAL_ACCOUNT_ID, LOCAL_REGION};

/// The Lambda SQS event for `messages` of the queue `queue_arn`.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes
                .as_ref()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: Map<String, Value> = m
                .message_attributes
                .as_ref()
                .map(|a| {
                    a.iter()
                        .map(|(name, v)| {
                            let mut attr = json!({
                                "stringListValues": v.string_list_values.clone().unwrap_or_default(),
                                "binaryListValues": v
                                    .binary_list_values
                                    .as_ref()
                                    .map(|l| l.iter().map(|b| B64.encode(b.as_ref())).collect::<Vec<_>>())
                                    .unwrap_or_default(),
                                "dataType": v.data_type,
                            });
                            if let Some(s) = &v.string_value {
                                attr["stringValue"] = Value::String(s.clone());
                            }
                            if let Some(b) = &v.binary_value {
                                attr["binaryValue"] = Value::String(B64.encode(b.as_ref()));
                            }
                            (name.clone(), attr)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut record = json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body.clone().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": LOCAL_REGION,
            });
            if let Some(md5) = &m.md5_of_message_attributes {
                record["md5OfMessageAttributes"] = Value::String(md5.clone());
            }
            record
        })
        .collect();
    json!({ "Records": records })
}

/// Message ids a function reported as failed (`batchItemFailures`), or `None`
/// when the response is malformed (then the whole batch counts as failed, as in AWS).
pub fn batch_item_failures(
    response: &Value,
    message_ids: &BTreeSet<String>,
) -> Option<BTreeSet<String>> {
    let failures = match response {
        Value::Null => return Some(BTreeSet::new()),
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return Some(BTreeSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return None,
        },
        _ => return Some(BTreeSet::new()),
    };
    let mut ids = BTreeSet::new();
    for item in failures {
        let id = item.get("itemIdentifier").and_then(Value::as_str)?;
        if id.is_empty() || !message_ids.contains(id) {
            return None;
        }
        ids.insert(id.to_string());
    }
    Some(ids)
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub deleted: usize,
    /// Messages left on the queue (failed items, or the whole batch on an invoke error).
    pub kept: usize,
}

/// One SQS event source mapping.
#[derive(Clone)]
pub struct SqsPoller {
    pub client: aws_sdk_sqs::Client,
    pub source: SqsSourceSpec,
    /// Logical id of the function.
    pub function: String,
    pub invoker: Arc<dyn Invoker>,
    /// Told of every batch taken and settled.
    pub progress: Progress,
}

impl SqsPoller {
    /// Receives one batch (waiting up to 1 s), invokes the function and deletes
    /// what it processed.
    pub async fn poll_once(&self) -> Result<PollOutcome, String> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.source.queue_url)
            .max_number_of_messages(
                i32::try_from(self.source.batch_size.clamp(1, 10)).unwrap_or(10),
            )
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                format!(
                    "receiving from {}: {}",
                    self.source.queue,
                    DisplayErrorContext(e)
                )
            })?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(PollOutcome::default());
        }
        let ids: BTreeSet<String> = messages
            .iter()
            .filter_map(|m| m.message_id.clone())
            .collect();
        // New work taken is progress; a message back for another try is not
        // (a function that fails every time would otherwise never stall).
        let new = messages
            .iter()
            .filter(|m| {
                m.attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .is_none_or(|n| n == "1")
            })
            .count();
        if new > 0 {
            self.progress.moved(format!(
                "{} took {new} new message(s) from {}",
                self.function, self.source.queue
            ));
        }
        let event = sqs_event(&messages, &self.source.queue_arn);
        let keep: BTreeSet<String> = match self.invoker.invoke(&self.function, event).await {
            Ok(response) if self.source.report_batch_item_failures => {
                batch_item_failures(&response, &ids).unwrap_or_else(|| {
                    tracing::warn!(
                        function = %self.function,
                        "malformed batchItemFailures; the whole batch is retried"
                    );
                    ids.clone()
                })
            }
            Ok(_) => BTreeSet::new(),
            Err(e) => {
                tracing::warn!(function = %self.function, queue = %self.source.queue, "{e}");
                ids.clone()
            }
        };
        let done: Vec<&Message> = messages
            .iter()
            .filter(|m| m.message_id.as_ref().is_none_or(|id| !keep.contains(id)))
            .collect();
        let mut deleted = 0;
        for chunk in done.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.source.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "deleting from {}: {}",
                        self.source.queue,
                        DisplayErrorContext(e)
                    )
                })?;
            deleted += out.successful.len();
            for failed in out.failed {
                tracing::warn!(queue = %self.source.queue, "could not delete a message: {}", failed.message.unwrap_or_default());
            }
        }
        if deleted > 0 {
            self.progress.moved(format!(
                "{} finished {deleted} of {} message(s) from {}, {} left for a retry",
                self.function,
                messages.len(),
                self.source.queue,
                keep.len()
            ));
        }
        Ok(PollOutcome {
            received: messages.len(),
            deleted,
            kept: keep.len(),
        })
    }

    /// Polls until the returned handle is dropped or stopped.
    pub fn spawn(self) -> AbortOnDrop {
        AbortOnDrop::new(tokio::spawn(async move {
            loop {
                if let Err(e) = self.poll_once().await {
                    tracing::warn!("{e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }))
    }
}

/// The EventBridge "Scheduled Event" for `rule_arn`.
pub fn scheduled_event(rule_arn: &str, now: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid_like(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": LOCAL_REGION,
        "resources": [rule_arn],
        "detail": {},
    })
}

/// Invokes `function` every `period` (the schedule's own rate unless overridden),
/// the first time one period after the start.
pub fn spawn_schedule(
    schedule: ScheduleSpec,
    function: String,
    invoker: Arc<dyn Invoker>,
    period: Option<Duration>,
) -> AbortOnDrop {
    let period = period
        .unwrap_or(schedule.period)
        .max(Duration::from_millis(10));
    AbortOnDrop::new(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let event = schedule
                .input
                .clone()
                .unwrap_or_else(|| scheduled_event(&schedule.rule_arn, chrono::Utc::now()));
            match invoker.invoke(&function, event).await {
                Ok(_) => {
                    tracing::debug!(%function, rule = %schedule.rule_name, "scheduled invocation done")
                }
                Err(e) => tracing::warn!(rule = %schedule.rule_name, "{e}"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn batch_item_failures_rules() {
        let all = ids(&["a", "b", "c"]);
        assert_eq!(batch_item_failures(&Value::Null, &all), Some(ids(&[])));
        assert_eq!(batch_item_failures(&json!({}), &all), Some(ids(&[])));
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": []}), &all),
            Some(ids(&[]))
        );
        assert_eq!(
            batch_item_failures(
                &json!({"batchItemFailures": [{"itemIdentifier": "b"}]}),
                &all
            ),
            Some(ids(&["b"]))
        );
        // Unknown, empty or missing identifiers fail the whole batch.
        assert_eq!(
            batch_item_failures(
                &json!({"batchItemFailures": [{"itemIdentifier": "z"}]}),
                &all
            ),
            None
        );
        assert_eq!(
            batch_item_failures(
                &json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
                &all
            ),
            None
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": [{}]}), &all),
            None
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": "x"}), &all),
            None
        );
    }

    #[test]
    fn sqs_event_shape() {
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("r1")
            .body("{\"x\":1}")
            .md5_of_body("md5")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000")
            .message_attributes(
                "kind",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("lead")
                    .build()
                    .unwrap(),
            )
            .build();
        let event = sqs_event(&[message], "arn:aws:sqs:us-east-1:123456789012:q");
        let record = &event["Records"][0];
        assert_eq!(record["messageId"], "m1");
        assert_eq!(record["receiptHandle"], "r1");
        assert_eq!(record["body"], "{\"x\":1}");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(record["attributes"]["SentTimestamp"], "1700000000000");
        assert_eq!(record["messageAttributes"]["kind"]["stringValue"], "lead");
        assert_eq!(record["messageAttributes"]["kind"]["dataType"], "String");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:sqs:us-east-1:123456789012:q"
        );
        assert_eq!(record["awsRegion"], "us-east-1");
    }

    #[test]
    fn scheduled_event_shape() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let event = scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r", now);
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["time"], "2024-05-01T10:00:00Z");
        assert_eq!(
            event["resources"][0],
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
        assert_eq!(event["detail"], json!({}));
        assert_eq!(event["version"], "0");
    }
}
