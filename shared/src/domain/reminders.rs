//! What the reminders function decides on a tick: which tasks to remind
//! their owners of, which to escalate to a manager, and which untouched leads
//! breach their first-touch SLA (escalate, then reassign). Pure: the tick's
//! time is an input.

use super::decision::Owner;
use super::lead::Lead;
use super::playbook::{Playbook, Rep, Role};
use super::task::{Task, TaskNotice};
use chrono::{DateTime, Utc};

/// The managers who hear of an owner's overdue work: those who manage the
/// owner's pool, or the queue.
pub fn managers_of<'p>(owner: &Owner, playbook: &'p Playbook) -> Vec<&'p Rep> {
    playbook
        .reps
        .iter()
        .filter(|m| m.role == Role::Manager)
        .filter(|m| {
            m.manages.iter().any(|name| match owner {
                Owner::Queue { name: q, .. } => q == name,
                Owner::Rep { id, .. } => playbook
                    .pool(name)
                    .is_some_and(|p| p.reps.iter().any(|r| r == id)),
            })
        })
        .collect()
}

/// Open tasks due by `now` that their owner has not been reminded of.
pub fn to_remind(tasks: &[Task], now: DateTime<Utc>) -> Vec<&Task> {
    tasks
        .iter()
        .filter(|t| t.is_open() && t.due_at <= now && TaskNotice::Reminded.of(t).is_none())
        .collect()
}

/// Open tasks overdue past the playbook's grace (in their owner's working
/// time), not yet escalated.
pub fn to_escalate<'t>(
    tasks: &'t [Task],
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Vec<&'t Task> {
    let grace = playbook.reminders.overdue_grace_hours;
    // A tick passes one owner's tasks: their calendar is resolved once, not per task.
    let mut calendar: Option<(&Owner, super::calendar::Calendar)> = None;
    let mut out = Vec::new();
    for t in tasks {
        if !t.is_open() || TaskNotice::Escalated.of(t).is_some() || t.due_at > now {
            continue;
        }
        if calendar
            .as_ref()
            .is_none_or(|(owner, _)| *owner != &t.owner)
        {
            calendar = Some((&t.owner, playbook.calendar_of(&t.owner)));
        }
        if let Some((_, c)) = &calendar {
            if c.add_hours(t.due_at, grace) <= now {
                out.push(t);
            }
        }
    }
    out
}

/// What a lead's first-touch clock asks for at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStep {
    /// The SLA ran out untouched: tell the owner's managers.
    Escalate,
    /// Still untouched a window after the escalation: hand it to someone else.
    Reassign,
}

pub fn sla_step(lead: &Lead, now: DateTime<Utc>) -> Option<SlaStep> {
    let clock = lead.sla.as_ref()?;
    if lead.first_touch.is_some() || lead.status.is_closed() || clock.check_at > now {
        return None;
    }
    Some(match clock.escalated_at {
        None => SlaStep::Escalate,
        Some(_) => SlaStep::Reassign,
    })
}

/// Who takes over a lead whose owner let its SLA run out twice: the next
/// available rep of the owner's pool who has not let it run out before
/// (`turn` picks among them), else the fallback queue; the fallback queue
/// too once it has been reassigned the playbook's number of times (no
/// ping-pong between two reps). With the reason.
pub fn sla_successor(
    lead: &Lead,
    playbook: &Playbook,
    turn: u64,
) -> (Owner, Option<String>, String) {
    let current = lead.owner();
    let passed: &[String] = lead.sla.as_ref().map_or(&[], |c| &c.passed_over);
    let max = playbook.reminders.max_sla_reassignments as usize;
    if passed.len() >= max {
        let fallback = playbook.fallback_owner();
        let why = format!(
            "reassigned {} time(s) already (the playbook's limit is {max}) → fallback queue {}",
            passed.len(),
            fallback.display_name()
        );
        return (fallback, None, why);
    }
    let held = |r: &Rep| {
        let key = r.owner().key();
        current.is_some_and(|c| c.key() == key) || passed.contains(&key)
    };
    let pool = lead
        .routing
        .as_ref()
        .and_then(|d| d.pool.as_deref())
        .and_then(|p| playbook.pool(p));
    if let Some(pool) = pool {
        let others: Vec<&Rep> = pool
            .reps
            .iter()
            .filter_map(|r| playbook.rep(r))
            .filter(|r| !r.away && !held(r))
            .collect();
        if !others.is_empty() {
            let rep = others[(turn % others.len() as u64) as usize];
            return (
                rep.owner(),
                Some(pool.name.clone()),
                format!("pool {} → next available rep → {}", pool.name, rep.name),
            );
        }
    }
    let fallback = playbook.fallback_owner();
    let why = format!(
        "nobody else available → fallback queue {}",
        fallback.display_name()
    );
    (fallback, None, why)
}
