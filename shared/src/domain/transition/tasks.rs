//! The first tasks a new owner gets.

use super::super::decision::{Decision, Owner};
use super::super::lead::Lead;
use super::super::playbook::{Playbook, Role};
use super::super::task::{Task, TaskKind};
use chrono::{DateTime, Utc};

/// The first task a new owner gets: inside sales' pre-qualification call, or
/// field sales' and partners' initial dialogue, due by the route's SLA. A
/// queue nobody reads by mail (nurture, self-serve) gets none.
pub fn first_touch_task(
    lead: &Lead,
    decision: &Decision,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Option<Task> {
    let kind = match &decision.owner {
        Owner::Rep { id, .. } => match playbook.rep(id).map(|r| r.role) {
            Some(Role::FieldSales | Role::Partner) => TaskKind::InitialDialogue,
            _ => TaskKind::PrequalificationCall,
        },
        Owner::Queue { email: Some(_), .. } => TaskKind::PrequalificationCall,
        Owner::Queue { email: None, .. } => return None,
    };
    let calendar = playbook.calendar_of(&decision.owner);
    let due = decision
        .follow_up_by
        .unwrap_or_else(|| calendar.add_hours(now, playbook.follow_up.first_touch_hours));
    let sla = match decision.follow_up_by {
        Some(_) => format!(
            "{} SLA {}",
            decision.route,
            calendar.hours_label(
                playbook
                    .slas
                    .get(&decision.route)
                    .copied()
                    .unwrap_or_default()
            )
        ),
        None => format!(
            "first touch within {}",
            calendar.hours_label(playbook.follow_up.first_touch_hours)
        ),
    };
    Some(Task::new(
        &lead.id,
        kind,
        decision.owner.clone(),
        due,
        now,
        format!("{} — {} ({sla})", kind.label(), decision.route.channel()),
    ))
}

/// The follow-up call after the kit (seed 000: verify receipt, answer
/// questions, qualify, promote a demo), for inside sales.
pub fn kit_follow_up_task(
    lead: &Lead,
    decision: &Decision,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Option<Task> {
    let inside = match &decision.owner {
        Owner::Rep { id, .. } => playbook.rep(id).is_some_and(|r| r.role == Role::Isr),
        Owner::Queue { email, .. } => email.is_some(),
    };
    if !inside || playbook.kit(lead.request_type).is_none() {
        return None;
    }
    let days = playbook.follow_up.kit_follow_up_days;
    Some(Task::new(
        &lead.id,
        TaskKind::KitFollowUp,
        decision.owner.clone(),
        playbook.calendar_of(&decision.owner).add_days(now, days),
        now,
        format!(
            "{} — {} business days after the kit",
            TaskKind::KitFollowUp.label(),
            days
        ),
    ))
}
