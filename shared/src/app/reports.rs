//! The reports use case: read the counters a report needs (never the leads),
//! and add them up with [`crate::domain::reports`].
//!
//! Managers and ops see the reports; reps, field sellers and partners do not.

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
    let (from, to) = (q.from, q.to);
    Ok(match name {
        ReportName::Funnel => {
            let rows = store.day_counts(q.by, from, to).await?;
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
            let mut overdue = Vec::new();
            for key in access::all_owner_keys(playbook) {
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
                    dead_letters: dead_letters.depths().await,
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
