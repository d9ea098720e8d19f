//! How fast the simulator replays leads: 100,000 synthetic leads through the real
//! qualification, scoring, routing and assignment, measured two ways — in
//! process (`operator::run`, the CSV already in memory) and as a user runs it
//! (the release binary: read the CSV file, print one JSON object per lead to a
//! sink). Prints figures and their ratio to issue 9's target (250,000 leads/s)
//! and aim (1,000,000), measured in one run (no timing assertions: these
//! machines are shared).
//!
//! cargo bench -p leadflow-infra --bench simulate      (LEADS=N for another size)
//!
//! Cargo builds the `leadflow` binary in the bench profile before running a
//! bench: the release settings with the domain crate at opt-level 3, as the
//! `operator` profile builds the command (Cargo.toml), so the whole-process
//! figure is that binary's. Each way runs RUNS times (default 7), and both the
//! best and the median are printed: other work on these two cores moves a
//! single run by a third either way. Both ways use the allocator the command
//! uses (mimalloc); in process, each run also frees the people it kept.

use chrono::{TimeZone, Utc};
use leadflow::Playbook;
use leadflow_infra::operator::{run, synthetic_csv};
use leadflow_infra::simulate::read_row;
use std::process::{Command, Stdio};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET: f64 = 250_000.0;
const AIM: f64 = 1_000_000.0;

fn main() {
    let n: usize = std::env::var("LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let playbook = Playbook::default_playbook().expect("default playbook");
    let csv = synthetic_csv(n, 42);
    let now = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();

    // Baseline: reading and checking the rows only, as the simulator's
    // reading thread does (one record reused, fields lent, `read_row`).
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let mut record = csv::StringRecord::new();
    let mut parsed = 0usize;
    while reader.read_record(&mut record).unwrap() {
        let pairs: Vec<(&str, &str)> = header.iter().map(String::as_str).zip(&record).collect();
        if read_row(&playbook, now, parsed + 1, &pairs).is_ok() {
            parsed += 1;
        }
    }
    let parse = started.elapsed().as_secs_f64();

    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        .max(1);
    let mut times = Vec::new();
    let mut summary = None;
    for _ in 0..runs {
        let started = Instant::now();
        let result = run(&playbook, &csv, now, false).expect("runs");
        times.push(started.elapsed().as_secs_f64());
        summary = Some(result.summary);
    }
    let s = summary.unwrap();
    let (best, median) = best_and_median(&mut times);
    println!(
        "simulate in process: {} leads ({} people, {} bad), {runs} runs: best {best:.3} s = {:.0} leads/s, median {median:.3} s = {:.0} leads/s",
        s.leads,
        s.people,
        s.bad_rows,
        s.leads as f64 / best,
        s.leads as f64 / median
    );
    ratios(s.leads as f64 / best, s.leads as f64 / median);

    // The whole process, as a user runs it: CSV file in, JSON lines out to a sink.
    let dir = std::env::temp_dir().join(format!("leadflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let leads = dir.join("leads.csv");
    std::fs::write(&leads, &csv).expect("write the CSV");
    let root = leadflow_infra::root::workspace_root();
    let playbook_file = root.join("infra/playbook.yaml");
    let mut process_times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_leadflow"))
            .arg("simulate")
            .arg("--playbook")
            .arg(&playbook_file)
            .arg("--leads")
            .arg(&leads)
            .args(["--format", "json", "--now", "2026-12-31T00:00:00Z"])
            .stdout(Stdio::null())
            .status()
            .expect("runs the leadflow binary");
        process_times.push(started.elapsed().as_secs_f64());
        assert!(status.success(), "leadflow simulate failed: {status}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (best_process, median_process) = best_and_median(&mut process_times);
    println!(
        "simulate whole process (leadflow simulate --format json > /dev/null), {runs} runs: best {best_process:.3} s = {:.0} leads/s, median {median_process:.3} s = {:.0} leads/s",
        s.leads as f64 / best_process,
        s.leads as f64 / median_process
    );
    ratios(
        s.leads as f64 / best_process,
        s.leads as f64 / median_process,
    );

    println!(
        "parse only (baseline): {parsed} rows in {parse:.3} s = {:.0} rows/s",
        parsed as f64 / parse
    );
    println!(
        "ratio simulate in process / parse time: {:.2}x",
        best / parse
    );
    println!(
        "a year of 100,000 leads replays in {:.2} s (whole process)",
        100_000.0 * best_process / s.leads as f64
    );
}

/// The shortest time and the median.
fn best_and_median(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2])
}

fn ratios(best: f64, median: f64) {
    println!(
        "  {:.2}x (median {:.2}x) the 250,000 leads/s target, {:.2}x the 1,000,000 aim",
        best / TARGET,
        median / TARGET,
        best / AIM
    );
}
