//! `leadflow load`: posts N inquiries at a chosen rate and concurrency, waits
//! for the pipeline to drain, and reconciles every post against the store,
//! the mail sent, the queues and the outbox. Exits non-zero on any difference.
//!
//! The mix (all shares of N, deterministic for a `--seed`):
//! - repeat people: a later post by someone who posted before (at most three
//!   posts a person, inside the intake's per-address limit);
//! - concurrent posts: two different posts by the same person at the same moment;
//! - Idempotency-Key retries: a JSON post sent again with its key (a replay);
//! - form posts (`application/x-www-form-urlencoded`, answered 303).
//!
//! Every post carries a marker in its `message` (`load <run> #<i>`), so the
//! reconciliation can find it in the lead's history whatever the answer said.
//! Against the local stack each client posts from its own loopback address
//! (127.1.x.y), as many visitors would, so the intake's per-IP limit applies
//! per client as it does in AWS; a 429 is waited out (`Retry-After`) and a
//! 5xx or a dropped connection retried with the same Idempotency-Key.
//!
//! Reconciled, for every accepted post and every person:
//! - the post's marker is one response in exactly one lead's history (its
//!   person's), and a post answered with an error left none;
//! - each person is exactly one lead;
//! - each response was routed exactly once;
//! - each response has exactly one prospect email outcome (sent, coalesced
//!   into an earlier send, or refused), no (response, kind) has two, and the
//!   latest response's owner with a mailbox has the lead package;
//! - each email recorded as sent is in the mail service's record exactly
//!   once, and the people of the run got no email that is not recorded
//!   (locally, from the emulator; on AWS the mailbox cannot be read);
//! - nothing is left in the routing or fulfillment queue, a dead-letter
//!   queue, or the outbox.

use leadflow::ports::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use leadflow::domain::lead::{EmailKind, Event};
use leadflow::{EmailAddress, ResponseId};
use leadflow_aws::dynamo::DynamoStore;
use serde_json::Value;

/// What to post (where is `run`'s `url`).
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub inquiries: usize,
    pub concurrency: usize,
    /// Posts per second at most; `None`: as fast as the clients go.
    pub rate: Option<f64>,
    pub repeat_share: f64,
    pub concurrent_share: f64,
    pub retry_share: f64,
    pub form_share: f64,
    /// How long the pipeline may go without progress (a queue shrinking or a
    /// difference settling) before the run stops waiting for it to drain.
    pub drain_timeout: Duration,
    pub seed: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            inquiries: 10_000,
            concurrency: 50,
            rate: None,
            repeat_share: 0.2,
            concurrent_share: 0.05,
            retry_share: 0.05,
            form_share: 0.2,
            drain_timeout: Duration::from_secs(900),
            seed: 1,
        }
    }
}

/// Where the stack keeps its state, for the reconciliation.
#[derive(Debug, Clone)]
pub struct StackState {
    pub sdk: aws_config::SdkConfig,
    pub stack_name: String,
    /// The emulator's URL, whose mail record can be read; `None` on AWS.
    pub emulator: Option<String>,
}

/// One HTTP post of the plan.
#[derive(Debug, Clone)]
struct Post {
    index: usize,
    person: usize,
    form: bool,
    /// Sent a second time with the same Idempotency-Key after its answer.
    retried: bool,
}

/// Posts sent together (a person's concurrent pair) or one alone.
type Unit = Vec<Post>;

/// The deterministic plan: units in posting order, and how many people.
fn plan(o: &LoadOptions) -> (Vec<Unit>, usize) {
    let mut rng = o.seed.max(1);
    let mut next = move || {
        // xorshift64*: a fixed sequence for a seed, no dependency.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut units: Vec<Unit> = Vec::new();
    let mut posts_of: Vec<usize> = Vec::new();
    let mut index = 0;
    while index < o.inquiries {
        let roll = next();
        let form = next() < o.form_share;
        let retried = !form && next() < o.retry_share;
        let pair = index + 1 < o.inquiries && next() < o.concurrent_share;
        let repeat = !posts_of.is_empty() && roll < o.repeat_share;
        let person = if repeat {
            // An earlier person with room under the per-address limit.
            let start = (next() * posts_of.len() as f64) as usize % posts_of.len();
            (0..posts_of.len())
                .map(|k| (start + k) % posts_of.len())
                .find(|p| posts_of[*p] + usize::from(pair) < 3)
        } else {
            None
        };
        let person = person.unwrap_or_else(|| {
            posts_of.push(0);
            posts_of.len() - 1
        });
        let mut unit = vec![Post {
            index,
            person,
            form,
            retried,
        }];
        index += 1;
        if pair {
            unit.push(Post {
                index,
                person,
                form: false,
                retried: false,
            });
            index += 1;
        }
        posts_of[person] += unit.len();
        units.push(unit);
    }
    (units, posts_of.len())
}

const COUNTRIES: [&str; 12] = [
    "DE", "FR", "GB", "US", "CA", "BR", "ES", "IT", "NL", "SE", "MX", "PL",
];
const REQUESTS: [&str; 6] = ["info", "demo", "onsite_demo", "assessment", "info", "rfi"];
const BUDGETS: [&str; 3] = ["defined_fits", "unknown", "not_defined"];
const AUTHORITIES: [&str; 3] = ["decision_maker", "influencer", "unknown"];

fn email(run: &str, person: usize) -> String {
    format!("load-{run}-{person}@firma{}.example.com", person % 97)
}

fn marker(run: &str, index: usize) -> String {
    format!("load {run} #{index}")
}

fn fields(run: &str, post: &Post) -> Vec<(&'static str, String)> {
    let p = post.person;
    let i = post.index;
    vec![
        ("email", email(run, p)),
        ("first_name", format!("P{p}")),
        ("last_name", "Load".into()),
        ("company", format!("Company {}", p % 37)),
        ("country", COUNTRIES[(p + i) % COUNTRIES.len()].into()),
        ("request_type", REQUESTS[(p + i) % REQUESTS.len()].into()),
        ("campaign", "load".into()),
        ("budget", BUDGETS[p % BUDGETS.len()].into()),
        ("authority", AUTHORITIES[(p / 3) % AUTHORITIES.len()].into()),
        (
            "need",
            if p.is_multiple_of(4) {
                "unknown"
            } else {
                "established"
            }
            .into(),
        ),
        ("message", marker(run, i)),
    ]
}

/// How a post ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Accepted { response_id: Option<String> },
    Refused { status: u16, body: String },
    Failed(String),
}

#[derive(Debug, Default)]
struct Tally {
    answers: Mutex<BTreeMap<usize, Answer>>,
    latencies: Mutex<Vec<Duration>>,
    replays_not_flagged: AtomicUsize,
    replays_differed: AtomicUsize,
    waited_429: AtomicUsize,
    retried_5xx: AtomicUsize,
}

/// One HTTP exchange.
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

/// Posts from a chosen local address (local stack) or through ureq (https).
async fn send(
    url: &str,
    from: Option<Ipv4Addr>,
    content_type: &str,
    key: &str,
    body: String,
) -> Result<Reply, String> {
    if url.starts_with("https://") {
        let (url, content_type, key) = (url.to_string(), content_type.to_string(), key.to_string());
        return tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            let mut r = agent
                .post(&url)
                .header("content-type", &content_type)
                .header("idempotency-key", &key)
                .send(body.as_bytes())
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.body_mut().read_to_string().unwrap_or_default();
            Ok(Reply {
                status,
                headers,
                body,
            })
        })
        .await
        .map_err(|e| e.to_string())?;
    }
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let host = uri.host().unwrap_or("127.0.0.1").to_string();
    let port = uri.port_u16().unwrap_or(80);
    let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if let (Some(ip), true) = (from, addr.ip().is_loopback()) {
        socket
            .bind(SocketAddr::new(IpAddr::V4(ip), 0))
            .map_err(|e| format!("binding {ip}: {e}"))?;
    }
    let work = async {
        let stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = hyper::Request::post(uri.clone())
            .header("host", format!("{host}:{port}"))
            .header("content-type", content_type)
            .header("idempotency-key", key)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .map_err(|_| "no answer in 60 s".to_string())?
}

/// The loopback address client `n` posts from.
fn client_ip(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8)
}

/// Posts one inquiry until it has a final answer.
async fn post_one(url: &str, run: &str, post: &Post, from: Option<Ipv4Addr>, tally: &Tally) {
    let fields = fields(run, post);
    let (content_type, body) = if post.form {
        (
            "application/x-www-form-urlencoded",
            fields
                .iter()
                .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        )
    } else {
        let map: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        ("application/json", Value::Object(map).to_string())
    };
    let key = format!("load-{run}-{}", post.index);
    let target = format!("{}/inquiries", url.trim_end_matches('/'));
    let mut attempt = 0u32;
    let answer = loop {
        attempt += 1;
        let started = Instant::now();
        let reply = send(&target, from, content_type, &key, body.clone()).await;
        lock(&tally.latencies).push(started.elapsed());
        match reply {
            Ok(r) if r.status == 202 || r.status == 303 => {
                let response_id = serde_json::from_str::<Value>(&r.body)
                    .ok()
                    .and_then(|v| v["response_id"].as_str().map(str::to_string));
                break Answer::Accepted { response_id };
            }
            Ok(r) if r.status == 429 && attempt < 50 => {
                tally.waited_429.fetch_add(1, Ordering::Relaxed);
                let wait = r
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 120);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Ok(r) if r.status >= 500 && attempt < 8 => {
                tally.retried_5xx.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(_) if attempt < 8 => {
                tally.retried_5xx.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(backoff(attempt)).await;
            }
            Ok(r) => {
                break Answer::Refused {
                    status: r.status,
                    body: r.body.chars().take(300).collect(),
                }
            }
            Err(e) => break Answer::Failed(e),
        }
    };
    if post.retried {
        if let Answer::Accepted { response_id } = &answer {
            // The client did not hear the answer and sends the same post again.
            if let Ok(r) = send(&target, from, content_type, &key, body.clone()).await {
                let replayed = r
                    .headers
                    .get("idempotent-replayed")
                    .is_some_and(|v| v == "true");
                let again = serde_json::from_str::<Value>(&r.body)
                    .ok()
                    .and_then(|v| v["response_id"].as_str().map(str::to_string));
                if !replayed {
                    tally.replays_not_flagged.fetch_add(1, Ordering::Relaxed);
                }
                if again != *response_id {
                    tally.replays_differed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    lock(&tally.answers).insert(post.index, answer);
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(6)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub posted: usize,
    pub accepted: usize,
    pub people: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    pub drained_in: Duration,
    pub differences: Vec<String>,
    pub notes: Vec<String>,
}

impl Report {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[i]
    }

    /// The printout; its last line is `reconciled N inquiries: D differences`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "posted {} inquiries from {} people in {:.1} s: {:.1} posts/s; {} accepted",
            self.posted,
            self.people,
            secs,
            self.posted as f64 / secs,
            self.accepted
        );
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let _ = writeln!(
            out,
            "latency (each HTTP request): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            ms(self.percentile(0.5)),
            ms(self.percentile(0.9)),
            ms(self.percentile(0.99)),
            ms(self.percentile(1.0)),
        );
        let whole = (self.elapsed + self.drained_in).as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "pipeline drained {:.1} s after the last post: {:.1} inquiries/s end to end (posted, routed, emailed)",
            self.drained_in.as_secs_f64(),
            self.posted as f64 / whole
        );
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        let shown = 50;
        for d in self.differences.iter().take(shown) {
            let _ = writeln!(out, "DIFFERENCE: {d}");
        }
        if self.differences.len() > shown {
            let _ = writeln!(
                out,
                "... and {} more differences",
                self.differences.len() - shown
            );
        }
        let _ = write!(
            out,
            "reconciled {} inquiries: {} differences",
            self.posted,
            self.differences.len()
        );
        out
    }
}

/// Posts the plan to `url`, waits for the pipeline, reconciles.
pub async fn run(url: &str, state: &StackState, o: &LoadOptions) -> Report {
    let run = ulid::Ulid::new().to_string().to_lowercase()[..10].to_string();
    let (units, people) = plan(o);
    let units = Arc::new(units);
    let tally = Arc::new(Tally::default());
    let next_unit = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let local = !url.starts_with("https://");
    let progress_every = (units.len() / 10).max(1);
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..o.concurrency.max(1) {
        let (units, tally, next_unit, url, run) = (
            units.clone(),
            tally.clone(),
            next_unit.clone(),
            url.to_string(),
            run.clone(),
        );
        let rate = o.rate;
        clients.spawn(async move {
            let from = local.then(|| client_ip(client));
            loop {
                let n = next_unit.fetch_add(1, Ordering::Relaxed);
                let Some(unit) = units.get(n) else { break };
                if let Some(rate) = rate.filter(|r| *r > 0.0) {
                    let at = started + Duration::from_secs_f64(unit[0].index as f64 / rate);
                    tokio::time::sleep_until(at.into()).await;
                }
                if n > 0 && n % progress_every == 0 {
                    eprintln!(
                        "leadflow load: {} of {} posts sent ...",
                        unit[0].index,
                        units.iter().map(Vec::len).sum::<usize>()
                    );
                }
                let post = |p| post_one(&url, &run, p, from, &tally);
                // A unit is one post, or a person's two sent at the same moment.
                match unit.as_slice() {
                    [a, b] => {
                        tokio::join!(post(a), post(b));
                    }
                    posts => {
                        for p in posts {
                            post(p).await;
                        }
                    }
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let answers = std::mem::take(&mut *lock(&tally.answers));
    let mut latencies = std::mem::take(&mut *lock(&tally.latencies));
    latencies.sort();
    let accepted = answers
        .values()
        .filter(|a| matches!(a, Answer::Accepted { .. }))
        .count();
    let mut report = Report {
        posted: o.inquiries,
        accepted,
        people,
        elapsed,
        latencies,
        ..Report::default()
    };
    report.notes.push(format!(
        "waited out {} 429 answers; retried {} 5xx or dropped requests",
        tally.waited_429.load(Ordering::Relaxed),
        tally.retried_5xx.load(Ordering::Relaxed)
    ));
    for (index, answer) in &answers {
        match answer {
            Answer::Accepted { .. } => {}
            Answer::Refused { status, body } => report
                .differences
                .push(format!("post #{index} refused with {status}: {body}")),
            Answer::Failed(e) => report
                .differences
                .push(format!("post #{index} got no answer: {e}")),
        }
    }
    for (n, what) in [
        (
            tally.replays_not_flagged.load(Ordering::Relaxed),
            "Idempotency-Key retries were not answered as replays",
        ),
        (
            tally.replays_differed.load(Ordering::Relaxed),
            "Idempotency-Key retries were told another response id",
        ),
    ] {
        if n > 0 {
            report.differences.push(format!("{n} {what}"));
        }
    }
    eprintln!("leadflow load: all posts answered; waiting for the pipeline to drain ...");
    let drain_started = Instant::now();
    let check = Check {
        run: run.clone(),
        units: units.clone(),
        answers,
    };
    // The pipeline may take as long as it needs while it keeps moving (the
    // emulator's pace depends on the machine); the run gives up only when it
    // has stalled for `drain_timeout`.
    let mut differences: Vec<String> = Vec::new();
    let mut progress = Progress::new(Instant::now());
    let mut told = Instant::now();
    loop {
        let backlog = backlog(state).await;
        if let Ok(n) = backlog {
            progress.backlog(n, Instant::now());
        }
        if let Ok(0) = backlog {
            differences = check.reconcile(state).await;
            if differences.is_empty() {
                break;
            }
            progress.differences(differences.len(), Instant::now());
            if progress.stalled(Instant::now(), o.drain_timeout) {
                break;
            }
            eprintln!(
                "leadflow load: queues empty, {} differences yet (first: {}); checking again ...",
                differences.len(),
                differences[0]
            );
            tokio::time::sleep(Duration::from_secs(10)).await;
            continue;
        }
        if progress.stalled(Instant::now(), o.drain_timeout) {
            differences.push(match backlog {
                Err(e) => format!("could not read the queues: {e}"),
                Ok(n) => format!(
                    "the pipeline did not drain: {n} messages still queued, none taken in the last {} s",
                    o.drain_timeout.as_secs()
                ),
            });
            break;
        }
        if told.elapsed() >= Duration::from_secs(60) {
            if let Ok(n) = backlog {
                eprintln!(
                    "leadflow load: {n} messages queued, {:.0} s since the last post ...",
                    drain_started.elapsed().as_secs_f64()
                );
            }
            told = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    report.drained_in = drain_started.elapsed();
    report.differences.extend(differences);
    report
}

/// Whether a draining pipeline still moves: its backlog reaching a new low,
/// or the reconciliation's differences a new low, is progress; a backlog
/// that grows or holds is not.
struct Progress {
    least_backlog: u64,
    least_differences: usize,
    moved: Instant,
}

impl Progress {
    fn new(now: Instant) -> Self {
        Self {
            least_backlog: u64::MAX,
            least_differences: usize::MAX,
            moved: now,
        }
    }

    fn backlog(&mut self, queued: u64, now: Instant) {
        if queued < self.least_backlog {
            self.least_backlog = queued;
            self.moved = now;
        }
    }

    fn differences(&mut self, found: usize, now: Instant) {
        if found < self.least_differences {
            self.least_differences = found;
            self.moved = now;
        }
    }

    /// No progress for `timeout` up to `now`.
    fn stalled(&self, now: Instant, timeout: Duration) -> bool {
        now.saturating_duration_since(self.moved) >= timeout
    }
}

/// What the stack's main queues (not dead-letter ones) hold: visible, in
/// flight and delayed messages.
async fn backlog(state: &StackState) -> Result<u64, String> {
    let sqs = aws_sdk_sqs::Client::new(&state.sdk);
    let mut total = 0;
    for logical in ["RoutingQueue", "FulfillmentQueue"] {
        let Some(url) = queue_url(&sqs, &state.stack_name, logical).await? else {
            continue;
        };
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?
            .attributes
            .unwrap_or_default();
        let n = |a: QueueAttributeName| {
            attrs
                .get(&a)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total += n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            + n(QueueAttributeName::ApproximateNumberOfMessagesDelayed);
    }
    Ok(total)
}

async fn queue_url(
    sqs: &aws_sdk_sqs::Client,
    stack: &str,
    logical: &str,
) -> Result<Option<String>, String> {
    let out = sqs
        .list_queues()
        .queue_name_prefix(format!("{stack}-{logical}"))
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    Ok(out.queue_urls.unwrap_or_default().into_iter().find(|u| {
        let name = crate::dlq::queue_name(u);
        name == format!("{stack}-{logical}") || name.starts_with(&format!("{stack}-{logical}-"))
    }))
}

/// The stack's lead table: `<stack>-LeadsTable` (locally) or
/// `<stack>-LeadsTable-<suffix>` (CloudFormation).
async fn table_name(
    dynamodb: &aws_sdk_dynamodb::Client,
    stack: &str,
) -> Result<Option<String>, String> {
    let want = format!("{stack}-LeadsTable");
    let mut start = None;
    loop {
        let out = dynamodb
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        if let Some(t) = out
            .table_names
            .unwrap_or_default()
            .into_iter()
            .find(|t| *t == want || t.starts_with(&format!("{want}-")))
        {
            return Ok(Some(t));
        }
        match out.last_evaluated_table_name {
            Some(t) => start = Some(t),
            None => return Ok(None),
        }
    }
}

struct Check {
    run: String,
    units: Arc<Vec<Unit>>,
    answers: BTreeMap<usize, Answer>,
}

impl Check {
    async fn reconcile(&self, state: &StackState) -> Vec<String> {
        let mut d = Vec::new();
        let dynamodb = aws_sdk_dynamodb::Client::new(&state.sdk);
        let table = match table_name(&dynamodb, &state.stack_name).await {
            Ok(Some(t)) => t,
            Ok(None) => return vec![format!("stack {}: no LeadsTable", state.stack_name)],
            Err(e) => return vec![format!("listing tables: {e}")],
        };
        let store = DynamoStore::new(dynamodb.clone(), table.clone());
        // Each person's posts, and whether each was accepted.
        let mut posts_of: BTreeMap<usize, Vec<(usize, bool)>> = BTreeMap::new();
        for post in self.units.iter().flatten() {
            let accepted = matches!(self.answers.get(&post.index), Some(Answer::Accepted { .. }));
            posts_of
                .entry(post.person)
                .or_default()
                .push((post.index, accepted));
        }
        // Leads per person's address, from a scan (not the address index).
        let mut leads_of: BTreeMap<String, usize> = BTreeMap::new();
        match scan_lead_emails(&dynamodb, &table, &format!("load-{}-", self.run)).await {
            Ok(emails) => {
                for e in emails {
                    *leads_of.entry(e).or_default() += 1;
                }
            }
            Err(e) => d.push(format!("scanning the leads: {e}")),
        }
        let mut sent_ids: Vec<String> = Vec::new();
        let mut sent_to_people = 0usize;
        // Read the people a few at a time.
        let people: Vec<(usize, Vec<(usize, bool)>)> = posts_of.into_iter().collect();
        for chunk in people.chunks(16) {
            let mut reads = tokio::task::JoinSet::new();
            for (person, posts) in chunk.iter().cloned() {
                let store = store.clone();
                let address = email(&self.run, person);
                reads.spawn(async move {
                    let found = person_state(&store, &address).await;
                    (address, posts, found)
                });
            }
            while let Some(read) = reads.join_next().await {
                let Ok((address, posts, found)) = read else {
                    d.push("a reading task failed".into());
                    continue;
                };
                let any_accepted = posts.iter().any(|(_, a)| *a);
                match leads_of.get(&address).copied().unwrap_or(0) {
                    1 => {}
                    0 if !any_accepted => {}
                    n => d.push(format!("{address}: {n} leads")),
                }
                let (history, owner_has_mailbox) = match found {
                    Err(e) => {
                        d.push(format!("{address}: {e}"));
                        continue;
                    }
                    Ok(None) if any_accepted => {
                        d.push(format!("{address}: accepted, but no lead"));
                        continue;
                    }
                    Ok(None) => continue,
                    Ok(Some(found)) => found,
                };
                self.person(
                    &address,
                    &posts,
                    &history,
                    owner_has_mailbox,
                    &mut d,
                    &mut sent_ids,
                    &mut sent_to_people,
                );
            }
        }
        // The mail service's own record (the emulator's; AWS has none to read).
        if let Some(endpoint) = &state.emulator {
            match crate::emulator::sent_emails(endpoint).await {
                Ok(emails) => {
                    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
                    let mut to_people = 0;
                    let needle = format!("load-{}-", self.run);
                    for m in &emails {
                        if let Some(id) = m["id"].as_str() {
                            *by_id.entry(id.to_string()).or_default() += 1;
                        }
                        if crate::emulator::recipients(m)
                            .iter()
                            .any(|r| r.contains(&needle))
                        {
                            to_people += 1;
                        }
                    }
                    for id in &sent_ids {
                        match by_id.get(id).copied().unwrap_or(0) {
                            1 => {}
                            n => d.push(format!(
                                "email {id} recorded as sent is in the mail service {n} times"
                            )),
                        }
                    }
                    if to_people != sent_to_people {
                        d.push(format!(
                            "the mail service sent {to_people} emails to the run's people; their histories record {sent_to_people}"
                        ));
                    }
                }
                Err(e) => d.push(format!("reading the emulator's mail: {e}")),
            }
        }
        // Nothing stuck: dead letters and the outbox.
        let sqs = aws_sdk_sqs::Client::new(&state.sdk);
        match crate::dlq::find(&sqs, &state.stack_name).await {
            Ok(queues) => {
                for q in queues.iter().filter(|q| q.depth > 0) {
                    d.push(format!(
                        "{} holds {} messages (leadflow dlq shows them)",
                        q.name, q.depth
                    ));
                }
            }
            Err(e) => d.push(format!("dead-letter queues: {e}")),
        }
        match store
            .outbox_due(chrono::Utc::now() + chrono::Duration::days(1), 10)
            .await
        {
            Ok(page) if page.due.is_empty() && page.unreadable.is_empty() => {}
            Ok(page) => d.push(format!(
                "{} messages are still in the outbox",
                page.due.len() + page.unreadable.len()
            )),
            Err(e) => d.push(format!("reading the outbox: {e}")),
        }
        d
    }

    #[allow(clippy::too_many_arguments)]
    fn person(
        &self,
        address: &str,
        posts: &[(usize, bool)],
        history: &[Event],
        owner_has_mailbox: bool,
        d: &mut Vec<String>,
        sent_ids: &mut Vec<String>,
        sent_to_people: &mut usize,
    ) {
        let mut markers: BTreeMap<String, usize> = BTreeMap::new();
        let mut responses: Vec<ResponseId> = Vec::new();
        let mut routed: BTreeMap<&ResponseId, usize> = BTreeMap::new();
        let mut outcomes: BTreeMap<(&ResponseId, EmailKind), usize> = BTreeMap::new();
        for event in history {
            match event {
                Event::Response(r) => {
                    if let Some(m) = &r.message {
                        *markers.entry(m.clone()).or_default() += 1;
                    }
                    responses.push(r.response_id.clone());
                }
                Event::Routed { response_id, .. } => *routed.entry(response_id).or_default() += 1,
                Event::EmailSent {
                    response_id,
                    kind,
                    to,
                    message_id,
                    ..
                } => {
                    *outcomes.entry((response_id, *kind)).or_default() += 1;
                    sent_ids.push(message_id.clone());
                    if to.contains(&format!("load-{}-", self.run)) {
                        *sent_to_people += 1;
                    }
                }
                Event::EmailCoalesced {
                    response_id, kind, ..
                }
                | Event::EmailRejected {
                    response_id, kind, ..
                } => *outcomes.entry((response_id, *kind)).or_default() += 1,
                _ => {}
            }
        }
        for (index, accepted) in posts {
            let m = marker(&self.run, *index);
            match (accepted, markers.get(&m).copied().unwrap_or(0)) {
                (true, 1) | (false, 0) => {}
                (true, n) => d.push(format!(
                    "{address}: accepted post #{index} is {n} responses"
                )),
                (false, n) => d.push(format!(
                    "{address}: post #{index} was answered with an error but is {n} responses"
                )),
            }
        }
        for r in &responses {
            match routed.get(r).copied().unwrap_or(0) {
                1 => {}
                n => d.push(format!("{address}: response {r} routed {n} times")),
            }
            match outcomes
                .get(&(r, EmailKind::Fulfillment))
                .copied()
                .unwrap_or(0)
            {
                1 => {}
                n => d.push(format!(
                    "{address}: response {r} has {n} prospect email outcomes"
                )),
            }
            if outcomes
                .get(&(r, EmailKind::OwnerNotice))
                .is_some_and(|n| *n > 1)
            {
                d.push(format!("{address}: response {r} notified its owner twice"));
            }
        }
        if let Some(last) = responses.last() {
            if owner_has_mailbox && !outcomes.contains_key(&(last, EmailKind::OwnerNotice)) {
                d.push(format!(
                    "{address}: the owner has no lead package for the latest response"
                ));
            }
        }
    }
}

type PersonState = (Vec<Event>, bool);

/// The person's lead's history, and whether its owner has a mailbox.
async fn person_state(store: &DynamoStore, address: &str) -> Result<Option<PersonState>, String> {
    let parsed = EmailAddress::parse(address).map_err(|e| format!("{e:?}"))?;
    let Some(id) = store
        .lead_id_by_email(&parsed)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let lead = store
        .lead(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("lead {id} is named by the address but missing"))?;
    let history = store
        .history(&id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|h| h.event)
        .collect();
    Ok(Some((
        history,
        lead.owner().and_then(|o| o.email()).is_some(),
    )))
}

/// The `email` of every lead item whose address starts with `prefix`.
async fn scan_lead_emails(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    prefix: &str,
) -> Result<Vec<String>, String> {
    let mut emails = Vec::new();
    let mut start = None;
    loop {
        let out = dynamodb
            .scan()
            .table_name(table)
            .filter_expression("sk = :lead AND begins_with(email, :prefix)")
            .expression_attribute_values(":lead", AttributeValue::S("LEAD".into()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
            .projection_expression("email")
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        for item in out.items.unwrap_or_default() {
            if let Some(AttributeValue::S(e)) = item.get("email") {
                emails.push(e.clone());
            }
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
    Ok(emails)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_plan_has_the_mix_asked_for_and_keeps_people_under_their_limit() {
        let o = LoadOptions {
            inquiries: 2000,
            ..LoadOptions::default()
        };
        let (units, people) = plan(&o);
        let posts: Vec<&Post> = units.iter().flatten().collect();
        assert_eq!(posts.len(), 2000);
        let indexes: BTreeSet<usize> = posts.iter().map(|p| p.index).collect();
        assert_eq!(indexes.len(), 2000);
        let share = |n: usize| n as f64 / 2000.0;
        let forms = posts.iter().filter(|p| p.form).count();
        let retried = posts.iter().filter(|p| p.retried).count();
        let pairs = units.iter().filter(|u| u.len() == 2).count();
        assert!((0.15..0.25).contains(&share(forms)), "{forms}");
        assert!((0.02..0.07).contains(&share(retried)), "{retried}");
        assert!((0.03..0.08).contains(&share(pairs)), "{pairs}");
        assert!(people < 1800 && people > 1400, "{people}");
        let mut per_person: BTreeMap<usize, usize> = BTreeMap::new();
        for p in &posts {
            *per_person.entry(p.person).or_default() += 1;
        }
        assert!(per_person.values().all(|n| *n <= 3));
        assert!(units
            .iter()
            .filter(|u| u.len() == 2)
            .all(|u| u[0].person == u[1].person));
        // The same seed, the same plan.
        let again = plan(&o);
        assert_eq!(again.1, people);
    }

    #[test]
    fn the_last_line_is_the_reconciliation() {
        let mut r = Report {
            posted: 3,
            accepted: 3,
            people: 2,
            elapsed: Duration::from_secs(1),
            latencies: vec![Duration::from_millis(5); 3],
            ..Report::default()
        };
        assert!(r
            .render()
            .ends_with("\nreconciled 3 inquiries: 0 differences"));
        r.differences.push("x: 2 leads".into());
        let out = r.render();
        assert!(out.contains("DIFFERENCE: x: 2 leads\n"));
        assert!(out.ends_with("reconciled 3 inquiries: 1 differences"));
    }

    #[test]
    fn clients_post_from_their_own_loopback_address() {
        assert_eq!(client_ip(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(client_ip(249), Ipv4Addr::new(127, 1, 0, 250));
        assert_eq!(client_ip(250), Ipv4Addr::new(127, 1, 1, 1));
        assert!(client_ip(999).is_loopback());
    }

    #[test]
    fn a_draining_pipeline_stalls_only_when_nothing_moves_for_the_timeout() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let timeout = Duration::from_secs(900);
        let mut p = Progress::new(start);
        p.backlog(5_000, at(0));
        // Slow but moving: an hour of draining is no stall.
        for minute in 1..=60 {
            p.backlog(5_000 - minute * 80, at(minute * 60));
            assert!(
                !p.stalled(at(minute * 60 + 899), timeout),
                "minute {minute}"
            );
        }
        // A backlog that holds or grows is not progress.
        p.backlog(200, at(4_000));
        p.backlog(900, at(4_300));
        assert!(!p.stalled(at(3_600 + 899), timeout));
        assert!(p.stalled(at(3_600 + 900), timeout));
        // Differences settling one by one once the queues are empty are progress.
        p.backlog(0, at(5_000));
        p.differences(3, at(5_100));
        p.differences(2, at(5_800));
        p.differences(2, at(6_500));
        assert!(!p.stalled(at(5_800 + 899), timeout));
        assert!(p.stalled(at(5_800 + 900), timeout));
    }
}
