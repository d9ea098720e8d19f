//! What every store must do, run against the fake here (`cargo test -p
//! leadflow`) and against DynamoDB in the emulator
//! (`tests/tests/adapters.rs`): the fake cannot drift from the real thing
//! unnoticed (issue 25). Each check names the port and what it promises;
//! everything it writes has fresh ids, so one table serves many runs.

use super::*;
use crate::app::exports::ExportJob;
use crate::domain::ids::SpamId;
use crate::domain::lead::Event;
use crate::domain::playbook::QuotaScope;
use crate::domain::spam::{HeldPost, Released};

fn fresh(what: &str) -> String {
    format!(
        "{what}-{}",
        crate::domain::ids::EventId::generate().as_str()[3..].to_ascii_lowercase()
    )
}

fn activity(lead: &LeadId, at: DateTime<Utc>, kind: &str) -> HistoryEntry {
    HistoryEntry::new(
        lead,
        at,
        Event::Activity {
            kind: kind.into(),
            detail: None,
            message_id: None,
            occurred_at: None,
        },
    )
}

/// What a write must keep of a lead (the store may add its bookkeeping).
fn key_fields(lead: &Lead) -> (LeadId, String, u64, DateTime<Utc>, String) {
    (
        lead.id.clone(),
        lead.email.to_string(),
        lead.version,
        lead.updated_at,
        lead.status.to_string(),
    )
}

/// Runs every check against `store`, as of `now`.
pub async fn store_contract<S: LeadStore + Exports + Quarantine>(store: &S, now: DateTime<Utc>) {
    leads_commit_all_or_nothing(store, now).await;
    a_leads_tasks_are_written_with_it(store, now).await;
    outbox_lists_what_is_due_until_done(store, now).await;
    a_send_is_claimed_once_until_its_lease_lapses(store, now).await;
    once_keys_and_suppressions(store, now).await;
    quotas_refuse_past_their_max(store, now).await;
    pools_take_turns(store).await;
    exports_and_quarantine(store, now).await;
}

async fn leads_commit_all_or_nothing<S: LeadStore>(store: &S, now: DateTime<Utc>) {
    let email = EmailAddress::parse(&format!("{}@Contract.example", fresh("p"))).unwrap();
    let mut lead = Lead::new(LeadId::generate(), email.clone(), now);
    let first = activity(&lead.id, now, "first");
    let key = fresh("idem");
    let reply = StoredReply {
        answer: Answer::Received,
        lead_id: lead.id.clone(),
        response_id: None,
        fingerprint: "f1".into(),
        created_at: now,
    };
    store
        .commit(Commit {
            lead: Some((lead.clone(), Expect::New)),
            events: vec![first.clone()],
            reply: Some((key.clone(), reply.clone())),
            ..Commit::default()
        })
        .await
        .expect("Leads::commit writes a new lead");
    // Read back as written (the store adds its own bookkeeping, the tally).
    let stored = store.lead(&lead.id).await.unwrap().expect("Leads::lead");
    assert_eq!(key_fields(&stored), key_fields(&lead));
    // The address is the person's whatever its case.
    let upper = EmailAddress::parse(&email.as_str().to_ascii_uppercase()).unwrap();
    assert_eq!(
        store.lead_id_by_email(&upper).await.unwrap(),
        Some(lead.id.clone()),
        "Leads::lead_id_by_email"
    );
    assert_eq!(store.reply(&key, now).await.unwrap(), Some(reply.clone()));
    // A second "new" lead for the address, and a stale version: refused.
    let twin = Lead::new(LeadId::generate(), email.clone(), now);
    assert_eq!(
        store
            .commit(Commit {
                lead: Some((twin.clone(), Expect::New)),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict),
        "Expect::New refuses a second lead for one address"
    );
    let mut changed = lead.clone();
    changed.version += 1;
    changed.updated_at = now + chrono::Duration::seconds(1);
    assert_eq!(
        store
            .commit(Commit {
                lead: Some((changed.clone(), Expect::Version(lead.version + 7))),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict),
        "Expect::Version refuses a stale version"
    );
    // All or nothing: a good lead write with an Idempotency-Key already
    // used fails whole, its event and marker with it.
    let marker = Marker {
        lead_id: lead.id.clone(),
        step: "contract",
        key: fresh("m"),
    };
    let lost = activity(&lead.id, now, "lost");
    assert_eq!(
        store
            .commit(Commit {
                lead: Some((changed.clone(), Expect::Version(lead.version))),
                events: vec![lost.clone()],
                reply: Some((key.clone(), reply.clone())),
                marker: Some(marker.clone()),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict),
        "a used Idempotency-Key fails the whole commit"
    );
    assert_eq!(store.lead(&lead.id).await.unwrap(), Some(stored.clone()));
    assert!(!store.marker_exists(&marker).await.unwrap());
    assert_eq!(store.history(&lead.id).await.unwrap(), vec![first.clone()]);
    // The same change without the used key: written, marker and all.
    let second = activity(&lead.id, now + chrono::Duration::seconds(1), "second");
    store
        .commit(Commit {
            lead: Some((changed.clone(), Expect::Version(lead.version))),
            events: vec![second.clone()],
            marker: Some(marker.clone()),
            ..Commit::default()
        })
        .await
        .expect("Leads::commit at the stored version");
    lead = changed;
    let stored = store.lead(&lead.id).await.unwrap().unwrap();
    assert_eq!(key_fields(&stored), key_fields(&lead));
    assert!(
        store.marker_exists(&marker).await.unwrap(),
        "Leads::marker_exists"
    );
    assert_eq!(
        store
            .commit(Commit {
                marker: Some(marker.clone()),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict),
        "a marker is written once"
    );
    assert_eq!(
        store.history(&lead.id).await.unwrap(),
        vec![first.clone(), second.clone()],
        "Leads::history, oldest first"
    );
    assert_eq!(
        store.recent_history(&lead.id, 1).await.unwrap(),
        vec![second.clone()],
        "Leads::recent_history keeps the latest"
    );
}

/// `Leads::tasks`: every task a commit wrote for the lead, as last written
/// (a closed task stays, closed), and no other lead's.
async fn a_leads_tasks_are_written_with_it<S: LeadStore>(store: &S, now: DateTime<Utc>) {
    use crate::domain::decision::Owner;
    use crate::domain::task::{TaskKind, TaskStatus};
    let owner = Owner::Rep {
        id: "lena.fischer".into(),
        name: "Lena Fischer".into(),
        email: "lena.fischer@example.com".into(),
    };
    let mut ids = Vec::new();
    for _ in 0..2 {
        let email = EmailAddress::parse(&format!("{}@contract.example", fresh("t"))).unwrap();
        let lead = Lead::new(LeadId::generate(), email, now);
        let call = Task::new(
            &lead.id,
            TaskKind::PrequalificationCall,
            owner.clone(),
            now,
            now,
            "call",
        );
        let kit = Task::new(
            &lead.id,
            TaskKind::KitFollowUp,
            owner.clone(),
            now,
            now,
            "kit",
        );
        store
            .commit(Commit {
                lead: Some((lead.clone(), Expect::New)),
                tasks: vec![call.clone(), kit.clone()],
                ..Commit::default()
            })
            .await
            .expect("Leads::commit writes a lead with its tasks");
        ids.push((lead, call, kit));
    }
    let (lead, mut call, kit) = ids.swap_remove(0);
    let mut read = store.tasks(&lead.id).await.expect("Leads::tasks");
    read.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = vec![call.clone(), kit.clone()];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(read, want, "Leads::tasks: the lead's own tasks, as written");
    call.close(TaskStatus::Done, "lena.fischer", "reached", now);
    let mut next = lead.clone();
    next.version += 1;
    store
        .commit(Commit {
            lead: Some((next, Expect::Version(lead.version))),
            tasks: vec![call.clone()],
            ..Commit::default()
        })
        .await
        .expect("Leads::commit closes a task");
    let read = store.tasks(&lead.id).await.unwrap();
    assert_eq!(read.len(), 2, "a closed task stays the lead's");
    let closed = read.iter().find(|t| t.id == call.id).expect("the call");
    assert_eq!(closed.status, TaskStatus::Done);
    assert!(read.iter().any(|t| t.id == kit.id && t.is_open()));
}

async fn outbox_lists_what_is_due_until_done<S: LeadStore>(store: &S, now: DateTime<Utc>) {
    let message = OutboxMessage {
        id: MessageId::generate(),
        queue: Queue::Routing,
        body: "{\"contract\":true}".into(),
        created_at: now - chrono::Duration::minutes(5),
        delay_seconds: 0,
    };
    store
        .commit(Commit {
            outbox: vec![message.clone()],
            ..Commit::default()
        })
        .await
        .unwrap();
    let due = store.outbox_due(now, 1000).await.unwrap();
    assert!(due.due.contains(&message), "Outbox::outbox_due lists it");
    let not_yet = store
        .outbox_due(now - chrono::Duration::minutes(10), 1000)
        .await
        .unwrap();
    assert!(
        !not_yet.due.contains(&message),
        "only what was written before"
    );
    store.outbox_done(&message.id).await.unwrap();
    let due = store.outbox_due(now, 1000).await.unwrap();
    assert!(!due.due.contains(&message), "Outbox::outbox_done clears it");
}

async fn a_send_is_claimed_once_until_its_lease_lapses<S: LeadStore>(
    store: &S,
    now: DateTime<Utc>,
) {
    let lead = LeadId::generate();
    let key = fresh("SEND#contract");
    let lease = now + chrono::Duration::minutes(5);
    assert_eq!(
        store.claim_send(&lead, &key, now, lease).await.unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        store.claim_send(&lead, &key, now, lease).await.unwrap(),
        SendClaim::InFlight,
        "SendLedger::claim_send: one sender at a time"
    );
    let later = lease + chrono::Duration::seconds(1);
    assert_eq!(
        store
            .claim_send(&lead, &key, later, later + chrono::Duration::minutes(5))
            .await
            .unwrap(),
        SendClaim::Claimed,
        "a lapsed claim may be taken again"
    );
    store.release_send(&lead, &key).await.unwrap();
    assert_eq!(
        store.claim_send(&lead, &key, now, lease).await.unwrap(),
        SendClaim::Claimed,
        "SendLedger::release_send gives it back"
    );
    let sent = activity(&lead, now, "sent");
    store
        .complete_send(&lead, &key, "msg-1", sent.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        store.claim_send(&lead, &key, later, lease).await.unwrap(),
        SendClaim::AlreadySent {
            message_id: "msg-1".into()
        },
        "SendLedger::complete_send: sent once, for ever"
    );
}

async fn once_keys_and_suppressions<S: LeadStore>(store: &S, now: DateTime<Utc>) {
    let key = fresh("once");
    let lease = now + chrono::Duration::minutes(1);
    assert!(store.claim_once(&key, now, lease).await.unwrap());
    assert!(
        !store.claim_once(&key, now, lease).await.unwrap(),
        "OnceKeys::claim_once: held"
    );
    store.finish_once(&key).await.unwrap();
    let much_later = now + chrono::Duration::days(1);
    assert!(
        !store
            .claim_once(&key, much_later, much_later + chrono::Duration::minutes(1))
            .await
            .unwrap(),
        "OnceKeys::finish_once: done for ever"
    );

    let email = EmailAddress::parse(&format!("{}@contract.example", fresh("s"))).unwrap();
    assert_eq!(store.suppression(&email).await.unwrap(), None);
    let entry = Suppression {
        reason: SuppressionReason::Unsubscribed,
        at: now,
        detail: None,
    };
    store.suppress(&email, &entry).await.unwrap();
    let upper = EmailAddress::parse(&email.as_str().to_ascii_uppercase()).unwrap();
    assert_eq!(
        store.suppression(&upper).await.unwrap(),
        Some(entry),
        "Suppressions: keyed on the lower-cased address"
    );
}

async fn quotas_refuse_past_their_max<S: LeadStore>(store: &S, now: DateTime<Utc>) {
    let quota = Quota {
        scope: QuotaScope::SourceIp,
        key: format!("ip#{}", fresh("q")),
        max: 2,
        window_start: now,
        window_end: now + chrono::Duration::hours(1),
    };
    let quotas = std::slice::from_ref(&quota);
    assert_eq!(store.take_quota(quotas).await.unwrap(), None);
    assert_eq!(store.take_quota(quotas).await.unwrap(), None);
    assert_eq!(
        store.take_quota(quotas).await.unwrap(),
        Some(quota.clone()),
        "Quotas::take_quota: the third of two is refused"
    );
}

async fn pools_take_turns<S: LeadStore>(store: &S) {
    let pool = fresh("pool");
    let a = store.take_turn(&pool).await.unwrap();
    let b = store.take_turn(&pool).await.unwrap();
    assert_eq!(b, a + 1, "Pools::take_turn counts up");
}

async fn exports_and_quarantine<S: Exports + Quarantine>(store: &S, now: DateTime<Utc>) {
    let job = ExportJob::new("Lena.Fischer@example.com", Default::default(), now);
    store.save_export(&job).await.unwrap();
    assert_eq!(
        store.export(&job.id).await.unwrap(),
        Some(job.clone()),
        "Exports: what was saved"
    );
    let other = crate::domain::ids::ExportId::at(now);
    assert_eq!(store.export(&other).await.unwrap(), None);

    let post = HeldPost {
        id: SpamId::at(now),
        received_at: now,
        sign: "too_fast".into(),
        reason: "sent 700 ms after the form opened".into(),
        fields: vec![("email".into(), format!("{}@contract.example", fresh("h")))],
        source_ip: Some("192.0.2.7".into()),
        released: None,
    };
    store
        .hold(&post, now + chrono::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(store.held_post(&post.id).await.unwrap(), Some(post.clone()));
    let (listed, _) = store.held(&[post.id.day()], None, 500).await.unwrap();
    assert!(listed.contains(&post), "Quarantine::held lists it");
    let released = Released {
        at: now,
        by: "olaf.berg".into(),
        lead_id: LeadId::generate(),
    };
    store.mark_released(&post.id, &released).await.unwrap();
    assert_eq!(
        store.mark_released(&post.id, &released).await,
        Err(StoreError::Conflict),
        "Quarantine::mark_released: once"
    );
    let held = store.held_post(&post.id).await.unwrap().unwrap();
    assert_eq!(held.released, Some(released));
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_fake_keeps_the_store_contract() {
        let store = super::MemoryStore::new();
        super::store_contract(&store, chrono::Utc::now()).await;
    }
}
