//! `leadflow`: the operator command. Logic lives in the `leadflow_infra` library.

use std::process::ExitCode;

use leadflow_infra::{cli, operator};

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("dev") => cli::dev(rest).await,
        Some("emulator") => cli::emulator(rest).await,
        Some("tools") if rest.is_empty() => cli::tools().await,
        Some("playbook") => match rest {
            [check, file] if check == "check" => code(operator::playbook_check(
                file,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            )),
            _ => cli::usage_error("usage: leadflow playbook check FILE"),
        },
        Some("simulate") => match operator::SimulateArgs::parse(rest) {
            Ok(a) => code(operator::simulate(
                &a,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr(),
            )),
            Err(e) => cli::usage_error(&format!("{e}\n{}", operator::SIMULATE_USAGE)),
        },
        Some("help" | "-h" | "--help") => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Some(other) => cli::usage_error(&format!("unknown command {other:?}")),
        None => cli::usage_error("missing command"),
    }
}
