//! Recording an inquiry: find or create the person's lead, fold the response in,
//! and hand off to routing, all in one transaction with the outbox.

use super::outbox;
use super::retry::{backoff, ATTEMPTS};
use crate::domain::ids::{LeadId, ResponseId};
use crate::domain::inquiry::Inquiry;
use crate::domain::lead::{Event, HistoryEntry, Lead};
use crate::domain::playbook::Quota;
use crate::messages::RouteRequest;
use crate::ports::{Answer, Commit, Expect, LeadStore, Publisher, StoreError, StoredReply};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Submission {
    pub inquiry: Inquiry,
    pub idempotency_key: Option<String>,
    /// Identifies the request's content, to refuse a reused key with another body.
    pub fingerprint: String,
    /// The answer to give (and to replay).
    pub answer: Answer,
    /// The rate-limit counters this post draws on (see `IntakeLimits::quotas`).
    pub quotas: Vec<Quota>,
}

impl Submission {
    /// A post without an Idempotency-Key, answered as received.
    pub fn new(inquiry: Inquiry) -> Self {
        Submission {
            inquiry,
            idempotency_key: None,
            fingerprint: String::new(),
            answer: Answer::Received,
            quotas: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub lead_id: LeadId,
    pub answer: Answer,
    /// The answer is a replay of an earlier post with the same Idempotency-Key.
    pub replayed: bool,
    /// What the client is told (the same on a replay). `None` only when
    /// replaying an answer stored before responses were named.
    pub response_id: Option<ResponseId>,
    pub new_lead: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    #[error("too many concurrent writes to this lead; try again")]
    Contended,
    /// Over a rate limit: nothing was recorded.
    #[error("too many inquiries; try again after {}", .0.window_end)]
    Limited(Quota),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Attempts that see an email's claim without its lead before adopting the claim.
const ADOPT_AFTER: usize = 3;

pub async fn submit<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    now: DateTime<Utc>,
    sub: Submission,
) -> Result<Accepted, IntakeError> {
    if let Some(key) = &sub.idempotency_key {
        if let Some(reply) = store.reply(key, now).await? {
            return replay(reply, &sub);
        }
    }
    // A replay (above) is free; anything that may record a response counts.
    if let Some(exceeded) = store.take_quota(&sub.quotas).await? {
        return Err(IntakeError::Limited(exceeded));
    }
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        let (mut lead, expect) = match store.lead_id_by_email(&sub.inquiry.email).await? {
            None => (
                Lead::new(LeadId::generate(), sub.inquiry.email.clone(), now),
                Expect::New,
            ),
            Some(id) => match store.lead(&id).await? {
                Some(lead) => {
                    let v = lead.version;
                    (lead, Expect::Version(v))
                }
                // A claim with no lead: most likely a writer mid-transaction
                // (an emulator may show half of one); wait for it first, and
                // adopt the claim only when it stays orphaned.
                None if attempt < ADOPT_AFTER => continue,
                None => (Lead::new(id, sub.inquiry.email.clone(), now), Expect::Adopt),
            },
        };
        let new_lead = !matches!(expect, Expect::Version(_));
        let response_id = ResponseId::generate();
        let record = lead.apply_response(&sub.inquiry, &response_id, now);
        lead.version += 1;
        let message = RouteRequest {
            lead_id: lead.id.clone(),
            response_id: response_id.clone(),
        }
        .to_outbox(now);
        let reply = sub.idempotency_key.clone().map(|key| {
            (
                key,
                StoredReply {
                    answer: sub.answer.clone(),
                    lead_id: lead.id.clone(),
                    response_id: Some(response_id.clone()),
                    fingerprint: sub.fingerprint.clone(),
                    created_at: now,
                },
            )
        });
        let lead_id = lead.id.clone();
        let commit = Commit {
            events: vec![HistoryEntry::new(&lead_id, now, Event::Response(record))],
            lead: Some((lead, expect)),
            outbox: vec![message.clone()],
            reply,
            ..Commit::default()
        };
        match store.commit(commit).await {
            Ok(()) => {
                outbox::flush(store, publisher, std::slice::from_ref(&message)).await;
                return Ok(Accepted {
                    lead_id,
                    answer: sub.answer,
                    replayed: false,
                    response_id: Some(response_id),
                    new_lead,
                });
            }
            Err(StoreError::Conflict) => {
                // Someone else wrote first: the same key (replay theirs), or the
                // same person (merge into what they wrote). Re-read and go again.
                if let Some(key) = &sub.idempotency_key {
                    if let Some(reply) = store.reply(key, now).await? {
                        return replay(reply, &sub);
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(IntakeError::Contended)
}

fn replay(reply: StoredReply, sub: &Submission) -> Result<Accepted, IntakeError> {
    if reply.fingerprint != sub.fingerprint {
        return Err(IntakeError::KeyReused);
    }
    Ok(Accepted {
        lead_id: reply.lead_id,
        answer: reply.answer,
        replayed: true,
        response_id: reply.response_id,
        new_lead: false,
    })
}
