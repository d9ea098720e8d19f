//! Warm intake (issue 9, "fast"): the time `intake::Intake::handle` takes
//! for a new lead, with the real adapters (DynamoStore, SqsPublisher) against
//! the emulator, beside the time of the AWS calls it cannot avoid: the very
//! requests it made, recorded by an SDK interceptor and sent again, one after
//! the other as the handler sends them, through plain SDK clients, to a copy
//! of the stack's table and queue in another region of the same emulator
//! (so every condition holds as it did). The difference is the handler's own
//! work: decoding, validating, the domain, building items, encoding.
//! Both clients are warm (connections primed, a few leads first). Prints
//! figures and the ratio; asserts nothing about time.
//!
//! cargo run -q -p leadflow-local --bin leadflow-local -- emulator -- \
//!     cargo bench -p leadflow-local --bench intake_warm      (WARM_LEADS=200 to change)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    delete_item::DeleteItemInput, get_item::GetItemInput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use aws_sdk_sqs::operation::send_message::SendMessageInput;
use bytes::Bytes;
use intake::{Config, Intake};
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, sqs::SqsPublisher};
use leadflow_local::dev::local_parameters;
use leadflow_local::gateway::{api_gateway_event, HttpRequestParts, RouteTable};
use leadflow_local::provision::{provision, sdk_config};
use leadflow_local::root::{template_path, workspace_root};
use leadflow_local::testing::{emulator, unique};
use leadflow_local::{StackModel, StackSettings, Template};
use serde_json::json;

/// One AWS request the handler made.
#[derive(Debug, Clone)]
enum Call {
    UpdateItem(UpdateItemInput),
    GetItem(GetItemInput),
    TransactWriteItems(TransactWriteItemsInput),
    DeleteItem(DeleteItemInput),
    SendMessage(SendMessageInput),
    Other(String),
}

impl Call {
    fn name(&self) -> String {
        match self {
            Call::UpdateItem(_) => "UpdateItem".into(),
            Call::GetItem(_) => "GetItem".into(),
            Call::TransactWriteItems(t) => {
                format!("TransactWriteItems({} items)", t.transact_items().len())
            }
            Call::DeleteItem(_) => "DeleteItem".into(),
            Call::SendMessage(_) => "SendMessage".into(),
            Call::Other(what) => format!("unknown: {what}"),
        }
    }
}

/// Records each request's input before the SDK serialises it.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Call>>>);

impl Recorder {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().expect("the recorder"))
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let call = if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            Call::UpdateItem(i.clone())
        } else if let Some(i) = input.downcast_ref::<GetItemInput>() {
            Call::GetItem(i.clone())
        } else if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
            Call::TransactWriteItems(i.clone())
        } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            Call::DeleteItem(i.clone())
        } else if let Some(i) = input.downcast_ref::<SendMessageInput>() {
            Call::SendMessage(i.clone())
        } else {
            Call::Other(format!("{input:?}"))
        };
        self.0.lock().expect("the recorder").push(call);
        Ok(())
    }
}

/// Sends `calls` again, in order, through plain clients; `queues` maps the
/// handler's queue URLs to the copies'.
async fn replay(
    calls: Vec<Call>,
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    queues: &BTreeMap<String, String>,
) {
    for call in calls {
        let name = call.name();
        let ok = match call {
            Call::UpdateItem(i) => dynamodb
                .update_item()
                .set_table_name(i.table_name)
                .set_key(i.key)
                .set_update_expression(i.update_expression)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .set_return_values(i.return_values)
                .send()
                .await
                .is_ok(),
            Call::GetItem(i) => dynamodb
                .get_item()
                .set_table_name(i.table_name)
                .set_key(i.key)
                .set_consistent_read(i.consistent_read)
                .set_projection_expression(i.projection_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .send()
                .await
                .is_ok(),
            Call::TransactWriteItems(i) => dynamodb
                .transact_write_items()
                .set_transact_items(i.transact_items)
                .set_client_request_token(i.client_request_token)
                .send()
                .await
                .is_ok(),
            Call::DeleteItem(i) => dynamodb
                .delete_item()
                .set_table_name(i.table_name)
                .set_key(i.key)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .send()
                .await
                .is_ok(),
            Call::SendMessage(i) => sqs
                .send_message()
                .set_queue_url(i.queue_url.map(|u| queues.get(&u).cloned().unwrap_or(u)))
                .set_message_body(i.message_body)
                .set_delay_seconds(i.delay_seconds)
                .set_message_attributes(i.message_attributes)
                .set_message_system_attributes(i.message_system_attributes)
                .set_message_deduplication_id(i.message_deduplication_id)
                .set_message_group_id(i.message_group_id)
                .send()
                .await
                .is_ok(),
            Call::Other(_) => panic!("the replay does not know {name}: teach it"),
        };
        assert!(ok, "the replayed {name} failed");
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() {
    let n: usize = leadflow_local::testing::env_count("WARM_LEADS", 100).max(1);
    let root = workspace_root();
    let emulator = emulator().await;
    let template = Template::load(&template_path(&root)).expect("template");

    // The stack's table and queues, and a copy of them in a second region.
    let mut settings = StackSettings::new(unique("warm"), emulator.endpoint());
    settings.parameter_overrides = local_parameters(&template, 3000);
    let model = StackModel::resolve(&template, &settings).expect("the template resolves");
    let east = sdk_config(emulator.endpoint()).await;
    let west = east.to_builder().region(Region::new("us-west-2")).build();
    let here = provision(&model, &east)
        .await
        .expect("provisioned")
        .queue_urls;
    // The copy's queues without their redrive policies (which name the first region's queues).
    let mut copy = model.clone();
    for queue in &mut copy.queues {
        queue.attributes.remove("RedrivePolicy");
        queue.redrive = None;
    }
    let there = provision(&copy, &west)
        .await
        .expect("provisioned")
        .queue_urls;
    let queues: BTreeMap<String, String> = here
        .iter()
        .filter_map(|(id, url)| Some((url.clone(), there.get(id)?.clone())))
        .collect();
    let table = model.tables.first().expect("a table").name.clone();
    let routing = here.get("RoutingQueue").expect("the routing queue").clone();

    let recorder = Recorder::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&east)
            .interceptor(recorder.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&east)
            .interceptor(recorder.clone())
            .build(),
    );
    let intake = Intake {
        store: DynamoStore::new(dynamodb, &table),
        publisher: SqsPublisher::new(sqs, Some(routing), None),
        clock: SystemClock,
        playbook: Playbook::default_playbook().expect("the default playbook"),
        config: Config {
            allowed_origins: vec![],
            thank_you_url: "http://127.0.0.1:3000/thank-you.html".into(),
            redirect_allowlist: vec![],
        },
    };
    let raw_dynamodb = aws_sdk_dynamodb::Client::new(&west);
    let raw_sqs = aws_sdk_sqs::Client::new(&west);

    let routes = RouteTable::new(model.routes()).expect("routes");
    let matched = routes.find("POST", "/inquiries").expect("POST /inquiries");
    let post = |i: usize| -> ApiGatewayV2httpRequest {
        let body = json!({
            "email": format!("{}@example.com", unique("warm")),
            "first_name": "Warm", "last_name": "Intake", "company": "Bench",
            "country": "DE", "request_type": "demo", "campaign": "warm-bench",
            "budget": "defined_fits", "authority": "decision_maker",
            "need": "established", "timeframe": "within_3_months",
        });
        let parts = HttpRequestParts {
            method: "POST".into(),
            raw_path: "/inquiries".into(),
            raw_query: String::new(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("host".into(), "127.0.0.1:3000".into()),
            ],
            body: Bytes::from(body.to_string()),
            // Each post its own address: no rate-limit counter fills up.
            source_ip: format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256),
            protocol: "HTTP/1.1".into(),
        };
        let event = api_gateway_event(&matched, &parts, &unique("req"), chrono::Utc::now());
        serde_json::from_value(event).expect("an API Gateway request")
    };

    let warm_up = 5;
    let mut handled = Vec::new();
    let mut raw = Vec::new();
    let mut calls_seen = String::new();
    for i in 0..warm_up + n {
        let request = post(i);
        let started = Instant::now();
        let answer = intake.handle(request).await;
        let took = started.elapsed();
        assert_eq!(answer.status_code, 202, "{:?}", answer.body);
        let calls = recorder.take();
        if calls_seen.is_empty() {
            calls_seen = calls.iter().map(Call::name).collect::<Vec<_>>().join(", ");
        }
        let started = Instant::now();
        replay(calls, &raw_dynamodb, &raw_sqs, &queues).await;
        let took_raw = started.elapsed();
        if i >= warm_up {
            handled.push(took);
            raw.push(took_raw);
        }
    }
    let (h, r) = (median(handled), median(raw));
    println!(
        "\nwarm intake: median of {n} new leads, one after another (emulator at {})",
        emulator.endpoint()
    );
    println!("  the requests a new lead takes: {calls_seen}");
    println!(
        "  raw SDK calls (those requests, replayed): {:>8} ms",
        ms(r)
    );
    println!(
        "  Intake::handle (real adapters):           {:>8} ms",
        ms(h)
    );
    println!(
        "  ratio handle / raw: {:.2}x (target <= 1.2x); the handler's own work: {} ms",
        h.as_secs_f64() / r.as_secs_f64(),
        ms(h.saturating_sub(r))
    );
}
