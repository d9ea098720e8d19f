//! Suspected spam (issue 24, item 17): the intake holds a post the spam guard
//! takes for a bot's instead of dropping it; ops list what is held and
//! release a post into the pipeline with one action, exactly once.
//!
//! Exactly once: a release records the response through the same intake use
//! case under the Idempotency-Key `spam-release#<id>`, so a second release
//! (a double click, a retry after a timeout, two operators at once) replays
//! the first answer instead of recording the response again; then the post
//! is marked released. A fault between the two leaves a post a retry
//! finishes.

use super::intake::{self, IntakeError, Submission};
use crate::domain::ids::{LeadId, SpamId};
use crate::domain::inquiry::{Inquiry, InquiryError};
use crate::domain::spam::{HeldPost, Released, SpamSign};
use crate::ports::{Answer, LeadStore, Publisher, Quarantine, StoreError};
use crate::Playbook;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Keep a post the guard took for a bot's, with the reason.
pub async fn hold<Q: Quarantine>(
    store: &Q,
    playbook: &Playbook,
    sign: SpamSign,
    fields: Vec<(String, String)>,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SpamId, StoreError> {
    let guard = &playbook.spam;
    let post = guard.hold(sign, fields, source_ip, now);
    let expires = now + Duration::days(guard.quarantine_days.into());
    store.hold(&post, expires).await?;
    Ok(post.id)
}

/// The days a held post may still be on, newest first (its quarantine).
pub fn days(playbook: &Playbook, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let today = now.date_naive();
    (0..=playbook.spam.quarantine_days)
        .filter_map(|d| today.checked_sub_days(chrono::Days::new(d.into())))
        .collect()
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub lead_id: LeadId,
    /// Released before (this call changed nothing).
    pub already: bool,
    pub new_lead: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("no held post {0} (never held, or past its quarantine)")]
    NotFound(String),
    /// What was posted is not an inquiry (no email, a bad value): nothing changed.
    #[error("the held post is not a valid inquiry: {0}")]
    Invalid(InquiryError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Let post `id` into the pipeline as if it had passed the guard, once.
pub async fn release<S: LeadStore + Quarantine, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    id: &SpamId,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Release, ReleaseError> {
    let post = store
        .held_post(id)
        .await?
        .ok_or_else(|| ReleaseError::NotFound(id.to_string()))?;
    if let Some(r) = &post.released {
        return Ok(Release {
            lead_id: r.lead_id.clone(),
            already: true,
            new_lead: false,
        });
    }
    let inquiry = Inquiry::parse(&post.fields, &playbook.bant).map_err(ReleaseError::Invalid)?;
    let submission = Submission {
        inquiry,
        idempotency_key: Some(release_key(&post)),
        fingerprint: format!("spam#{}", post.id),
        answer: Answer::Received,
        // Its post was counted against nothing; a release is an operator's act.
        quotas: Vec::new(),
    };
    let accepted = intake::submit(store, publisher, now, submission).await?;
    let released = Released {
        at: now,
        by: by.to_string(),
        lead_id: accepted.lead_id.clone(),
    };
    match store.mark_released(id, &released).await {
        // Marked by a concurrent release of the same post: the same lead
        // (the key replayed its answer), recorded once.
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Release {
        lead_id: accepted.lead_id,
        already: accepted.replayed,
        new_lead: accepted.new_lead,
    })
}

fn release_key(post: &HeldPost) -> String {
    format!("spam-release#{}", post.id)
}
