//! `leadflow import FILE.csv --source SOURCE [--campaign NAME]`: a trade-show
//! list, reply cards or a purchased list through the public intake, row by
//! row, as a landing page would post them — so dedupe, qualification, routing
//! and the emails are the intake's own.
//!
//! - The file is read and checked whole first: a file every row of which would
//!   fail (no `email` column, not CSV, a column name the intake refuses) is an
//!   error (exit 2) and nothing is sent.
//! - Each row carries an Idempotency-Key derived from its content, source and
//!   campaign ([`rows::idempotency_key`]): run again, it replays the intake's
//!   stored answers and records nothing new.
//! - 429 is waited out and the row sent again (never a rejection); 5xx and no
//!   answer are tried a few times, then the row is *failed* (exit 1); other
//!   4xx are *rejected*, into the rejected-rows file ([`rejects`]).

mod progress;
pub mod rejects;
pub mod rows;
pub mod send;

use leadflow::domain::inquiry::Source;
use progress::{Counts, Progress};
use rows::{Rejection, Row, Sheet, Stamp};
use send::{Attempt, Intake};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the API is when neither `--api` nor `LEADFLOW_API_URL` says: `make dev`'s.
pub const DEFAULT_API: &str = "http://127.0.0.1:3000";

/// Tries of one row that gets 5xx or no answer before it is failed.
const ATTEMPTS: u32 = 4;

/// The options of `leadflow import`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ImportArgs {
    /// The list: CSV whose first line names the columns as the intake's fields
    /// (email, first_name, company, country, request_type, …); other columns
    /// are kept as the lead's custom fields.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Where the list came from, set on every row (it replaces a row's own):
    /// web, landing_page, event, direct_mail, referral, purchased_list, print,
    /// pr, inbound_call or sales_prospecting.
    #[arg(long, value_name = "SOURCE")]
    pub source: String,
    /// The campaign, set on every row (it replaces a row's own; without it,
    /// a row's own campaign column goes through).
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
    /// The API's base URL [default: $LEADFLOW_API_URL, else http://127.0.0.1:3000].
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// Where the rejected rows go [default: FILE.rejected.csv beside FILE].
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Rows in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
}

impl ImportArgs {
    /// The options for `file` with the defaults (for tests and callers).
    pub fn new(file: impl Into<PathBuf>, source: &str, campaign: Option<&str>) -> Self {
        ImportArgs {
            file: file.into(),
            source: source.into(),
            campaign: campaign.map(str::to_string),
            api: None,
            rejects: None,
            concurrency: 4,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub file: PathBuf,
    pub url: String,
    /// Rows read (blank ones not counted).
    pub rows: usize,
    pub blank_rows: usize,
    /// New responses recorded by this run.
    pub accepted: usize,
    /// Answered before (same Idempotency-Key): nothing new recorded.
    pub replayed: usize,
    pub rejected: usize,
    /// Not recorded (5xx or no answer after retries, or never sent): run again.
    pub failed: usize,
    /// The rejected-rows file, when there were rejections.
    pub rejects_file: Option<PathBuf>,
    /// A rejected-rows file of an earlier run, removed because none was rejected now.
    pub removed_stale: Option<PathBuf>,
    /// (line, why) of each failed row, in line order.
    pub failures: Vec<(u64, String)>,
    /// 429 answers waited out.
    pub rate_limited: usize,
    pub elapsed: Duration,
}

/// Why an import could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fatal {
    /// Bad options or a bad file: nothing was sent (exit 2).
    Usage(String),
    /// Something broke on this side after sending (exit 1).
    Io(String),
}

/// `leadflow import …`: 0 when every row was accepted, replayed or rejected;
/// 1 when some failed (run it again); 2 when nothing was sent (bad options or file).
pub fn run(args: &ImportArgs, out: &mut impl Write, err: &mut impl Write) -> i32 {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    match import(args, err, tty) {
        Ok(report) => {
            summary(&report, args, out);
            for (line, why) in report.failures.iter().take(20) {
                let _ = writeln!(err, "leadflow import: line {line} failed: {why}");
            }
            if report.failures.len() > 20 {
                let _ = writeln!(
                    err,
                    "leadflow import: … and {} more failed rows",
                    report.failures.len() - 20
                );
            }
            i32::from(report.failed > 0)
        }
        Err(Fatal::Usage(message)) => {
            let _ = writeln!(err, "leadflow import: {message}; nothing was sent");
            2
        }
        Err(Fatal::Io(message)) => {
            let _ = writeln!(err, "leadflow import: {message}");
            1
        }
    }
}

fn summary(r: &Report, args: &ImportArgs, out: &mut impl Write) {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        r.rows as f64 / secs
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "{} → {} (source {}{})",
        r.file.display(),
        r.url,
        args.source.trim(),
        args.campaign
            .as_deref()
            .map(|c| format!(", campaign {}", c.trim()))
            .unwrap_or_default()
    );
    let blank = if r.blank_rows > 0 {
        format!("  ({} blank rows skipped)", r.blank_rows)
    } else {
        String::new()
    };
    let _ = writeln!(out, "  rows read  {:>7}{blank}", r.rows);
    let _ = writeln!(
        out,
        "  accepted   {:>7}  new responses recorded",
        r.accepted
    );
    let _ = writeln!(
        out,
        "  replayed   {:>7}  answered before (same row, source and campaign): nothing new recorded",
        r.replayed
    );
    let rejects = match &r.rejects_file {
        Some(p) => format!("  rows and reasons in {}", p.display()),
        None => String::new(),
    };
    let _ = writeln!(out, "  rejected   {:>7}{rejects}", r.rejected);
    let failed = if r.failed > 0 {
        "  not recorded: run the same command again to retry them"
    } else {
        ""
    };
    let _ = writeln!(out, "  failed     {:>7}{failed}", r.failed);
    let waits = if r.rate_limited > 0 {
        format!("; waited out {} rate-limit answers (429)", r.rate_limited)
    } else {
        String::new()
    };
    let _ = writeln!(out, "  elapsed    {secs:>7.1} s  {rate:.1} rows/s{waits}");
    if let Some(p) = &r.removed_stale {
        let _ = writeln!(
            out,
            "  removed {}: an earlier run's rejected rows (none was rejected now)",
            p.display()
        );
    }
}

/// The source and campaign of the command line, checked as the intake would.
fn stamp(args: &ImportArgs) -> Result<Stamp, Fatal> {
    let source = Source::parse(args.source.trim()).ok_or_else(|| {
        Fatal::Usage(format!(
            "--source {:?} is not one of: {}",
            args.source,
            Source::allowed()
        ))
    })?;
    let campaign = match args.campaign.as_deref().map(str::trim) {
        None => None,
        Some("") => return Err(Fatal::Usage("--campaign is empty".into())),
        Some(c) if c.chars().count() > 200 || c.chars().any(char::is_control) => {
            return Err(Fatal::Usage(
                "--campaign must be one line of at most 200 characters".into(),
            ))
        }
        Some(c) => Some(c.to_string()),
    };
    Ok(Stamp { source, campaign })
}

/// `--api`, else `LEADFLOW_API_URL`, else `make dev`'s.
pub fn api_url(args: &ImportArgs) -> Result<String, Fatal> {
    let url = args
        .api
        .clone()
        .or_else(|| std::env::var("LEADFLOW_API_URL").ok())
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_API.to_string());
    let url = url.trim().trim_end_matches('/').to_string();
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) || url.contains(' ') {
        return Err(Fatal::Usage(format!(
            "the API URL {url:?} is not an http:// or https:// URL"
        )));
    }
    Ok(url)
}

/// What became of one row.
#[derive(Debug, Clone)]
enum Outcome {
    Accepted,
    Replayed,
    Rejected(Rejection),
    Failed(String),
}

/// A row to send.
struct Job {
    row: usize,
    body: String,
    key: String,
}

/// What the senders share: the next person's rows, the import-wide pause a per-IP 429
/// asks for, and whether to stop.
struct Shared {
    next: AtomicUsize,
    stop: AtomicBool,
    failed_in_a_row: AtomicUsize,
    stop_after: usize,
    /// Until when every sender waits, and why (a per-IP rate limit).
    pause: Mutex<Option<(Instant, String)>>,
    /// Rows waiting for their own address's rate limit: until when.
    address_waits: Mutex<BTreeMap<usize, Instant>>,
    rate_limited: AtomicUsize,
}

impl Shared {
    fn wait_for_pause(&self) {
        loop {
            let until = self.pause.lock().ok().and_then(|p| p.as_ref().map(|p| p.0));
            match until {
                Some(t) if t > Instant::now() => std::thread::sleep(t - Instant::now()),
                _ => return,
            }
        }
    }

    fn pause_all(&self, wait: Duration, why: String) {
        if let Ok(mut p) = self.pause.lock() {
            let until = Instant::now() + wait;
            if p.as_ref().is_none_or(|(t, _)| *t < until) {
                *p = Some((until, why));
            }
        }
    }

    /// What the progress shows while rows wait.
    fn waiting(&self) -> Option<(Duration, String)> {
        let now = Instant::now();
        if let Some((t, why)) = self.pause.lock().ok()?.as_ref() {
            if *t > now {
                return Some((*t - now, format!("rate limited ({why})")));
            }
        }
        let waits = self.address_waits.lock().ok()?;
        let last = waits.values().max()?;
        Some((
            last.saturating_duration_since(now),
            format!(
                "{} row(s) held by their email address's rate limit",
                waits.len()
            ),
        ))
    }
}

/// Runs the import; progress goes to `err` (a bar when `tty`).
pub fn import(args: &ImportArgs, err: &mut dyn Write, tty: bool) -> Result<Report, Fatal> {
    let stamp = stamp(args)?;
    let url = api_url(args)?;
    let file = &args.file;
    let sheet = Sheet::read(file).map_err(|e| Fatal::Usage(format!("{}: {e}", file.display())))?;
    let rejects_path = args
        .rejects
        .clone()
        .unwrap_or_else(|| rejects::default_path(file));
    if rejects_path.exists() && !rejects::is_ours(&rejects_path) {
        return Err(Fatal::Usage(format!(
            "{} exists and is not a rejected-rows file: move it, or name another with --rejects",
            rejects_path.display()
        )));
    }
    let (own_sources, own_campaigns) = sheet.overridden(&stamp);
    if own_sources + own_campaigns > 0 {
        let _ = writeln!(
            err,
            "leadflow import: the command line's source and campaign replace the file's own ({own_sources} rows name another source, {own_campaigns} another campaign)"
        );
    }

    let started = Instant::now();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; sheet.rows.len()];
    // One person's rows go in file order, by one sender: their responses
    // are recorded in the order the list has them.
    let mut jobs: Vec<Vec<Job>> = Vec::new();
    let mut person: BTreeMap<String, usize> = BTreeMap::new();
    for (i, row) in sheet.rows.iter().enumerate() {
        match sheet.fields(row, &stamp) {
            Ok(fields) => {
                let email = fields.get("email").map_or("", |e| e.as_str());
                let group = *person.entry(email.to_lowercase()).or_insert_with(|| {
                    jobs.push(Vec::new());
                    jobs.len() - 1
                });
                let body = rows::body(&fields);
                let key = rows::idempotency_key(&body);
                jobs[group].push(Job { row: i, body, key });
            }
            Err(why) => outcomes[i] = Some(Outcome::Rejected(why)),
        }
    }
    let mut counts = Counts::default();
    for o in outcomes.iter().flatten() {
        count(&mut counts, o);
    }

    let intake = Intake::new(&url);
    let concurrency = usize::from(args.concurrency.max(1));
    let shared = Shared {
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        failed_in_a_row: AtomicUsize::new(0),
        stop_after: (2 * concurrency).max(8),
        pause: Mutex::new(None),
        address_waits: Mutex::new(BTreeMap::new()),
        rate_limited: AtomicUsize::new(0),
    };
    let mut progress = Progress::new(sheet.rows.len(), tty);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Outcome)>();
        for _ in 0..concurrency.min(jobs.len()) {
            let tx = tx.clone();
            let (jobs, shared, intake) = (&jobs, &shared, &intake);
            scope.spawn(move || sender(jobs, shared, intake, tx));
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((row, outcome)) => {
                    count(&mut counts, &outcome);
                    outcomes[row] = Some(outcome);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let waiting = shared.waiting();
            progress.tick(
                err,
                &counts,
                waiting.as_ref().map(|(d, why)| (*d, why.as_str())),
            );
        }
    });
    progress.finish(err);

    // Rows never sent (the import stopped): failed, for the next run to send.
    let stopped = format!(
        "not sent: the import stopped after {} rows in a row failed",
        shared.stop_after
    );
    let mut rejected: Vec<(&Row, &Rejection)> = Vec::new();
    let mut failures = Vec::new();
    let mut report_counts = Counts::default();
    for (i, outcome) in outcomes.iter_mut().enumerate() {
        let o = outcome.get_or_insert_with(|| Outcome::Failed(stopped.clone()));
        count(&mut report_counts, o);
        match o {
            Outcome::Rejected(why) => rejected.push((&sheet.rows[i], why)),
            Outcome::Failed(why) => failures.push((sheet.rows[i].line, why.clone())),
            _ => {}
        }
    }

    let mut rejects_file = None;
    let mut removed_stale = None;
    if !rejected.is_empty() {
        rejects::write(&rejects_path, &sheet.columns, &rejected).map_err(|e| {
            Fatal::Io(format!(
                "cannot write the rejected rows to {}: {e}",
                rejects_path.display()
            ))
        })?;
        rejects_file = Some(rejects_path);
    } else if rejects_path.exists() {
        // An earlier run's file would say rows were rejected that now went through.
        std::fs::remove_file(&rejects_path)
            .map_err(|e| Fatal::Io(format!("cannot remove {}: {e}", rejects_path.display())))?;
        removed_stale = Some(rejects_path);
    }

    Ok(Report {
        file: file.clone(),
        url: intake.url().to_string(),
        rows: sheet.rows.len(),
        blank_rows: sheet.blank_rows,
        accepted: report_counts.accepted,
        replayed: report_counts.replayed,
        rejected: report_counts.rejected,
        failed: report_counts.failed,
        rejects_file,
        removed_stale,
        failures,
        rate_limited: shared.rate_limited.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

fn count(c: &mut Counts, o: &Outcome) {
    match o {
        Outcome::Accepted => c.accepted += 1,
        Outcome::Replayed => c.replayed += 1,
        Outcome::Rejected(_) => c.rejected += 1,
        Outcome::Failed(_) => c.failed += 1,
    }
}

/// One sender: takes the next person's rows until there are none (or the
/// import stops), and sends them one after the other.
fn sender(
    jobs: &[Vec<Job>],
    shared: &Shared,
    intake: &Intake,
    tx: std::sync::mpsc::Sender<(usize, Outcome)>,
) {
    while let Some(rows) = jobs.get(shared.next.fetch_add(1, Ordering::Relaxed)) {
        for job in rows {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            let outcome = send_row(job, shared, intake);
            report(job, outcome, shared, &tx);
        }
    }
}

/// Passes a row's outcome on, and stops the import after too many failed rows in a row.
fn report(
    job: &Job,
    outcome: Outcome,
    shared: &Shared,
    tx: &std::sync::mpsc::Sender<(usize, Outcome)>,
) {
    if matches!(outcome, Outcome::Failed(_)) {
        let in_a_row = shared.failed_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if in_a_row >= shared.stop_after {
            shared.stop.store(true, Ordering::Relaxed);
        }
    } else {
        shared.failed_in_a_row.store(0, Ordering::Relaxed);
    }
    let _ = tx.send((job.row, outcome));
}

/// Sends one row until it is answered for good: waits out 429s for as long
/// as they say, tries 5xx and silence [`ATTEMPTS`] times.
fn send_row(job: &Job, shared: &Shared, intake: &Intake) -> Outcome {
    let mut tries = 0;
    // Whether an earlier try may have been recorded: then a replay is this run's own.
    let mut maybe_recorded = false;
    loop {
        shared.wait_for_pause();
        match intake.post(&job.body, &job.key) {
            Attempt::Accepted { replayed } if replayed && !maybe_recorded => {
                return Outcome::Replayed
            }
            Attempt::Accepted { .. } => return Outcome::Accepted,
            Attempt::Rejected(why) => return Outcome::Rejected(why),
            Attempt::RateLimited {
                wait,
                per_address,
                message,
            } => {
                shared.rate_limited.fetch_add(1, Ordering::Relaxed);
                if per_address {
                    let until = Instant::now() + wait;
                    if let Ok(mut w) = shared.address_waits.lock() {
                        w.insert(job.row, until);
                    }
                    std::thread::sleep(wait);
                    if let Ok(mut w) = shared.address_waits.lock() {
                        w.remove(&job.row);
                    }
                } else {
                    // The intake's message up to its countdown, which the progress shows itself.
                    let why = message.split(';').next().unwrap_or_default().to_string();
                    shared.pause_all(wait, why);
                }
            }
            Attempt::Transient {
                reason,
                retry_after,
                maybe_recorded: maybe,
            } => {
                maybe_recorded |= maybe;
                tries += 1;
                if tries >= ATTEMPTS {
                    return Outcome::Failed(format!("{reason} ({tries} tries)"));
                }
                let backoff = Duration::from_millis(500 << (tries - 1));
                std::thread::sleep(retry_after.map_or(backoff, |r| r.max(backoff)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::sync::Arc;

    /// An intake on 127.0.0.1 that answers by the row's email: `limited…` gets
    /// one 429 first, `flaky…` one 500 and then a replay (its first try was
    /// recorded after all), `down…` always 503, `bad…` 422; the rest 202 (a
    /// replay for a key it has recorded).
    fn fake_intake() -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let recorded: Mutex<Vec<String>> = Mutex::default();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut length, mut key) = (0, String::new());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if let Some(v) = lower.strip_prefix("idempotency-key:") {
                        key = v.trim().to_string();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body = String::from_utf8(body).unwrap();
                let email = body.split("\"email\":\"").nth(1).unwrap_or("").to_string();
                let mut seen = seen.lock().unwrap();
                let tries = seen.iter().filter(|k| **k == key).count();
                seen.push(key.clone());
                let mut recorded = recorded.lock().unwrap();
                let error = |code: &str, field: &str| {
                    format!(
                        r#"{{"error":{{"code":"{code}","message":"{code} here","field":"{field}"}}}}"#
                    )
                };
                let (status, extra, text) = if email.starts_with("limited") && tries == 0 {
                    (429, "retry-after: 1\r\n", r#"{"error":{"code":"rate_limited","message":"too many inquiries from this network address; nothing was recorded — try again in 1 s"}}"#.to_string())
                } else if email.starts_with("flaky") && tries == 0 {
                    recorded.push(key);
                    (
                        500,
                        "",
                        r#"{"message":"Internal Server Error"}"#.to_string(),
                    )
                } else if email.starts_with("down") {
                    (503, "", error("unavailable", ""))
                } else if email.starts_with("bad") {
                    (422, "", error("invalid_email", "email"))
                } else if recorded.contains(&key) {
                    (202, "idempotent-replayed: true\r\n", "{}".to_string())
                } else {
                    recorded.push(key);
                    (202, "", r#"{"status":"received"}"#.to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        (url, log)
    }

    #[test]
    fn rate_limits_are_waited_out_errors_retried_and_rejections_written() {
        let (url, requests) = fake_intake();
        let dir = std::env::temp_dir().join(format!("leadflow-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("list.csv");
        std::fs::write(
            &file,
            "email,company\nok@example.com,A\nlimited@example.com,B\nflaky@example.com,C\nbad@example.com,D\ndown@example.com,E\n",
        )
        .unwrap();
        let mut args = ImportArgs::new(&file, "purchased_list", Some("list-2026"));
        args.api = Some(url);
        args.concurrency = 2;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args, &mut out, &mut err), 1, "a failed row: exit 1");
        let (out, err) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        );
        for line in [
            "  rows read        5",
            "  accepted         3  new responses recorded",
            "  replayed         0",
            "  rejected         1  rows and reasons in",
            "  failed           1  not recorded: run the same command again",
        ] {
            assert!(out.contains(line), "{line:?} in\n{out}");
        }
        assert!(
            out.contains("waited out 1 rate-limit answers (429)"),
            "{out}"
        );
        assert!(
            err.contains(
                "waiting 1 s: rate limited (too many inquiries from this network address)"
            ),
            "{err}"
        );
        assert!(
            err.contains("line 6 failed: answered 503: unavailable here (unavailable) (4 tries)"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("list.rejected.csv")).unwrap(),
            "email,company,line,error_code,error_message,error_field\n\
             bad@example.com,D,5,invalid_email,invalid_email here,email\n"
        );
        // Each row's key; the limited and flaky rows went twice, the down one 4 times.
        assert_eq!(requests.lock().unwrap().len(), 5 + 1 + 1 + 3);

        // Run again without the bad and the down row: replays, and the stale
        // rejected-rows file goes.
        std::fs::write(
            &file,
            "email,company\nok@example.com,A\nlimited@example.com,B\nflaky@example.com,C\n",
        )
        .unwrap();
        let report = import(&args, &mut Vec::new(), false).unwrap();
        assert_eq!(
            (
                report.accepted,
                report.replayed,
                report.rejected,
                report.failed
            ),
            (0, 3, 0, 0)
        );
        assert_eq!(report.removed_stale, Some(dir.join("list.rejected.csv")));
        assert!(!dir.join("list.rejected.csv").exists());

        // Someone else's file where the rejected rows would go: refused, nothing sent.
        std::fs::write(dir.join("list.rejected.csv"), "mine\n").unwrap();
        let before = requests.lock().unwrap().len();
        assert!(matches!(
            import(&args, &mut Vec::new(), false),
            Err(Fatal::Usage(m)) if m.contains("is not a rejected-rows file")
        ));
        assert_eq!(requests.lock().unwrap().len(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
