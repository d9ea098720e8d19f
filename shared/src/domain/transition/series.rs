//! The changes that keep a lead's owner and route: a nurtured lead's series
//! moving on (a step taken, deferred, the last one, or left), and an
//! untouched lead's first-touch clock escalated or stopped.

use super::Change;
use crate::domain::calendar::Calendar;
use crate::domain::lead::{Event, HistoryEntry, Lead};
use crate::domain::nurture::{step_due, trim_sent};
use crate::domain::playbook::{Playbook, Step};
use crate::domain::task::Task;
use chrono::{DateTime, Utc};

fn change(lead: Lead, events: Vec<HistoryEntry>, tasks: Vec<Task>) -> Change {
    Change {
        lead,
        events,
        tasks,
        loads: Vec::new(),
        reasons: Vec::new(),
        handed_to: None,
    }
}

fn left(lead: &mut Lead, reason: String, now: DateTime<Utc>) -> Option<HistoryEntry> {
    let series = lead.nurture.take()?.series;
    Some(HistoryEntry::new(
        &lead.id,
        now,
        Event::NurtureExited { series, reason },
    ))
}

/// The lead leaves its series (it no longer applies: another route, a close,
/// an unsubscribe, a bounce…), for `reason`.
pub fn exit(lead: &Lead, reason: String, now: DateTime<Utc>) -> Change {
    let mut lead = lead.clone();
    let events = left(&mut lead, reason, now).into_iter().collect();
    change(lead, events, Vec::new())
}

/// The step waits until `until` (the lead's next send window, or the
/// frequency cap clearing): nothing is dropped.
pub fn defer(lead: &Lead, until: DateTime<Utc>) -> Change {
    let mut lead = lead.clone();
    if let Some(n) = lead.nurture.as_mut() {
        n.next_at = until;
    }
    change(lead, Vec::new(), Vec::new())
}

/// The series' current step is done: its email went out (`sent_mail`), was
/// sent before the last write, or it is a call, which becomes a task for the
/// lead's owner due now. Then on to the next step, or out when it was the last.
pub fn step_taken(
    lead: &Lead,
    this: &Step,
    next: Option<&Step>,
    sent_mail: bool,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Change {
    let Some(e) = lead.nurture.clone() else {
        return change(lead.clone(), Vec::new(), Vec::new());
    };
    let mut updated = lead.clone();
    let mut events = Vec::new();
    let mut tasks = Vec::new();
    let what = match this.call {
        Some(kind) => {
            let owner = lead
                .owner()
                .cloned()
                .unwrap_or_else(|| playbook.fallback_owner());
            let task = Task::new(
                &lead.id,
                kind,
                owner,
                now,
                now,
                format!(
                    "{} — nurture series {}, step {}",
                    kind.label(),
                    e.series,
                    e.step + 1
                ),
            );
            events.push(HistoryEntry::new(
                &lead.id,
                now,
                Event::task_opened(&task, None),
            ));
            let what = format!("{} for {}", kind, task.owner.display_name());
            tasks.push(task);
            what
        }
        None => format!("email \"{}\"", this.subject.clone().unwrap_or_default()),
    };
    if sent_mail {
        updated.marketing_sent.push(now);
    }
    trim_sent(&mut updated.marketing_sent, playbook, now);
    events.push(HistoryEntry::new(
        &lead.id,
        now,
        Event::NurtureStep {
            series: e.series.clone(),
            step: e.step,
            what,
        },
    ));
    match next {
        Some(n) => {
            if let Some(en) = updated.nurture.as_mut() {
                en.step += 1;
                en.next_at = step_due(lead, n, now);
                if sent_mail {
                    en.sent.push(now);
                }
                trim_sent(&mut en.sent, playbook, now);
            }
        }
        None => events.extend(left(&mut updated, "series completed".into(), now)),
    }
    change(updated, events, tasks)
}

/// The untouched lead's SLA breach was escalated: its clock moves on to the
/// reassignment, a window of the owner's working time later (a breach
/// escalated on Friday night is reassigned during Monday, not on Saturday).
/// `None` when there is nothing to escalate (touched, or escalated before).
pub fn escalated(lead: &Lead, playbook: &Playbook, now: DateTime<Utc>) -> Option<Change> {
    let mut clock = lead.sla.clone()?;
    if clock.escalated_at.is_some() || lead.first_touch.is_some() {
        return None;
    }
    clock.escalated_at = Some(now);
    let calendar = match lead.owner() {
        Some(owner) => playbook.calendar_of(owner),
        None => Calendar::always(),
    };
    clock.check_at = calendar.add_hours(now, playbook.reminders.reassign_after_hours);
    let mut updated = lead.clone();
    updated.sla = Some(clock);
    Some(change(updated, Vec::new(), Vec::new()))
}

/// Nobody else to hand the lead to (it is with the fallback already): its
/// first-touch clock stops.
pub fn clock_stopped(lead: &Lead) -> Change {
    let mut updated = lead.clone();
    updated.sla = None;
    change(updated, Vec::new(), Vec::new())
}
