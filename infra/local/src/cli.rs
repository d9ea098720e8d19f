//! The `leadflow-local` subcommands (`leadflow dev|emulator|tools` run them), on clap.

use std::collections::BTreeMap;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::dev::{DevOptions, DevStack};
use crate::emulator::Emulator;

/// `leadflow-local`: the local AWS (template.yaml against moto).
#[derive(Debug, Parser)]
#[command(
    name = "leadflow-local",
    version,
    about = "The local AWS: template.yaml run against moto (the emulator)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run template.yaml locally against moto until Ctrl-C: the HTTP API and
    /// landing page, every function as its own process, SQS pollers, schedules.
    Dev(DevCommand),
    /// Run CMD with AWS_ENDPOINT_URL pointing at moto (started on a free port
    /// unless AWS_ENDPOINT_URL is already set), exit with CMD's exit code.
    #[command(override_usage = "leadflow-local emulator -- CMD [ARGS...]")]
    Emulator {
        /// The command to run, and its arguments.
        #[arg(
            value_name = "CMD",
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        command: Vec<String>,
    },
    /// Install the pinned Python tools (moto, SAM CLI, cfn-lint) of
    /// infra/requirements.txt into .tools/venv; nothing when they are current.
    Tools,
    /// What sits in the stack's dead-letter queues and why (`redrive` puts it
    /// back). Local (`make dev`'s emulator) unless --aws or --endpoint.
    Dlq(DlqCommand),
    /// Post N inquiries at a rate and concurrency, wait for the pipeline to
    /// drain and reconcile every one; the last line reads
    /// `reconciled N inquiries: D differences` (exit 1 when D > 0).
    Load(LoadCommand),
    /// Sign a playbook person in to the local stack's user pool (making their
    /// user on first use) and print the pool's ID token for them: what the
    /// API's JWT authorizer takes, as in AWS.
    Token(TokenCommand),
}

/// `token`.
#[derive(Debug, Clone, Args)]
pub struct TokenCommand {
    /// The person's id in the playbook, e.g. lena.fischer.
    #[arg(long, value_name = "ID")]
    rep: String,
    /// The stack whose user pool to sign in to.
    #[arg(long, default_value = "leadflow-dev")]
    stack_name: String,
    /// The emulator (default: AWS_ENDPOINT_URL, else make dev's at
    /// http://127.0.0.1:4566).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
}

/// `load`.
#[derive(Debug, Clone, Args)]
pub struct LoadCommand {
    /// The API to post to (http:// or https://); default: the local stack at
    /// http://127.0.0.1:3000 if one answers, else one started for the run.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// How many inquiries to post.
    #[arg(long, short = 'n', default_value_t = 10_000)]
    inquiries: usize,
    /// Clients posting at once.
    #[arg(long, short = 'c', default_value_t = 50)]
    concurrency: usize,
    /// Posts per second at most (default: as fast as the clients go).
    #[arg(long)]
    rate: Option<f64>,
    /// Share of posts by a person who posted before.
    #[arg(long, default_value_t = 0.2)]
    repeat_share: f64,
    /// Share of posts sent at the same moment as another by the same person.
    #[arg(long, default_value_t = 0.05)]
    concurrent_share: f64,
    /// Share of JSON posts sent again with the same Idempotency-Key.
    #[arg(long, default_value_t = 0.05)]
    retry_share: f64,
    /// Share of form posts (the rest are JSON).
    #[arg(long, default_value_t = 0.2)]
    form_share: f64,
    /// How long, in seconds, the pipeline may go without taking a message
    /// (or settling a difference) before the run gives up on its draining;
    /// while it keeps moving the run waits, however slow the machine.
    #[arg(long, default_value_t = 900)]
    drain_timeout: u64,
    /// The plan's seed (the same seed, the same posts).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    target: AwsTarget,
}

/// `dlq [redrive]`.
#[derive(Debug, Clone, Args)]
pub struct DlqCommand {
    #[command(subcommand)]
    action: Option<DlqAction>,
    #[command(flatten)]
    target: AwsTarget,
    /// At most this many messages per queue (shown: default 20; moved by
    /// redrive: default all).
    #[arg(long, global = true)]
    max: Option<usize>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Clone, Subcommand)]
enum DlqAction {
    /// Put what a dead-letter queue holds back on the queue it came from
    /// (each message sent there first, then deleted here: nothing is lost, and
    /// the consumers are idempotent, so a copy is handled once).
    Redrive {
        /// Only this dead-letter queue (its name, or its logical id such as
        /// RoutingDeadLetterQueue); default: every one.
        #[arg(long, value_name = "NAME")]
        queue: Option<String>,
    },
}

/// Which AWS a command talks to.
#[derive(Debug, Clone, Args)]
pub struct AwsTarget {
    /// The stack whose queues and table to use (its name prefixes them).
    #[arg(long, default_value = "leadflow-dev", global = true)]
    stack_name: String,
    /// The AWS endpoint (default: AWS_ENDPOINT_URL, else make dev's emulator
    /// at http://127.0.0.1:4566).
    #[arg(long, value_name = "URL", global = true, conflicts_with = "aws")]
    endpoint: Option<String>,
    /// Use real AWS (the default credential chain and region) instead of the emulator.
    #[arg(long, global = true)]
    aws: bool,
}

impl AwsTarget {
    /// The SDK configuration, and where it points (for messages).
    pub async fn sdk(&self) -> (aws_config::SdkConfig, String) {
        if self.aws {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let region = config
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(no region)".into());
            return (config, format!("AWS {region}"));
        }
        let endpoint = emulator_endpoint(self.endpoint.clone());
        (
            crate::provision::sdk_config(&endpoint).await,
            endpoint.clone(),
        )
    }
}

/// The emulator a command talks to: `given`, else `AWS_ENDPOINT_URL`, else
/// `make dev`'s at http://127.0.0.1:4566.
fn emulator_endpoint(given: Option<String>) -> String {
    given
        .or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|e| !e.is_empty())
        })
        .unwrap_or_else(|| "http://127.0.0.1:4566".into())
}

/// The options of `dev`, as clap reads them.
#[derive(Debug, Clone, Args)]
pub struct DevCommand {
    /// Port of the local HTTP API and landing page.
    #[arg(long, short = 'p', default_value_t = 3000)]
    port: u16,
    /// Prefix of every physical name.
    #[arg(long, default_value = "leadflow-dev")]
    stack_name: String,
    /// A template parameter (repeatable).
    #[arg(long = "param", visible_alias = "parameter", value_name = "Key=Value", value_parser = key_value)]
    params: Vec<(String, String)>,
    /// Use this emulator instead of starting moto (default: AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    emulator: Option<String>,
    /// Port of the moto this command starts (or finds already running).
    #[arg(long, default_value_t = 4566)]
    emulator_port: u16,
    /// Run the binaries already built instead of building the functions first.
    #[arg(long = "no-build", action = clap::ArgAction::SetFalse)]
    build: bool,
    /// Do not forward the functions' logs.
    #[arg(long, short)]
    quiet: bool,
}

fn key_value(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{pair:?}: expected Key=Value"))
}

/// Options of `dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevArgs {
    pub port: u16,
    pub stack_name: String,
    pub params: BTreeMap<String, String>,
    pub emulator: Option<String>,
    pub emulator_port: u16,
    pub build: bool,
    pub quiet: bool,
}

impl From<DevCommand> for DevArgs {
    fn from(c: DevCommand) -> Self {
        Self {
            port: c.port,
            stack_name: c.stack_name,
            params: c.params.into_iter().collect(),
            emulator: c.emulator,
            emulator_port: c.emulator_port,
            build: c.build,
            quiet: c.quiet,
        }
    }
}

/// Parses the arguments after `dev`.
pub fn parse_dev_args(args: &[String]) -> Result<DevArgs, String> {
    let command = DevCommand::augment_args(clap::Command::new("dev"));
    let matches = command
        .try_get_matches_from(std::iter::once("dev").chain(args.iter().map(String::as_str)))
        .map_err(|e| e.to_string())?;
    DevCommand::from_arg_matches(&matches)
        .map(DevArgs::from)
        .map_err(|e| e.to_string())
}

/// A usage error: print it with the usage text and exit 2.
pub fn usage_error(message: &str) -> ExitCode {
    eprintln!("leadflow: {message}\n\n{}", Cli::command().render_usage());
    ExitCode::from(2)
}

/// `leadflow-local dev ...` (`leadflow dev ...`)
pub async fn dev(args: DevArgs) -> ExitCode {
    let root = crate::root::workspace_root();
    let env_endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| !e.is_empty());
    let mut emulator = match args.emulator.clone().or(env_endpoint) {
        Some(endpoint) => Emulator::external(endpoint),
        None => {
            let existing = Emulator::external(format!("http://127.0.0.1:{}", args.emulator_port));
            if existing.is_ready().await {
                eprintln!(
                    "leadflow: using the emulator already running at {}",
                    existing.endpoint()
                );
                existing
            } else {
                eprintln!(
                    "leadflow: starting moto on 127.0.0.1:{} ...",
                    args.emulator_port
                );
                match Emulator::start(&root, Some(args.emulator_port)).await {
                    Ok(emulator) => emulator,
                    Err(e) => {
                        eprintln!("leadflow: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    };
    eprintln!(
        "leadflow: building and starting stack {} ...",
        args.stack_name
    );
    let options = DevOptions {
        port: args.port,
        stack_name: args.stack_name.clone(),
        params: args.params.clone(),
        build: args.build,
        emulator: Some(emulator.endpoint().to_string()),
        quiet: args.quiet,
        ..DevOptions::default()
    };
    let stack = match DevStack::start(options).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("leadflow: {e}");
            emulator.stop().await;
            return ExitCode::FAILURE;
        }
    };
    println!("{}", stack.summary());
    let signal = wait_for_signal().await;
    eprintln!("\nleadflow: {signal}; stopping ...");
    stack.shutdown().await;
    emulator.stop().await;
    eprintln!("leadflow: stopped");
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C or SIGTERM and names it.
async fn wait_for_signal() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "interrupted";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

/// `leadflow-local emulator -- CMD [ARGS...]` (`leadflow emulator -- ...`)
pub async fn emulator(command: &[String]) -> ExitCode {
    let Some((program, program_args)) = command.split_first() else {
        return usage_error(
            "emulator: missing the command to run (leadflow emulator -- CMD [ARGS...])",
        );
    };
    let root = crate::root::workspace_root();
    let mut emulator = match Emulator::from_env_or_start(&root).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("leadflow: {e}");
            return ExitCode::FAILURE;
        }
    };
    if emulator.is_owned() {
        eprintln!("leadflow: moto is running at {}", emulator.endpoint());
    }
    let mut command = tokio::process::Command::new(program);
    // `make test` runs `leadflow emulator -- cargo test` through `cargo run`:
    // the inner cargo must see the environment the plain `cargo build` had.
    let spawned = crate::root::without_package_env(&mut command)
        .args(program_args)
        .env("AWS_ENDPOINT_URL", emulator.endpoint())
        .env("AWS_REGION", crate::LOCAL_REGION)
        .env("AWS_DEFAULT_REGION", crate::LOCAL_REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::inherit())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            eprintln!("leadflow: cannot run {program}: {e}");
            emulator.stop().await;
            return ExitCode::from(127);
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        signal = wait_for_signal() => {
            // Ctrl-C reaches the whole process group, so the command has it too:
            // give it a moment to finish on its own.
            eprintln!("leadflow: {signal}; waiting for {program} ...");
            match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    let _ = child.kill().await;
                    child.wait().await
                }
            }
        }
    };
    emulator.stop().await;
    match status {
        Ok(status) => exit_code(status),
        Err(e) => {
            eprintln!("leadflow: waiting for {program}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        (None, Some(signal)) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)),
        _ => ExitCode::FAILURE,
    }
}

/// `leadflow-local tools` (`leadflow tools`): the one installer of `.tools/venv` (`make tools` runs it).
pub async fn tools() -> ExitCode {
    match crate::emulator::ensure_tools(&crate::root::workspace_root()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leadflow: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `leadflow-local dlq [redrive]` (`leadflow dlq ...`): exit 0 when done (and,
/// for a listing, the queues are empty), 1 when messages wait, 2 on errors.
pub async fn dlq(args: DlqCommand) -> ExitCode {
    let (config, place) = args.target.sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queues = match crate::dlq::find(&sqs, &args.target.stack_name).await {
        Ok(q) => q,
        Err(e) => {
            eprintln!(
                "leadflow dlq: {e} (stack {} at {place}; is it running? `make dev` locally, or --aws / --endpoint)",
                args.target.stack_name
            );
            return ExitCode::from(2);
        }
    };
    match args.action {
        None => {
            let mut listing = Vec::new();
            for queue in queues {
                match crate::dlq::peek(&sqs, &queue, args.max.unwrap_or(20)).await {
                    Ok(letters) => listing.push((queue, letters)),
                    Err(e) => {
                        eprintln!("leadflow dlq: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            if args.json {
                let json: Vec<_> = listing
                    .iter()
                    .map(|(q, l)| serde_json::json!({"queue": q, "messages": l}))
                    .collect();
                println!("{}", serde_json::Value::Array(json));
            } else {
                print!("{}", crate::dlq::render(&listing));
            }
            if listing.iter().any(|(q, _)| q.depth > 0) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Some(DlqAction::Redrive { queue }) => {
            let chosen: Vec<_> = queues
                .into_iter()
                .filter(|q| {
                    queue
                        .as_deref()
                        .is_none_or(|want| q.name == want || q.name.ends_with(&format!("-{want}")))
                })
                .collect();
            if chosen.is_empty() {
                eprintln!(
                    "leadflow dlq redrive: no dead-letter queue {}in stack {} at {place}",
                    queue.map(|q| format!("{q:?} ")).unwrap_or_default(),
                    args.target.stack_name
                );
                return ExitCode::from(2);
            }
            let mut done = Vec::new();
            for q in &chosen {
                match crate::dlq::redrive(&sqs, q, args.max.unwrap_or(usize::MAX)).await {
                    Ok(r) => done.push(r),
                    Err(e) => {
                        eprintln!("leadflow dlq redrive: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            if args.json {
                println!("{}", serde_json::json!(done));
            } else {
                for r in &done {
                    println!(
                        "{}: {} message{} back on {}",
                        r.queue,
                        r.moved,
                        if r.moved == 1 { "" } else { "s" },
                        r.to
                    );
                }
            }
            ExitCode::SUCCESS
        }
    }
}

/// `leadflow-local load` (`leadflow load`, `make load`).
pub async fn load(args: LoadCommand) -> ExitCode {
    let options = crate::load::LoadOptions {
        inquiries: args.inquiries,
        concurrency: args.concurrency,
        rate: args.rate,
        repeat_share: args.repeat_share,
        concurrent_share: args.concurrent_share,
        retry_share: args.retry_share,
        form_share: args.form_share,
        drain_timeout: Duration::from_secs(args.drain_timeout),
        seed: args.seed,
    };
    let running_locally = args.url.is_none()
        && tokio::net::TcpStream::connect(("127.0.0.1", 3000))
            .await
            .is_ok();
    let mut own_stack = None;
    let (url, state) = match args.url.clone() {
        Some(url) => {
            let (sdk, place) = args.target.sdk().await;
            let emulator = (!args.target.aws).then_some(place);
            (
                url,
                crate::load::StackState {
                    sdk,
                    stack_name: args.target.stack_name.clone(),
                    emulator,
                },
            )
        }
        None if running_locally => {
            eprintln!(
                "leadflow load: using the local stack at http://127.0.0.1:3000 (stack {})",
                args.target.stack_name
            );
            let (sdk, place) = args.target.sdk().await;
            (
                "http://127.0.0.1:3000".to_string(),
                crate::load::StackState {
                    sdk,
                    stack_name: args.target.stack_name.clone(),
                    emulator: Some(place),
                },
            )
        }
        None => {
            eprintln!("leadflow load: no stack answers on 127.0.0.1:3000; starting one ...");
            let options = DevOptions {
                port: 0,
                stack_name: format!(
                    "leadflow-load-{}",
                    &ulid::Ulid::new().to_string().to_lowercase()[..6]
                ),
                quiet: true,
                ..DevOptions::default()
            };
            let stack = match DevStack::start(options).await {
                Ok(stack) => stack,
                Err(e) => {
                    eprintln!("leadflow load: {e}");
                    return ExitCode::from(2);
                }
            };
            let state = crate::load::StackState {
                sdk: stack.sdk_config().clone(),
                stack_name: stack.stack_name().to_string(),
                emulator: Some(stack.endpoint().to_string()),
            };
            let url = stack.api_url();
            own_stack = Some(stack);
            (url, state)
        }
    };
    eprintln!(
        "leadflow load: {} inquiries, {} clients{} to {url}",
        options.inquiries,
        options.concurrency,
        options
            .rate
            .map(|r| format!(", at most {r}/s"))
            .unwrap_or_default()
    );
    let report = crate::load::run(&url, &state, &options).await;
    println!("{}", report.render());
    if let Some(stack) = own_stack {
        stack.shutdown().await;
    }
    if report.differences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `leadflow-local token --rep ID` (`leadflow token`): the ID token alone on
/// stdout, so it can be captured.
pub async fn token(args: TokenCommand) -> ExitCode {
    let endpoint = emulator_endpoint(args.endpoint.clone());
    match id_token(&args.rep, &args.stack_name, &endpoint).await {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("leadflow: {message}");
            ExitCode::from(code)
        }
    }
}

/// The ID token of playbook person `rep` from the user pool of stack
/// `stack_name` in the emulator at `endpoint` (their user is made on first
/// use); else the exit code (2: no such person) and why.
pub async fn id_token(rep: &str, stack_name: &str, endpoint: &str) -> Result<String, (u8, String)> {
    let playbook = leadflow::Playbook::default_playbook().map_err(|e| (1, e.to_string()))?;
    let Some(person) = playbook.rep(rep) else {
        let ids: Vec<&str> = playbook.reps.iter().map(|r| r.id.as_str()).collect();
        return Err((
            2,
            format!(
                "{rep:?} is not a person of the playbook ({})",
                ids.join(", ")
            ),
        ));
    };
    let root = crate::root::workspace_root();
    let model = crate::template::Template::load(&crate::root::template_path(&root))
        .and_then(|t| {
            let mut settings = crate::template::StackSettings::new(stack_name, endpoint);
            settings.parameter_overrides = crate::dev::local_parameters(&t, 3000);
            crate::template::StackModel::resolve(&t, &settings)
        })
        .map_err(|e| (1, e.to_string()))?;
    let cognito = crate::cognito::Cognito::new(endpoint);
    let sign_in = crate::cognito::SignIn::find(cognito, &model)
        .await
        .map_err(|e| (1, e))?;
    sign_in
        .sign_in(&person.email, &person.name)
        .await
        .map(|tokens| tokens.id_token)
        .map_err(|e| (1, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dev_defaults() {
        let parsed = parse_dev_args(&[]).unwrap();
        assert_eq!(parsed.port, 3000);
        assert_eq!(parsed.stack_name, "leadflow-dev");
        assert_eq!(parsed.emulator_port, 4566);
        assert!(parsed.build && !parsed.quiet);
    }

    #[test]
    fn dev_options() {
        let parsed = parse_dev_args(&args(&[
            "--port",
            "8080",
            "--stack-name=demo",
            "--param",
            "LogLevel=debug",
            "--param",
            "ThankYouUrl=http://x/?a=b",
            "--no-build",
            "--quiet",
        ]))
        .unwrap();
        assert_eq!(parsed.port, 8080);
        assert_eq!(parsed.stack_name, "demo");
        assert_eq!(parsed.params["LogLevel"], "debug");
        assert_eq!(parsed.params["ThankYouUrl"], "http://x/?a=b");
        assert!(!parsed.build && parsed.quiet);
    }

    #[test]
    fn dev_errors() {
        assert!(parse_dev_args(&args(&["--port"])).is_err());
        assert!(parse_dev_args(&args(&["--port", "x"])).is_err());
        assert!(parse_dev_args(&args(&["--param", "novalue"])).is_err());
        assert!(parse_dev_args(&args(&["--bogus"])).is_err());
    }
}
