//! The rep's side: what a signed-in person sees (their leads, a lead's whole
//! story, their tasks) and what they change (outcomes, status, owner).
//!
//! Who may see what is [`access`]; what a report does is [`followup`]. A lead
//! the caller may not see is answered exactly as one that does not exist.
//! Every change names the lead version it was made against: a stale one
//! changes nothing.

use super::outbox;
use super::route::HISTORY_WINDOW;
use super::transition;
use crate::domain::access::{all_owner_keys, may_reassign, may_see_lead, visible_owner_keys};
use crate::domain::decision::{Owner, Route, Stage};
use crate::domain::followup::{Change, OutcomeReport, Plan, Refused, StatusReport};
use crate::domain::ids::{LeadId, TaskId};
use crate::domain::lead::{HistoryEntry, Lead};
use crate::domain::outcome::LeadStatus;
use crate::domain::playbook::{Playbook, Rep};
use crate::domain::task::Task;
use crate::links::{use_key, Action, LinkError, LinkKey};
use crate::ports::{activity_key, LeadStore, Marker, Publisher, StoreError};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SalesError {
    /// No such lead, or not one the caller may see (the same answer).
    #[error("no such lead")]
    NotFound,
    /// The change was made against an older version of the lead.
    #[error("the lead changed since version {given}: it is at version {current}; reload it and try again")]
    Stale { given: u64, current: u64 },
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The caller may see the lead but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `GET /leads` filters on.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LeadFilter {
    pub stage: Option<Stage>,
    pub route: Option<Route>,
    pub status: Option<LeadStatus>,
    /// A person id or queue name (managers and ops).
    pub owner: Option<String>,
}

impl LeadFilter {
    fn holds(&self, lead: &Lead) -> bool {
        let d = lead.routing.as_ref();
        self.stage.is_none_or(|s| d.is_some_and(|d| d.stage == s))
            && self.route.is_none_or(|r| d.is_some_and(|d| d.route == r))
            && self.status.is_none_or(|s| lead.status == s)
    }
}

/// A page of leads, newest activity first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub leads: Vec<Lead>,
    pub next: Option<String>,
    /// The page stopped at its read budget: it may hold fewer than asked
    /// (even none), and `next` goes on from where it stopped.
    pub budget_spent: bool,
}

/// The most leads one page of `GET /leads` reads, over all the owners it
/// merges (issue 24, item 7): a selective filter costs a bounded read per
/// call, and the caller follows `next`.
pub const READ_BUDGET: usize = 1000;

/// The owner key a filter's `owner` names: a person's id or a queue's name.
pub fn owner_key(playbook: &Playbook, name: &str) -> Option<String> {
    if let Some(rep) = playbook.rep(name) {
        return Some(rep.owner().key());
    }
    playbook
        .queues
        .iter()
        .find(|q| q.name == name)
        .map(|q| playbook.queue_owner(&q.name).key())
}

/// The caller's visible leads, newest activity first.
pub async fn list_leads<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    caller: &Rep,
    filter: &LeadFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Listing, SalesError> {
    let visible = visible_owner_keys(caller, playbook).unwrap_or_else(|| all_owner_keys(playbook));
    let keys: Vec<String> = match &filter.owner {
        Some(name) => match owner_key(playbook, name) {
            Some(k) if visible.contains(&k) => vec![k],
            // Someone the caller cannot see (or nobody): nothing, not an error.
            _ => Vec::new(),
        },
        None => visible,
    };
    // Each owner's leads come newest first: merge them, a page at a time,
    // filtering as we go, within a read budget shared by the owners. An
    // owner whose share runs out stops at a frontier (the last lead read):
    // everything newer than the newest frontier was read for every owner,
    // so the page keeps what is at or after it and `next` resumes there.
    let limit = limit.clamp(1, 200);
    let share = (READ_BUDGET / keys.len().max(1)).max(limit + 1);
    let mut found: Vec<Lead> = Vec::new();
    let mut frontier: Option<String> = None;
    for key in &keys {
        let mut cursor = after.map(str::to_string);
        let (mut kept, mut read) = (0, 0);
        loop {
            let page = store
                .leads_by_owner(key, cursor.as_deref(), limit.max(25).min(share - read))
                .await?;
            read += page.leads.len();
            let last = page.leads.last().map(activity_key);
            for lead in page.leads {
                if filter.holds(&lead) {
                    found.push(lead);
                    kept += 1;
                }
            }
            match page.next {
                Some(_) if kept > limit => break,
                Some(_) if read >= share => {
                    if last > frontier {
                        frontier = last;
                    }
                    break;
                }
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
    }
    found.sort_by_key(|l| std::cmp::Reverse(activity_key(l)));
    found.dedup_by(|a, b| a.id == b.id);
    if let Some(f) = &frontier {
        // Older than the newest frontier: not every owner was read that
        // far; the next page reads it again.
        found.retain(|l| activity_key(l) >= *f);
    }
    let more = found.len() > limit;
    found.truncate(limit);
    let next = match (more, &frontier) {
        (true, _) => found.last().map(activity_key),
        (false, Some(f)) => Some(f.clone()),
        (false, None) => None,
    };
    Ok(Listing {
        budget_spent: frontier.is_some() && !more,
        next,
        leads: found,
    })
}

/// A lead with everything that happened to it, for its page.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadView {
    pub lead: Lead,
    /// A page of its history, oldest first: the latest entries, or those
    /// before the cursor asked for.
    pub history: Vec<HistoryEntry>,
    /// The cursor of the page before this one (older entries), if any.
    pub history_next: Option<String>,
    pub tasks: Vec<Task>,
}

/// History entries on a lead's page: the first page stays small however long
/// the lead's story; older ones come a page at a time.
pub const HISTORY_PAGE: usize = 50;
/// The most a caller may ask for in one page.
pub const MAX_HISTORY_PAGE: usize = 200;

async fn visible_lead<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    caller: &Rep,
    id: &LeadId,
) -> Result<Lead, SalesError> {
    match store.lead(id).await? {
        Some(lead) if may_see_lead(caller, &lead, playbook) => Ok(lead),
        _ => Err(SalesError::NotFound),
    }
}

/// The lead's page: the lead, `limit` entries of its history (the latest,
/// or those before the cursor `before`), its tasks.
pub async fn lead_view<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    caller: &Rep,
    id: &LeadId,
    before: Option<&str>,
    limit: usize,
) -> Result<LeadView, SalesError> {
    let lead = visible_lead(store, playbook, caller, id).await?;
    let limit = limit.clamp(1, MAX_HISTORY_PAGE);
    // One more than the page: whether there is a page before it.
    let mut history = store.history_before(id, before, limit + 1).await?;
    let history_next = match history.len() > limit {
        true => {
            history.truncate(limit);
            history.last().map(HistoryEntry::key)
        }
        false => None,
    };
    history.reverse();
    let tasks = store.tasks(id).await?;
    Ok(LeadView {
        lead,
        history,
        history_next,
        tasks,
    })
}

/// An unsubscribe link's POST (its token checked by the caller): the address
/// on the suppression ledger, so no marketing mail goes to it again (the
/// first reason recorded stands: a complaint is not downgraded).
pub async fn unsubscribe<S: LeadStore>(
    store: &S,
    email: &crate::EmailAddress,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let entry = crate::ports::Suppression {
        reason: crate::ports::SuppressionReason::Unsubscribed,
        at: now,
        detail: Some("unsubscribe link".into()),
    };
    store.suppress(email, &entry).await
}

/// Where a page of tasks ends: the last task's due time and id.
pub fn task_cursor(t: &Task) -> String {
    format!("{}#{}", t.due_at.to_rfc3339(), t.id)
}

fn parse_task_cursor(c: &str) -> Option<(DateTime<Utc>, TaskId)> {
    let (due, id) = c.rsplit_once('#')?;
    let due = DateTime::parse_from_rfc3339(due).ok()?.with_timezone(&Utc);
    Some((due, TaskId::parse(id).ok()?))
}

/// A page of tasks, and the cursor of the next (`None`: the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub next: Option<String>,
}

/// The caller's open tasks, earliest due first (a manager's include their
/// queues'), a page at a time: `after` is the last page's `next`.
pub async fn list_tasks<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    caller: &Rep,
    due_before: Option<DateTime<Utc>>,
    after: Option<&str>,
    limit: usize,
) -> Result<TaskPage, SalesError> {
    let after = match after {
        Some(c) => Some(parse_task_cursor(c).ok_or_else(|| {
            SalesError::Refused(Refused {
                code: "invalid_field",
                field: Some("next"),
                message: "next is not a cursor this API gave".into(),
            })
        })?),
        None => None,
    };
    let mut keys = vec![caller.owner().key()];
    for m in &caller.manages {
        if playbook.pool(m).is_none() {
            keys.push(playbook.queue_owner(m).key());
        }
    }
    let limit = limit.clamp(1, 500);
    let mut tasks = Vec::new();
    for key in keys {
        // One more than the page: whether there is a next.
        tasks.extend(match &after {
            Some((due, id)) => {
                store
                    .open_tasks_after(&key, (*due, id), due_before, limit + 1)
                    .await?
            }
            None => store.open_tasks(&key, due_before, limit + 1).await?,
        });
    }
    tasks.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    let more = tasks.len() > limit;
    tasks.truncate(limit);
    let next = more.then(|| tasks.last().map(task_cursor)).flatten();
    Ok(TaskPage { tasks, next })
}

/// What a change left: the lead at its new version, its open tasks, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub lead: Lead,
    pub tasks: Vec<Task>,
    pub reasons: Vec<String>,
}

/// The lead, checked for visibility and version, with its tasks and recent history.
async fn load_for_change<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    caller: &Rep,
    id: &LeadId,
    version: u64,
) -> Result<(Lead, Vec<Task>, Vec<HistoryEntry>), SalesError> {
    let lead = visible_lead(store, playbook, caller, id).await?;
    if lead.version != version {
        return Err(SalesError::Stale {
            given: version,
            current: lead.version,
        });
    }
    let tasks = store.tasks(id).await?;
    let history = store.recent_history(id, HISTORY_WINDOW).await?;
    Ok((lead, tasks, history))
}

/// What a change is written against: the lead as it was read, and its tasks.
struct Before {
    version: u64,
    tasks: Vec<Task>,
}

impl Before {
    fn of(lead: &Lead, tasks: &[Task]) -> Self {
        Before {
            version: lead.version,
            tasks: tasks.to_vec(),
        }
    }
}

/// Write a change, all or nothing; a new owner with a mailbox is sent the
/// lead package (through the outbox, in the same transaction).
async fn write<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    before: Before,
    change: Change,
    marker: Option<Marker>,
    now: DateTime<Utc>,
) -> Result<Applied, SalesError> {
    let Before {
        version,
        tasks: all_tasks_before,
    } = before;
    let notice = transition::handoff_notice(&change, now);
    let reasons = change.reasons.clone();
    let tasks = change.tasks.clone();
    let commit = transition::commit(change, version, notice.clone(), marker);
    let lead = commit
        .lead
        .as_ref()
        .map(|(l, _)| l.clone())
        .expect("the lead");
    match store.commit(commit).await {
        Ok(()) => outbox::flush(store, publisher, &notice).await,
        Err(StoreError::Conflict) => {
            let current = store
                .lead(&lead.id)
                .await?
                .map(|l| l.version)
                .unwrap_or(version);
            // Someone else changed the lead: the rep decides again. Else the
            // race was on a shared item (a counter, a rep's load): the same
            // change is tried again ([`retried`]).
            return Err(match current == version {
                true => SalesError::Store(StoreError::Conflict),
                false => SalesError::Stale {
                    given: version,
                    current,
                },
            });
        }
        Err(e) => return Err(e.into()),
    }
    // The open tasks after the change: those before, as changed.
    let changed: Vec<_> = tasks.iter().map(|t| t.id.clone()).collect();
    let mut open: Vec<Task> = all_tasks_before
        .into_iter()
        .filter(|t| !changed.contains(&t.id))
        .chain(tasks)
        .filter(Task::is_open)
        .collect();
    open.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    tracing::info!(lead_id = %lead.id, version = lead.version, reasons = %reasons.join("; "), "changed by a person");
    Ok(Applied {
        lead,
        tasks: open,
        reasons,
    })
}

/// Runs a change again while it loses only races on shared items (the
/// counters, the reps' loads: a store `Conflict` with the lead unchanged),
/// with backoff; a change of the lead itself stays a [`SalesError::Stale`].
async fn retried<T, F, Fut>(mut change: F) -> Result<T, SalesError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SalesError>>,
{
    for attempt in 0..super::retry::ATTEMPTS {
        match change().await {
            Err(SalesError::Store(StoreError::Conflict)) => super::retry::backoff(attempt).await,
            other => return other,
        }
    }
    Err(SalesError::Store(StoreError::Conflict))
}

#[allow(clippy::too_many_arguments)]
pub async fn record_outcome<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    caller: &Rep,
    id: &LeadId,
    version: u64,
    report: &OutcomeReport,
    now: DateTime<Utc>,
) -> Result<Applied, SalesError> {
    retried(|| async {
        let (lead, tasks, history) = load_for_change(store, playbook, caller, id, version).await?;
        let plan = Plan::outcome(&lead, &history, &tasks, report, caller, playbook, now)?;
        let change = transition::settle(store, plan).await?;
        let before = Before::of(&lead, &tasks);
        write(store, publisher, before, change, None, now).await
    })
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn change_status<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    caller: &Rep,
    id: &LeadId,
    version: u64,
    report: &StatusReport,
    now: DateTime<Utc>,
) -> Result<Applied, SalesError> {
    retried(|| async {
        let (lead, tasks, history) = load_for_change(store, playbook, caller, id, version).await?;
        let plan = Plan::status(&lead, &history, &tasks, report, caller, playbook, now)?;
        let change = transition::settle(store, plan).await?;
        let before = Before::of(&lead, &tasks);
        write(store, publisher, before, change, None, now).await
    })
    .await
}

/// Hand the lead to `to` (a person's id or a queue's name): its owner, a
/// manager of its pool or queue, or ops.
#[allow(clippy::too_many_arguments)]
pub async fn assign<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    caller: &Rep,
    id: &LeadId,
    version: u64,
    to: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Applied, SalesError> {
    let (lead, _, _) = load_for_change(store, playbook, caller, id, version).await?;
    if !may_reassign(caller, lead.owner(), playbook) {
        return Err(SalesError::Forbidden(
            "only the lead's owner, a manager of its pool or queue, or ops may reassign it".into(),
        ));
    }
    let target: Owner = match playbook.rep(to) {
        Some(rep) if rep.role.owns_leads() => rep.owner(),
        Some(rep) => {
            return Err(Refused {
                code: "invalid_field",
                field: Some("owner"),
                message: format!(
                    "{} is a {}: leads go to reps, field sales, partners or queues",
                    rep.id, rep.role
                ),
            }
            .into())
        }
        None if playbook.queues.iter().any(|q| q.name == to) => playbook.queue_owner(to),
        None => {
            return Err(Refused {
                code: "invalid_field",
                field: Some("owner"),
                message: format!("{to:?} is neither a person nor a queue of the playbook"),
            }
            .into())
        }
    };
    retried(|| async {
        let (lead, tasks, _) = load_for_change(store, playbook, caller, id, version).await?;
        let plan = Plan::reassign(&lead, &tasks, target.clone(), reason, caller, playbook, now)?;
        let change = transition::settle(store, plan).await?;
        let before = Before::of(&lead, &tasks);
        write(store, publisher, before, change, None, now).await
    })
    .await
}

/// What became of a signed action link.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkResult {
    Applied {
        lead: Lead,
        action: Action,
        reasons: Vec<String>,
    },
    /// Applied before (a second click, a retry): nothing more happened.
    AlreadyApplied { lead: Lead, action: Action },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkFailure {
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The lead is gone, or no longer the link's person's to act on.
    #[error("this lead is no longer yours to update from this link; sign in to see it")]
    NotYours,
    #[error(transparent)]
    Sales(#[from] SalesError),
}

/// What a link would do, for its confirmation page (a GET changes nothing).
pub async fn inspect_link<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    key: &LinkKey,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Lead, Action, bool), LinkFailure> {
    let link = key.verify(token, now)?;
    let person = playbook.rep(&link.person).ok_or(LinkFailure::NotYours)?;
    let lead = match store.lead(&link.lead_id).await.map_err(SalesError::from)? {
        Some(lead) if may_see_lead(person, &lead, playbook) => lead,
        _ => return Err(LinkFailure::NotYours),
    };
    let used = store
        .marker_exists(&link_marker(&lead.id, token))
        .await
        .map_err(SalesError::from)?;
    Ok((lead, link.action, used))
}

fn link_marker(lead: &LeadId, token: &str) -> Marker {
    Marker {
        lead_id: lead.clone(),
        step: "link",
        key: use_key(token),
    }
}

/// Apply a signed link (its confirmation page's POST): once, whatever the clicks.
pub async fn apply_link<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    key: &LinkKey,
    token: &str,
    now: DateTime<Utc>,
) -> Result<LinkResult, LinkFailure> {
    let link = key.verify(token, now)?;
    let person = playbook.rep(&link.person).ok_or(LinkFailure::NotYours)?;
    // A concurrent change takes the lead's version first: read it again and
    // apply to the new one (the link names no version: it acts on the lead as it is).
    for attempt in 0..super::retry::ATTEMPTS {
        let (lead, action, used) = inspect_link(store, playbook, key, token, now).await?;
        if used {
            return Ok(LinkResult::AlreadyApplied { lead, action });
        }
        let version = lead.version;
        let (lead, tasks, history) =
            load_for_change(store, playbook, person, &lead.id, version).await?;
        let plan = match action {
            Action::Outcome(o) => {
                let report = OutcomeReport {
                    via_link: true,
                    ..OutcomeReport::new(o)
                };
                Plan::outcome(&lead, &history, &tasks, &report, person, playbook, now)
            }
            Action::Status(st) => {
                let report = StatusReport {
                    via_link: true,
                    ..StatusReport::new(st)
                };
                Plan::status(&lead, &history, &tasks, &report, person, playbook, now)
            }
        }
        .map_err(SalesError::from)?;
        let change = transition::settle(store, plan)
            .await
            .map_err(SalesError::from)?;
        let before = Before::of(&lead, &tasks);
        let marker = Some(link_marker(&lead.id, token));
        match write(store, publisher, before, change, marker, now).await {
            Ok(applied) => {
                return Ok(LinkResult::Applied {
                    lead: applied.lead,
                    action,
                    reasons: applied.reasons,
                })
            }
            Err(SalesError::Stale { .. }) => continue,
            Err(SalesError::Store(StoreError::Conflict)) => {
                super::retry::backoff(attempt).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(SalesError::Store(StoreError::Conflict).into())
}
