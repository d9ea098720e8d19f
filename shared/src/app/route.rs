//! Routing a lead: qualify, route and assign it per the playbook, record the
//! decision and why, and hand off to fulfillment — once per response.

use super::outbox;
use super::retry::{backoff, ATTEMPTS};
use crate::domain::decision::Owner;
use crate::domain::decision::{Decision, PoolState};
use crate::domain::followup::{first_touch_task, kit_follow_up_task};
use crate::domain::ids::LeadId;
use crate::domain::lead::{Event, HistoryEntry, SlaClock, StatusDetail};
use crate::domain::outcome::LeadStatus;
use crate::domain::playbook::Playbook;
use crate::domain::routing::assess;
use crate::domain::task::TaskStatus;
use crate::messages::{FulfillRequest, RouteRequest};
use crate::ports::{Commit, Expect, LeadStore, Marker, Publisher, StoreError};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum RouteOutcome {
    Routed(Box<Decision>),
    /// This response was routed before (a duplicate delivery): nothing done.
    AlreadyRouted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Permanent: the message names a lead that does not exist.
    #[error("lead {0} does not exist")]
    UnknownLead(LeadId),
    #[error("too many concurrent writes to this lead; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// History entries a message handler reads: a lead with thousands of
/// responses costs what one with a few hundred does. Behaviour older than this
/// window no longer scores (at 30-day half-lives it is worth next to nothing by then).
pub const HISTORY_WINDOW: usize = 500;

pub fn marker(req: &RouteRequest) -> Marker {
    Marker {
        lead_id: req.lead_id.clone(),
        step: "route",
        key: req.response_id.to_string(),
    }
}

pub async fn route_lead<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    now: DateTime<Utc>,
    req: &RouteRequest,
) -> Result<RouteOutcome, RouteError> {
    let marker = marker(req);
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        if store.marker_exists(&marker).await? {
            return Ok(RouteOutcome::AlreadyRouted);
        }
        let mut lead = store
            .lead(&req.lead_id)
            .await?
            .ok_or_else(|| RouteError::UnknownLead(req.lead_id.clone()))?;

        // Bounded: the latest entries carry the behaviour that still counts.
        let history = store.recent_history(&lead.id, HISTORY_WINDOW).await?;
        let mut assessment = assess(&lead, &history, playbook, now);
        // A nurtured lead whose new response makes it sales-ready leaves its
        // series for inside sales at once (not at its next step).
        if let Some(why) = crate::domain::nurture::sales_ready_at(
            &lead,
            assessment.score().total,
            assessment.qualification().stage,
            playbook,
        ) {
            assessment = assessment.with_route(
                &lead,
                playbook,
                crate::domain::decision::RouteDecision {
                    route: crate::domain::decision::Route::HighPotential,
                    rule: why.clone(),
                    reason: format!(
                        "high_potential: {why} → {}",
                        crate::domain::decision::Route::HighPotential.channel()
                    ),
                },
            );
        }
        let state = match assessment.pool {
            Some(pool) => {
                let reps = playbook
                    .pool(pool)
                    .map(|p| p.reps.clone())
                    .unwrap_or_default();
                store.pool_state(pool, &reps).await?
            }
            None => PoolState::default(),
        };
        let pool = assessment.pool;
        let mut decision = assessment.clone().decide(&lead, playbook, now, &state);
        if let (Some(pool), Some(_)) = (pool, &decision.cursor) {
            // The decision takes a turn of the pool: take it atomically, then
            // decide with it (the same rep unless someone else took a turn).
            let turn = store.take_turn(pool).await?;
            let state = PoolState {
                cursor: turn,
                ..state
            };
            decision = assessment.decide(&lead, playbook, now, &state);
        }
        let mut loads = decision.load_changes(lead.owner());
        let mut reopened = None;
        if matches!(lead.status, LeadStatus::Dead | LeadStatus::Rejected) {
            // A person who comes back is worth another look.
            reopened = Some(Event::StatusChanged {
                from: lead.status,
                to: LeadStatus::Open,
                by: "router".into(),
                reason: Some("a new response reopened it".into()),
                amount: None,
                lost_to: None,
                via_link: false,
            });
            if let (Owner::Rep { id, .. }, true) =
                (&decision.owner, lead.owner() == Some(&decision.owner))
            {
                loads.push((id.clone(), 1));
            }
            lead.status = LeadStatus::Open;
            lead.status_detail = Some(StatusDetail {
                at: now,
                by: "router".into(),
                reason: Some("a new response reopened it".into()),
                amount: None,
                lost_to: None,
            });
        }
        let owner_changed = lead.owner() != Some(&decision.owner);
        // A new owner gets their first task (and inside sales the call after
        // the kit); the previous owner's open tasks go with the lead.
        let mut tasks = Vec::new();
        let mut task_events: Vec<Event> = reopened.into_iter().collect();
        if owner_changed {
            for mut t in store.tasks(&lead.id).await? {
                if t.is_open() {
                    let why = format!("the lead was routed to {}", decision.owner.display_name());
                    t.close(TaskStatus::Cancelled, "router", why.clone(), now);
                    task_events.push(Event::TaskClosed {
                        task_id: t.id.clone(),
                        kind: t.kind,
                        status: t.status,
                        by: "router".into(),
                        reason: why,
                    });
                    tasks.push(t);
                }
            }
            if !lead.status.is_closed() {
                let new = [
                    first_touch_task(&lead, &decision, playbook, now),
                    kit_follow_up_task(&lead, &decision, playbook, now),
                ];
                for t in new.into_iter().flatten() {
                    task_events.push(Event::task_opened(&t, None));
                    tasks.push(t);
                }
            }
        }

        if owner_changed && lead.first_touch.is_none() && !lead.status.is_closed() {
            // The new owner's first-touch clock (the reminders function watches it).
            lead.sla = decision.follow_up_by.map(SlaClock::new);
        }
        let expect = Expect::Version(lead.version);
        let previous_owner = lead.apply_decision(decision.clone(), now);
        // Into the nurture series its route calls for, or out of one it left.
        if let Some(e) = crate::domain::nurture::reconcile(&mut lead, None, playbook, now) {
            task_events.push(e);
        }
        lead.version += 1;
        let messages = FulfillRequest::for_response(
            &lead.id,
            &req.response_id,
            playbook.repeats.owner_notice_delay_seconds,
            now,
        );
        // The tasks it opens, then the decision (the history's latest entry).
        let mut events: Vec<HistoryEntry> = task_events
            .into_iter()
            .map(|e| HistoryEntry::new(&lead.id, now, e))
            .collect();
        events.push(HistoryEntry::new(
            &lead.id,
            now,
            Event::Routed {
                response_id: req.response_id.clone(),
                decision: decision.clone(),
                previous_owner,
            },
        ));
        let commit = Commit {
            lead: Some((lead, expect)),
            events,
            outbox: messages.clone(),
            marker: Some(marker.clone()),
            loads,
            reply: None,
            tasks,
        };
        match store.commit(commit).await {
            Ok(()) => {
                outbox::flush(store, publisher, &messages).await;
                tracing::info!(lead_id = %req.lead_id, reasons = %decision.summary(), "routed");
                return Ok(RouteOutcome::Routed(Box::new(decision)));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RouteError::Contended)
}

impl crate::ports::Failure for RouteError {
    fn disposition(&self) -> crate::ports::Disposition {
        use crate::ports::Disposition;
        match self {
            RouteError::UnknownLead(_) => Disposition::Bury,
            RouteError::Store(e) if e.is_permanent() => Disposition::Bury,
            // A hot lead: come back in a few seconds, not after the queue's
            // visibility timeout (minutes), and without using up a receive.
            RouteError::Contended => Disposition::Defer(
                std::time::Duration::from_secs(1)
                    + super::retry::jitter(std::time::Duration::from_secs(4)),
            ),
            RouteError::Store(_) => Disposition::Retry,
        }
    }
}
