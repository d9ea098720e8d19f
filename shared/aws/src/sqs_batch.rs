//! SQS event sources with partial batch responses: each message is decoded and
//! handled on its own, and its batch-mates go on whatever becomes of it.
//!
//! - handled: acknowledged;
//! - transient failure: reported alone, so SQS delivers it again (and after
//!   `maxReceiveCount` moves it to the dead-letter queue);
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
        let (disposition, error) = match serde_json::from_str::<T>(body) {
            Err(e) => (Disposition::Bury, format!("malformed message: {e}")),
            Ok(message) => match handle(message).await {
                Ok(()) => continue,
                Err(e) => (e.disposition(), e.to_string()),
            },
        };
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
