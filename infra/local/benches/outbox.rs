//! How fast the outbox sweeper drains a backlog (a queue outage left N messages
//! in the outbox), against the emulator: the batched, sharded sweep versus
//! publishing and clearing one message at a time, as the sweeper used to.
//! Prints figures and the ratio measured in one run; asserts nothing about time.
//!
//! cargo bench -p leadflow-local --bench outbox      (OUTBOX=5000 to change N)

use chrono::{Duration, Utc};
use leadflow::app::outbox::sweep;
use leadflow::messages::RouteRequest;
use leadflow::ports::prelude::*;
use leadflow::ports::{Commit, OutboxMessage, Publisher};
use leadflow::{LeadId, ResponseId};
use leadflow_aws::dynamo::DynamoStore;
use leadflow_aws::sqs::SqsPublisher;
use leadflow_local::template::{StackModel, StackSettings, Template};
use leadflow_local::{provision, root, Emulator};
use std::time::Instant;

async fn stack(emulator: &Emulator) -> (DynamoStore, SqsPublisher) {
    let root = root::workspace_root();
    let template = Template::load(&root::template_path(&root)).expect("template.yaml");
    let name = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut settings = StackSettings::new(name, emulator.endpoint());
    settings.parameter_overrides = leadflow_local::dev::local_parameters(&template, 3000);
    let model = StackModel::resolve(&template, &settings).expect("resolves");
    let config = provision::sdk_config(emulator.endpoint()).await;
    let provisioned = provision::provision(&model, &config)
        .await
        .expect("provisioned");
    let table = model.table("LeadsTable").expect("table").name.clone();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let publisher = SqsPublisher::new(
        aws_sdk_sqs::Client::new(&config),
        provisioned.queue_urls.get("RoutingQueue").cloned(),
        provisioned.queue_urls.get("FulfillmentQueue").cloned(),
    );
    (store, publisher)
}

async fn backlog(store: &DynamoStore, n: usize) -> Vec<OutboxMessage> {
    let at = Utc::now() - Duration::minutes(5);
    let messages: Vec<_> = (0..n)
        .map(|_| {
            RouteRequest {
                lead_id: LeadId::generate(),
                response_id: ResponseId::generate(),
            }
            .to_outbox(at)
        })
        .collect();
    for chunk in messages.chunks(25) {
        store
            .commit(Commit {
                outbox: chunk.to_vec(),
                ..Commit::default()
            })
            .await
            .expect("seeded");
    }
    messages
}

#[tokio::main]
async fn main() {
    let n: usize = leadflow_local::testing::env_count("OUTBOX", 2_000);
    let mut emulator = Emulator::from_env_or_start(&root::workspace_root())
        .await
        .expect("the emulator starts");

    // One at a time (the old sweeper): publish, then delete, per message.
    let (store, publisher) = stack(&emulator).await;
    let messages = backlog(&store, n).await;
    let started = Instant::now();
    for m in &messages {
        publisher.publish(m).await.expect("published");
        store.outbox_done(&m.id).await.expect("cleared");
    }
    let one_by_one = started.elapsed().as_secs_f64();

    // The sweeper: every shard read at once, SendMessageBatch, BatchWriteItem.
    let (store, publisher) = stack(&emulator).await;
    backlog(&store, n).await;
    let started = Instant::now();
    let report = sweep(&store, &publisher, Utc::now(), None)
        .await
        .expect("swept");
    let swept = started.elapsed().as_secs_f64();
    assert_eq!(report.published, n, "{report:?}");

    println!("outbox drain against the emulator, {n} messages each (fresh stacks):");
    println!(
        "  one at a time : {:>8.0} messages/s ({one_by_one:.2} s)",
        n as f64 / one_by_one
    );
    println!(
        "  sweeper       : {:>8.0} messages/s ({swept:.2} s)",
        n as f64 / swept
    );
    println!("  ratio         : {:>8.1}x", one_by_one / swept);
    // By construction (what AWS bills and throttles): per message two calls one at a
    // time; per round 17 index queries, one SendMessageBatch per 10, one
    // BatchWriteItem per 25.
    let calls = 17 * (n.div_ceil(1600) + 1) + n.div_ceil(10) + n.div_ceil(25);
    println!(
        "  AWS calls     : one at a time {}; sweeper {calls} ({:.0}x fewer)",
        2 * n,
        (2 * n) as f64 / calls as f64
    );
    emulator.stop().await;
}
