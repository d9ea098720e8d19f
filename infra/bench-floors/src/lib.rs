//! Hello-world Lambdas, the floors of issue 9's benchmarks: what a function
//! cannot do better than with the SDKs it links. Each binary under `src/bin/`
//! links exactly the SDKs its name says and makes one call with each, at init
//! (when `FLOOR_PRIME` is set, as the functions prime their connections) and
//! on every invocation, so the SDK's whole request path (signing, retries,
//! the HTTPS client) is in the binary, as it is in a function's.
//!
//! `TABLE_NAME` and `QUEUE_URL` name what the calls touch (any answer will do:
//! a floor only has to make the request).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::future::Future;

/// The SDK's configuration, as the functions load it.
pub use leadflow_aws::aws_config as config;

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

pub fn prime_at_init() -> bool {
    std::env::var_os("FLOOR_PRIME").is_some()
}

pub async fn get_item(client: &aws_sdk_dynamodb::Client) -> bool {
    use aws_sdk_dynamodb::types::AttributeValue;
    client
        .get_item()
        .table_name(var("TABLE_NAME"))
        .key("pk", AttributeValue::S("LEAD#floor".into()))
        .key("sk", AttributeValue::S("LEAD".into()))
        .send()
        .await
        .is_ok()
}

pub async fn queue_attributes(client: &aws_sdk_sqs::Client) -> bool {
    client
        .get_queue_attributes()
        .queue_url(var("QUEUE_URL"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .is_ok()
}

pub async fn send_quota(client: &aws_sdk_ses::Client) -> bool {
    client.get_send_quota().send().await.is_ok()
}

/// Runs `call` once at init when asked, then on every invocation, answering `{"ok": …}`.
pub async fn serve<F, Fut>(call: F) -> Result<(), Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    if prime_at_init() {
        call().await;
    }
    let call = &call;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        Ok::<_, Error>(json!({ "ok": call().await }))
    }))
    .await
}
