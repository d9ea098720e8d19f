//! Operator subcommands: `leadflow playbook check FILE` and `leadflow simulate`.
//! They run the same domain code the functions run, and touch no AWS.

use crate::simulate::{
    read_row, Decided, DecidedLead, People, ReadRow, SimulatedLead, Simulator, Spent, Summary, WARM,
};
use chrono::{DateTime, Utc};
use leadflow::Playbook;
use std::io::Write;

/// `leadflow playbook check FILE`: 0 when valid, 1 with every problem and its line.
pub fn playbook_check(path: &str, out: &mut impl Write, err: &mut impl Write) -> i32 {
    match load(path) {
        Ok(pb) => {
            let _ = writeln!(
                out,
                "{path}: valid — {} route rules, {} reps in {} pools, {} assignment rules",
                pb.routes.len(),
                pb.reps.len(),
                pb.pools.len(),
                pb.assignment.len()
            );
            0
        }
        Err(message) => {
            let _ = write!(err, "{message}");
            1
        }
    }
}

fn load(path: &str) -> Result<Playbook, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: cannot read: {e}\n"))?;
    Playbook::parse(&text, path).map_err(|e| e.to_string())
}

/// The options of `leadflow simulate`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct SimulateArgs {
    /// The playbook (YAML).
    #[arg(long, value_name = "FILE")]
    pub playbook: String,
    /// The leads: CSV, columns named as the intake's fields, optional received_at.
    #[arg(long, value_name = "FILE.csv")]
    pub leads: String,
    /// `json`: one JSON object per lead, in input order; `summary` (the default):
    /// tables by stage, route, owner and pool.
    #[arg(
        long = "format",
        value_name = "json|summary",
        default_value = "summary",
        value_parser = json_format,
        action = clap::ArgAction::Set
    )]
    pub json: bool,
    /// The time the replay runs at (default: now).
    #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
    pub now: Option<DateTime<Utc>>,
}

fn json_format(format: &str) -> Result<bool, String> {
    match format {
        "json" => Ok(true),
        "summary" | "text" => Ok(false),
        _ => Err("use json or summary".into()),
    }
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

impl SimulateArgs {
    /// Parses the arguments after `simulate`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        use clap::{Args, FromArgMatches};
        let command = Self::augment_args(clap::Command::new("simulate").no_binary_name(true));
        let matches = command
            .try_get_matches_from(args)
            .map_err(|e| e.to_string())?;
        Self::from_arg_matches(&matches).map_err(|e| e.to_string())
    }
}

/// The outcome of a run, for the CLI and the benchmark.
pub struct Run {
    pub leads: Vec<SimulatedLead>,
    pub bad_rows: Vec<(usize, String)>,
    pub summary: Summary,
}

/// Run every row of `csv` through `playbook`. Bad rows are reported, never fatal.
/// `keep`: collect the simulated leads in [`Run::leads`].
pub fn run(playbook: &Playbook, csv: &str, now: DateTime<Utc>, keep: bool) -> Result<Run, String> {
    let mut leads = Vec::new();
    let (bad_rows, summary, _people) = replay(playbook, csv, now, |lead| {
        if keep {
            leads.push(lead.to_owned())
        }
    })?;
    Ok(Run {
        leads,
        bad_rows,
        summary,
    })
}

/// What [`replay`] leaves besides the leads: the bad rows, the summary, and
/// the people it kept (freed when dropped).
pub type Replayed = (Vec<(usize, String)>, Summary, People);

/// [`run`], handing each simulated lead to `each` in input order as soon as it
/// is decided (so `--format json` streams instead of holding every lead).
///
/// Two threads, one a core, rows crossing between them in batches (a few
/// batches ahead at most, so memory stays bounded): this one reads the CSV,
/// checks each row against the intake's rules (which needs only the
/// playbook), and hands each decided lead to `each`; the other decides (the
/// people, the pools' turns and the reps' loads are one sequence, so one
/// thread holds them). Each row's inquiry comes back to be freed where it
/// was made: memory is freed fastest by the thread that allocated it.
pub fn replay(
    playbook: &Playbook,
    csv: &str,
    now: DateTime<Utc>,
    mut each: impl FnMut(DecidedLead<'_>),
) -> Result<Replayed, String> {
    // RFC 4180 (quoted fields, doubled quotes, CRLF, newlines inside quotes,
    // a byte-order mark); rows of any length, checked against the header below.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes());
    // One record, reused for every row: no allocation per field.
    let mut record = csv::StringRecord::new();
    let header = match reader.read_record(&mut record) {
        Ok(false) => return Err("the CSV file is empty".into()),
        Err(e) => return Err(e.to_string()),
        Ok(true) => record
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect::<Vec<_>>(),
    };
    if !header.iter().any(|h| h == "email") {
        return Err("the CSV header has no `email` column".into());
    }
    let mut bad_rows = Vec::new();
    let mut row = 0;
    // The next batch of rows, read and checked; none when the file is done.
    let mut read_batch = || {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let result = reader.read_record(&mut record);
            if let Ok(false) = result {
                break;
            }
            row += 1;
            batch.push(match result {
                Ok(_) if record.len() == header.len() => {
                    let pairs: Vec<(&str, &str)> =
                        header.iter().map(String::as_str).zip(&record).collect();
                    read_row(playbook, now, row, &pairs)
                        .map_err(|bad| (bad.row, format!("{}: {}", bad.field, bad.message)))
                }
                Ok(_) => Err((
                    row,
                    format!(
                        "has {} columns; the header has {}",
                        record.len(),
                        header.len()
                    ),
                )),
                Err(e) => Err((row, e.to_string())),
            });
        }
        (!batch.is_empty()).then_some(batch)
    };
    // Each decided row to `each`, the batch and its inquiries freed here,
    // where the inquiries were made.
    let mut write = |(leads, spent, bad): Done| {
        leads.iter().for_each(&mut each);
        drop(spent);
        bad_rows.extend(bad);
    };
    let (summary, people) = std::thread::scope(|scope| {
        let (to_decide, read) = std::sync::mpsc::sync_channel::<Vec<Read>>(BATCHES_AHEAD);
        let (to_write, decided) = std::sync::mpsc::channel::<Done>();
        let decider = scope.spawn(move || {
            let mut sim = Simulator::new(playbook, now);
            for batch in read {
                let mut leads = Decided::with_capacity(batch.len());
                let mut spent = Vec::with_capacity(batch.len());
                let mut bad = Vec::new();
                let mut items = batch.into_iter();
                while !items.as_slice().is_empty() {
                    // The people of the next few rows are read together first.
                    let ahead = items.as_slice().iter().take(WARM);
                    sim.warm(ahead.filter_map(|r| r.as_ref().ok()));
                    for item in items.by_ref().take(WARM) {
                        match item {
                            Ok(row) => spent.push(sim.decide_into(row, &mut leads)),
                            Err(why) => {
                                sim.bad_row();
                                bad.push(why);
                            }
                        }
                    }
                }
                let out = (leads, spent, bad);
                if to_write.send(out).is_err() {
                    break;
                }
            }
            sim.finish()
        });
        // Read a batch, hand it over, write what has been decided; when the
        // decider is a full queue behind, wait for its next batch instead.
        while let Some(mut batch) = read_batch() {
            loop {
                match to_decide.try_send(batch) {
                    Ok(()) => break,
                    Err(std::sync::mpsc::TrySendError::Full(back)) => {
                        batch = back;
                        match decided.recv() {
                            Ok(done) => write(done),
                            Err(_) => break,
                        }
                    }
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
                }
            }
            while let Ok(done) = decided.try_recv() {
                write(done);
            }
        }
        drop(to_decide);
        for done in decided {
            write(done);
        }
        decider
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    Ok((bad_rows, summary, people))
}

/// A row read on the reading thread: ready to decide, or why it is skipped.
type Read = Result<ReadRow, (usize, String)>;
/// A batch decided: its leads, what their decisions no longer need, and the
/// rows skipped, with why.
type Done = (Decided, Vec<Spent>, Vec<(usize, String)>);
/// Rows per batch, and batches in flight between two threads.
const BATCH: usize = 256;
const BATCHES_AHEAD: usize = 8;

/// Bytes of JSON lines gathered before each write.
const OUT_BUFFER: usize = 1 << 16;

/// `leadflow simulate ...`: 0 on success (bad rows included), 1 when it cannot run.
pub fn simulate(args: &SimulateArgs, out: &mut impl Write, err: &mut impl Write) -> i32 {
    let playbook = match load(&args.playbook) {
        Ok(p) => p,
        Err(e) => {
            let _ = write!(err, "{e}");
            return 1;
        }
    };
    let csv = match std::fs::read_to_string(&args.leads) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{}: cannot read: {e}", args.leads);
            return 1;
        }
    };
    let now = args.now.unwrap_or_else(Utc::now);
    if args.json {
        // One JSON object per lead as it is decided, through one buffer: a
        // line-buffered stdout would make a system call per lead.
        let mut buffer = Vec::with_capacity(OUT_BUFFER + 4096);
        let mut failed = None;
        let replayed = replay(&playbook, &csv, now, |lead| {
            if failed.is_some() {
                return;
            }
            lead.write_json_line(&mut buffer);
            if buffer.len() >= OUT_BUFFER {
                failed = out.write_all(&buffer).err();
                buffer.clear();
            }
        });
        let flushed = out.write_all(&buffer).and_then(|()| out.flush());
        let bad_rows = match replayed {
            Ok((bad_rows, _, people)) => {
                // The process exits next and the system takes its memory
                // back at once: freeing a hundred thousand leads one by one
                // first would only make the user wait.
                std::mem::forget(people);
                bad_rows
            }
            Err(e) => {
                let _ = writeln!(err, "{}: {e}", args.leads);
                return 1;
            }
        };
        for (row, message) in &bad_rows {
            let _ = writeln!(err, "{}: row {row}: {message} (skipped)", args.leads);
        }
        if let Some(e) = failed.or(flushed.err()) {
            let _ = writeln!(err, "cannot write the leads: {e}");
            return 1;
        }
        return 0;
    }
    let started = std::time::Instant::now();
    let result = match run(&playbook, &csv, now, false) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "{}: {e}", args.leads);
            return 1;
        }
    };
    let elapsed = started.elapsed();
    for (row, message) in &result.bad_rows {
        let _ = writeln!(err, "{}: row {row}: {message} (skipped)", args.leads);
    }
    let s = &result.summary;
    let _ = writeln!(
        out,
        "{} leads ({} people), {} bad rows skipped, in {:.2?}",
        s.leads, s.people, s.bad_rows, elapsed
    );
    let table =
        |out: &mut dyn Write, title: &str, m: &std::collections::BTreeMap<String, usize>| {
            let _ = writeln!(out, "\n{title}");
            let mut rows: Vec<_> = m.iter().collect();
            rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (k, v) in rows {
                let pct = if s.leads > 0 {
                    100.0 * *v as f64 / s.leads as f64
                } else {
                    0.0
                };
                let _ = writeln!(out, "  {k:<32} {v:>8} {pct:>6.1}%");
            }
        };
    table(out, "by stage", &s.by_stage);
    table(out, "by route", &s.by_route);
    table(out, "by owner", &s.by_owner);
    let _ = writeln!(out, "\nload per pool");
    for (pool, reps) in &s.pools {
        let total: usize = reps.values().sum();
        let spread: Vec<String> = reps.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(out, "  {pool:<20} {total:>8}  ({})", spread.join(", "));
    }
    0
}

/// Synthetic leads for the benchmark and for trying the simulator: `n` rows over
/// `n / 3` people (so repeat responses happen), deterministic for a seed.
pub fn synthetic_csv(n: usize, seed: u64) -> String {
    const COLUMNS: &str = "email,first_name,company,title,country,region,industry,company_size,request_type,source,campaign,budget,authority,need,timeframe,received_at";
    let mut x = seed | 1;
    let mut next = move |m: usize| {
        // xorshift64*: cheap and good enough to spread choices.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545F4914F6CDD1D) >> 33) as usize % m
    };
    let pick = |i: usize, xs: &[&'static str]| xs[i % xs.len()];
    let countries = [
        "DE", "FR", "GB", "US", "CA", "BR", "MX", "JP", "IN", "AU", "NL", "ES",
    ];
    let industries = [
        "energy",
        "utilities",
        "manufacturing",
        "logistics",
        "retail",
        "finance",
    ];
    let sizes = ["1-49", "50-249", "250-999", "1000+"];
    let titles = [
        "CTO",
        "VP Operations",
        "Director of IT",
        "Head of Data",
        "Analyst",
        "Engineer",
        "Manager",
    ];
    let requests = [
        "info",
        "info",
        "info",
        "assessment",
        "assessment",
        "demo",
        "demo",
        "onsite_demo",
        "rfi",
        "rfp",
    ];
    let sources = [
        "web",
        "landing_page",
        "event",
        "referral",
        "direct_mail",
        "purchased_list",
    ];
    let budget = [
        "unknown",
        "unknown",
        "not_defined",
        "defined",
        "defined_fits",
    ];
    let authority = [
        "unknown",
        "unknown",
        "influencer",
        "specifier",
        "decision_maker",
    ];
    let need = ["unknown", "not_identified", "identified", "established"];
    let timeframe = [
        "unknown",
        "unknown",
        "within_3_months",
        "3_to_6_months",
        "6_to_12_months",
        "over_12_months",
    ];
    let people = (n / 3).max(1);
    let mut out = String::with_capacity(n * 160);
    out.push_str(COLUMNS);
    out.push('\n');
    for i in 0..n {
        let person = next(people);
        let day = 1 + (i * 365 / n.max(1)).min(364);
        let (month, dom) = (1 + (day - 1) / 31, 1 + (day - 1) % 28);
        out.push_str(&format!(
            "p{person}@company{}.example,Person{person},\"Company {}, Inc.\",{},{},,{},{},{},{},cmp-{},{},{},{},{},2026-{month:02}-{dom:02}T10:00:00Z\n",
            person % 5000,
            person % 5000,
            pick(next(99), &titles),
            pick(person, &countries),
            pick(person, &industries),
            pick(person, &sizes),
            pick(next(99), &requests),
            pick(next(99), &sources),
            next(12),
            pick(next(99), &budget),
            pick(next(99), &authority),
            pick(next(99), &need),
            pick(next(99), &timeframe),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_commas_newlines_crlf_and_a_bom() {
        let playbook = Playbook::default_playbook().unwrap();
        let now = chrono::Utc::now();
        let text = "\u{feff}email,company,message\r\n\"a@example.com\",\"Acme, Inc.\",\"say \"\"hi\"\"\"\n\nb@example.com,,\"multi\nline\"\n";
        let run = run(&playbook, text, now, true).unwrap();
        assert!(run.bad_rows.is_empty(), "{:?}", run.bad_rows);
        let emails: Vec<&str> = run.leads.iter().map(|l| l.email.as_ref()).collect();
        assert_eq!(emails, ["a@example.com", "b@example.com"]);
        let short = run_rows("email,company\nc@example.com\n");
        assert_eq!(short, [(1, "has 1 columns; the header has 2".to_string())]);
    }

    fn run_rows(text: &str) -> Vec<(usize, String)> {
        run(
            &Playbook::default_playbook().unwrap(),
            text,
            chrono::Utc::now(),
            false,
        )
        .unwrap()
        .bad_rows
    }
}
