//! What the emulator tests share: the emulator, uniquely named resources from
//! template.yaml, and a small HTTP client.
#![allow(dead_code)]

use aws_config::SdkConfig;
use bytes::Bytes;
use leadflow_aws::dynamo::DynamoStore;
use leadflow_aws::sqs::SqsPublisher;
use leadflow_local::template::{StackModel, StackSettings, Template};
use leadflow_local::{provision, root, Emulator, RunningStack};
use serde_json::Value;
use std::time::Duration;

#[allow(unused_imports)]
pub use leadflow_local::testing::{emulator, unique};

/// The template's table and queues, created under a unique stack name.
pub struct Resources {
    pub emulator: Emulator,
    pub config: SdkConfig,
    pub model: StackModel,
    pub table: String,
    pub routing_url: String,
    pub fulfillment_url: String,
}

impl Resources {
    pub async fn new() -> Self {
        let emulator = emulator().await;
        let root = root::workspace_root();
        let template = Template::load(&root::template_path(&root)).expect("template.yaml parses");
        let mut settings = StackSettings::new(unique("it"), emulator.endpoint());
        settings.parameter_overrides = leadflow_local::dev::local_parameters(&template, 3000);
        let model = StackModel::resolve(&template, &settings).expect("template resolves");
        let config = provision::sdk_config(emulator.endpoint()).await;
        let provisioned = provision::provision(&model, &config)
            .await
            .expect("provisioned");
        settings.queue_urls = provisioned.queue_urls;
        let model = StackModel::resolve(&template, &settings).expect("template resolves");
        let table = model.table("LeadsTable").expect("LeadsTable").name.clone();
        let url = |id: &str| settings.queue_urls.get(id).cloned().expect(id);
        Resources {
            routing_url: url("RoutingQueue"),
            fulfillment_url: url("FulfillmentQueue"),
            table,
            config,
            model,
            emulator,
        }
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.config), &self.table)
    }

    pub fn publisher(&self) -> SqsPublisher {
        SqsPublisher::new(
            aws_sdk_sqs::Client::new(&self.config),
            Some(self.routing_url.clone()),
            Some(self.fulfillment_url.clone()),
        )
    }
}

pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How long a test gives one HTTP request to be answered at all. The
/// function answering it has its own timeout (at most 30 s for an API
/// function), but its invocations take turns (one process each, as one
/// sandbox) behind the pipeline's on a busy machine: this is a bound for a
/// request that is never answered, not a measure of speed.
pub const ANSWER: Duration = Duration::from_secs(180);

pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Response {
    let method = http::Method::from_bytes(method.as_bytes()).expect("method");
    let r = leadflow_local::emulator::http_request(method, url, headers, body, ANSWER)
        .await
        .expect("answered");
    Response {
        status: r.status.as_u16(),
        headers: r.headers,
        body: String::from_utf8_lossy(&r.body).into_owned(),
    }
}

/// Polls `check` until it returns `Some`; fails only when the stack has not
/// moved (no message taken or settled, no write, no email, no process
/// started) for the stall window, saying what it waited for and what moved last.
pub async fn eventually<T, F, Fut>(s: &RunningStack, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    leadflow_local::testing::eventually(s.progress(), what, check).await
}

/// [`eventually`] for a check that says what it saw while not done (`Err`).
pub async fn watch<T, E, F, Fut>(s: &RunningStack, what: &str, check: F) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    leadflow_local::testing::watch(s.progress(), what, check).await
}

/// Waits until the pipeline has nothing left to do: every queue that feeds
/// a function is empty (nothing waiting, in flight or back for a retry).
/// "Nothing more happened" is then a fact, where a fixed sleep only hopes.
pub async fn drained(s: &RunningStack) {
    eventually(
        s,
        "every queue that feeds a function to be empty",
        || async { s.queues_drained().await.ok()?.then_some(()) },
    )
    .await
}

/// The emails the emulator recorded whose recipients include `to`.
pub async fn emails_to(endpoint: &str, to: &str) -> Vec<Value> {
    // An emulator that cannot say what it sent is an error, never "no mail".
    leadflow_local::emulator::sent_emails(endpoint)
        .await
        .unwrap_or_else(|e| panic!("the emulator's sent mail: {e}"))
        .into_iter()
        .filter(|m| {
            leadflow_local::emulator::recipients(m)
                .iter()
                .any(|r| r == to)
        })
        .collect()
}

/// How many emails to `to` name the lead `id`, leaving out the morning
/// digest ("Your day…"), which may list it too depending on the hour a test runs.
pub async fn mentions(endpoint: &str, to: &str, id: &str) -> usize {
    emails_to(endpoint, to)
        .await
        .into_iter()
        .filter(|m| {
            m.to_string().contains(id)
                && !m["subject"].as_str().unwrap_or("").starts_with("Your day")
        })
        .count()
}

/// The lead store of a running local stack (its LeadsTable in the emulator).
pub fn store(s: &leadflow_local::RunningStack) -> DynamoStore {
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(s.sdk_config()),
        s.table_name("LeadsTable").unwrap(),
    )
}
