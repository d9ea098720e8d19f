//! Routing a lead: qualify, route and assign it per the playbook, record the
//! decision and why, and hand off to fulfillment — once per response.

use super::retry::{backoff, ATTEMPTS};
use super::{outbox, transition};
use crate::domain::decision::Decision;
use crate::domain::ids::LeadId;
use crate::domain::playbook::Playbook;
use crate::domain::transition::Plan;
use crate::messages::{FulfillRequest, RouteRequest};
use crate::ports::{LeadStore, Marker, Publisher, StoreError};
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
        let lead = store
            .lead(&req.lead_id)
            .await?
            .ok_or_else(|| RouteError::UnknownLead(req.lead_id.clone()))?;
        // Bounded: the latest entries carry the behaviour that still counts.
        let history = store.recent_history(&lead.id, HISTORY_WINDOW).await?;
        let plan = Plan::response(&lead, &history, &req.response_id, playbook, now);
        let change = transition::settle(store, plan).await?;
        let decision = change
            .lead
            .routing
            .clone()
            .expect("a routed lead has a decision");
        let messages = FulfillRequest::for_response(
            &lead.id,
            &req.response_id,
            playbook.repeats.owner_notice_delay_seconds,
            now,
        );
        let commit =
            transition::commit(change, lead.version, messages.clone(), Some(marker.clone()));
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
