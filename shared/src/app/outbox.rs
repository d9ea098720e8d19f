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
}

/// How long a message may sit in the outbox before the sweeper takes it over:
/// long enough that it is not racing the writer's own publish.
pub const SWEEP_GRACE: Duration = Duration::seconds(30);

/// Re-publish messages older than the grace period. Consumers are idempotent,
/// so a message published twice (writer and sweeper) does no harm.
pub async fn sweep<S: LeadStore, P: Publisher>(
    store: &S,
    publisher: &P,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<SweepReport, StoreError> {
    let due = store.outbox_due(now - SWEEP_GRACE, limit).await?;
    let mut report = SweepReport::default();
    for m in &due {
        match publisher.publish(m).await {
            Ok(()) => {
                store.outbox_done(&m.id).await?;
                report.published += 1;
            }
            Err(e) => {
                tracing::error!(message_id = %m.id, error = %e, "sweeper could not publish");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
