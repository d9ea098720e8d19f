//! The `leadflow` command line (clap).
//!
//! `dev`, `emulator`, `tools`, `dlq` and `load` need the AWS SDK, which this
//! crate does not link: they run
//! `cargo run -p leadflow-local --bin leadflow-local -- <the same arguments>`
//! from the workspace root, in place of this process (same terminal, same
//! process group, so Ctrl-C and the exit code are the local stack's own).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::import::ImportArgs;
use crate::operator::SimulateArgs;

/// `leadflow`: the operator's command.
#[derive(Debug, Parser)]
#[command(
    name = "leadflow",
    version,
    about = "The operator's command: check a playbook, simulate leads through it, import a list; \
             dev, emulator and tools run the local AWS (leadflow-local)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run template.yaml locally against moto until Ctrl-C (leadflow-local dev;
    /// `leadflow dev --help` lists its options).
    #[command(disable_help_flag = true)]
    Dev {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
    /// Run CMD with AWS_ENDPOINT_URL pointing at moto, exit with CMD's exit code
    /// (leadflow-local emulator).
    #[command(
        disable_help_flag = true,
        override_usage = "leadflow emulator -- CMD [ARGS...]"
    )]
    Emulator {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
    /// Install the pinned Python tools of infra/requirements.txt into .tools/venv
    /// (leadflow-local tools).
    #[command(disable_help_flag = true)]
    Tools {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
    /// What sits in the stack's dead-letter queues and why; `dlq redrive`
    /// puts it back on its queue (leadflow-local dlq; `leadflow dlq --help`).
    #[command(disable_help_flag = true)]
    Dlq {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
    /// Post N inquiries at a rate and concurrency, wait for the pipeline to
    /// drain and reconcile every one (leadflow-local load; `leadflow load --help`).
    #[command(disable_help_flag = true)]
    Load {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
    /// Playbook tools.
    Playbook {
        #[command(subcommand)]
        command: PlaybookCommand,
    },
    /// Replay leads (CSV columns = intake field names, optional received_at)
    /// through the real qualification, scoring, routing and assignment; no AWS.
    Simulate(SimulateArgs),
    /// Send a list (trade show, reply cards, a purchased list) through the
    /// intake API row by row: dedupe, qualification and routing as for a
    /// landing page; rejected rows and their reasons to FILE.rejected.csv.
    /// Safe to run twice.
    Import(ImportArgs),
    /// Sign a playbook person in to the local stack's Cognito user pool and
    /// print its ID token, which the API accepts as in AWS (leadflow-local
    /// token; `leadflow token --help`).
    #[command(disable_help_flag = true)]
    Token {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlaybookCommand {
    /// Validate a playbook: exit 0 when valid, else 1 with every problem and its line.
    Check {
        /// The playbook (YAML).
        #[arg(value_name = "FILE")]
        file: String,
    },
}

/// Runs `leadflow-local SUBCOMMAND ARGS...` through cargo from the workspace
/// root, replacing this process; returns only when that cannot be started.
pub fn pass_through(subcommand: &str, args: &[OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let root = crate::root::workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    // This command usually runs under `cargo run`: the nested cargo must see
    // the environment a plain `cargo build` has (no CARGO_PKG_* and so on).
    let error = crate::root::without_package_env(&mut command)
        .current_dir(&root)
        .args([
            "run",
            "--quiet",
            "-p",
            "leadflow-local",
            "--bin",
            "leadflow-local",
            "--",
        ])
        .arg(subcommand)
        .args(args)
        .exec();
    eprintln!("leadflow: cannot run cargo for leadflow-local {subcommand}: {error}");
    ExitCode::from(127)
}

/// The arguments after the subcommand, exactly as given (clap has read them
/// once to know the subcommand, which is always the first: `leadflow` has no
/// options of its own; leadflow-local reads them for real).
pub fn raw_args_after_subcommand() -> Vec<OsString> {
    std::env::args_os().skip(2).collect()
}
