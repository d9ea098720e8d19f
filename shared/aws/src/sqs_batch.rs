//! SQS event sources with partial batch responses: each message is decoded and
//! handled on its own, and its batch-mates go on whatever becomes of it.
//!
//! - handled: acknowledged;
//! - transient failure: reported alone, so SQS delivers it again; on its
//!   last receive (`maxReceiveCount`, when the consumer knows it) it is sent
//!   to the dead-letter queue with its error, as SQS's redrive would but
//!   saying why;
//! - throttled: sent back to its queue with a delay and acknowledged, so
//!   waiting for capacity does not use up its receives;
//! - malformed or permanent (it can never succeed): sent straight to the
//!   dead-letter queue with the reason, instead of failing five times first;
//! - not started before the invocation's deadline (less a margin): reported
//!   failed untouched, so one slow record never times out the whole batch.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use leadflow::ports::{BatchQueues, Disposition, Failure};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// Time kept back before the invocation's deadline: enough for one record's
/// slowest path (the SDK's own timeouts bound each call) and the response.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(4);

/// When the invocation must have answered, from the Lambda context's deadline (epoch ms).
pub fn deadline_from_epoch_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

pub async fn each_message<T, E, F, Fut, Q>(
    event: SqsEvent,
    queues: &Q,
    deadline: Option<SystemTime>,
    mut handle: F,
) -> SqsBatchResponse
where
    T: DeserializeOwned,
    E: Failure,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    Q: BatchQueues,
{
    let mut response = SqsBatchResponse::default();
    let mut fail = |id: String| {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    };
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or("");
        if deadline.is_some_and(|d| SystemTime::now() + DEADLINE_MARGIN >= d) {
            tracing::warn!(message_id = %id, "too close to the deadline to start; left for the next delivery");
            fail(id);
            continue;
        }
        let (mut disposition, mut error) = match serde_json::from_str::<T>(body) {
            Err(e) => (Disposition::Bury, format!("malformed message: {e}")),
            Ok(message) => match handle(message).await {
                Ok(()) => continue,
                Err(e) => (e.disposition(), e.to_string()),
            },
        };
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok());
        if let (Disposition::Retry, Some(n), Some(max)) =
            (disposition, receives, queues.max_receives())
        {
            if n >= max {
                disposition = Disposition::Bury;
                error = format!("failed on each of {n} receives, the last with: {error}");
            }
        }
        let settled = match disposition {
            Disposition::Retry => false,
            Disposition::Bury => match queues.bury(body, &error).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, "could not dead-letter; it will be retried");
                    false
                }
            },
            Disposition::Defer(delay) => match queues.defer(body, delay).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(message_id = %id, error = %e, "could not defer; it will be retried");
                    false
                }
            },
        };
        tracing::error!(message_id = %id, %error, ?disposition, settled, "message failed");
        if !settled {
            fail(id);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadflow::testing::MemoryBatchQueues;
    use serde_json::json;

    #[derive(Debug)]
    struct Flaky;
    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("flaky store")
        }
    }
    impl Failure for Flaky {
        fn disposition(&self) -> Disposition {
            Disposition::Retry
        }
    }

    fn event(records: &[(&str, &str, u32)]) -> SqsEvent {
        serde_json::from_value(
            json!({ "Records": records.iter().map(|(id, body, n)| json!({
            "messageId": id, "body": body,
            "attributes": {"ApproximateReceiveCount": n.to_string()},
            "messageAttributes": {}, "eventSource": "aws:sqs",
        })).collect::<Vec<_>>() }),
        )
        .unwrap()
    }

    async fn run(queues: &MemoryBatchQueues, records: &[(&str, &str, u32)]) -> Vec<String> {
        let response = each_message(event(records), queues, None, |n: u32| async move {
            if n == 0 {
                Err(Flaky)
            } else {
                Ok(())
            }
        })
        .await;
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    #[tokio::test]
    async fn a_poison_message_alone_goes_to_the_dead_letter_queue_with_why() {
        let queues = MemoryBatchQueues::with_max_receives(5);
        let failed = run(
            &queues,
            &[("a", "1", 1), ("b", "not json", 1), ("c", "2", 1)],
        )
        .await;
        assert!(failed.is_empty(), "batch-mates succeed: {failed:?}");
        let buried = queues.buried();
        assert_eq!(buried.len(), 1);
        assert_eq!(buried[0].0, "not json");
        assert!(
            buried[0].1.starts_with("malformed message"),
            "{}",
            buried[0].1
        );
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_until_its_last_receive_then_buried_with_its_error() {
        let queues = MemoryBatchQueues::with_max_receives(5);
        let failed = run(
            &queues,
            &[("early", "0", 4), ("ok", "1", 5), ("last", "0", 5)],
        )
        .await;
        assert_eq!(failed, vec!["early".to_string()]);
        let buried = queues.buried();
        assert_eq!(buried.len(), 1);
        assert_eq!(buried[0].0, "0");
        assert_eq!(
            buried[0].1,
            "failed on each of 5 receives, the last with: flaky store"
        );
        // Not knowing the queue's limit, it leaves the move to SQS.
        let unknown = MemoryBatchQueues::new();
        assert_eq!(run(&unknown, &[("last", "0", 9)]).await, vec!["last"]);
        assert!(unknown.buried().is_empty());
    }
}
