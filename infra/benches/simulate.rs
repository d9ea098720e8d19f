//! How fast the simulator replays leads: 100,000 synthetic leads through the real
//! qualification, scoring, routing and assignment. Prints figures and a ratio
//! measured in one run (no timing assertions: these machines are shared).
//!
//! cargo bench -p leadflow-infra --bench simulate

use chrono::{TimeZone, Utc};
use leadflow::domain::inquiry::Inquiry;
use leadflow::Playbook;
use leadflow_infra::operator::{run, synthetic_csv};
use std::time::Instant;

fn main() {
    let n: usize = std::env::var("LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let playbook = Playbook::default_playbook().expect("default playbook");
    let csv = synthetic_csv(n, 42);
    let now = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();

    // Baseline: reading and validating the rows only.
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let mut parsed = 0usize;
    for r in reader.records() {
        let pairs: Vec<(String, String)> = header
            .iter()
            .cloned()
            .zip(r.unwrap().iter().map(str::to_string))
            .filter(|(k, v)| k != "received_at" && !v.is_empty())
            .collect();
        if Inquiry::parse(&pairs, &playbook.bant).is_ok() {
            parsed += 1;
        }
    }
    let parse = started.elapsed();

    let mut best = f64::MAX;
    let mut summary = None;
    for _ in 0..3 {
        let started = Instant::now();
        let result = run(&playbook, &csv, now, false).expect("runs");
        best = best.min(started.elapsed().as_secs_f64());
        summary = Some(result.summary);
    }
    let s = summary.unwrap();
    println!(
        "simulate: {} leads ({} people, {} bad) best of 3: {:.3} s = {:.0} leads/s",
        s.leads,
        s.people,
        s.bad_rows,
        best,
        s.leads as f64 / best
    );
    println!(
        "parse only: {parsed} rows in {:.3} s = {:.0} rows/s",
        parse.as_secs_f64(),
        parsed as f64 / parse.as_secs_f64()
    );
    println!(
        "ratio simulate/parse time: {:.2}x",
        best / parse.as_secs_f64()
    );
    println!(
        "a year of 100,000 leads replays in {:.2} s",
        100_000.0 * best / s.leads as f64
    );
}
