//! The nurture tick: for every lead whose next step is due (found through the
//! index), leave the series if it must (another route, accepted/won/lost/dead,
//! unsubscribed, bounced, complained, no consent where opt-in is the law),
//! hand it back to inside sales if its score says sales-ready, else send the
//! step — inside the lead's local send window on a business day, under the
//! frequency cap (a step over it waits, none is dropped), once.

use super::outbox;
use super::route::HISTORY_WINDOW;
use crate::domain::decision::{PoolState, Route, RouteDecision};
use crate::domain::followup::first_touch_task;
use crate::domain::lead::{EmailKind, Event, HistoryEntry, Lead, SlaClock};
use crate::domain::nurture::{cap_clears, exit_reason, next_window, trim_sent};
use crate::domain::playbook::{Playbook, Step};
use crate::domain::routing::assess_by_rules;
use crate::domain::scoring::score;
use crate::domain::task::Task;
use crate::email;
use crate::links::ActionLinks;
use crate::messages::FulfillRequest;
use crate::ports::{
    Commit, Expect, LeadStore, MailError, Mailer, OutgoingEmail, Publisher, SendClaim, StoreError,
};
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

async fn write<S: LeadStore>(
    store: &S,
    before: &Lead,
    mut lead: Lead,
    events: Vec<HistoryEntry>,
    tasks: Vec<Task>,
) -> Result<(), StoreError> {
    lead.version = before.version + 1;
    store
        .commit(Commit {
            lead: Some((lead, Expect::Version(before.version))),
            events,
            tasks,
            ..Commit::default()
        })
        .await
}

fn exit(lead: &Lead, reason: String, now: DateTime<Utc>) -> (Lead, HistoryEntry) {
    let mut updated = lead.clone();
    let series = updated.nurture.take().map(|e| e.series).unwrap_or_default();
    let entry = HistoryEntry::new(&lead.id, now, Event::NurtureExited { series, reason });
    (updated, entry)
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
        let (updated, entry) = exit(lead, reason, now);
        write(store, lead, updated, vec![entry], Vec::new()).await?;
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
        let mut updated = lead.clone();
        if let Some(n) = updated.nurture.as_mut() {
            n.next_at = window;
        }
        write(store, lead, updated, Vec::new(), Vec::new()).await?;
        report.deferred_window += 1;
        return Ok(());
    }
    let next = series.steps.get(e.step + 1);
    let what;
    let mut tasks = Vec::new();
    let mut events = Vec::new();
    let mut sent_mail = false;
    if let Some(kind) = this.call {
        // An inside-sales call instead of an email.
        let owner = lead
            .owner()
            .cloned()
            .unwrap_or_else(|| playbook.fallback_owner());
        let task = Task::new(
            &lead.id,
            kind,
            owner,
            now,
            now,
            format!(
                "{} — nurture series {}, step {}",
                kind.label(),
                e.series,
                e.step + 1
            ),
        );
        events.push(HistoryEntry::new(
            &lead.id,
            now,
            Event::task_opened(&task, None),
        ));
        what = format!("{} for {}", kind, task.owner.display_name());
        tasks.push(task);
        report.calls += 1;
    } else {
        // 4. Marketing mail: under the frequency cap, once.
        let clears = cap_clears(lead, &e, playbook, now);
        if clears > now {
            let mut updated = lead.clone();
            if let Some(n) = updated.nurture.as_mut() {
                n.next_at = next_window(lead, playbook, clears);
            }
            write(store, lead, updated, Vec::new(), Vec::new()).await?;
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
        what = format!("email \"{}\"", this.subject.clone().unwrap_or_default());
    }
    // 5. On to the next step (or out: the series is done).
    let mut updated = lead.clone();
    if sent_mail {
        updated.marketing_sent.push(now);
    }
    trim_sent(&mut updated.marketing_sent, playbook, now);
    events.push(HistoryEntry::new(
        &lead.id,
        now,
        Event::NurtureStep {
            series: e.series.clone(),
            step: e.step,
            what,
        },
    ));
    match next {
        Some(n) => {
            if let Some(en) = updated.nurture.as_mut() {
                en.step += 1;
                en.next_at = crate::domain::nurture::step_due(lead, n, now);
                if sent_mail {
                    en.sent.push(now);
                }
                trim_sent(&mut en.sent, playbook, now);
            }
        }
        None => {
            let (done, entry) = exit(&updated, "series completed".into(), now);
            updated = done;
            events.push(entry);
        }
    }
    write(store, lead, updated, events, tasks).await
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
    let why = format!(
        "sales-ready: score {total} reached the playbook's exit score {}",
        playbook.nurture.exit_score
    );
    let assessment = assess_by_rules(lead, history, playbook, now).with_route(
        lead,
        playbook,
        RouteDecision {
            route: Route::HighPotential,
            rule: why.clone(),
            reason: format!("high_potential: {why} → {}", Route::HighPotential.channel()),
        },
    );
    let state = match assessment.pool {
        Some(pool) => {
            let reps = playbook
                .pool(pool)
                .map(|p| p.reps.clone())
                .unwrap_or_default();
            let mut st = store.pool_state(pool, &reps).await?;
            st.cursor = store.take_turn(pool).await?;
            st
        }
        None => PoolState::default(),
    };
    let decision = assessment.decide(lead, playbook, now, &state);
    let mut updated = lead.clone();
    let loads = decision.load_changes(lead.owner());
    let previous = updated.apply_decision(decision.clone(), now);
    let (mut updated, exit_entry) = {
        let series = updated.nurture.take().map(|e| e.series).unwrap_or_default();
        let entry = HistoryEntry::new(
            &lead.id,
            now,
            Event::NurtureExited {
                series,
                reason: why.clone(),
            },
        );
        (updated, entry)
    };
    if updated.first_touch.is_none() {
        updated.sla = decision.follow_up_by.map(SlaClock::new);
    }
    let mut events = vec![
        exit_entry,
        HistoryEntry::new(
            &lead.id,
            now,
            Event::Decided {
                by: "nurture".into(),
                cause: why,
                decision: decision.clone(),
                previous_owner: previous,
            },
        ),
    ];
    let tasks: Vec<Task> = first_touch_task(&updated, &decision, playbook, now)
        .into_iter()
        .collect();
    for t in &tasks {
        events.push(HistoryEntry::new(
            &lead.id,
            now,
            Event::task_opened(t, None),
        ));
    }
    let notice: Vec<_> = match (
        &updated.last_response_id,
        decision.owner.email(),
        events.last(),
    ) {
        (Some(r), Some(_), Some(entry)) => {
            vec![FulfillRequest::handoff(&lead.id, r, &entry.id, now)]
        }
        _ => Vec::new(),
    };
    updated.version = lead.version + 1;
    store
        .commit(Commit {
            lead: Some((updated, Expect::Version(lead.version))),
            events,
            tasks,
            loads,
            outbox: notice.clone(),
            ..Commit::default()
        })
        .await?;
    outbox::flush(store, publisher, &notice).await;
    Ok(())
}
