//! The nurture tick: for every lead whose next step is due (found through the
//! index), leave the series if it must (another route, accepted/won/lost/dead,
//! unsubscribed, bounced, complained, no consent where opt-in is the law),
//! hand it back to inside sales if its score says sales-ready, else send the
//! step — inside the lead's local send window on a business day, under the
//! frequency cap (a step over it waits, none is dropped), once.

use super::route::HISTORY_WINDOW;
use super::{outbox, transition};
use crate::domain::lead::{EmailKind, Event, HistoryEntry, Lead};
use crate::domain::nurture::{cap_clears, exit_reason, next_window};
use crate::domain::playbook::{Playbook, Step};
use crate::domain::scoring::score;
use crate::domain::transition::{series as in_series, Change, Plan};
use crate::email;
use crate::links::ActionLinks;
use crate::ports::{LeadStore, MailError, Mailer, OutgoingEmail, Publisher, SendClaim, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

/// How long a claimed step waits for its email before another tick may send it.
pub const STEP_LEASE: Duration = Duration::seconds(200);
/// Most due leads read per index shard in one tick.
pub const PER_TICK: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NurtureReport {
    pub sent: usize,
    pub calls: usize,
    /// Steps moved to the lead's next send window, or past the frequency cap.
    pub deferred_window: usize,
    pub deferred_cap: usize,
    pub exited: usize,
    /// Left for inside sales: the score crossed the playbook's `exit_score`.
    pub sales_ready: usize,
    /// Sends or writes that failed; a later tick retries them.
    pub failed: usize,
    /// Leads the index named (what the tick read, beside their histories).
    pub read: usize,
    /// Stopped before the invocation's deadline, with work left for the next tick.
    pub stopped_early: bool,
}

/// The tick: every lead whose step is due by `now` (the event's time), each
/// on its own; claims' leases start at `wall` when that is later.
#[allow(clippy::too_many_arguments)]
pub async fn tick<S: LeadStore, M: Mailer, P: Publisher>(
    store: &S,
    mailer: &M,
    publisher: &P,
    playbook: &Playbook,
    links: Option<&ActionLinks>,
    deadline: Option<std::time::SystemTime>,
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
) -> Result<NurtureReport, StoreError> {
    let mut report = NurtureReport::default();
    // Claims' leases start at the real time when it is later than the
    // event's (a retried old event): see the reminders tick.
    let claim_now = now.max(wall);
    let due = store
        .nurture_due(now + Duration::milliseconds(1), PER_TICK)
        .await?;
    report.read = due.len();
    for listed in due {
        // Stop before the invocation's deadline: the index still names the rest.
        if deadline.is_some_and(|d| std::time::SystemTime::now() + outbox::DEADLINE_MARGIN >= d) {
            report.stopped_early = true;
            break;
        }
        // The index may lag: act on the lead as it is. One lead that cannot
        // be read is that lead's failure, not the tick's.
        let lead = match store.lead(&listed.id).await {
            Ok(Some(lead)) => lead,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(lead_id = %listed.id, error = %e, "nurture lead not read; a later tick retries");
                report.failed += 1;
                continue;
            }
        };
        match step(
            store,
            mailer,
            publisher,
            playbook,
            links,
            &lead,
            now,
            claim_now,
            &mut report,
        )
        .await
        {
            Ok(()) => {}
            // Someone changed the lead meanwhile: the next tick weighs it again.
            Err(StoreError::Conflict) => {}
            Err(e) => {
                tracing::warn!(lead_id = %lead.id, error = %e, "nurture step failed; a later tick retries");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

async fn write<S: LeadStore>(store: &S, before: &Lead, change: Change) -> Result<(), StoreError> {
    store
        .commit(transition::commit(change, before.version, Vec::new(), None))
        .await
}

#[allow(clippy::too_many_arguments)]
async fn step<S: LeadStore, M: Mailer, P: Publisher>(
    store: &S,
    mailer: &M,
    publisher: &P,
    playbook: &Playbook,
    links: Option<&ActionLinks>,
    lead: &Lead,
    now: DateTime<Utc>,
    claim_now: DateTime<Utc>,
    report: &mut NurtureReport,
) -> Result<(), StoreError> {
    let Some(e) = lead.nurture.clone() else {
        return Ok(());
    };
    if e.next_at > now {
        return Ok(());
    }
    // 1. Leave the series when it no longer applies.
    let suppressed = store.suppression(&lead.email).await?;
    let why = exit_reason(lead, playbook).or_else(|| {
        suppressed
            .as_ref()
            .map(|s| format!("the address is suppressed ({:?})", s.reason).to_lowercase())
    });
    if let Some(reason) = why {
        write(store, lead, in_series::exit(lead, reason, now)).await?;
        report.exited += 1;
        return Ok(());
    }
    // 2. Sales-ready: back to inside sales with a task and the reasons.
    let history = store.recent_history(&lead.id, HISTORY_WINDOW).await?;
    let s = score(lead, &history, playbook, now);
    let stage = crate::domain::routing::qualify(lead, playbook).stage;
    if crate::domain::nurture::sales_ready_at(lead, s.total, stage, playbook).is_some() {
        hand_to_inside_sales(store, publisher, playbook, lead, &history, s.total, now).await?;
        report.sales_ready += 1;
        return Ok(());
    }
    let Some(series) = playbook.nurture.series(&e.series) else {
        return Ok(());
    };
    let Some(this) = series.steps.get(e.step).cloned() else {
        return Ok(());
    };
    // 3. Only on a business day inside the lead's local window.
    let window = next_window(lead, playbook, now);
    if window > now {
        write(store, lead, in_series::defer(lead, window)).await?;
        report.deferred_window += 1;
        return Ok(());
    }
    let next = series.steps.get(e.step + 1);
    let mut sent_mail = false;
    if this.call.is_some() {
        // An inside-sales call instead of an email: a task for the owner.
        report.calls += 1;
    } else {
        // 4. Marketing mail: under the frequency cap, once.
        let clears = cap_clears(lead, &e, playbook, now);
        if clears > now {
            let until = next_window(lead, playbook, clears);
            write(store, lead, in_series::defer(lead, until)).await?;
            report.deferred_cap += 1;
            return Ok(());
        }
        let Some(links) = links else {
            tracing::error!(lead_id = %lead.id, "no unsubscribe link can be made (ACTION_LINK_KEYS_SECRET, PUBLIC_API_URL): marketing mail not sent");
            report.failed += 1;
            return Ok(());
        };
        let key = format!(
            "nurture#{}#{}#{}",
            e.series,
            e.step,
            e.enrolled_at.timestamp()
        );
        match store
            .claim_send(&lead.id, &key, claim_now, claim_now + STEP_LEASE)
            .await?
        {
            SendClaim::InFlight => return Ok(()),
            SendClaim::AlreadySent { .. } => {} // sent before the last write: only advance
            SendClaim::Claimed => {
                let mail = match marketing_email(lead, &this, playbook, links) {
                    Ok(m) => m,
                    Err(why) => {
                        tracing::error!(lead_id = %lead.id, %why, "nurture template");
                        store.release_send(&lead.id, &key).await?;
                        report.failed += 1;
                        return Ok(());
                    }
                };
                let response_id = match &lead.last_response_id {
                    Some(r) => r.clone(),
                    None => return Ok(()),
                };
                let entry = match mailer.send(&mail).await {
                    Ok(message_id) => HistoryEntry::new(
                        &lead.id,
                        now,
                        Event::EmailSent {
                            response_id,
                            kind: EmailKind::Nurture,
                            to: mail.to.clone(),
                            subject: mail.subject.clone(),
                            kit: None,
                            message_id,
                        },
                    ),
                    Err(MailError::Rejected(reason)) => HistoryEntry::new(
                        &lead.id,
                        now,
                        Event::EmailRejected {
                            response_id,
                            kind: EmailKind::Nurture,
                            to: mail.to.clone(),
                            reason,
                        },
                    ),
                    Err(err) => {
                        // Logged first: releasing the claim can fail too.
                        tracing::warn!(lead_id = %lead.id, error = %err, "nurture email not sent; a later tick retries");
                        if err.nothing_sent() {
                            store.release_send(&lead.id, &key).await?;
                        }
                        report.failed += 1;
                        return Ok(());
                    }
                };
                store
                    .complete_send(&lead.id, &key, "nurture", entry, None)
                    .await?;
                sent_mail = true;
                report.sent += 1;
            }
        }
    }
    // 5. On to the next step (or out: the series is done).
    let change = in_series::step_taken(lead, &this, next, sent_mail, playbook, now);
    write(store, lead, change).await
}

/// The step's email, with the unsubscribe link and the company's postal address.
fn marketing_email(
    lead: &Lead,
    step: &Step,
    playbook: &Playbook,
    links: &ActionLinks,
) -> Result<OutgoingEmail, String> {
    let template = step.template.as_deref().unwrap_or_default();
    let unsubscribe = links.unsubscribe_url(lead.email.as_str());
    let data = json!({
        "company": playbook.company.name,
        "postal_address": playbook.company.postal_address,
        "first_name": lead.contact.first_name,
        "topic": lead.interest.clone().unwrap_or_else(|| "analytics".into()),
        "industry": lead.contact.industry.clone().unwrap_or_else(|| "B2B".into()),
        "owner": lead.owner().map(|o| o.display_name().to_string()),
        "link": playbook.company.website,
        "unsubscribe_url": unsubscribe,
    });
    let subject = step.subject.as_deref().unwrap_or_default();
    let mut mail =
        email::compose(template, subject, &data, lead.email.as_str()).map_err(|e| e.to_string())?;
    mail.headers = email::list_unsubscribe(&unsubscribe, playbook);
    Ok(mail)
}

/// The score says sales-ready: out of the series, to inside sales, with a
/// task and the reasons, and the new owner is sent the package.
pub async fn hand_to_inside_sales<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    playbook: &Playbook,
    lead: &Lead,
    history: &[HistoryEntry],
    total: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let plan = Plan::sales_ready(lead, history, total, playbook, now);
    let change = transition::settle(store, plan).await?;
    let notice = transition::handoff_notice(&change, now);
    store
        .commit(transition::commit(
            change,
            lead.version,
            notice.clone(),
            None,
        ))
        .await?;
    outbox::flush(store, publisher, &notice).await;
    Ok(())
}
