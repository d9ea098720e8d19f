//! `leadflow-local`: the local AWS command. Logic lives in the `leadflow_local` library.

use std::process::ExitCode;

use clap::Parser;
use leadflow_local::cli::{self, Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match Cli::parse().command {
        Command::Dev(args) => cli::dev(args.into()).await,
        Command::Emulator { command } => cli::emulator(&command).await,
        Command::Tools => cli::tools().await,
        Command::Dlq(args) => cli::dlq(args).await,
        Command::Load(args) => cli::load(args).await,
        Command::Token(args) => cli::token(args).await,
    }
}
