//! The cost of a lead: drives N inquiries through the whole local pipeline
//! (gateway → intake → routing queue → router → fulfillment queue →
//! fulfillment → SES), with every AWS request of the functions and of the SQS
//! pollers passing through the local stack's metering proxy, and prints what
//! each function used per lead — requests by service and operation, DynamoDB
//! read and write units (by DynamoDB's size rules, see
//! `leadflow_local::proxy::capacity`), SQS requests, SES emails — and what
//! 10,000 leads cost at published on-demand prices, SES's per-email fee apart
//! from the infrastructure. Prints figures; asserts nothing about time.
//!
//! cargo bench -p leadflow-local --bench cost      (COST_LEADS=500 to change N)
//!
//! A "lead" here is one inquiry posted: 4 in 5 from new people, 1 in 5 a
//! repeat of an earlier person (a double submit, or a later, different
//! request), info/demo/on-site demo/assessment/RFI requests across countries.
//! The schedules (outbox, reminders, nurture) are held back: they cost by the
//! hour, not by the lead. Empty SQS receives (polling) are shown but not
//! charged to the leads, for the same reason.

use leadflow::ports::prelude::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use leadflow::domain::lead::Event;
use leadflow::{EmailAddress, ResponseId};
use leadflow_aws::dynamo::DynamoStore;
use leadflow_local::dev::EVENT_SOURCE_MAPPING;
use leadflow_local::emulator::http_request;
use leadflow_local::proxy::{Operation, OperationUsage, Usage};
use leadflow_local::testing::unique;
use leadflow_local::{DevOptions, DevStack};
use serde_json::{json, Value};

/// Published on-demand prices, us-east-1, as of 2025 (assumptions; free tiers ignored).
mod price {
    /// DynamoDB on-demand: $0.625 per million write request units.
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    /// DynamoDB on-demand: $0.125 per million read request units.
    pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    /// SQS standard queues: $0.40 per million requests (each 64 KB chunk of a payload).
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// SES: $0.10 per 1,000 emails (per recipient; attachments' data not counted).
    pub const SES_EMAIL: f64 = 0.10 / 1e3;
    /// Lambda: $0.20 per million requests.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Lambda arm64: $0.0000133334 per GB-second.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// API Gateway HTTP API: $1.00 per million requests (first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
}

const COUNTRIES: [&str; 12] = [
    "DE", "FR", "GB", "US", "CA", "BR", "ES", "IT", "NL", "SE", "MX", "PL",
];
const REQUESTS: [&str; 6] = ["info", "demo", "onsite_demo", "assessment", "info", "rfi"];
const BUDGETS: [&str; 3] = ["defined_fits", "unknown", "not_defined"];
const AUTHORITIES: [&str; 3] = ["decision_maker", "influencer", "unknown"];

/// The i-th inquiry of a person: a varied, deterministic mix.
fn inquiry(person: usize, email: &str, repeat: bool) -> Value {
    let request = if repeat && person.is_multiple_of(2) {
        // A later, different request (an escalation, say).
        "onsite_demo"
    } else {
        REQUESTS[person % REQUESTS.len()]
    };
    json!({
        "email": email,
        "first_name": format!("P{person}"),
        "last_name": "Bench",
        "company": format!("Company {}", person % 37),
        "country": COUNTRIES[person % COUNTRIES.len()],
        "request_type": request,
        "campaign": "cost-bench",
        "budget": BUDGETS[person % BUDGETS.len()],
        "authority": AUTHORITIES[(person / 3) % AUTHORITIES.len()],
        "need": if person.is_multiple_of(4) { "unknown" } else { "established" },
        "timeframe": if person.is_multiple_of(5) { "unknown" } else { "within_3_months" },
    })
}

async fn post(url: String, body: Value) {
    let r = http_request(
        http::Method::POST,
        &url,
        &[("content-type", "application/json")],
        body.to_string(),
        Duration::from_secs(60),
    )
    .await
    .expect("the intake answers");
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
}

/// Every response of the lead routed and each of its emails sent, coalesced or refused.
async fn settled(store: &DynamoStore, email: &str, responses: usize) -> bool {
    let Ok(Some(id)) = store
        .lead_id_by_email(&EmailAddress::parse(email).expect("an address"))
        .await
    else {
        return false;
    };
    let (Ok(Some(lead)), Ok(history)) = (store.lead(&id).await, store.history(&id).await) else {
        return false;
    };
    let mut notified: BTreeMap<&ResponseId, usize> = BTreeMap::new();
    let mut routed = 0;
    let mut last = None;
    for h in &history {
        match &h.event {
            Event::Response(r) => {
                notified.entry(&r.response_id).or_default();
                last = Some(&r.response_id);
            }
            Event::Routed { .. } => routed += 1,
            Event::EmailSent { response_id, .. }
            | Event::EmailCoalesced { response_id, .. }
            | Event::EmailRejected { response_id, .. } => {
                *notified.entry(response_id).or_default() += 1;
            }
            _ => {}
        }
    }
    // The latest response: the prospect's email, and the owner's when the owner has a mailbox.
    let wants = if lead.owner().and_then(|o| o.email()).is_some() {
        2
    } else {
        1
    };
    routed == responses
        && notified.len() == responses
        && notified.values().all(|n| *n >= 1)
        && last.is_some_and(|id| notified[id] >= wants)
}

#[tokio::main]
async fn main() {
    let n: usize = leadflow_local::testing::env_count("COST_LEADS", 100).max(1);
    let mut options = DevOptions::for_tests(unique("cost"));
    options.metered = true;
    // The schedules cost by the hour, not by the lead: held back.
    options.schedule_period = Some(Duration::from_secs(24 * 3600));
    let s = DevStack::start(options)
        .await
        .expect("the local stack starts");
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(s.sdk_config()),
        s.table_name("LeadsTable").expect("LeadsTable"),
    );

    // 4 in 5 inquiries from new people, then 1 in 5 repeats of earlier ones.
    let new_people = n - n / 5;
    let emails: Vec<String> = (0..new_people)
        .map(|i| format!("{}@firma{}.example.com", unique("p"), i % 50))
        .collect();
    let mut plan: Vec<(usize, bool)> = (0..new_people).map(|i| (i, false)).collect();
    plan.extend((0..n / 5).map(|k| ((k * 7) % new_people, true)));
    let mut responses: BTreeMap<usize, usize> = BTreeMap::new();

    let before = s.usage().expect("metered");
    let started = Instant::now();
    let url = format!("{}/inquiries", s.api_url());
    for batch in plan.chunks(4) {
        let posts: Vec<_> = batch
            .iter()
            .map(|(person, repeat)| {
                let body = inquiry(*person, &emails[*person], *repeat);
                tokio::spawn(post(url.clone(), body))
            })
            .collect();
        for p in posts {
            p.await.expect("posted");
        }
        for (person, _) in batch {
            *responses.entry(*person).or_default() += 1;
        }
    }
    let posted = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(900);
    let mut pending: Vec<usize> = responses.keys().copied().collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for person in pending {
            if !settled(&store, &emails[person], responses[&person]).await {
                still.push(person);
            }
        }
        pending = still;
        assert!(
            Instant::now() < deadline,
            "{} leads not settled in time",
            pending.len()
        );
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    // The pollers delete what they delivered after the function answers.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled_in = started.elapsed();
    let used = s.usage().expect("metered").since(&before);
    let memory_mb: BTreeMap<String, u32> = s
        .model()
        .functions
        .iter()
        .map(|f| (f.logical_id.clone(), f.memory_size))
        .collect();
    report(n, responses.len(), &used, &memory_mb, posted, settled_in);
    s.shutdown().await;
}

fn fixed(x: f64) -> String {
    format!("{x:>8.2}")
}

fn report(
    n: usize,
    people: usize,
    used: &Usage,
    memory_mb: &BTreeMap<String, u32>,
    posted: Duration,
    settled: Duration,
) {
    let per = |x: f64| x / n as f64;
    let per_lead_billed = |op: &Operation| op.operation != "ReceiveMessage (empty)";
    println!(
        "cost of a lead: {n} inquiries ({people} people, {} repeats) through the local pipeline",
        n - people
    );
    println!(
        "  posted in {:.1} s, all routed and emailed after {:.1} s (moto's pace, not AWS's)",
        posted.as_secs_f64(),
        settled.as_secs_f64()
    );
    println!();
    println!("per lead, by caller and operation (requests; DynamoDB RCU/WCU; SQS billed requests; SES emails):");
    for (caller, ops) in &used.calls {
        let invocations = used.invocations.get(caller).map_or(0, |i| i.count);
        if caller == EVENT_SOURCE_MAPPING {
            println!("  {caller} (the SQS pollers Lambda runs for the queues)");
        } else {
            println!(
                "  {caller} ({:.2} invocations per lead)",
                per(invocations as f64)
            );
        }
        for (op, u) in ops {
            let mut extra = String::new();
            if u.read_units > 0.0 {
                extra += &format!("  {:.2} RCU", per(u.read_units));
            }
            if u.write_units > 0.0 {
                extra += &format!("  {:.2} WCU", per(u.write_units));
            }
            if u.billed_requests > u.requests {
                extra += &format!("  {:.2} billed", per(u.billed_requests as f64));
            }
            if u.emails > 0 {
                extra += &format!("  {:.2} emails", per(u.emails as f64));
            }
            let note = if per_lead_billed(op) {
                ""
            } else {
                "   (polling: by the hour, not charged to leads)"
            };
            println!(
                "    {:<9} {:<28} {} req{extra}{note}",
                op.service,
                op.operation,
                fixed(per(u.requests as f64)),
            );
        }
        let t = used.total(Some(caller), per_lead_billed);
        println!(
            "    {:<38} {} req  {:.2} RCU  {:.2} WCU",
            "= total",
            fixed(per(t.requests as f64)),
            per(t.read_units),
            per(t.write_units)
        );
    }

    let all = used.total(None, per_lead_billed);
    let service = |name: &str| used.total(None, |op| per_lead_billed(op) && op.service == name);
    let (dynamo, sqs, ses): (OperationUsage, OperationUsage, OperationUsage) =
        (service("dynamodb"), service("sqs"), service("ses"));
    let invocations: u64 = used.invocations.values().map(|i| i.count).sum();
    let gb_seconds: f64 = used
        .invocations
        .iter()
        .map(|(f, i)| {
            i.duration.as_secs_f64() * f64::from(*memory_mb.get(f).unwrap_or(&128)) / 1024.0
        })
        .sum();
    println!();
    println!("per lead, all functions:");
    println!(
        "  AWS requests {:.2} (DynamoDB {:.2}, SQS {:.2}, SES {:.2}); Lambda invocations {:.2}; HTTP API requests 1.00",
        per(all.requests as f64),
        per(dynamo.requests as f64),
        per(sqs.requests as f64),
        per(ses.requests as f64),
        per(invocations as f64)
    );
    println!(
        "  DynamoDB {:.2} RCU, {:.2} WCU; SQS {:.2} billed requests; SES {:.2} emails",
        per(dynamo.read_units),
        per(dynamo.write_units),
        per(sqs.billed_requests as f64),
        per(ses.emails as f64)
    );

    let k = 10_000.0 / n as f64;
    let lines = [
        (
            "DynamoDB writes",
            dynamo.write_units * price::DYNAMODB_WRITE_UNIT,
        ),
        (
            "DynamoDB reads",
            dynamo.read_units * price::DYNAMODB_READ_UNIT,
        ),
        (
            "SQS requests",
            sqs.billed_requests as f64 * price::SQS_REQUEST,
        ),
        (
            "Lambda requests",
            invocations as f64 * price::LAMBDA_REQUEST,
        ),
        ("HTTP API requests", n as f64 * price::HTTP_API_REQUEST),
    ];
    let infrastructure: f64 = lines.iter().map(|(_, c)| c * k).sum();
    let ses_fee = ses.emails as f64 * price::SES_EMAIL * k;
    println!();
    println!("$ per 10,000 leads, us-east-1 on-demand list prices (free tiers ignored):");
    for (name, cost) in lines {
        println!("  {name:<20} ${:>9.4}", cost * k);
    }
    println!("  {:<20} ${infrastructure:>9.4}", "= infrastructure");
    println!(
        "  {:<20} ${ses_fee:>9.4}   ({:.2} emails per lead)",
        "SES, per email",
        per(ses.emails as f64)
    );
    println!("  {:<20} ${:>9.4}", "= with SES", infrastructure + ses_fee);
    println!(
        "  Lambda compute left out: local durations are a debug build waiting on moto. At them, \
         {:.1} GB-s per 10,000 leads would be ${:.4} (an upper bound, arm64 ${}/GB-s).",
        gb_seconds * k,
        gb_seconds * k * price::LAMBDA_GB_SECOND,
        price::LAMBDA_GB_SECOND
    );
    println!(
        "  prices: DynamoDB $0.625/M WRU, $0.125/M RRU; SQS $0.40/M requests (64 KB chunks); \
         SES $0.10/1,000 emails; Lambda $0.20/M requests; HTTP API $1.00/M requests"
    );
}
