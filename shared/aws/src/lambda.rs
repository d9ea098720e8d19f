//! One start-up for every function (issue 25): a function's `main.rs` is
//! its wiring only — [`start`], then its handler built from the SDK's
//! configuration and its environment (`env` names a missing variable), then
//! [`serve`].

use std::future::Future;
use std::time::SystemTime;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::{Deserialize, Serialize};

/// Logs (`RUST_LOG`, JSON lines), then the SDK's configuration, loaded once
/// at cold start: what every function does first.
pub async fn start() -> aws_config::SdkConfig {
    crate::init_tracing();
    crate::aws_config().await
}

/// Primes `prime`'s connections (the first request must not pay for their
/// set-up, issue 9), then hands each event and its invocation's deadline to
/// `handle` until the runtime stops.
pub async fn serve<A, R, F, Fut>(prime: impl crate::Prime, handle: F) -> Result<(), Error>
where
    A: for<'de> Deserialize<'de>,
    R: Serialize,
    F: Fn(A, SystemTime) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    crate::prime(prime).await;
    lambda_runtime::run::<A, _, R, R, lambda_runtime::streaming::Body, _, _>(service_fn(
        move |event: LambdaEvent<A>| {
            let deadline = crate::sqs_batch::deadline_from_epoch_ms(event.context.deadline);
            handle(event.payload, deadline)
        },
    ))
    .await
}
