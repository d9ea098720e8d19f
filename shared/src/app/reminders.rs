//! The reminders tick: every owner is told, in one email, of the tasks that
//! fell due; a task overdue past the playbook's grace goes to the owner's
//! managers; a lead nobody touched within its route's SLA is escalated to
//! them, and reassigned when still untouched a window later. Each of these
//! happens once, whatever the ticks, retries and overlaps: a task's notice and
//! a lead's escalation are claimed before the email and recorded after it.

use super::{outbox, transition};
use crate::domain::decision::Owner;
use crate::domain::lead::{Event, HistoryEntry, Lead};
use crate::domain::playbook::{Playbook, Rep, Role};
use crate::domain::reminders::{
    managers_of, sla_step, sla_successor, to_escalate, to_remind, SlaStep,
};
use crate::domain::task::{Task, TaskNotice};
use crate::domain::transition::{series, Plan};
use crate::email;
use crate::ports::{LeadStore, MailError, Mailer, Publisher, SendClaim, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

/// How long a claimed notice waits for its email before another tick may take it.
pub const NOTICE_LEASE: Duration = Duration::seconds(200);
/// Most leads per index shard in one tick (and tasks in a digest).
pub const PER_TICK: usize = 500;
/// Most due tasks read per owner in one tick. Tasks already reminded and
/// escalated stay in the owner's index while open: reading only the earliest
/// 500 would leave an owner with 500 stale tasks never reminded of a new one,
/// so the tick reads past them (the deadline still bounds it).
pub const DUE_PER_OWNER: usize = 10_000;

/// The most tasks one email lists (the rest are counted, "and N more"): a
/// person reads the first screen, and each row reads its lead.
pub const LISTED: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Reminder emails sent, and the tasks they listed.
    pub reminders: usize,
    pub tasks_reminded: usize,
    /// Morning digests: each person with tasks that day, at their local morning.
    pub digests: usize,
    /// Escalation emails to managers, the overdue tasks and SLA breaches they listed.
    pub escalations: usize,
    pub tasks_escalated: usize,
    pub leads_escalated: usize,
    pub leads_reassigned: usize,
    /// Sends or writes that failed; their claims lapse and a later tick retries them.
    pub failed: usize,
    /// Stopped before the invocation's deadline, with work left for the next tick.
    pub stopped_early: bool,
}

/// Who the reminders function acts as in a lead's history.
fn system() -> Rep {
    Rep {
        id: "reminders".into(),
        name: "the reminders function".into(),
        email: String::new(),
        role: Role::Ops,
        manages: Vec::new(),
        away: false,
        time_zone: None,
        calendar: None,
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Whether the invocation's `deadline` (less the outbox's margin) is near.
fn out_of_time(deadline: Option<std::time::SystemTime>) -> bool {
    deadline.is_some_and(|d| std::time::SystemTime::now() + outbox::DEADLINE_MARGIN >= d)
}

/// The tick. Each owner's tasks and each lead past its SLA are handled on
/// their own: a failed read, write or email is counted and logged (its
/// claims lapse, and a later tick takes it again), never the end of the
/// tick. Escalations come first and each goes out as soon as it is found,
/// so a long backlog of reminders never holds one back; the tick stops
/// before `deadline` with the rest left for the next one.
pub async fn tick<S: LeadStore, M: Mailer, P: Publisher>(
    store: &S,
    mailer: &M,
    publisher: &P,
    playbook: &Playbook,
    deadline: Option<std::time::SystemTime>,
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
) -> Result<TickReport, StoreError> {
    let mut report = TickReport::default();
    // Decisions are the event's (`now`: what fell due by then); claims and
    // their leases are the real time's, whichever is later: a retry of an old
    // event holds what it claims as long as a fresh tick would, so a tick
    // running beside it never takes a claim it is still using.
    let claim_now = now.max(wall);
    let owners: Vec<Owner> = playbook
        .reps
        .iter()
        .filter(|r| r.role.owns_leads())
        .map(Rep::owner)
        .chain(
            playbook
                .queues
                .iter()
                .filter(|q| q.email.is_some())
                .map(|q| playbook.queue_owner(&q.name)),
        )
        .collect();

    // 1. Untouched leads past their SLA, through the index: escalated to
    //    the owner's managers, or reassigned a window later.
    let breached = match store
        .sla_due(now + Duration::milliseconds(1), PER_TICK)
        .await
    {
        Ok(leads) => leads,
        Err(e) => {
            tracing::warn!(error = %e, "the SLA index could not be read; a later tick retries");
            report.failed += 1;
            Vec::new()
        }
    };
    for lead in breached {
        if out_of_time(deadline) {
            report.stopped_early = true;
            return Ok(report);
        }
        let done = match sla_step(&lead, now) {
            Some(SlaStep::Escalate) => {
                escalate_lead(store, mailer, playbook, &lead, now, claim_now, &mut report).await
            }
            Some(SlaStep::Reassign) => {
                match reassign(store, mailer, publisher, playbook, &lead, now, claim_now).await {
                    Ok(true) => {
                        report.leads_reassigned += 1;
                        Ok(())
                    }
                    Ok(false) => Ok(()),
                    // Someone acted on it first: the next tick looks again.
                    Err(StoreError::Conflict) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            None => Ok(()),
        };
        if let Err(e) = done {
            tracing::warn!(lead_id = %lead.id, error = %e, "SLA step not done; a later tick retries");
            report.failed += 1;
        }
    }

    // 2. Each owner's tasks that fell due (one reminder), and those overdue
    //    past the grace (to the managers, at once).
    for owner in &owners {
        if out_of_time(deadline) {
            report.stopped_early = true;
            return Ok(report);
        }
        if let Err(e) =
            owner_tasks(store, mailer, playbook, owner, now, claim_now, &mut report).await
        {
            tracing::warn!(owner = %owner.key(), error = %e, "tasks not all handled; a later tick retries");
            report.failed += 1;
        }
    }

    // 3. The morning digest, at each person's own local morning.
    for owner in &owners {
        if out_of_time(deadline) {
            report.stopped_early = true;
            return Ok(report);
        }
        match digest(store, mailer, playbook, owner, now, claim_now).await {
            Ok(true) => report.digests += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(owner = %owner.key(), error = %e, "digest not sent; a later tick retries");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// One owner's due tasks: the reminder, then the escalation of the overdue.
async fn owner_tasks<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    playbook: &Playbook,
    owner: &Owner,
    now: DateTime<Utc>,
    claim_now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let due = store
        .open_tasks(
            &owner.key(),
            Some(now + Duration::milliseconds(1)),
            DUE_PER_OWNER,
        )
        .await?;
    if due.is_empty() {
        return Ok(());
    }
    let mut claimed = Vec::new();
    for t in to_remind(&due, now) {
        if store
            .claim_task_notice(t, TaskNotice::Reminded, claim_now, claim_now + NOTICE_LEASE)
            .await?
        {
            claimed.push(t.clone());
        }
    }
    if !claimed.is_empty() {
        let sent = match owner.email() {
            Some(to) => {
                // The latest first: what just fell due is the news.
                let mut listed: Vec<Task> = claimed.clone();
                listed.sort_by(|a, b| (b.due_at, &b.id).cmp(&(a.due_at, &a.id)));
                listed.truncate(LISTED);
                let rows = task_rows(store, &listed, now).await;
                let data = json!({
                    "company": playbook.company.name,
                    "name": owner.display_name(),
                    "count": claimed.len(),
                    "tasks": rows,
                    "more": claimed.len() - listed.len(),
                });
                let subject = format!(
                    "{} task{} due",
                    claimed.len(),
                    if claimed.len() == 1 { "" } else { "s" }
                );
                send(mailer, email::TASK_REMINDER, &subject, &data, to).await
            }
            None => Ok(()),
        };
        match sent {
            Ok(()) => {
                for t in &claimed {
                    store
                        .complete_task_notice(t, TaskNotice::Reminded, now)
                        .await?;
                }
                report.reminders += 1;
                report.tasks_reminded += claimed.len();
            }
            Err(e) => {
                tracing::warn!(owner = %owner.key(), error = %e, "reminder not sent; a later tick retries");
                report.failed += 1;
            }
        }
    }
    let managers = managers_of(owner, playbook);
    if managers.is_empty() {
        return Ok(());
    }
    let mut overdue = Vec::new();
    for t in to_escalate(&due, playbook, now) {
        if store
            .claim_task_notice(
                t,
                TaskNotice::Escalated,
                claim_now,
                claim_now + NOTICE_LEASE,
            )
            .await?
        {
            let mut row = task_row(store, t, now).await;
            row["owner"] = json!(owner.display_name());
            overdue.push((t.clone(), row));
        }
    }
    if overdue.is_empty() {
        return Ok(());
    }
    // Each manager is told of each task once, under claims of their own: a
    // failed email to one leaves those tasks to a later tick, which tells
    // only the managers not yet told.
    let mut everyone_told = true;
    for m in &managers {
        match tell_manager_of_tasks(store, mailer, playbook, m, &overdue, claim_now).await {
            Ok(sent) => report.escalations += usize::from(sent),
            Err(e) => {
                tracing::warn!(manager = %m.id, error = %e, "escalation not sent; a later tick retries");
                report.failed += 1;
                everyone_told = false;
            }
        }
    }
    if everyone_told {
        for (t, _) in &overdue {
            store
                .complete_task_notice(t, TaskNotice::Escalated, now)
                .await?;
            report.tasks_escalated += 1;
        }
    }
    Ok(())
}

/// The overdue tasks manager `m` has not been told of, in one email: each
/// task's claim for them is taken first and recorded done after the email.
async fn tell_manager_of_tasks<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    playbook: &Playbook,
    m: &Rep,
    overdue: &[(Task, Value)],
    claim_now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut keys = Vec::new();
    let mut rows = Vec::new();
    for (t, row) in overdue {
        let key = format!("escalate#{}#{}", t.id.as_str(), m.id);
        if store
            .claim_once(&key, claim_now, claim_now + NOTICE_LEASE)
            .await?
        {
            keys.push(key);
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Ok(false);
    }
    send_escalation(mailer, playbook, m, &rows, &[]).await?;
    for key in &keys {
        store.finish_once(key).await?;
    }
    Ok(true)
}

/// A lead past its SLA, escalated to each of its owner's managers (each
/// once, under a claim of their own), then its clock moved on.
async fn escalate_lead<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    playbook: &Playbook,
    lead: &Lead,
    now: DateTime<Utc>,
    claim_now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let Some(owner) = lead.owner().cloned() else {
        return Ok(());
    };
    let managers = managers_of(&owner, playbook);
    let key = sla_key(lead);
    match store
        .claim_send(&lead.id, &key, claim_now, claim_now + NOTICE_LEASE)
        .await?
    {
        SendClaim::InFlight => return Ok(()),
        SendClaim::AlreadySent { .. } => {
            // Told before; only the clock was not moved on.
            return record_escalation(store, playbook, lead, now, report).await;
        }
        SendClaim::Claimed => {}
    }
    let d = lead.routing.as_ref();
    let row = json!({
        "lead": lead.display_name(),
        "company": lead.contact.company,
        "lead_id": lead.id.as_str(),
        "owner": owner.display_name(),
        "route": d.map(|d| d.route.as_str()),
        "due": lead.sla.as_ref().map(|c| when(c.due)),
        "next": format!(
            "Reassigned automatically in {} unless someone records an outcome.",
            playbook
                .calendar_of(&owner)
                .hours_label(playbook.reminders.reassign_after_hours)
        ),
    });
    let mut told = Vec::new();
    let mut everyone_told = true;
    for m in &managers {
        let once = format!("{key}#{}#{}", lead.id, m.id);
        match tell_manager(store, mailer, playbook, m, &once, &[&row], claim_now).await {
            Ok(sent) => {
                report.escalations += usize::from(sent);
                told.push(m.id.clone());
            }
            Err(e) => {
                tracing::warn!(manager = %m.id, lead_id = %lead.id, error = %e, "escalation not sent; a later tick retries");
                report.failed += 1;
                everyone_told = false;
            }
        }
    }
    if !everyone_told {
        // The lead's claim lapses: a later tick tells those not told yet
        // (each manager's own claim keeps the others from a second email).
        return Ok(());
    }
    let entry = escalation_entry(lead, &owner, &told, now);
    let outcome = if managers.is_empty() {
        "nobody"
    } else {
        "escalated"
    };
    store
        .complete_send(&lead.id, &key, outcome, entry, None)
        .await?;
    record_escalation(store, playbook, lead, now, report).await
}

/// One escalation email to manager `m`, once per `key`: `Ok(true)` when it
/// went now, `Ok(false)` when it went before (or is going in another tick),
/// else the error (the claim lapses, and a later tick sends it).
async fn tell_manager<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    playbook: &Playbook,
    m: &Rep,
    key: &str,
    leads: &[&Value],
    claim_now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !store
        .claim_once(key, claim_now, claim_now + NOTICE_LEASE)
        .await?
    {
        return Ok(false);
    }
    send_escalation(mailer, playbook, m, &[], leads).await?;
    store.finish_once(key).await?;
    Ok(true)
}

/// The escalation email: the overdue tasks and the leads past their SLA.
async fn send_escalation<M: Mailer>(
    mailer: &M,
    playbook: &Playbook,
    m: &Rep,
    tasks: &[&Value],
    leads: &[&Value],
) -> Result<(), StoreError> {
    let data = json!({
        "company": playbook.company.name,
        "name": m.name,
        "tasks": tasks,
        "leads": leads,
        "task_count": tasks.len(),
        "lead_count": leads.len(),
    });
    let subject = format!(
        "Needs you: {} overdue task{}, {} lead{} past the SLA",
        tasks.len(),
        if tasks.len() == 1 { "" } else { "s" },
        leads.len(),
        if leads.len() == 1 { "" } else { "s" },
    );
    send(mailer, email::ESCALATION, &subject, &data, &m.email)
        .await
        .map_err(|e| StoreError::Unavailable(format!("the escalation email: {e}")))
}

/// A person's digest of the day's tasks, once, in the tick that falls in
/// their `digest_hour` (their own time zone) on a business day.
async fn digest<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    playbook: &Playbook,
    owner: &Owner,
    now: DateTime<Utc>,
    claim_now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use crate::domain::tz::Zone;
    use chrono::Timelike;
    let Owner::Rep { id, email, .. } = owner else {
        return Ok(false);
    };
    let tz = playbook
        .rep(id)
        .and_then(|r| r.time_zone.as_deref())
        .and_then(Zone::get)
        .unwrap_or_else(Zone::utc);
    let local = tz.local(now);
    // Only on the person's working days: no digest at the weekend or on
    // their calendar's holidays.
    if local.hour() != playbook.reminders.digest_hour
        || !playbook.calendar_of(owner).is_working_day(local.date())
    {
        return Ok(false);
    }
    let date = local.date();
    let end_of_day = date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| tz.earliest(t))
        .unwrap_or(now + Duration::hours(24));
    let due = store
        .open_tasks(&owner.key(), Some(end_of_day), DUE_PER_OWNER)
        .await?;
    if due.is_empty() {
        return Ok(false);
    }
    // Today's tasks first (earliest first), then the overdue, most recent
    // first: a person with 600 stale tasks still sees today's at the top;
    // the rest are counted.
    let start_of_day = date
        .and_hms_opt(0, 0, 0)
        .and_then(|t| tz.earliest(t))
        .unwrap_or(now - Duration::hours(24));
    let (mut today, mut overdue): (Vec<Task>, Vec<Task>) =
        due.iter().cloned().partition(|t| t.due_at >= start_of_day);
    overdue.sort_by(|a, b| (b.due_at, &b.id).cmp(&(a.due_at, &a.id)));
    today.extend(overdue);
    today.truncate(LISTED);
    let more = due.len() - today.len();
    let key = format!("digest#{id}#{date}");
    if !store
        .claim_once(&key, claim_now, claim_now + NOTICE_LEASE)
        .await?
    {
        return Ok(false);
    }
    let rows = task_rows(store, &today, now).await;
    let data = json!({
        "company": playbook.company.name,
        "name": owner.display_name(),
        "count": due.len(),
        "tasks": rows,
        "more": more,
        "digest": true,
    });
    let subject = format!(
        "Your day: {} task{}",
        due.len(),
        if due.len() == 1 { "" } else { "s" }
    );
    match send(mailer, email::TASK_REMINDER, &subject, &data, email).await {
        Ok(()) => {
            store.finish_once(&key).await?;
            Ok(true)
        }
        // The claim's lease lapses; a later tick in the hour sends it.
        Err(e) => Err(StoreError::Unavailable(e.to_string())),
    }
}

/// The send key of a lead's SLA escalation (one per SLA deadline).
fn sla_key(lead: &Lead) -> String {
    format!(
        "sla#{}",
        lead.sla
            .as_ref()
            .map(|c| c.due.timestamp())
            .unwrap_or_default()
    )
}

fn escalation_entry(
    lead: &Lead,
    owner: &Owner,
    told: &[String],
    now: DateTime<Utc>,
) -> HistoryEntry {
    let due = lead.sla.as_ref().map(|c| c.due).unwrap_or(now);
    HistoryEntry::new(
        &lead.id,
        now,
        Event::SlaEscalated {
            owner: owner.clone(),
            due,
            told: told.to_vec(),
            reason: format!(
                "nobody touched the lead by {} (its route's SLA): escalated to {}",
                when(due),
                if told.is_empty() {
                    "nobody (no manager of this pool or queue)".to_string()
                } else {
                    told.join(", ")
                }
            ),
        },
    )
}

/// Move the lead's clock on past its escalation: reassignment is next.
async fn record_escalation<S: LeadStore>(
    store: &S,
    playbook: &Playbook,
    lead: &Lead,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let Some(fresh) = store.lead(&lead.id).await? else {
        return Ok(());
    };
    let Some(change) = series::escalated(&fresh, playbook, now) else {
        return Ok(());
    };
    match store
        .commit(transition::commit(change, fresh.version, Vec::new(), None))
        .await
    {
        Ok(()) => {
            report.leads_escalated += 1;
            Ok(())
        }
        // Changed meanwhile (a rep acted): the next tick weighs it again.
        Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Hand a lead whose SLA ran out twice to the next rep of its pool (or the
/// fallback queue), with its tasks, and send them the package.
async fn reassign<S: LeadStore, M: Mailer, P: Publisher>(
    store: &S,
    mailer: &M,
    publisher: &P,
    playbook: &Playbook,
    lead: &Lead,
    now: DateTime<Utc>,
    claim_now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(from) = lead.owner().cloned() else {
        return Ok(false);
    };
    let turn = match lead.routing.as_ref().and_then(|d| d.pool.as_deref()) {
        Some(pool) => store.take_turn(pool).await?,
        None => 0,
    };
    let (to, _, how) = sla_successor(lead, playbook, turn);
    let reason = format!(
        "untouched {} after its SLA breach was escalated: {how}",
        playbook
            .calendar_of(&from)
            .hours_label(playbook.reminders.reassign_after_hours)
    );
    // Whoever let it run out never gets it back from the SLA, and the
    // playbook's limit sends it to the fallback queue (no ping-pong).
    let mut passed_over = lead
        .sla
        .as_ref()
        .map(|c| c.passed_over.clone())
        .unwrap_or_default();
    passed_over.push(from.key());
    let tasks = store.tasks(&lead.id).await?;
    let change = match Plan::reassign(lead, &tasks, to.clone(), &reason, &system(), playbook, now) {
        Ok(plan) => {
            let plan = plan.sla_breached(reason.clone(), passed_over.clone());
            transition::settle(store, plan).await?
        }
        Err(_) => {
            // Nobody else to give it to (it is with the fallback already): stop the clock.
            let stopped = series::clock_stopped(lead);
            store
                .commit(transition::commit(stopped, lead.version, Vec::new(), None))
                .await?;
            return Ok(false);
        }
    };
    let to_fallback = to.key() == playbook.fallback_owner().key();
    let notice = transition::handoff_notice(&change, now);
    store
        .commit(transition::commit(
            change,
            lead.version,
            notice.clone(),
            None,
        ))
        .await?;
    outbox::flush(store, publisher, &notice).await;
    tracing::info!(lead_id = %lead.id, to = %to.key(), "reassigned after its SLA ran out");
    if to_fallback {
        // The fallback queue's managers hear at once: nobody in the pool took it.
        let row = json!({
            "lead": lead.display_name(),
            "company": lead.contact.company,
            "lead_id": lead.id.as_str(),
            "owner": to.display_name(),
            "route": lead.routing.as_ref().map(|d| d.route.as_str()),
            "due": lead.sla.as_ref().map(|c| when(c.due)),
            "next": format!("Moved to {} after {} SLA breach(es): {how}.", to.display_name(), passed_over.len()),
        });
        for m in managers_of(&to, playbook) {
            let once = format!("sla-fallback#{}#{}#{}", lead.id, lead.version, m.id);
            if let Err(e) =
                tell_manager(store, mailer, playbook, m, &once, &[&row], claim_now).await
            {
                tracing::warn!(manager = %m.id, lead_id = %lead.id, error = %e, "fallback notice not sent");
            }
        }
    }
    Ok(true)
}

async fn send<M: Mailer>(
    mailer: &M,
    template: &str,
    subject: &str,
    data: &Value,
    to: &str,
) -> Result<(), MailError> {
    let mail = email::compose(template, subject, data, to)
        .map_err(|e| MailError::Rejected(e.to_string()))?;
    match mailer.send(&mail).await {
        Ok(_) => Ok(()),
        // A refused address will not take it later either: counted as told.
        Err(MailError::Rejected(reason)) => {
            // Not the address: a person's, and logs keep none.
            tracing::warn!(template, reason = %crate::email::without_addresses(&reason), "reminder refused by the mail service");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A task as an email lists it, with its lead's name.
async fn task_row<S: LeadStore>(store: &S, t: &Task, now: DateTime<Utc>) -> Value {
    let lead = store.lead(&t.lead_id).await.ok().flatten();
    json!({
        "label": t.kind.label(),
        "reason": t.reason,
        "lead": lead.as_ref().map(Lead::display_name).unwrap_or_else(|| t.lead_id.to_string()),
        "company": lead.as_ref().and_then(|l| l.contact.company.clone()),
        "lead_id": t.lead_id.as_str(),
        "due": when(t.due_at),
        "overdue": t.due_at < now - Duration::hours(1),
    })
}

async fn task_rows<S: LeadStore>(store: &S, tasks: &[Task], now: DateTime<Utc>) -> Vec<Value> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(task_row(store, t, now).await);
    }
    out
}
