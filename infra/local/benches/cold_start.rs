//! Cold start (issue 9, "fast"): runs each function's binary (x86_64, the
//! release profile's code: profile `coldstart`) behind
//! the local stack's Lambda Runtime API (`runtime::FunctionHost`, the one
//! `make dev` uses) against the emulator, and prints its init time (process
//! start → its first `GET /runtime/invocation/next`) beside hello-world
//! floors built in the same run (infra/bench-floors): the `lambda_runtime`
//! alone, and with one SDK client (DynamoDB), unprimed and primed
//! (`FLOOR_PRIME`: one call at init, as the functions prime their
//! connections). Then, where an event is cheap to make (intake's POST, the
//! schedules' tick), the first invocation after the cold start beside a warm
//! one: with the connections primed at init, the first request pays no
//! connection set-up. Last, the share of init the playbook takes. Prints
//! figures and ratios; asserts nothing about time.
//!
//! Init is measured twice. Against the emulator, a priming call waits for
//! moto: one Python process that answers in milliseconds and one request at
//! a time, so a function priming three clients at once waits three times as
//! long, which says nothing about the function. So each binary also starts
//! against an instant AWS (a local socket answering every request at once
//! with `{}`): what remains is the process's own init, the figure the
//! target is about (DynamoDB in its region answers a GetItem in a few ms, the
//! same for a function and its floor).
//!
//! cargo run -q -p leadflow-local --bin leadflow-local -- emulator -- \
//!     cargo bench -p leadflow-local --bench cold_start      (COLD_SAMPLES=9 to change)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use leadflow::Playbook;
use leadflow_local::dev::local_parameters;
use leadflow_local::events::scheduled_event;
use leadflow_local::gateway::{api_gateway_event, HttpRequestParts, RouteTable};
use leadflow_local::provision::{provision, sdk_config};
use leadflow_local::root::{target_dir, without_package_env, workspace_root};
use leadflow_local::runtime::{function_binary, serve, FunctionConfig, FunctionHost};
use leadflow_local::task::AbortOnDrop;
use leadflow_local::testing::{emulator, unique};
use leadflow_local::{StackModel, StackSettings, Template};
use serde_json::{json, Value};

/// Warm invocations timed after each cold start's first.
const WARM: usize = 5;
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Builds the functions and the floors in one run (one feature set) with the
/// `coldstart` profile: the release profile's code without its whole-program
/// link steps (see Cargo.toml), so the bench builds in minutes.
async fn build_release(root: &Path, packages: &[String], bins: &[String]) -> PathBuf {
    let mut command = tokio::process::Command::new("cargo");
    command.current_dir(root).args([
        "build",
        "--profile",
        "coldstart",
        "-q",
        "-p",
        "leadflow-bench-floors",
    ]);
    for p in packages {
        command.args(["-p", p]);
    }
    for b in bins.iter().map(String::as_str).chain(FLOORS) {
        command.args(["--bin", b]);
    }
    without_package_env(&mut command);
    let status = command.status().await.expect("cargo runs");
    assert!(status.success(), "the build failed");
    target_dir(root).join("coldstart")
}

/// The floors this bench runs (infra/bench-floors).
const FLOORS: [&str; 2] = ["hello", "hello-dynamodb"];

fn median(mut xs: Vec<Duration>) -> Option<Duration> {
    xs.sort();
    xs.get(xs.len() / 2).copied()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn opt_ms(d: Option<Duration>) -> String {
    d.map(ms).unwrap_or_else(|| "-".into())
}

/// An AWS that answers every request at once: `200` with `{}` (a JSON
/// service's empty answer; SES's XML parser refuses it, which a priming call
/// ignores), on the local stack's own HTTP server. Answers for as long as the
/// returned guard lives.
async fn instant_aws() -> (String, AbortOnDrop) {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let server = serve(listener, |request: http::Request<_>, _peer| async move {
        // Read the request whole, so the connection stays open for the next.
        let _ = request.into_body().collect().await;
        http::Response::builder()
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("a response")
    });
    (url, server)
}

/// `config` with its AWS calls sent to `endpoint`.
fn against(config: &FunctionConfig, endpoint: &str) -> FunctionConfig {
    let mut c = config.clone();
    c.env.insert("AWS_ENDPOINT_URL".into(), endpoint.into());
    c
}

/// What each process start measured.
#[derive(Default)]
struct Runs {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
}

/// `samples` cold starts of `config`; each is invoked with `event()` once
/// (first) and [`WARM`] times more (warm) when an event is given.
async fn cold_starts(
    config: &FunctionConfig,
    samples: usize,
    event: Option<&dyn Fn() -> Value>,
) -> Runs {
    let mut runs = Runs::default();
    for _ in 0..samples {
        let host = FunctionHost::new(config.clone());
        let started = Instant::now();
        if let Err(e) = host.start(READY_WITHIN).await {
            panic!("{} did not start: {e}", config.logical_id);
        }
        runs.init.push(started.elapsed());
        if let Some(event) = event {
            for i in 0..=WARM {
                let payload = event();
                let started = Instant::now();
                let answer = host.invoke(&payload).await;
                let took = started.elapsed();
                if let Err(e) = answer {
                    panic!("{} failed: {e}\n{}", config.logical_id, host.log_tail());
                }
                if i == 0 {
                    runs.first.push(took);
                } else {
                    runs.warm.push(took);
                }
            }
        }
        host.stop().await;
    }
    runs
}

#[tokio::main]
async fn main() {
    let samples: usize = leadflow_local::testing::env_count("COLD_SAMPLES", 7).max(1);
    let root = workspace_root();
    let emulator = emulator().await;
    let template = Template::load(&leadflow_local::root::template_path(&root)).expect("template");

    // The stack's tables and queues, as `make dev` provisions them; nothing runs yet.
    let mut settings = StackSettings::new(unique("cold"), emulator.endpoint());
    settings.parameter_overrides = local_parameters(&template, 3000);
    let first = StackModel::resolve(&template, &settings).expect("the template resolves");
    let sdk = sdk_config(emulator.endpoint()).await;
    settings.queue_urls = provision(&first, &sdk)
        .await
        .expect("provisioned")
        .queue_urls;
    let model = StackModel::resolve(&template, &settings).expect("the template resolves");

    let binaries: Vec<_> = model
        .functions
        .iter()
        .map(|f| (f, function_binary(&root, f).expect("a function binary")))
        .collect();
    let packages: Vec<String> = binaries.iter().map(|(_, b)| b.package.clone()).collect();
    let bins: Vec<String> = binaries.iter().map(|(_, b)| b.bin.clone()).collect();
    eprintln!("building the functions and the floors (profile coldstart) ...");
    let release = build_release(&root, &packages, &bins).await;

    let configs: Vec<FunctionConfig> = binaries
        .iter()
        .map(|(spec, binary)| {
            let mut c = FunctionConfig::from_spec(
                spec,
                release.join(&binary.bin),
                emulator.endpoint(),
                false,
            );
            c.working_dir = Some(root.clone());
            c
        })
        .collect();
    let intake = configs
        .iter()
        .find(|c| c.logical_id == "IntakeFunction")
        .expect("an intake");
    let floor = |bin: &str, extra: &[(&str, &str)]| {
        let mut c = intake.clone();
        c.logical_id = bin.to_string();
        c.exe = release.join(bin);
        for (k, v) in extra {
            c.env.insert(k.to_string(), v.to_string());
        }
        c
    };

    // Events: a new person's inquiry each time; a schedule's tick.
    let routes = RouteTable::new(model.routes()).expect("routes");
    let matched = routes.find("POST", "/inquiries").expect("POST /inquiries");
    let post = || {
        let email = format!("{}@example.com", unique("cold"));
        let body = json!({
            "email": email, "first_name": "Cold", "last_name": "Start",
            "company": "Bench", "country": "DE", "request_type": "demo",
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
            source_ip: format!("10.9.{}.{}", fastish(), fastish()),
            protocol: "HTTP/1.1".into(),
        };
        api_gateway_event(&matched, &parts, &unique("req"), chrono::Utc::now())
    };
    let tick = || {
        scheduled_event(
            "arn:aws:events:us-east-1:123456789012:rule/bench",
            chrono::Utc::now(),
        )
    };
    let nothing = || json!({});

    let table = model
        .tables
        .first()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    // The floors, started in both passes below.
    let floors = [
        ("hello", floor("hello", &[])),
        (
            "hello-dynamodb",
            floor("hello-dynamodb", &[("TABLE_NAME", &table)]),
        ),
        (
            "hello-dynamodb primed",
            floor(
                "hello-dynamodb",
                &[("TABLE_NAME", &table), ("FLOOR_PRIME", "1")],
            ),
        ),
    ];
    let mut rows: Vec<(String, Runs)> = Vec::new();
    for (name, config) in &floors {
        rows.push((
            name.to_string(),
            cold_starts(config, samples, Some(&nothing)).await,
        ));
    }
    let functions: Vec<(String, &FunctionConfig)> = configs
        .iter()
        .map(|c| (c.logical_id.trim_end_matches("Function").to_string(), c))
        .collect();
    for (name, config) in &functions {
        let event: Option<&dyn Fn() -> Value> = match config.logical_id.as_str() {
            "IntakeFunction" => Some(&post),
            "RemindersFunction" | "NurtureFunction" | "OutboxFunction" => Some(&tick),
            _ => None,
        };
        rows.push((name.clone(), cold_starts(config, samples, event).await));
    }

    // The same starts against an instant AWS: the process's own init.
    let (stub, _answering) = instant_aws().await;
    let mut own: Vec<(String, Duration)> = Vec::new();
    let every = floors
        .iter()
        .map(|(name, config)| (name.to_string(), config))
        .chain(
            functions
                .iter()
                .map(|(name, config)| (name.clone(), *config)),
        );
    for (name, config) in every {
        let runs = cold_starts(&against(config, &stub), samples, None).await;
        own.push((name, median(runs.init).unwrap_or_default()));
    }

    let init_of = |name: &str| {
        rows.iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, r)| median(r.init.clone()))
            .unwrap_or_default()
    };
    let sdk_floor = init_of("hello-dynamodb");
    let primed_floor = init_of("hello-dynamodb primed");
    println!(
        "\ncold start: median of {samples} process starts (x86_64, profile coldstart, emulator at {}); \
         init = process start -> first GET /next",
        emulator.endpoint()
    );
    println!(
        "{:<22} {:>8} {:>12} {:>14} {:>10} {:>10}",
        "binary", "init ms", "x hello+SDK", "x primed floor", "1st inv ms", "warm ms"
    );
    for (name, runs) in &rows {
        let init = median(runs.init.clone()).unwrap_or_default();
        let ratio = |floor: Duration| format!("{:.2}", init.as_secs_f64() / floor.as_secs_f64());
        println!(
            "{:<22} {:>8} {:>12} {:>14} {:>10} {:>10}",
            name,
            ms(init),
            ratio(sdk_floor),
            ratio(primed_floor),
            opt_ms(median(runs.first.clone())),
            opt_ms(median(runs.warm.clone())),
        );
    }
    println!(
        "target: init <= 1.5x hello+SDK (one DynamoDB client, built in this run); \
         the functions prime their connections at init, so 'primed floor' is the like-for-like floor"
    );

    let own_floor = own
        .iter()
        .find(|(n, _)| n == "hello-dynamodb")
        .map(|(_, d)| *d)
        .unwrap_or_default();
    println!(
        "\ncold start against an instant AWS (every request answered at once): the process's own init, median of {samples}"
    );
    println!(
        "{:<22} {:>8} {:>12}  target (<= 1.5x hello+SDK)",
        "binary", "init ms", "x hello+SDK"
    );
    for (name, init) in &own {
        let ratio = init.as_secs_f64() / own_floor.as_secs_f64();
        println!(
            "{:<22} {:>8} {:>12.2}  {}",
            name,
            ms(*init),
            ratio,
            if ratio <= 1.5 { "met" } else { "NOT met" }
        );
    }

    // The playbook each function parses and validates at init, in this process.
    let mut parses = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let playbook = Playbook::default_playbook().expect("the default playbook");
        parses.push(started.elapsed());
        drop(playbook);
    }
    let parse = median(parses).unwrap_or_default();
    println!(
        "playbook parse + validate (Playbook::default_playbook): {} ms, {:.0}% of intake's init",
        ms(parse),
        100.0 * parse.as_secs_f64() / init_of("Intake").as_secs_f64()
    );
}

/// A byte that differs from call to call (source IPs spread over rate-limit counters).
fn fastish() -> u8 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    (N.fetch_add(7, Ordering::Relaxed) % 250) as u8 + 1
}
