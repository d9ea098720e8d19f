//! `leadflow`: the operator command. Logic lives in the `leadflow_infra` library.

use std::process::ExitCode;

use clap::Parser;
use leadflow_infra::cli::{pass_through, raw_args_after_subcommand, Cli, Command, PlaybookCommand};
use leadflow_infra::operator;

// simulate decides hundreds of thousands of leads, each a few dozen small
// allocations: mimalloc does them in a fraction of glibc's time (issue 9).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's `mi_option_set`, and the index of its option `purge_delay` in
// `mi_option_t` as mimalloc 3 declares it (mimalloc.h; libmimalloc-sys
// 0.1.49 builds 3.3.2, and its Rust bindings stop short of that option).
extern "C" {
    fn mi_version() -> std::os::raw::c_int;
    fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
}
const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;

/// For simulate: never hand freed memory back to the system while running.
/// By default mimalloc decommits emptied memory after a delay, and a replay
/// empties and refills pages all the time (each decision's reasons are made
/// on one thread and freed on the other): under `perf` (100,000 leads), the
/// kernel zeroing pages faulted in again was 29% of the samples, 3% without.
fn keep_freed_memory() {
    // SAFETY: plain calls into the allocator this binary links, with the
    // option's index checked against the major version that declares it.
    unsafe {
        if mi_version() / 10_000 == 3 {
            mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match Cli::parse().command {
        Command::Dev { .. } => pass_through("dev", &raw_args_after_subcommand()),
        Command::Emulator { .. } => pass_through("emulator", &raw_args_after_subcommand()),
        Command::Tools { .. } => pass_through("tools", &raw_args_after_subcommand()),
        Command::Dlq { .. } => pass_through("dlq", &raw_args_after_subcommand()),
        Command::Load { .. } => pass_through("load", &raw_args_after_subcommand()),
        Command::Playbook {
            command: PlaybookCommand::Check { file },
        } => code(operator::playbook_check(
            &file,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
        Command::Simulate(args) => code({
            keep_freed_memory();
            operator::simulate(&args, &mut std::io::stdout().lock(), &mut std::io::stderr())
        }),
        Command::Import(args) => code(leadflow_infra::import::run(
            &args,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
        Command::Token { .. } => pass_through("token", &raw_args_after_subcommand()),
    }
}
