//! SQS event sources with partial batch responses: each message is decoded and
//! handled on its own; one that fails (malformed, permanent or transient) is
//! reported alone — retried, and after `maxReceiveCount` moved to the
//! dead-letter queue — while its batch-mates go on.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::future::Future;

pub async fn each_message<T, E, F, Fut>(event: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    T: DeserializeOwned,
    E: Display,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match serde_json::from_str::<T>(record.body.as_deref().unwrap_or("")) {
            Err(e) => Err(format!(
                "malformed message, it will reach the dead-letter queue: {e}"
            )),
            Ok(message) => handle(message).await.map_err(|e| e.to_string()),
        };
        if let Err(error) = outcome {
            tracing::error!(message_id = %id, %error, "message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
