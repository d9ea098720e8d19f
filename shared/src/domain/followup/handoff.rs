//! A lead changing hands: a reassignment (by a person or the SLA), and the
//! first tasks a new owner gets.

use super::*;

/// A reassignment by a person: the lead goes to `to`, with the reason. Open
/// tasks follow the lead to its new owner.
pub fn reassign(
    lead: &Lead,
    open_tasks: &[Task],
    to: Owner,
    reason: &str,
    by: &Rep,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Result<Change, Refused> {
    if reason.trim().is_empty() {
        return Err(invalid("reason", "a reassignment needs a reason"));
    }
    let mut lead = lead.clone();
    let previous = lead.owner().cloned();
    if previous.as_ref() == Some(&to) {
        return Err(invalid(
            "owner",
            format!("the lead is already with {}", to.display_name()),
        ));
    }
    let why = format!(
        "reassigned by {} from {} to {}: {reason}",
        by.name,
        previous
            .as_ref()
            .map(Owner::display_name)
            .unwrap_or("nobody"),
        to.display_name()
    );
    let pool = match &to {
        Owner::Rep { id, .. } => playbook
            .pools
            .iter()
            .find(|p| p.reps.iter().any(|r| r == id))
            .map(|p| p.name.clone()),
        Owner::Queue { .. } => None,
    };
    let decision = match lead.routing.clone() {
        Some(mut d) => {
            d.owner = to.clone();
            d.pool = pool;
            d.decided_at = now;
            if let Some(last) = d.reasons.last_mut() {
                *last = why.clone();
            } else {
                d.reasons.push(why.clone());
            }
            d
        }
        None => {
            return Err(Refused {
                code: "invalid_transition",
                field: None,
                message: "the lead has not been routed yet; try again in a moment".into(),
            })
        }
    };
    let mut decision = decision;
    let loads = if lead.status.is_closed() {
        Vec::new()
    } else {
        decision.load_changes(previous.as_ref())
    };
    // The new owner's own first-touch window: the deadline moves with the
    // lead (else whoever receives a breached lead is "outside the SLA" and
    // overdue from the moment they get it).
    let first_touch_due = match lead.first_touch.is_none() && !lead.status.is_closed() {
        true => playbook
            .slas
            .get(&decision.route)
            .map(|h| playbook.calendar_of(&to).add_hours(now, *h)),
        false => None,
    };
    if first_touch_due.is_some() {
        decision.follow_up_by = first_touch_due;
    }
    lead.routing = Some(decision.clone());
    lead.support = None;
    lead.updated_at = now;
    if lead.first_touch.is_none() && !lead.status.is_closed() {
        lead.sla = first_touch_due.map(SlaClock::new);
    }
    let id = lead.id.clone();
    let mut events = vec![HistoryEntry::new(
        &id,
        now,
        Event::Reassigned {
            from: previous.clone(),
            to: to.clone(),
            by: by.id.clone(),
            reason: reason.to_string(),
        },
    )];
    if let Some(e) = nurture::reconcile(&mut lead, None, playbook, now) {
        events.push(HistoryEntry::new(&id, now, e));
    }
    let mut tasks = Vec::new();
    for mut t in open_tasks.iter().filter(|t| t.is_open()).cloned() {
        if Some(&t.owner) == previous.as_ref() {
            let old = std::mem::replace(&mut t.owner, to.clone());
            if let (Some(due), TaskKind::PrequalificationCall | TaskKind::InitialDialogue) =
                (first_touch_due, t.kind)
            {
                t.due_at = due;
            }
            events.push(HistoryEntry::new(
                &id,
                now,
                Event::task_opened(
                    &t,
                    Some(format!("moved from {} with the lead", old.display_name())),
                ),
            ));
            tasks.push(t);
        }
    }
    if tasks.is_empty() && !lead.status.is_closed() {
        if let Some(t) = first_touch_task(&lead, &decision, playbook, now) {
            events.push(HistoryEntry::new(&id, now, Event::task_opened(&t, None)));
            tasks.push(t);
        }
    }
    Ok(Change {
        lead,
        events,
        tasks,
        loads,
        reasons: vec![why],
    })
}

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
