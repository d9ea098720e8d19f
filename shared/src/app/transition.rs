//! What every use case that changes a lead shares: load it, make the plan
//! (`domain::transition`), settle the pool's turn, commit the change on the
//! lead's version, and publish what it announced.

use crate::domain::decision::PoolState;
use crate::domain::transition::{Change, Plan};
use crate::messages::FulfillRequest;
use crate::ports::{Commit, Expect, LeadStore, Marker, OutboxMessage, StoreError};
use chrono::{DateTime, Utc};

/// The plan's change, with the pool's state read (and a turn taken
/// atomically when the decision takes one: then decided again with it, the
/// same rep unless someone else took a turn meanwhile), and the lead's open
/// tasks read when it changes hands and the plan has not read them.
pub async fn settle<S: LeadStore>(store: &S, plan: Plan<'_>) -> Result<Change, StoreError> {
    let state = match plan.pool() {
        Some(pool) => {
            let reps = plan
                .playbook
                .pool(pool)
                .map(|p| p.reps.clone())
                .unwrap_or_default();
            store.pool_state(pool, &reps).await?
        }
        None => PoolState::default(),
    };
    let mut decision = plan.decision(&state);
    if let (Some(pool), Some(_)) = (plan.pool(), &decision.cursor) {
        let turn = store.take_turn(pool).await?;
        decision = plan.decision(&PoolState {
            cursor: turn,
            ..state
        });
    }
    let plan = match plan.tasks_unread() && plan.changes_hands(&decision) {
        true => {
            let tasks = store.tasks(&plan.lead.id).await?;
            plan.with_tasks(tasks)
        }
        false => plan,
    };
    Ok(plan.finish(decision))
}

/// The new owner's package, when the change handed the lead to someone who
/// reads mail (it names the change's latest entry, which says why).
pub fn handoff_notice(change: &Change, now: DateTime<Utc>) -> Vec<OutboxMessage> {
    match (
        &change.handed_to,
        &change.lead.last_response_id,
        change.events.last(),
    ) {
        (Some(_), Some(response), Some(entry)) => {
            vec![FulfillRequest::handoff(
                &change.lead.id,
                response,
                &entry.id,
                now,
            )]
        }
        _ => Vec::new(),
    }
}

/// The change as one commit, on the condition that the lead is still at
/// `version` (it is written at the next).
pub fn commit(
    change: Change,
    version: u64,
    outbox: Vec<OutboxMessage>,
    marker: Option<Marker>,
) -> Commit {
    let Change {
        mut lead,
        events,
        tasks,
        loads,
        ..
    } = change;
    lead.version = version + 1;
    Commit {
        lead: Some((lead, Expect::Version(version))),
        events,
        outbox,
        marker,
        loads,
        tasks,
        reply: None,
    }
}
