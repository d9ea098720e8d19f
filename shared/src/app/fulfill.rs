//! Fulfillment: email the prospect what they asked for, naming who follows up,
//! and send the owner the lead package (seed 002). Each email at most once.

use super::route::HISTORY_WINDOW;
use crate::domain::bant::Criterion;
use crate::domain::decision::Owner;
use crate::domain::ids::{LeadId, ResponseId};
use crate::domain::lead::{EmailKind, Event, HistoryEntry, Lead, ResponseRecord};
use crate::domain::playbook::Playbook;
use crate::email;
use crate::links::{Action, ActionLinks};
use crate::messages::{FulfillPart, FulfillRequest};
use crate::ports::{LeadStore, MailError, Mailer, OutgoingEmail, SendClaim, SlotClaim, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FulfillOutcome {
    pub sent: Vec<EmailKind>,
    /// Sent by an earlier delivery of the same message.
    pub already_sent: Vec<EmailKind>,
    /// Nobody to send to (e.g. a queue without a mailbox).
    pub skipped: Vec<EmailKind>,
    /// Refused by the mail service for good; recorded, not retried.
    pub rejected: Vec<EmailKind>,
    /// A repeat: the same notification went out inside the window for another response.
    pub coalesced: Vec<EmailKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FulfillError {
    #[error("lead {0} does not exist")]
    UnknownLead(LeadId),
    #[error("lead {0} has no response {1}")]
    UnknownResponse(LeadId, ResponseId),
    #[error("lead {0} has not been routed for response {1} yet")]
    NotRouted(LeadId, ResponseId),
    #[error("another delivery is sending {0} right now")]
    InFlight(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("email template: {0}")]
    Template(String),
}

/// How long a claim holds when its send may or may not have happened (the
/// process died, the call timed out). It outlasts the function's timeout
/// many times over, so no delivery can send while an earlier one might
/// still be sending; the queue's visibility timeout (240 s in template.yaml)
/// outlasts it, so the redelivery after a dead sender finds it lapsed. A
/// send that surely failed gives its claim up at once.
pub const SEND_LEASE: Duration = Duration::seconds(200);

pub async fn fulfill<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    playbook: &Playbook,
    links: Option<&ActionLinks>,
    now: DateTime<Utc>,
    req: &FulfillRequest,
) -> Result<FulfillOutcome, FulfillError> {
    let lead = store
        .lead(&req.lead_id)
        .await?
        .ok_or_else(|| FulfillError::UnknownLead(req.lead_id.clone()))?;
    let find = |history: &[HistoryEntry]| {
        history.iter().find_map(|h| match &h.event {
            Event::Response(r) if r.response_id == req.response_id => Some(r.clone()),
            _ => None,
        })
    };
    // The latest entries hold the response (it was routed minutes ago); only a
    // message redriven long after reads further back.
    let mut history = store.recent_history(&lead.id, HISTORY_WINDOW).await?;
    let mut response = find(&history);
    if response.is_none() && history.len() >= HISTORY_WINDOW {
        history = store.history(&lead.id).await?;
        response = find(&history);
    }
    let response = response
        .ok_or_else(|| FulfillError::UnknownResponse(lead.id.clone(), req.response_id.clone()))?;
    if lead.routing.is_none() {
        return Err(FulfillError::NotRouted(
            lead.id.clone(),
            req.response_id.clone(),
        ));
    }

    let mut outcome = FulfillOutcome::default();
    let window_start = now - playbook.repeats.window();
    let mut prospect_failure = None;

    // A hard bounce or a complaint gets nothing at all, not even what was asked for.
    // Only a part that mails the prospect needs to know (the owner's part does not).
    let blocked = match req.part {
        FulfillPart::Owner => None,
        _ => store
            .suppression(&lead.email)
            .await?
            .filter(|s| s.blocks_everything()),
    };
    if let Some(s) = &blocked {
        tracing::info!(lead_id = %lead.id, reason = ?s.reason, "the prospect's address is suppressed: no kit");
        outcome.skipped.push(EmailKind::Fulfillment);
    }
    // 1. The prospect's acknowledgement with the kit: one per kit type per window.
    if req.part != FulfillPart::Owner && blocked.is_none() {
        let ack = prospect_email(&lead, &response, playbook)?;
        let kit_name = playbook.kit(response.request_type).map(|k| k.name.clone());
        let notification = Notification {
            kind: EmailKind::Fulfillment,
            slot: format!("kit#{}", response.request_type),
            email: ack,
            kit: kit_name,
            handoff: None,
        };
        // The owner's package never waits on the prospect's mail: a failure
        // here is reported (and the message retried) after the owner's turn.
        if let Err(e) = send_once(
            store,
            mailer,
            now,
            now - playbook.repeats.kit_window(),
            &lead,
            &response,
            notification,
            &mut outcome,
            &mut history,
        )
        .await
        {
            prospect_failure = Some(e);
        }
    }

    // 2. The owner's lead package, which says which kit went out and when: one
    //    per owner, request type and route per window.
    if req.part != FulfillPart::Prospect {
        let owner = lead.owner();
        match owner.and_then(|o| o.email().map(|to| (o, to.to_string()))) {
            None => outcome.skipped.push(EmailKind::OwnerNotice),
            Some((owner, to)) => {
                let route = lead
                    .routing
                    .as_ref()
                    .map(|d| d.route.as_str())
                    .unwrap_or("");
                let actions = action_links(&lead, links, now);
                let notice = owner_email(
                    &lead,
                    &response,
                    &history,
                    playbook,
                    &to,
                    window_start,
                    &actions,
                )?;
                let notification = Notification {
                    kind: EmailKind::OwnerNotice,
                    // A hand-off is its own notice: never covered by the
                    // package routing sent someone else.
                    slot: match &req.handoff {
                        Some(_) => format!("handoff#{}", owner.key()),
                        None => format!("notice#{}#{}#{route}", owner.key(), response.request_type),
                    },
                    email: notice,
                    kit: None,
                    handoff: req.handoff.clone(),
                };
                send_once(
                    store,
                    mailer,
                    now,
                    window_start,
                    &lead,
                    &response,
                    notification,
                    &mut outcome,
                    &mut history,
                )
                .await?;
            }
        }
    }
    match prospect_failure {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// Earlier responses an owner's package lists (the latest ones).
pub const PREVIOUS_SHOWN: usize = 20;

/// One email to send for a response, and the coalescing slot it occupies.
struct Notification {
    kind: EmailKind,
    /// Notifications sharing a slot go out once per window.
    slot: String,
    email: OutgoingEmail,
    kit: Option<String>,
    /// Sent once per hand-off rather than once per response.
    handoff: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn send_once<S: LeadStore, M: Mailer>(
    store: &S,
    mailer: &M,
    now: DateTime<Utc>,
    window_start: DateTime<Utc>,
    lead: &Lead,
    response: &ResponseRecord,
    notification: Notification,
    outcome: &mut FulfillOutcome,
    history: &mut Vec<HistoryEntry>,
) -> Result<(), FulfillError> {
    let Notification {
        kind,
        slot,
        email,
        kit,
        handoff,
    } = notification;
    let key = match handoff {
        Some(h) => format!("{}#{}#{h}", response.response_id, kind.as_str()),
        None => format!("{}#{}", response.response_id, kind.as_str()),
    };
    match store
        .claim_send(&lead.id, &key, now, now + SEND_LEASE)
        .await?
    {
        SendClaim::AlreadySent { .. } => {
            outcome.already_sent.push(kind);
            return Ok(());
        }
        SendClaim::InFlight => return Err(FulfillError::InFlight(kind.as_str())),
        SendClaim::Claimed => {}
    }
    // Exactly once per response (above); at most once per window per slot (here).
    match store
        .claim_slot(
            &lead.id,
            &slot,
            &response.response_id,
            now,
            window_start,
            now + SEND_LEASE,
        )
        .await?
    {
        SlotClaim::Claimed => {}
        SlotClaim::Taken { by } => {
            let entry = HistoryEntry::new(
                &lead.id,
                now,
                Event::EmailCoalesced {
                    response_id: response.response_id.clone(),
                    kind,
                    to: email.to.clone(),
                    covered_by: by,
                },
            );
            store
                .complete_send(&lead.id, &key, "coalesced", entry.clone(), None)
                .await?;
            history.push(entry);
            outcome.coalesced.push(kind);
            return Ok(());
        }
    }
    let message_id = match mailer.send(&email).await {
        Ok(id) => id,
        Err(MailError::Rejected(reason)) => {
            // Retrying cannot help, and must not hold up the rest of the
            // fulfillment (the owner still gets the lead package): record it.
            let entry = HistoryEntry::new(
                &lead.id,
                now,
                Event::EmailRejected {
                    response_id: response.response_id.clone(),
                    kind,
                    to: email.to.clone(),
                    reason,
                },
            );
            store
                .complete_send(&lead.id, &key, "rejected", entry.clone(), Some(&slot))
                .await?;
            history.push(entry);
            outcome.rejected.push(kind);
            return Ok(());
        }
        Err(e) if e.nothing_sent() && !matches!(e, MailError::Rejected(_)) => {
            if let MailError::Sender(reason) = &e {
                // Every email fails until an operator fixes the sender or the
                // account: retried, and alarmed (the template's metric filter
                // counts `alarm = ses_sender`). Logged before anything else
                // can fail, so the alarm never misses it.
                tracing::error!(alarm = "ses_sender", lead_id = %lead.id, kind = kind.as_str(), %reason, "our mail sender cannot send");
            }
            store.release_send(&lead.id, &key).await?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let entry = HistoryEntry::new(
        &lead.id,
        now,
        Event::EmailSent {
            response_id: response.response_id.clone(),
            kind,
            to: email.to.clone(),
            subject: email.subject.clone(),
            kit,
            message_id: message_id.clone(),
        },
    );
    store
        .complete_send(&lead.id, &key, &message_id, entry.clone(), Some(&slot))
        .await?;
    history.push(entry);
    outcome.sent.push(kind);
    Ok(())
}

fn rendered(
    name: &str,
    subject: &str,
    data: &Value,
    to: &str,
) -> Result<OutgoingEmail, FulfillError> {
    email::compose(name, subject, data, to).map_err(|e| FulfillError::Template(e.to_string()))
}

fn prospect_email(
    lead: &Lead,
    response: &ResponseRecord,
    playbook: &Playbook,
) -> Result<OutgoingEmail, FulfillError> {
    let kit = playbook
        .kit(response.request_type)
        .ok_or_else(|| FulfillError::Template(format!("no kit for {}", response.request_type)))?;
    // Name who follows up only when someone will be told to: a queue with no
    // mailbox (an automated program) makes no promise.
    let owner = lead.owner().filter(|o| o.email().is_some());
    let data = json!({
        "company": playbook.company.name,
        "website": playbook.company.website,
        "first_name": lead.contact.first_name,
        "name": lead.display_name(),
        "request": response.request_type.describe(),
        "interest": response.interest,
        "kit": { "name": kit.name, "link": kit.link },
        "follow_up": {
            "name": owner.map(|o| o.display_name().to_string()),
            "is_rep": matches!(owner, Some(crate::domain::decision::Owner::Rep { .. })),
            "email": owner.and_then(|o| o.email()),
        },
    });
    rendered(&kit.template, &kit.subject, &data, lead.email.as_str())
}

/// One-click links for the likely outcomes, for an owner who is a person.
fn action_links(lead: &Lead, links: Option<&ActionLinks>, now: DateTime<Utc>) -> Vec<Value> {
    let (Some(links), Some(Owner::Rep { id, .. })) = (links, lead.owner()) else {
        return Vec::new();
    };
    Action::PACKAGE
        .iter()
        .map(|a| json!({ "label": a.label(), "url": links.url(&lead.id, id, *a, now) }))
        .collect()
}

fn owner_email(
    lead: &Lead,
    response: &ResponseRecord,
    history: &[HistoryEntry],
    playbook: &Playbook,
    to: &str,
    window_start: DateTime<Utc>,
    actions: &[Value],
) -> Result<OutgoingEmail, FulfillError> {
    let decision = lead.routing.as_ref();
    // The kit this response got: its own, or the one a repeat was coalesced into.
    let kit_response = history
        .iter()
        .find_map(|h| match &h.event {
            Event::EmailCoalesced {
                response_id,
                kind: EmailKind::Fulfillment,
                covered_by,
                ..
            } if *response_id == response.response_id => Some(covered_by),
            _ => None,
        })
        .unwrap_or(&response.response_id);
    let fulfillment = history.iter().rev().find_map(|h| match &h.event {
        Event::EmailSent { response_id, kind: EmailKind::Fulfillment, subject, kit, .. }
            if response_id == kit_response =>
        {
            Some(json!({ "kit": kit, "subject": subject, "at": h.at.format("%Y-%m-%d %H:%M UTC").to_string() }))
        }
        Event::EmailRejected { response_id, kind: EmailKind::Fulfillment, reason, .. }
            if response_id == kit_response =>
        {
            Some(json!({ "rejected": reason, "at": h.at.format("%Y-%m-%d %H:%M UTC").to_string() }))
        }
        _ => None,
    });
    let answers: Vec<Value> = Criterion::ALL
        .iter()
        .map(|c| {
            let known = lead.bant.0.get(c);
            let value = lead.bant.value(*c);
            json!({
                "criterion": c.label(),
                "value": playbook.bant.answer(*c, value).and_then(|a| a.label.clone()).unwrap_or_else(|| value.to_string()),
                "met": playbook.bant.is_met(*c, value),
                "when": known.map(|k| k.at.format("%Y-%m-%d").to_string()),
                "source": known.map(|k| k.source.clone()),
            })
        })
        .collect();
    // Every response inside the coalescing window: a burst of repeats is one package.
    let window: Vec<Value> = history
        .iter()
        .filter(|h| h.at >= window_start)
        .filter_map(|h| match &h.event {
            Event::Response(r) => Some(json!({
                "at": h.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                "request": r.request_type.describe(),
                "source": r.source.as_str(),
                "campaign": r.attribution.campaign,
            })),
            _ => None,
        })
        .collect();
    // Earlier responses and how each was resolved (the routing that followed
    // it), the latest first and at most PREVIOUS_SHOWN of them.
    let outcomes: std::collections::HashMap<&ResponseId, String> = history
        .iter()
        .filter_map(|x| match &x.event {
            Event::Routed {
                response_id,
                decision,
                ..
            } => Some((
                response_id,
                format!(
                    "{} — {} → {}",
                    decision.stage.label(),
                    decision.route,
                    decision.owner.display_name()
                ),
            )),
            _ => None,
        })
        .collect();
    let previous: Vec<Value> = history
        .iter()
        .rev()
        .filter(|h| h.at < window_start)
        .filter_map(|h| match &h.event {
            Event::Response(r) if r.response_id != response.response_id => {
                let outcome = outcomes.get(&r.response_id).cloned();
                Some(json!({
                    "at": h.at.format("%Y-%m-%d").to_string(),
                    "request": r.request_type.describe(),
                    "source": r.source.as_str(),
                    "campaign": r.attribution.campaign,
                    "outcome": outcome.unwrap_or_else(|| "not routed".into()),
                }))
            }
            _ => None,
        })
        .take(PREVIOUS_SHOWN)
        .collect();
    let contact: Vec<Value> = std::iter::once(("email", lead.email.to_string()))
        .chain(lead.contact.fields())
        .map(|(k, v)| json!({ "field": k.replace('_', " "), "value": v }))
        .collect();
    let custom: Vec<Value> = lead
        .custom
        .iter()
        .map(|(k, v)| json!({ "field": k, "value": v }))
        .collect();
    let a = &response.attribution;
    let utm = [
        &a.utm_source,
        &a.utm_medium,
        &a.utm_campaign,
        &a.utm_term,
        &a.utm_content,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect::<Vec<_>>()
    .join(" / ");
    let data = json!({
        "company": playbook.company.name,
        "owner": decision.map(|d| d.owner.display_name().to_string()),
        "name": lead.display_name(),
        "lead_id": lead.id.as_str(),
        "actions": actions,
        "lead_company": lead.contact.company,
        "contact": contact,
        "request": response.request_type.describe(),
        "interest": response.interest,
        "message": response.message,
        "conflicts": response.conflicts.iter().map(|c| json!({
            "field": c.field.replace('_', " "), "kept": c.kept, "offered": c.offered, "why": c.why,
        })).collect::<Vec<_>>(),
        "campaign": {
            "source": response.source.as_str(),
            "name": a.campaign,
            "utm": utm,
        },
        "fulfillment": fulfillment,
        "stage": decision.map(|d| d.stage.label()),
        "route": decision.map(|d| d.route.as_str()),
        "channel": decision.map(|d| d.route.channel()),
        "reasons": decision.map(|d| d.reasons.clone()).unwrap_or_default(),
        "answers": answers,
        "previous": previous,
        "repeats": (window.len() > 1).then(|| json!({
            "count": window.len(),
            "minutes": playbook.repeats.coalesce_minutes,
            "responses": window,
        })),
        "custom": custom,
    });
    let subject =
        "{{ route }} lead: {{ name }}{% if lead_company %} ({{ lead_company }}){% endif %} — {{ stage }}";
    rendered(email::OWNER_NOTICE, subject, &data, to)
}

impl crate::ports::Failure for FulfillError {
    fn disposition(&self) -> crate::ports::Disposition {
        use crate::ports::Disposition;
        match self {
            FulfillError::UnknownLead(_)
            | FulfillError::UnknownResponse(..)
            | FulfillError::Template(_) => Disposition::Bury,
            FulfillError::Store(e) if e.is_permanent() => Disposition::Bury,
            // Wait for sending capacity without using up the message's receives.
            FulfillError::Mail(MailError::Throttled(_)) => Disposition::Defer(
                std::time::Duration::from_secs(30)
                    + super::retry::jitter(std::time::Duration::from_secs(60)),
            ),
            FulfillError::NotRouted(..)
            | FulfillError::InFlight(_)
            | FulfillError::Store(_)
            | FulfillError::Mail(_) => Disposition::Retry,
        }
    }
}
