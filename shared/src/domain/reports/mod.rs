//! The reports of seed 002 step 7 and the process review of step 10, as
//! figures computed from the counters [`super::stats`] keeps. Pure: the use
//! case reads the counters, these functions add them up.
//!
//! Every report is JSON (`serde`) and a table ([`Table`]) for CSV.

use super::outcome::LeadStatus;
use super::stats::{DayRow, Metrics, Milestone, TOUCH_BUCKETS};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// A report as rows and columns (its CSV).
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as CSV (RFC 4180), every cell [`neutralise`]d.
    pub fn to_csv(&self) -> Result<Vec<u8>, String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.header).map_err(|e| e.to_string())?;
        for row in &self.rows {
            w.write_record(row.iter().map(|c| neutralise(c)))
                .map_err(|e| e.to_string())?;
        }
        w.into_inner().map_err(|e| e.to_string())
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is
/// quoted with a leading apostrophe: a prospect's name is data, never code.
/// Numbers (`-3`) stay numbers.
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '@', '\t', '\r'])
        || (cell.starts_with('-') && cell.parse::<f64>().is_err());
    if risky {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| ((num as f64 / den as f64) * 10_000.0).round() / 10_000.0)
}

fn fmt_opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Sum rows by value (over days).
pub fn by_value(rows: &[DayRow]) -> BTreeMap<String, Metrics> {
    let mut out: BTreeMap<String, Metrics> = BTreeMap::new();
    for r in rows {
        let m = out.entry(r.value.clone()).or_default();
        for (k, n) in &r.metrics {
            // Saturating: a sum never wraps into a negative figure.
            let sum = m.entry(k.clone()).or_default();
            *sum = sum.saturating_add(*n);
        }
    }
    out
}

fn get(m: &Metrics, k: &str) -> i64 {
    m.get(k).copied().unwrap_or(0)
}

// ---------------------------------------------------------------- funnel

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    pub from: &'static str,
    pub to: &'static str,
    pub from_count: i64,
    pub to_count: i64,
    /// `to_count / from_count`; none when nothing reached `from`.
    pub ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelGroup {
    /// The dimension's value (`all` for the whole company).
    pub key: String,
    /// Leads that reached each step: suspect, prospect, sales_ready, quote, won; and lost.
    pub counts: BTreeMap<&'static str, i64>,
    pub steps: Vec<FunnelStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    pub report: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: String,
    /// Of the leads that arrived in the period: how far they got.
    pub cohort: &'static str,
    pub groups: Vec<FunnelGroup>,
}

pub fn funnel(from: NaiveDate, to: NaiveDate, by: &str, rows: &[DayRow]) -> Funnel {
    let groups = by_value(rows)
        .into_iter()
        .map(|(key, m)| {
            let mut counts = BTreeMap::new();
            for ms in Milestone::ALL {
                counts.insert(ms.as_str(), get(&m, &ms.metric()));
            }
            counts.insert("lost", get(&m, "reached_lost"));
            let steps = Milestone::ALL
                .windows(2)
                .map(|w| {
                    let (a, b) = (get(&m, &w[0].metric()), get(&m, &w[1].metric()));
                    FunnelStep {
                        from: w[0].as_str(),
                        to: w[1].as_str(),
                        from_count: a,
                        to_count: b,
                        ratio: ratio(b, a),
                    }
                })
                .collect();
            FunnelGroup { key, counts, steps }
        })
        .filter(|g| g.counts.values().any(|n| *n != 0))
        .collect();
    Funnel {
        report: "funnel",
        from,
        to,
        by: by.to_string(),
        cohort: "leads that arrived in the period, by how far they have got",
        groups,
    }
}

impl Funnel {
    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        for g in &self.groups {
            for s in &g.steps {
                rows.push(vec![
                    self.by.clone(),
                    g.key.clone(),
                    format!("{}->{}", s.from, s.to),
                    s.from_count.to_string(),
                    s.to_count.to_string(),
                    fmt_opt(s.ratio),
                ]);
            }
        }
        Table {
            header: vec!["by", "key", "step", "from_count", "to_count", "ratio"],
            rows,
        }
    }
}

// ---------------------------------------------------------------- follow-up

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Upper bound in minutes; none for the open-ended last bucket.
    pub le_minutes: Option<i64>,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUpRow {
    pub key: String,
    /// Leads first touched (of those that arrived in the period).
    pub touched: i64,
    /// The histogram bucket holding the median (its upper bound, in minutes).
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
    pub mean_minutes: Option<f64>,
    pub within_sla: i64,
    /// Touches whose route had an SLA.
    pub with_sla: i64,
    pub share_within_sla: Option<f64>,
    pub histogram: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Untouched {
    pub key: String,
    /// Open leads nobody has touched yet while their SLA runs.
    pub untouched: i64,
    /// Of those, past their SLA (escalated).
    pub breached: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUp {
    pub report: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub all: FollowUpRow,
    pub by_rep: Vec<FollowUpRow>,
    pub by_pool: Vec<FollowUpRow>,
    pub by_territory: Vec<FollowUpRow>,
    /// Leads never touched, now: in all and by owner.
    pub never_touched: Untouched,
    pub never_touched_by_owner: Vec<Untouched>,
}

/// The bucket upper bound below which `q` of the touches fall.
fn quantile(hist: &[Bucket], total: i64, q: f64) -> Option<i64> {
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for b in hist {
        seen += b.count;
        if seen >= rank {
            // The open-ended bucket: report its lower bound.
            return Some(
                b.le_minutes
                    .unwrap_or(TOUCH_BUCKETS[TOUCH_BUCKETS.len() - 1]),
            );
        }
    }
    None
}

pub fn follow_up_row(key: &str, m: &Metrics) -> FollowUpRow {
    let touched = get(m, "touched");
    let histogram: Vec<Bucket> = TOUCH_BUCKETS
        .iter()
        .map(|b| Bucket {
            le_minutes: Some(*b),
            count: get(m, &format!("touch_le_{b}")),
        })
        .chain(std::iter::once(Bucket {
            le_minutes: None,
            count: get(m, "touch_le_inf"),
        }))
        .collect();
    let within = get(m, "within_sla");
    let with_sla = get(m, "sla_known");
    FollowUpRow {
        key: key.to_string(),
        touched,
        median_minutes: quantile(&histogram, touched, 0.5),
        p90_minutes: quantile(&histogram, touched, 0.9),
        mean_minutes: (touched > 0)
            .then(|| ((get(m, "touch_minutes") as f64 / touched as f64) * 10.0).round() / 10.0),
        within_sla: within,
        with_sla,
        share_within_sla: ratio(within, with_sla),
        histogram,
    }
}

pub struct FollowUpInput<'a> {
    pub all: &'a [DayRow],
    pub reps: &'a [DayRow],
    pub pools: &'a [DayRow],
    pub territories: &'a [DayRow],
    /// Gauges by owner.
    pub open_by_owner: &'a [(String, Metrics)],
}

pub fn follow_up(from: NaiveDate, to: NaiveDate, input: FollowUpInput) -> FollowUp {
    let rows = |r: &[DayRow]| -> Vec<FollowUpRow> {
        by_value(r)
            .iter()
            .map(|(k, m)| follow_up_row(k, m))
            .filter(|r| r.touched > 0)
            .collect()
    };
    let all = by_value(input.all)
        .get("all")
        .map(|m| follow_up_row("all", m))
        .unwrap_or_else(|| follow_up_row("all", &Metrics::new()));
    let never_touched_by_owner: Vec<Untouched> = input
        .open_by_owner
        .iter()
        .map(|(k, m)| Untouched {
            key: k.clone(),
            untouched: get(m, "untouched"),
            breached: get(m, "breached"),
        })
        .filter(|u| u.untouched > 0)
        .collect();
    FollowUp {
        report: "follow-up",
        from,
        to,
        all,
        by_rep: rows(input.reps),
        by_pool: rows(input.pools),
        by_territory: rows(input.territories),
        never_touched: Untouched {
            key: "all".into(),
            untouched: never_touched_by_owner.iter().map(|u| u.untouched).sum(),
            breached: never_touched_by_owner.iter().map(|u| u.breached).sum(),
        },
        never_touched_by_owner,
    }
}

impl FollowUp {
    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        let mut push = |level: &str, r: &FollowUpRow| {
            rows.push(vec![
                level.to_string(),
                r.key.clone(),
                r.touched.to_string(),
                fmt_opt(r.median_minutes),
                fmt_opt(r.p90_minutes),
                fmt_opt(r.mean_minutes),
                r.within_sla.to_string(),
                r.with_sla.to_string(),
                fmt_opt(r.share_within_sla),
                String::new(),
            ]);
        };
        push("all", &self.all);
        for r in &self.by_rep {
            push("rep", r);
        }
        for r in &self.by_pool {
            push("pool", r);
        }
        for r in &self.by_territory {
            push("territory", r);
        }
        for u in &self.never_touched_by_owner {
            rows.push(vec![
                "never_touched".into(),
                u.key.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                u.untouched.to_string(),
            ]);
        }
        Table {
            header: vec![
                "level",
                "key",
                "touched",
                "median_minutes",
                "p90_minutes",
                "mean_minutes",
                "within_sla",
                "with_sla",
                "share_within_sla",
                "never_touched",
            ],
            rows,
        }
    }
}

// ---------------------------------------------------------------- pipeline

/// The statuses of sales-accepted leads still being worked, in pipeline order.
pub const PIPELINE: [LeadStatus; 4] = [
    LeadStatus::Accepted,
    LeadStatus::DemoScheduled,
    LeadStatus::DemoHeld,
    LeadStatus::ProposalSent,
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastLine {
    pub status: LeadStatus,
    pub count: i64,
    /// The playbook's chance that a lead at this status is won.
    pub probability: f64,
    pub expected_wins: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closed {
    pub key: String,
    pub won: i64,
    pub lost: i64,
    pub close_rate: Option<f64>,
    pub won_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerPipeline {
    pub key: String,
    pub open: BTreeMap<&'static str, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub report: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Open sales-accepted leads now, by status.
    pub open: BTreeMap<&'static str, i64>,
    pub forecast: Vec<ForecastLine>,
    pub expected_wins: f64,
    /// Won and lost in the period.
    pub closed: Closed,
    pub closed_by_rep: Vec<Closed>,
    pub open_by_rep: Vec<OwnerPipeline>,
}

pub fn pipeline(
    from: NaiveDate,
    to: NaiveDate,
    gauges_all: &[(String, Metrics)],
    gauges_by_rep: &[(String, Metrics)],
    closed_all: &[DayRow],
    closed_by_rep: &[DayRow],
    probability: impl Fn(LeadStatus) -> f64,
) -> Pipeline {
    let open_of = |m: &Metrics| -> BTreeMap<&'static str, i64> {
        PIPELINE
            .iter()
            .map(|s| (s.as_str(), get(m, &format!("open_{s}"))))
            .collect()
    };
    let all = gauges_all
        .iter()
        .find(|(k, _)| k == "all")
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let open = open_of(&all);
    let forecast: Vec<ForecastLine> = PIPELINE
        .iter()
        .map(|s| {
            let count = get(&all, &format!("open_{s}"));
            let p = probability(*s);
            ForecastLine {
                status: *s,
                count,
                probability: p,
                expected_wins: ((count as f64 * p) * 100.0).round() / 100.0,
            }
        })
        .collect();
    let closed = |key: &str, m: &Metrics| Closed {
        key: key.to_string(),
        won: get(m, "closed_won"),
        lost: get(m, "closed_lost"),
        close_rate: ratio(
            get(m, "closed_won"),
            get(m, "closed_won") + get(m, "closed_lost"),
        ),
        won_amount: get(m, "won_amount"),
    };
    let total = by_value(closed_all);
    Pipeline {
        report: "pipeline",
        from,
        to,
        expected_wins: (forecast.iter().map(|f| f.expected_wins).sum::<f64>() * 100.0).round()
            / 100.0,
        open,
        forecast,
        closed: closed("all", total.get("all").unwrap_or(&Metrics::new())),
        closed_by_rep: by_value(closed_by_rep)
            .iter()
            .map(|(k, m)| closed(k, m))
            .filter(|c| c.won + c.lost > 0)
            .collect(),
        open_by_rep: gauges_by_rep
            .iter()
            .map(|(k, m)| OwnerPipeline {
                key: k.clone(),
                open: open_of(m),
            })
            .filter(|o| o.open.values().any(|n| *n > 0))
            .collect(),
    }
}

impl Pipeline {
    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        for f in &self.forecast {
            rows.push(vec![
                "forecast".into(),
                f.status.to_string(),
                f.count.to_string(),
                f.probability.to_string(),
                f.expected_wins.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for c in std::iter::once(&self.closed).chain(&self.closed_by_rep) {
            rows.push(vec![
                "closed".into(),
                c.key.clone(),
                String::new(),
                String::new(),
                String::new(),
                c.won.to_string(),
                c.lost.to_string(),
                fmt_opt(c.close_rate),
            ]);
        }
        for o in &self.open_by_rep {
            for (status, n) in &o.open {
                rows.push(vec![
                    "open".into(),
                    format!("{}:{status}", o.key),
                    n.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        Table {
            header: vec![
                "section",
                "key",
                "count",
                "probability",
                "expected_wins",
                "won",
                "lost",
                "close_rate",
            ],
            rows,
        }
    }
}

// ---------------------------------------------------------------- lost

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub key: String,
    pub count: i64,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lost {
    pub report: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lost: i64,
    /// Lost to whom (the competitor a rep named), most first.
    pub to_whom: Vec<Share>,
    /// Why, most first.
    pub why: Vec<Share>,
}

pub fn lost(from: NaiveDate, to: NaiveDate, to_whom: &[DayRow], why: &[DayRow]) -> Lost {
    let shares = |rows: &[DayRow]| -> (i64, Vec<Share>) {
        let by = by_value(rows);
        let total: i64 = by.values().map(|m| get(m, "closed_lost")).sum();
        let mut out: Vec<Share> = by
            .iter()
            .map(|(k, m)| Share {
                key: k.clone(),
                count: get(m, "closed_lost"),
                share: ratio(get(m, "closed_lost"), total),
            })
            .filter(|s| s.count > 0)
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        (total, out)
    };
    let (total, to_whom) = shares(to_whom);
    let (_, why) = shares(why);
    Lost {
        report: "lost",
        from,
        to,
        lost: total,
        to_whom,
        why,
    }
}

impl Lost {
    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        for (kind, list) in [("lost_to", &self.to_whom), ("why", &self.why)] {
            for s in list {
                rows.push(vec![
                    kind.to_string(),
                    s.key.clone(),
                    s.count.to_string(),
                    fmt_opt(s.share),
                ]);
            }
        }
        Table {
            header: vec!["kind", "key", "count", "share"],
            rows,
        }
    }
}

mod health;
pub use health::*;
