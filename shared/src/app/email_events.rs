//! What SES tells us of the mail it handled. A hard bounce or a complaint puts
//! the address on the suppression ledger (nothing more goes to it); a
//! person's click is behaviour that scores, and may take a nurtured lead
//! straight to inside sales (a mail scanner's click, within a minute of the
//! send or on several links of one mail within seconds, and a click on the
//! unsubscribe link are kept and never scored); deliveries and opens are kept in the lead's history. Each event
//! counts once, however often it is delivered.

use super::nurture::hand_to_inside_sales;
use super::route::HISTORY_WINDOW;
use crate::domain::email::EmailAddress;
use crate::domain::lead::{Event, HistoryEntry};
use crate::domain::playbook::Playbook;
use crate::domain::scoring::score;
use crate::messages::SesEvent;
use crate::ports::{
    Commit, Disposition, Failure, LeadStore, Marker, Publisher, StoreError, Suppression,
    SuppressionReason,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not an SES event: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Failure for EventError {
    fn disposition(&self) -> Disposition {
        match self {
            EventError::Malformed(_) => Disposition::Bury,
            EventError::Store(e) if e.is_permanent() => Disposition::Bury,
            EventError::Store(_) => Disposition::Retry,
        }
    }
}

/// What one event did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handled {
    pub suppressed: usize,
    pub recorded: usize,
    /// Delivered before: nothing done.
    pub duplicates: usize,
    pub sales_ready: usize,
}

/// A click a person made: behaviour that scores (the playbook's `email_click`).
pub const PERSON_CLICK: &str = "email_click";
/// A click on the unsubscribe link (it is not tracked; if one is reported
/// anyway it is kept, and never counts as interest).
pub const UNSUBSCRIBE_CLICK: &str = "email_click_unsubscribe";
/// A click so soon after the mail was sent that a mail scanner made it (they
/// open every link of a mail as it arrives): kept, never scored.
pub const SCANNER_CLICK: &str = "email_click_scanner";
/// How soon after sending a click is a scanner's.
pub const SCANNER_SECONDS: i64 = 60;

/// What a reported click was: a person's, a scanner's, or on the unsubscribe link.
pub fn click_kind(event: &SesEvent) -> &'static str {
    let click = event.click.as_ref();
    let link = click.and_then(|c| c.link.as_deref()).unwrap_or_default();
    let path = link.split(['?', '#']).next().unwrap_or_default();
    if path.trim_end_matches('/').ends_with("/unsubscribe") {
        return UNSUBSCRIBE_CLICK;
    }
    let at = |t: Option<&String>| {
        t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    match (
        at(event.mail.timestamp.as_ref()),
        at(click.and_then(|c| c.timestamp.as_ref())),
    ) {
        (Some(sent), Some(clicked))
            if clicked - sent < chrono::Duration::seconds(SCANNER_SECONDS) =>
        {
            SCANNER_CLICK
        }
        _ => PERSON_CLICK,
    }
}

pub async fn handle<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    event: &SesEvent,
    now: DateTime<Utc>,
) -> Result<Handled, EventError> {
    let kind = event.event_type.to_ascii_lowercase();
    let mut handled = Handled::default();
    // 1. The ledger: a permanent bounce or a complaint stops all mail to the address.
    let suppress: Vec<(String, SuppressionReason, String)> = match kind.as_str() {
        "bounce" => match &event.bounce {
            Some(b) if b.bounce_type == "Permanent" => b
                .bounced_recipients
                .iter()
                .map(|r| {
                    (
                        r.email_address.clone(),
                        SuppressionReason::HardBounce,
                        "permanent bounce".to_string(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        },
        "complaint" => {
            let listed: Vec<String> = event
                .complaint
                .as_ref()
                .map(|c| {
                    c.complained_recipients
                        .iter()
                        .map(|r| r.email_address.clone())
                        .collect()
                })
                .unwrap_or_default();
            let who = if listed.is_empty() {
                event.mail.destination.clone()
            } else {
                listed
            };
            who.into_iter()
                .map(|e| {
                    (
                        e,
                        SuppressionReason::Complaint,
                        "complaint (marked as spam)".to_string(),
                    )
                })
                .collect()
        }
        _ => Vec::new(),
    };
    for (address, reason, detail) in &suppress {
        if let Ok(email) = EmailAddress::parse(address) {
            store
                .suppress(
                    &email,
                    &Suppression {
                        reason: *reason,
                        at: now,
                        detail: Some(detail.clone()),
                    },
                )
                .await?;
            handled.suppressed += 1;
        }
    }
    // 2. The lead's history, once per event.
    let when = event
        .click
        .as_ref()
        .and_then(|c| c.timestamp.clone())
        .or_else(|| event.bounce.as_ref().and_then(|b| b.timestamp.clone()))
        .or_else(|| event.complaint.as_ref().and_then(|c| c.timestamp.clone()))
        .unwrap_or_default();
    for address in &event.mail.destination {
        let Ok(email) = EmailAddress::parse(address) else {
            continue;
        };
        let Some(lead_id) = store.lead_id_by_email(&email).await? else {
            continue;
        };
        let digest = Sha256::digest(format!("{}#{kind}#{when}", event.mail.message_id).as_bytes());
        let key: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let mut click = (kind == "click").then(|| click_kind(event));
        let clicked_at = event
            .click
            .as_ref()
            .and_then(|c| c.timestamp.as_deref())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let link = event.click.as_ref().and_then(|c| c.link.clone());
        // Another link of the same mail clicked within seconds: a scanner
        // opening every link, not a person (scoring discounts the burst's
        // earlier clicks too: `scoring::Behaviour`).
        if click == Some(PERSON_CLICK) {
            let history = store.recent_history(&lead_id, HISTORY_WINDOW).await?;
            let burst = crate::domain::scoring::in_burst(
                &history,
                &event.mail.message_id,
                link.as_deref(),
                clicked_at,
            );
            if burst {
                click = Some(SCANNER_CLICK);
            }
        }
        let entry = match click {
            Some(activity) => Event::Activity {
                kind: activity.into(),
                detail: link,
                message_id: Some(event.mail.message_id.clone()),
                occurred_at: clicked_at,
            },
            None => Event::EmailFeedback {
                kind: kind.clone(),
                to: email.to_string(),
                message_id: event.mail.message_id.clone(),
                detail: event
                    .bounce
                    .as_ref()
                    .map(|b| format!("{} bounce", b.bounce_type.to_ascii_lowercase())),
            },
        };
        let commit = Commit {
            events: vec![HistoryEntry::new(&lead_id, now, entry)],
            marker: Some(Marker {
                lead_id: lead_id.clone(),
                step: "ses",
                key,
            }),
            ..Commit::default()
        };
        match store.commit(commit).await {
            Ok(()) => handled.recorded += 1,
            Err(StoreError::Conflict) => {
                handled.duplicates += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        // 3. A person's click that makes a nurtured lead sales-ready hands it over at once.
        if click == Some(PERSON_CLICK) {
            if let Some(lead) = store.lead(&lead_id).await? {
                if lead.nurture.is_some() {
                    let history = store.recent_history(&lead_id, HISTORY_WINDOW).await?;
                    let s = score(&lead, &history, playbook, now);
                    if s.total >= playbook.nurture.exit_score {
                        match hand_to_inside_sales(
                            store, publisher, playbook, &lead, &history, s.total, now,
                        )
                        .await
                        {
                            Ok(()) => handled.sales_ready += 1,
                            // Changed meanwhile: the nurture tick weighs it next.
                            Err(StoreError::Conflict) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
        }
    }
    Ok(handled)
}
