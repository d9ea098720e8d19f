//! Due work is found through an index, never a scan: seed N leads enrolled in
//! a nurture series (100 of them due), run one nurture tick against the
//! emulator, and print the leads it read from the index, the time, and the
//! ratio to the leads due. Prints figures; asserts nothing about time.
//!
//! cargo bench -p leadflow-local --bench due      (DUE_LEADS=10000 for a quicker run)

use chrono::{Duration, TimeZone, Utc};
use leadflow::app::nurture::tick;
use leadflow::domain::lead::{Enrolment, Lead};
use leadflow::domain::routing::decide;
use leadflow::ports::{MailError, Mailer, OutboxMessage, OutgoingEmail, PublishError, Publisher};
use leadflow::{EmailAddress, LeadId, Playbook, ResponseId};
use leadflow_aws::dynamo::DynamoStore;
use leadflow_local::template::{StackModel, StackSettings, Template};
use leadflow_local::{provision, root, Emulator};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Default)]
struct CountingMailer(AtomicUsize);

impl Mailer for CountingMailer {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        Ok(format!("m-{}", self.0.fetch_add(1, Ordering::Relaxed)))
    }
}

struct NoQueue;

impl Publisher for NoQueue {
    async fn publish(&self, _m: &OutboxMessage) -> Result<(), PublishError> {
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let n: usize = leadflow_local::testing::env_count("DUE_LEADS", 100_000);
    let due = 100.min(n);
    let mut emulator = Emulator::from_env_or_start(&root::workspace_root())
        .await
        .expect("the emulator starts");
    let root = root::workspace_root();
    let template = Template::load(&root::template_path(&root)).expect("template.yaml");
    let name = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut settings = StackSettings::new(name, emulator.endpoint());
    settings.parameter_overrides = leadflow_local::dev::local_parameters(&template, 3000);
    let model = StackModel::resolve(&template, &settings).expect("resolves");
    let config = provision::sdk_config(emulator.endpoint()).await;
    provision::provision(&model, &config)
        .await
        .expect("provisioned");
    let table = model.table("LeadsTable").expect("table").name.clone();
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = DynamoStore::new(client.clone(), table.clone());
    let playbook = Playbook::default_playbook().expect("playbook");

    // A Tuesday, 15:00 UTC: inside New York's send window.
    let now = Utc.with_ymd_and_hms(2026, 12, 8, 15, 0, 0).unwrap();
    let started = Instant::now();
    let items: Vec<_> = (0..n)
        .map(|i| {
            let email = EmailAddress::parse(&format!("p{i}@bench.example")).unwrap();
            let mut lead = Lead::new(LeadId::generate(), email, now - Duration::days(3));
            lead.contact.country = leadflow::domain::inquiry::Country::parse("US");
            lead.last_response_id = Some(ResponseId::generate());
            let mut d = decide(&lead, &[], &playbook, now, |_| Default::default());
            d.route = leadflow::Route::NeedNurturing;
            d.owner = playbook.queue_owner("nurture");
            lead.routing = Some(d);
            lead.nurture = Some(Enrolment {
                series: "time_specific_continuum".into(),
                step: 0,
                next_at: if i < due {
                    now - Duration::minutes(5)
                } else {
                    now + Duration::days(30)
                },
                enrolled_at: now - Duration::days(3),
                sent: Vec::new(),
            });
            lead.version = 1;
            DynamoStore::lead_item_for(&lead).expect("item")
        })
        .collect();
    let mut writes = tokio::task::JoinSet::new();
    for chunk in items.chunks(25) {
        let requests: Vec<_> = chunk
            .iter()
            .map(|item| {
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .expect("put"),
                    )
                    .build()
            })
            .collect();
        let (client, table) = (client.clone(), table.clone());
        writes.spawn(async move {
            client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .expect("seeded")
        });
        while writes.len() >= 4 {
            writes.join_next().await;
        }
    }
    while writes.join_next().await.is_some() {}
    let seeded = started.elapsed().as_secs_f64();

    let mailer = CountingMailer::default();
    let started = Instant::now();
    let report = tick(&store, &mailer, &NoQueue, &playbook, None, None, now, now)
        .await
        .expect("tick");
    let took = started.elapsed().as_secs_f64();

    println!("nurture tick against the emulator: {n} enrolled leads, {due} due (seeded in {seeded:.1} s)");
    println!("  read from the due index : {:>7} leads", report.read);
    println!(
        "  ratio to the leads due  : {:>7.2}x (target at most 1.1x)",
        report.read as f64 / due as f64
    );
    println!("  tick                    : {took:>7.2} s ({:.1} ms per due lead), one index query per shard (16)", took * 1000.0 / due as f64);
    println!(
        "  steps handled           : {} deferred, {} failed (no unsubscribe links in the bench)",
        report.deferred_window + report.deferred_cap,
        report.failed
    );
    emulator.stop().await;
}
