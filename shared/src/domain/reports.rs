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

// ---------------------------------------------------------------- health

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesHealth {
    pub series: String,
    pub enrolled: i64,
    pub sent: i64,
    pub unsubscribed: i64,
    pub bounced: i64,
    pub complained: i64,
    /// Of those enrolled in the period.
    pub unsubscribe_rate: Option<f64>,
    pub bounce_rate: Option<f64>,
    pub complaint_rate: Option<f64>,
    /// Over a playbook threshold.
    pub alert: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stranded {
    /// The owner's key in the counters (a rep id, or `queue:<name>`).
    pub owner: String,
    pub open: i64,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueDepth {
    pub queue: String,
    pub messages: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueTasks {
    pub total: i64,
    pub by_owner: Vec<Share>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub report: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Open leads nobody has touched yet, and of them those past their SLA.
    pub untouched: i64,
    pub breached: i64,
    pub overdue_tasks: OverdueTasks,
    /// SLA breaches (escalations) per day of the period.
    pub sla_breaches: Vec<DayCount>,
    pub sla_breaches_total: i64,
    /// Open leads whose owner cannot act on them.
    pub stranded: Vec<Stranded>,
    pub nurture: Vec<SeriesHealth>,
    /// Messages in each dead-letter queue (none when unknown).
    pub dead_letters: Vec<QueueDepth>,
    /// Posts of the period the spam guard took for a bot's (thanked, never
    /// recorded as leads), by what gave them away.
    pub spam: SpamSeen,
    /// What needs a look, in words; empty when all is well.
    pub problems: Vec<String>,
}

/// Spam posts in a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpamSeen {
    pub total: i64,
    /// `honeypot`, `too_fast` → posts.
    pub by_sign: BTreeMap<String, i64>,
    pub per_day: Vec<DayCount>,
}

/// Thresholds above which a nurture series is flagged.
pub struct SeriesLimits {
    pub unsubscribe_rate: f64,
    pub bounce_rate: f64,
    pub complaint_rate: f64,
}

pub struct HealthInput<'a> {
    pub open_all: &'a [(String, Metrics)],
    pub breaches: &'a [DayRow],
    pub series: &'a [DayRow],
    pub overdue: Vec<(String, i64)>,
    pub stranded: Vec<Stranded>,
    pub dead_letters: Vec<QueueDepth>,
    /// The period's `Dim::Spam` day counters.
    pub spam: &'a [DayRow],
    pub limits: SeriesLimits,
}

pub fn health(from: NaiveDate, to: NaiveDate, input: HealthInput) -> Health {
    let all = input
        .open_all
        .iter()
        .find(|(k, _)| k == "all")
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let mut per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for r in input.breaches.iter().filter(|r| r.value == "all") {
        *per_day.entry(r.day).or_default() += get(&r.metrics, "sla_breaches");
    }
    let sla_breaches: Vec<DayCount> = per_day
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(day, count)| DayCount { day, count })
        .collect();
    let limits = &input.limits;
    let nurture: Vec<SeriesHealth> = by_value(input.series)
        .into_iter()
        .map(|(series, m)| {
            let enrolled = get(&m, "nurture_enrolled");
            let (u, b, c) = (
                get(&m, "nurture_unsubscribed"),
                get(&m, "nurture_bounced"),
                get(&m, "nurture_complained"),
            );
            let (ur, br, cr) = (ratio(u, enrolled), ratio(b, enrolled), ratio(c, enrolled));
            SeriesHealth {
                series,
                enrolled,
                sent: get(&m, "nurture_sent"),
                unsubscribed: u,
                bounced: b,
                complained: c,
                unsubscribe_rate: ur,
                bounce_rate: br,
                complaint_rate: cr,
                alert: ur.is_some_and(|r| r > limits.unsubscribe_rate)
                    || br.is_some_and(|r| r > limits.bounce_rate)
                    || cr.is_some_and(|r| r > limits.complaint_rate),
            }
        })
        .collect();
    let mut overdue: Vec<Share> = input
        .overdue
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(key, count)| Share {
            key,
            count,
            share: None,
        })
        .collect();
    overdue.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    let overdue_total = overdue.iter().map(|s| s.count).sum();
    let (untouched, breached) = (get(&all, "untouched"), get(&all, "breached"));
    let sla_total = sla_breaches.iter().map(|d| d.count).sum();

    let mut problems = Vec::new();
    if breached > 0 {
        problems.push(format!(
            "{breached} open lead(s) untouched past their follow-up SLA"
        ));
    }
    if overdue_total > 0 {
        problems.push(format!("{overdue_total} overdue task(s)"));
    }
    for s in &input.stranded {
        problems.push(format!(
            "{} open lead(s) held by {}: {}",
            s.open, s.owner, s.why
        ));
    }
    for s in nurture.iter().filter(|s| s.alert) {
        problems.push(format!(
            "nurture series {}: unsubscribes {}, bounces {}, complaints {} of {} enrolled",
            s.series, s.unsubscribed, s.bounced, s.complained, s.enrolled
        ));
    }
    for q in input.dead_letters.iter().filter(|q| q.messages > 0) {
        problems.push(format!(
            "{} message(s) in dead-letter queue {}",
            q.messages, q.queue
        ));
    }
    let mut spam = SpamSeen::default();
    let mut spam_days: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for r in input.spam {
        let n = get(&r.metrics, "spam");
        spam.total += n;
        *spam.by_sign.entry(r.value.clone()).or_default() += n;
        *spam_days.entry(r.day).or_default() += n;
    }
    spam.per_day = spam_days
        .into_iter()
        .map(|(day, count)| DayCount { day, count })
        .collect();
    Health {
        report: "health",
        from,
        to,
        untouched,
        breached,
        overdue_tasks: OverdueTasks {
            total: overdue_total,
            by_owner: overdue,
        },
        sla_breaches,
        sla_breaches_total: sla_total,
        stranded: input.stranded,
        nurture,
        dead_letters: input.dead_letters,
        spam,
        problems,
    }
}

impl Health {
    pub fn table(&self) -> Table {
        let mut rows = vec![
            vec!["untouched".into(), "all".into(), self.untouched.to_string()],
            vec!["breached".into(), "all".into(), self.breached.to_string()],
            vec![
                "overdue_tasks".into(),
                "all".into(),
                self.overdue_tasks.total.to_string(),
            ],
            vec![
                "sla_breaches".into(),
                "all".into(),
                self.sla_breaches_total.to_string(),
            ],
        ];
        for s in &self.overdue_tasks.by_owner {
            rows.push(vec![
                "overdue_tasks".into(),
                s.key.clone(),
                s.count.to_string(),
            ]);
        }
        for d in &self.sla_breaches {
            rows.push(vec![
                "sla_breaches".into(),
                d.day.to_string(),
                d.count.to_string(),
            ]);
        }
        for s in &self.stranded {
            rows.push(vec!["stranded".into(), s.owner.clone(), s.open.to_string()]);
        }
        rows.push(vec![
            "spam".into(),
            "all".into(),
            self.spam.total.to_string(),
        ]);
        for (sign, n) in &self.spam.by_sign {
            rows.push(vec!["spam".into(), sign.clone(), n.to_string()]);
        }
        for s in &self.nurture {
            rows.push(vec![
                "nurture_unsubscribed".into(),
                s.series.clone(),
                s.unsubscribed.to_string(),
            ]);
            rows.push(vec![
                "nurture_bounced".into(),
                s.series.clone(),
                s.bounced.to_string(),
            ]);
        }
        for q in &self.dead_letters {
            rows.push(vec![
                "dead_letters".into(),
                q.queue.clone(),
                q.messages.to_string(),
            ]);
        }
        Table {
            header: vec!["measure", "key", "value"],
            rows,
        }
    }
}
