//! Routing a lead: qualify, route and assign it per the playbook, record the
//! decision and why, and hand off to fulfilment — once per response.

use super::outbox;
use crate::domain::decision::{assign, place, qualify, route, Decision};
use crate::domain::ids::LeadId;
use crate::domain::lead::{Event, HistoryEntry};
use crate::messages::{FulfilRequest, RouteRequest};
use crate::playbook::{Playbook, Target};
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

const ATTEMPTS: usize = 8;

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
    for _ in 0..ATTEMPTS {
        if store.marker_exists(&marker).await? {
            return Ok(RouteOutcome::AlreadyRouted);
        }
        let mut lead = store
            .lead(&req.lead_id)
            .await?
            .ok_or_else(|| RouteError::UnknownLead(req.lead_id.clone()))?;

        let q = qualify(&lead, playbook);
        let r = route(&lead, &q, playbook);
        let cursor = match place(&lead, r.route, playbook).map(|p| p.target) {
            Some(Target::Pool(pool)) => store.pool_cursor(pool).await?,
            _ => 0,
        };
        let a = assign(&lead, r.route, playbook, cursor, lead.owner());
        let decision = Decision {
            bant_met: q.met,
            stage: q.stage,
            route: r.route,
            rule: r.rule,
            owner: a.owner,
            pool: a.pool,
            reasons: vec![q.reason, r.reason, a.reason],
            cursor: a.cursor.clone(),
        };

        let expect = Expect::Version(lead.version);
        let previous_owner = lead.apply_decision(decision.clone(), now);
        lead.version += 1;
        let message = FulfilRequest {
            lead_id: lead.id.clone(),
            response_id: req.response_id.clone(),
        }
        .to_outbox(now);
        let entry = HistoryEntry::new(
            &lead.id,
            now,
            Event::Routed {
                response_id: req.response_id.clone(),
                decision: decision.clone(),
                previous_owner,
            },
        );
        let commit = Commit {
            lead: Some((lead, expect)),
            events: vec![entry],
            outbox: vec![message.clone()],
            marker: Some(marker.clone()),
            cursor: a.cursor,
            reply: None,
        };
        match store.commit(commit).await {
            Ok(()) => {
                outbox::flush(store, publisher, std::slice::from_ref(&message)).await;
                tracing::info!(lead_id = %req.lead_id, reasons = %decision.summary(), "routed");
                return Ok(RouteOutcome::Routed(Box::new(decision)));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RouteError::Contended)
}
