//! The reports use case: read the counters a report needs (never the leads),
//! and add them up with [`crate::domain::reports`].
//!
//! Managers and ops see the reports; reps, field sellers and partners do not.
//! Ops see the whole company. A manager sees the pools and queues they
//! manage (issue 24, item 15): every figure is added up from the counters of
//! the people and queues in their scope (the owner dimension), so the
//! totals are theirs, not the company's. What the counters keep only
//! company-wide (by campaign, source or territory; lost to whom and why;
//! nurture series, spam and dead letters) is for ops: a manager asking for
//! it is told so (403 `out_of_scope`), never shown someone else's numbers.

use crate::domain::access;
use crate::domain::playbook::{Playbook, Rep, Role};
use crate::domain::reports::{self, Stranded, Table};
use crate::domain::stats::{Dim, NONE};
use crate::ports::{DeadLetters, LeadStore, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// The reports there are, by the name in `GET /reports/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportName {
    Funnel,
    FollowUp,
    Pipeline,
    Lost,
    Health,
}

impl ReportName {
    pub const ALL: [ReportName; 5] = [
        ReportName::Funnel,
        ReportName::FollowUp,
        ReportName::Pipeline,
        ReportName::Lost,
        ReportName::Health,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Funnel => "funnel",
            ReportName::FollowUp => "follow-up",
            ReportName::Pipeline => "pipeline",
            ReportName::Lost => "lost",
            ReportName::Health => "health",
        }
    }

    pub fn parse(s: &str) -> Option<ReportName> {
        ReportName::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a report is asked for: a period of days, and for the funnel the
/// dimension to group by; `only` keeps one value of the grouping dimension
/// (one campaign, one rep…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: Dim,
    pub only: Option<String>,
}

/// The longest period a report covers (its counters are read day by day).
pub const MAX_DAYS: i64 = 366;

impl ReportQuery {
    /// The last 30 days to `now`, the whole company.
    pub fn last_30_days(now: DateTime<Utc>) -> Self {
        let to = now.date_naive();
        ReportQuery {
            from: to - chrono::Duration::days(29),
            to,
            by: Dim::All,
            only: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("reports are for managers and ops")]
    Forbidden,
    /// A figure counted only company-wide, asked for by a manager.
    #[error("{0}")]
    OutOfScope(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// A report, ready to encode as JSON or as a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Report {
    Funnel(reports::Funnel),
    FollowUp(reports::FollowUp),
    Pipeline(reports::Pipeline),
    Lost(reports::Lost),
    Health(reports::Health),
}

impl Report {
    pub fn table(&self) -> Table {
        match self {
            Report::Funnel(r) => r.table(),
            Report::FollowUp(r) => r.table(),
            Report::Pipeline(r) => r.table(),
            Report::Lost(r) => r.table(),
            Report::Health(r) => r.table(),
        }
    }
}

pub fn may_see_reports(person: &Rep) -> bool {
    matches!(person.role, Role::Manager | Role::Ops)
}

/// What a caller's reports cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportScope {
    /// `company` (ops) or `managed` (a manager's pools and queues).
    pub covers: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<String>,
    /// The owner counter values in scope: rep ids and `queue:<name>`.
    #[serde(skip)]
    owners: std::collections::BTreeSet<String>,
}

impl ReportScope {
    pub fn of(caller: &Rep, playbook: &Playbook) -> ReportScope {
        if caller.role != Role::Manager {
            return ReportScope {
                covers: "company",
                pools: Vec::new(),
                queues: Vec::new(),
                owners: Default::default(),
            };
        }
        let mut pools = Vec::new();
        let mut queues = Vec::new();
        let mut owners = std::collections::BTreeSet::new();
        for m in &caller.manages {
            match playbook.pool(m) {
                Some(pool) => {
                    pools.push(pool.name.clone());
                    owners.extend(pool.reps.iter().cloned());
                }
                None => {
                    queues.push(m.clone());
                    owners.insert(format!("queue:{m}"));
                }
            }
        }
        ReportScope {
            covers: "managed",
            pools,
            queues,
            owners,
        }
    }

    pub fn is_company(&self) -> bool {
        self.covers == "company"
    }

    fn owner(&self, value: &str) -> bool {
        self.is_company() || self.owners.contains(value)
    }

    fn pool(&self, value: &str) -> bool {
        self.is_company() || self.pools.iter().any(|p| p == value)
    }

    fn owner_key(&self, key: &str) -> bool {
        self.is_company()
            || key
                .strip_prefix("rep#")
                .map(str::to_string)
                .or_else(|| key.strip_prefix("queue#").map(|q| format!("queue:{q}")))
                .is_some_and(|v| self.owners.contains(&v))
    }

    fn company_only(&self, what: &str) -> Result<(), ReportError> {
        match self.is_company() {
            true => Ok(()),
            false => Err(ReportError::OutOfScope(format!(
                "{what} are counted company-wide, which is for ops; a manager's reports cover the pools and queues they manage ({})",
                self.pools.iter().chain(&self.queues).cloned().collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

/// Rows of the owner dimension in scope, added up per day as `all`: a
/// manager's totals.
fn as_total(
    rows: &[crate::domain::stats::DayRow],
    scope: &ReportScope,
) -> Vec<crate::domain::stats::DayRow> {
    let mut by_day: std::collections::BTreeMap<NaiveDate, crate::domain::stats::Metrics> =
        Default::default();
    for r in rows.iter().filter(|r| scope.owner(&r.value)) {
        let day = by_day.entry(r.day).or_default();
        for (k, v) in &r.metrics {
            let e = day.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }
    by_day
        .into_iter()
        .map(|(day, metrics)| crate::domain::stats::DayRow {
            day,
            value: "all".into(),
            metrics,
        })
        .collect()
}

/// Owner gauges in scope, added up as `all`.
fn gauge_total(
    gauges: &[(String, crate::domain::stats::Metrics)],
    scope: &ReportScope,
) -> Vec<(String, crate::domain::stats::Metrics)> {
    let mut total = crate::domain::stats::Metrics::new();
    for (_, m) in gauges.iter().filter(|(k, _)| scope.owner(k)) {
        for (k, v) in m {
            let e = total.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }
    vec![("all".to_string(), total)]
}

fn keep<T>(rows: Vec<T>, only: &Option<String>, key: impl Fn(&T) -> &str) -> Vec<T> {
    match only {
        Some(v) => rows.into_iter().filter(|r| key(r) == v).collect(),
        None => rows,
    }
}

pub async fn report<S: LeadStore, D: DeadLetters>(
    store: &S,
    dead_letters: &D,
    playbook: &Playbook,
    caller: &Rep,
    name: ReportName,
    q: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    if !may_see_reports(caller) {
        return Err(ReportError::Forbidden);
    }
    let scope = ReportScope::of(caller, playbook);
    let (from, to) = (q.from, q.to);
    Ok(match name {
        ReportName::Funnel => {
            let rows = match (q.by, scope.is_company()) {
                (_, true) => store.day_counts(q.by, from, to).await?,
                (Dim::All, false) => as_total(&store.day_counts(Dim::Rep, from, to).await?, &scope),
                (Dim::Rep, false) => store
                    .day_counts(Dim::Rep, from, to)
                    .await?
                    .into_iter()
                    .filter(|r| scope.owner(&r.value))
                    .collect(),
                (Dim::Pool, false) => store
                    .day_counts(Dim::Pool, from, to)
                    .await?
                    .into_iter()
                    .filter(|r| scope.pool(&r.value))
                    .collect(),
                (by, false) => {
                    scope.company_only(&format!("figures by {}", by.as_str()))?;
                    Vec::new()
                }
            };
            let rows = keep(rows, &q.only, |r| r.value.as_str());
            Report::Funnel(reports::funnel(from, to, q.by.as_str(), &rows))
        }
        ReportName::FollowUp => {
            let (all, reps, pools, territories, open) = tokio::try_join!(
                store.day_counts(Dim::All, from, to),
                store.day_counts(Dim::Rep, from, to),
                store.day_counts(Dim::Pool, from, to),
                store.day_counts(Dim::Territory, from, to),
                store.gauges(Dim::Rep),
            )?;
            let (all, reps, pools, territories, open) = match scope.is_company() {
                true => (all, reps, pools, territories, open),
                // Territories are counted company-wide only: left out.
                false => (
                    as_total(&reps, &scope),
                    reps.into_iter().filter(|r| scope.owner(&r.value)).collect(),
                    pools.into_iter().filter(|r| scope.pool(&r.value)).collect(),
                    Vec::new(),
                    open.into_iter().filter(|(k, _)| scope.owner(k)).collect(),
                ),
            };
            let mut r = reports::follow_up(
                from,
                to,
                reports::FollowUpInput {
                    all: &all,
                    reps: &reps,
                    pools: &pools,
                    territories: &territories,
                    open_by_owner: &open,
                },
            );
            if q.only.is_some() {
                match q.by {
                    Dim::Rep => r.by_rep = keep(r.by_rep, &q.only, |x| &x.key),
                    Dim::Pool => r.by_pool = keep(r.by_pool, &q.only, |x| &x.key),
                    Dim::Territory => r.by_territory = keep(r.by_territory, &q.only, |x| &x.key),
                    _ => {}
                }
            }
            Report::FollowUp(r)
        }
        ReportName::Pipeline => {
            let (open_all, open_rep, closed_all, closed_rep) = tokio::try_join!(
                store.gauges(Dim::All),
                store.gauges(Dim::Rep),
                store.day_counts(Dim::All, from, to),
                store.day_counts(Dim::Rep, from, to),
            )?;
            let (open_all, open_rep, closed_all, closed_rep) = match scope.is_company() {
                true => (open_all, open_rep, closed_all, closed_rep),
                false => (
                    gauge_total(&open_rep, &scope),
                    open_rep
                        .into_iter()
                        .filter(|(k, _)| scope.owner(k))
                        .collect(),
                    as_total(&closed_rep, &scope),
                    closed_rep
                        .into_iter()
                        .filter(|r| scope.owner(&r.value))
                        .collect(),
                ),
            };
            let forecast = &playbook.reports.forecast;
            let mut r = reports::pipeline(
                from,
                to,
                &open_all,
                &open_rep,
                &closed_all,
                &closed_rep,
                |s| forecast.get(&s).copied().unwrap_or(0.0),
            );
            if q.by == Dim::Rep && q.only.is_some() {
                r.closed_by_rep = keep(r.closed_by_rep, &q.only, |x| &x.key);
                r.open_by_rep = keep(r.open_by_rep, &q.only, |x| &x.key);
            }
            Report::Pipeline(r)
        }
        ReportName::Lost => {
            scope.company_only("lost to whom and why")?;
            let (to_whom, why) = tokio::try_join!(
                store.day_counts(Dim::LostTo, from, to),
                store.day_counts(Dim::LostReason, from, to),
            )?;
            Report::Lost(reports::lost(from, to, &to_whom, &why))
        }
        ReportName::Health => {
            let (open_all, open_rep, breaches, series, spam) = tokio::try_join!(
                store.gauges(Dim::All),
                store.gauges(Dim::Rep),
                store.day_counts(Dim::All, from, to),
                store.day_counts(Dim::Series, from, to),
                store.day_counts(Dim::Spam, from, to),
            )?;
            // A manager's health: their people and queues; the nurture
            // series, spam and dead letters are ops' (left out).
            let (open_all, open_rep, breaches, series, spam) = match scope.is_company() {
                true => (open_all, open_rep, breaches, series, spam),
                false => (
                    gauge_total(&open_rep, &scope),
                    open_rep
                        .into_iter()
                        .filter(|(k, _)| scope.owner(k))
                        .collect(),
                    as_total(&store.day_counts(Dim::Rep, from, to).await?, &scope),
                    Vec::new(),
                    Vec::new(),
                ),
            };
            let mut overdue = Vec::new();
            for key in access::all_owner_keys(playbook)
                .into_iter()
                .filter(|k| scope.owner_key(k))
            {
                let tasks = store.open_tasks(&key, Some(now), 1000).await?;
                overdue.push((key, tasks.len() as i64));
            }
            let stranded = open_rep
                .iter()
                .filter_map(|(owner, m)| {
                    let open = m.get("open").copied().unwrap_or(0);
                    let untouched = m.get("untouched").copied().unwrap_or(0);
                    let why = (open > 0)
                        .then(|| stranded_why(owner, untouched > 0, playbook))
                        .flatten()?;
                    Some(Stranded {
                        owner: owner.clone(),
                        open,
                        why,
                    })
                })
                .collect();
            let s = &playbook.reports;
            Report::Health(reports::health(
                from,
                to,
                reports::HealthInput {
                    open_all: &open_all,
                    breaches: &breaches,
                    series: &series,
                    overdue,
                    stranded,
                    dead_letters: match scope.is_company() {
                        true => dead_letters.depths().await,
                        false => Vec::new(),
                    },
                    spam: &spam,
                    limits: reports::SeriesLimits {
                        unsubscribe_rate: s.max_unsubscribe_rate,
                        bounce_rate: s.max_bounce_rate,
                        complaint_rate: s.max_complaint_rate,
                    },
                },
            ))
        }
    })
}

/// Why nobody can act on leads held by `owner` (a counter value: a rep's id
/// or `queue:<name>`), or `None` when someone can. A queue is stranded when
/// leads on it wait for a first touch (their route has an SLA) and no
/// manager works it and no address hears of it; program queues (self-serve,
/// nurture) are worked by automation.
pub fn stranded_why(owner: &str, awaiting_touch: bool, playbook: &Playbook) -> Option<String> {
    if owner == NONE {
        return Some("no owner".into());
    }
    if let Some(queue) = owner.strip_prefix("queue:") {
        if !playbook.queues.iter().any(|q| q.name == queue) {
            return Some(format!("queue {queue} is no longer in the playbook"));
        }
        let managed = playbook
            .reps
            .iter()
            .any(|r| r.role == Role::Manager && r.manages.iter().any(|m| m == queue));
        let heard = playbook
            .queues
            .iter()
            .any(|q| q.name == queue && q.email.is_some());
        return (awaiting_touch && !managed && !heard).then(|| {
            format!(
                "leads on queue {queue} wait for a call, and no manager or address hears of them"
            )
        });
    }
    match playbook.rep(owner) {
        None => Some(format!("{owner} is no longer in the playbook")),
        Some(r) if r.away => Some(format!("{} is away", r.name)),
        Some(r) if !r.role.owns_leads() => Some(format!("{} does not work leads", r.name)),
        Some(_) => None,
    }
}
