//! The process-health report: what seed 002 calls rot.

use super::*;

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
