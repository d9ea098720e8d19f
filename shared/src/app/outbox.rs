//! The transactional outbox: messages are committed with the state they
//! announce, published right after, and swept up if their writer died between.

use crate::ports::{LeadStore, OutboxMessage, Publisher, StoreError};
use chrono::{DateTime, Duration, Utc};

/// Publish messages just committed, and clear them from the outbox. A failure
/// here loses nothing: the message stays in the outbox for the sweeper.
pub async fn flush<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    messages: &[OutboxMessage],
) {
    for m in messages {
        match publisher.publish(m).await {
            Ok(()) => {
                if let Err(e) = store.outbox_done(&m.id).await {
                    tracing::warn!(message_id = %m.id, error = %e, "published but not cleared; the sweeper will publish it again");
                }
            }
            Err(e) => {
                tracing::warn!(message_id = %m.id, error = %e, "publish failed; left in the outbox for the sweeper")
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub published: usize,
    pub failed: usize,
    /// Published but not cleared (they will be published again: consumers are idempotent).
    pub not_cleared: usize,
    /// Rows that could not be read, left in place and reported.
    pub unreadable: usize,
    /// Stopped before the deadline with work left for the next tick.
    pub stopped_early: bool,
}

/// How long a message may sit in the outbox before the sweeper takes it over:
/// long enough that it is not racing the writer's own publish.
pub const SWEEP_GRACE: Duration = Duration::seconds(30);

/// Due messages read per shard per round.
pub const PAGE: usize = 100;

/// Re-publish messages older than the grace period, round after round (every
/// shard read, published in batches, cleared in batches) until none is due or
/// `deadline` is near. A failed publish or clear is counted and skipped, never
/// blocking the rest. Consumers are idempotent, so a message published twice
/// (writer and sweeper) does no harm.
pub async fn sweep<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    now: DateTime<Utc>,
    deadline: Option<std::time::SystemTime>,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut skip: std::collections::BTreeSet<crate::domain::ids::MessageId> = Default::default();
    loop {
        if deadline.is_some_and(|d| std::time::SystemTime::now() + DEADLINE_MARGIN >= d) {
            report.stopped_early = true;
            break;
        }
        let page = store.outbox_due(now - SWEEP_GRACE, PAGE).await?;
        report.unreadable = report.unreadable.max(page.unreadable.len());
        for key in &page.unreadable {
            tracing::error!(%key, "outbox row cannot be read; left in place");
        }
        // What failed this tick stays for the next one.
        let due: Vec<_> = page
            .due
            .into_iter()
            .filter(|m| !skip.contains(&m.id))
            .collect();
        if due.is_empty() {
            break;
        }
        let results = publisher.publish_all(&due).await;
        let mut published = Vec::new();
        for (m, r) in due.iter().zip(results) {
            match r {
                Ok(()) => published.push(m.id.clone()),
                Err(e) => {
                    tracing::error!(message_id = %m.id, error = %e, "sweeper could not publish");
                    report.failed += 1;
                    skip.insert(m.id.clone());
                }
            }
        }
        report.published += published.len();
        let left = store.outbox_done_all(&published).await?;
        for id in left {
            tracing::warn!(message_id = %id, "published but not cleared; it will be published again");
            report.not_cleared += 1;
            skip.insert(id);
        }
    }
    Ok(report)
}

/// Time kept back before the invocation's deadline.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);
