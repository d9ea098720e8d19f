//! Each port for an `Arc` of it: handlers share their ports (and, in tests,
//! the stages of a pipeline share one fake).

use super::*;
use std::sync::Arc;

impl<T: Exports + ?Sized> Exports for Arc<T> {
    fn save_export(
        &self,
        job: &crate::app::exports::ExportJob,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).save_export(job)
    }
    fn export(
        &self,
        id: &crate::domain::ids::ExportId,
    ) -> impl Future<Output = Result<Option<crate::app::exports::ExportJob>, StoreError>> + Send
    {
        (**self).export(id)
    }
}

impl<T: Quarantine + ?Sized> Quarantine for Arc<T> {
    fn hold(
        &self,
        post: &crate::domain::spam::HeldPost,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).hold(post, expires_at)
    }
    fn held(
        &self,
        days: &[NaiveDate],
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<crate::domain::spam::HeldPost>, Option<String>), StoreError>>
           + Send {
        (**self).held(days, cursor, limit)
    }
    fn held_post(
        &self,
        id: &crate::domain::ids::SpamId,
    ) -> impl Future<Output = Result<Option<crate::domain::spam::HeldPost>, StoreError>> + Send
    {
        (**self).held_post(id)
    }
    fn mark_released(
        &self,
        id: &crate::domain::ids::SpamId,
        released: &crate::domain::spam::Released,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).mark_released(id, released)
    }
}

impl<T: Leads> Leads for Arc<T> {
    fn lead_id_by_email(
        &self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<LeadId>, StoreError>> + Send {
        (**self).lead_id_by_email(email)
    }

    fn lead(&self, id: &LeadId) -> impl Future<Output = Result<Option<Lead>, StoreError>> + Send {
        (**self).lead(id)
    }

    fn history(
        &self,
        id: &LeadId,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send {
        (**self).history(id)
    }

    fn recent_history(
        &self,
        id: &LeadId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send {
        (**self).recent_history(id, limit)
    }

    fn history_before(
        &self,
        id: &LeadId,
        before: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send {
        (**self).history_before(id, before, limit)
    }

    fn reply(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<StoredReply>, StoreError>> + Send {
        (**self).reply(key, now)
    }

    fn commit(&self, commit: Commit) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).commit(commit)
    }

    fn marker_exists(
        &self,
        marker: &Marker,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).marker_exists(marker)
    }

    fn tasks(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send {
        (**self).tasks(lead)
    }

    fn leads_by_owner(
        &self,
        owner_key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<LeadPage, StoreError>> + Send {
        (**self).leads_by_owner(owner_key, after, limit)
    }
}

impl<T: Outbox> Outbox for Arc<T> {
    fn outbox_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<OutboxPage, StoreError>> + Send {
        (**self).outbox_due(before, limit)
    }

    fn outbox_done_all(
        &self,
        ids: &[MessageId],
    ) -> impl Future<Output = Result<Vec<MessageId>, StoreError>> + Send {
        (**self).outbox_done_all(ids)
    }

    fn outbox_done(&self, id: &MessageId) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).outbox_done(id)
    }
}

impl<T: SendLedger> SendLedger for Arc<T> {
    fn claim_send(
        &self,
        lead: &LeadId,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SendClaim, StoreError>> + Send {
        (**self).claim_send(lead, key, now, lease_until)
    }

    fn release_send(
        &self,
        lead: &LeadId,
        key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).release_send(lead, key)
    }

    fn claim_slot(
        &self,
        lead: &LeadId,
        slot: &str,
        holder: &ResponseId,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotClaim, StoreError>> + Send {
        (**self).claim_slot(lead, slot, holder, now, window_start, lease_until)
    }

    fn complete_send(
        &self,
        lead: &LeadId,
        key: &str,
        message_id: &str,
        entry: HistoryEntry,
        slot: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete_send(lead, key, message_id, entry, slot)
    }
}

impl<T: Pools> Pools for Arc<T> {
    fn take_turn(&self, pool: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).take_turn(pool)
    }

    fn pool_state(
        &self,
        pool: &str,
        reps: &[String],
    ) -> impl Future<Output = Result<PoolState, StoreError>> + Send {
        (**self).pool_state(pool, reps)
    }
}

impl<T: Quotas> Quotas for Arc<T> {
    fn take_quota(
        &self,
        quotas: &[Quota],
    ) -> impl Future<Output = Result<Option<Quota>, StoreError>> + Send {
        (**self).take_quota(quotas)
    }
}

impl<T: DueWork> DueWork for Arc<T> {
    fn open_tasks(
        &self,
        owner_key: &str,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send {
        (**self).open_tasks(owner_key, due_before, limit)
    }

    fn open_tasks_after(
        &self,
        owner_key: &str,
        after: (DateTime<Utc>, &crate::domain::ids::TaskId),
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send {
        (**self).open_tasks_after(owner_key, after, due_before, limit)
    }

    fn claim_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).claim_task_notice(task, notice, now, lease_until)
    }

    fn complete_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete_task_notice(task, notice, at)
    }

    fn sla_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send {
        (**self).sla_due(before, limit)
    }

    fn nurture_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send {
        (**self).nurture_due(before, limit)
    }
}

impl<T: Suppressions> Suppressions for Arc<T> {
    fn suppression(
        &self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<Suppression>, StoreError>> + Send {
        (**self).suppression(email)
    }

    fn suppress(
        &self,
        email: &EmailAddress,
        entry: &Suppression,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).suppress(email, entry)
    }
}

impl<T: OnceKeys> OnceKeys for Arc<T> {
    fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).claim_once(key, now, lease_until)
    }

    fn finish_once(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).finish_once(key)
    }
}

impl<T: Counters> Counters for Arc<T> {
    fn add_counts(
        &self,
        counts: &[crate::domain::stats::Count],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).add_counts(counts)
    }

    fn day_counts(
        &self,
        dim: Dim,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<DayRow>, StoreError>> + Send {
        (**self).day_counts(dim, from, to)
    }

    fn gauges(
        &self,
        dim: Dim,
    ) -> impl Future<Output = Result<Vec<(String, Metrics)>, StoreError>> + Send {
        (**self).gauges(dim)
    }
}

impl<T: Publisher> Publisher for Arc<T> {
    fn publish(
        &self,
        message: &OutboxMessage,
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).publish(message)
    }
    fn publish_all(
        &self,
        messages: &[OutboxMessage],
    ) -> impl Future<Output = Vec<Result<(), PublishError>>> + Send {
        (**self).publish_all(messages)
    }
}

impl<T: Mailer> Mailer for Arc<T> {
    fn send(
        &self,
        email: &OutgoingEmail,
    ) -> impl Future<Output = Result<String, MailError>> + Send {
        (**self).send(email)
    }
}

impl<T: BatchQueues> BatchQueues for Arc<T> {
    fn bury(
        &self,
        body: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).bury(body, reason)
    }
    fn defer(
        &self,
        body: &str,
        delay: std::time::Duration,
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).defer(body, delay)
    }
    fn max_receives(&self) -> Option<u32> {
        (**self).max_receives()
    }
}

impl<T: Clock> Clock for Arc<T> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}
