//! In-memory ports for fast handler tests. They keep the same conditions as the
//! DynamoDB adapter (all-or-nothing commits, optimistic versions, unique
//! markers) so handler tests exercise the real retry and idempotency paths.
//! Faults can be injected to test what a crash between two steps leaves behind.

use crate::domain::decision::PoolState;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{LeadId, MessageId, ResponseId};
use crate::domain::lead::{HistoryEntry, Lead};
use crate::domain::playbook::Quota;
use crate::domain::stats::{self, CountKey, DayRow, Dim, Metrics};
use crate::domain::task::{Task, TaskNotice};
use crate::ports::*;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

pub mod contract;
mod doubles;
mod exports;
mod quarantine;

pub use doubles::*;
pub use exports::MemoryFiles;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Send {
    Pending { lease_until: DateTime<Utc> },
    Sent { message_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    holder: ResponseId,
    /// `None` while pending.
    sent_at: Option<DateTime<Utc>>,
    lease_until: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct State {
    emails: HashMap<EmailAddress, LeadId>,
    leads: HashMap<LeadId, Lead>,
    history: HashMap<LeadId, Vec<HistoryEntry>>,
    replies: HashMap<String, StoredReply>,
    markers: BTreeSet<(LeadId, &'static str, String)>,
    cursors: HashMap<String, u64>,
    loads: HashMap<String, i64>,
    outbox: BTreeMap<MessageId, OutboxMessage>,
    sends: HashMap<(LeadId, String), Send>,
    slots: HashMap<(LeadId, String), Slot>,
    quotas: HashMap<(String, DateTime<Utc>), u32>,
    tasks: BTreeMap<crate::domain::ids::TaskId, Task>,
    /// Leases on task notices: (task, notice) → until.
    notice_leases: HashMap<(crate::domain::ids::TaskId, &'static str), DateTime<Utc>>,
    suppressed: HashMap<EmailAddress, Suppression>,
    /// `claim_once` keys: done, or the lease of the tick holding it.
    once: HashMap<String, Option<DateTime<Utc>>>,
    /// The report counters, as the DynamoDB adapter keeps them (one per shard).
    counters: BTreeMap<CountKey, Metrics>,
    /// Fail this many upcoming commits with `Unavailable` (a crash before the write).
    fail_commits: usize,
    /// Fail this many upcoming commits with `Conflict`, as a concurrent writer would.
    conflict_commits: usize,
    /// Refuse this many upcoming commits as invalid, as DynamoDB refuses an oversized item.
    refuse_commits: usize,
    /// History entries handed out, to show a use case reads a bounded amount.
    history_entries_read: usize,
    /// Owners (keys) whose open tasks cannot be read, as a throttled query fails.
    failing_owners: std::collections::HashSet<String>,
    /// Posts the spam guard held, by id.
    held: BTreeMap<String, crate::domain::spam::HeldPost>,
    /// Export jobs, by id.
    exports: BTreeMap<String, crate::app::exports::ExportJob>,
}

/// Cheap to share: a clone is the same store (what the stages of a
/// pipeline under test do).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    state: std::sync::Arc<Mutex<State>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock means a test already panicked; carry on with its state.
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }

    pub fn fail_next_commits(&self, n: usize) {
        self.with(|s| s.fail_commits = n);
    }
    pub fn refuse_next_commits(&self, n: usize) {
        self.with(|s| s.refuse_commits = n);
    }
    pub fn conflict_next_commits(&self, n: usize) {
        self.with(|s| s.conflict_commits = n);
    }
    /// Fail every read of `owner_key`'s open tasks with `Unavailable` (or
    /// stop, with `false`).
    pub fn fail_open_tasks_of(&self, owner_key: &str, failing: bool) {
        self.with(|s| match failing {
            true => s.failing_owners.insert(owner_key.to_string()),
            false => s.failing_owners.remove(owner_key),
        });
    }
    /// History entries handed out so far.
    pub fn history_entries_read(&self) -> usize {
        self.with(|s| s.history_entries_read)
    }
    pub fn lead_count(&self) -> usize {
        self.with(|s| s.leads.len())
    }
    pub fn leads(&self) -> Vec<Lead> {
        self.with(|s| s.leads.values().cloned().collect())
    }
    /// An email's claim with no lead behind it, as a writer that died (or a
    /// lost item) would leave.
    pub fn orphan_email_claim(&self, email: EmailAddress, id: LeadId) {
        self.with(|s| s.emails.insert(email, id));
    }
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.with(|s| s.outbox.values().cloned().collect())
    }
    /// Every task stored, open and closed.
    pub fn all_tasks(&self) -> Vec<Task> {
        self.with(|s| s.tasks.values().cloned().collect())
    }
    /// A rep's open-lead count.
    pub fn load_of(&self, rep: &str) -> i64 {
        self.with(|s| s.loads.get(rep).copied().unwrap_or(0))
    }
}

impl Leads for MemoryStore {
    async fn lead_id_by_email(&self, email: &EmailAddress) -> Result<Option<LeadId>, StoreError> {
        Ok(self.with(|s| s.emails.get(email).cloned()))
    }

    async fn lead(&self, id: &LeadId) -> Result<Option<Lead>, StoreError> {
        Ok(self.with(|s| s.leads.get(id).cloned()))
    }

    async fn history(&self, id: &LeadId) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.with(|s| {
            let mut h = s.history.get(id).cloned().unwrap_or_default();
            h.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
            s.history_entries_read += h.len();
            h
        }))
    }

    async fn recent_history(
        &self,
        id: &LeadId,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.with(|s| {
            let mut h = s.history.get(id).cloned().unwrap_or_default();
            h.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
            let recent = h.split_off(h.len().saturating_sub(limit));
            s.history_entries_read += recent.len();
            recent
        }))
    }

    async fn history_before(
        &self,
        id: &LeadId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.with(|s| {
            let mut h: Vec<HistoryEntry> = s
                .history
                .get(id)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| before.is_none_or(|b| e.key().as_str() < b))
                .collect();
            h.sort_by_key(|e| std::cmp::Reverse(e.key()));
            h.truncate(limit);
            s.history_entries_read += h.len();
            h
        }))
    }

    async fn reply(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredReply>, StoreError> {
        Ok(self.with(|s| s.replies.get(key).filter(|r| r.is_live(now)).cloned()))
    }

    async fn commit(&self, mut c: Commit) -> Result<(), StoreError> {
        self.with(|s| {
            if s.fail_commits > 0 {
                s.fail_commits -= 1;
                return Err(StoreError::Unavailable("injected fault".into()));
            }
            if s.conflict_commits > 0 {
                s.conflict_commits -= 1;
                return Err(StoreError::Conflict);
            }
            if s.refuse_commits > 0 {
                s.refuse_commits -= 1;
                return Err(StoreError::Invalid("injected: item too large".into()));
            }
            // Check every condition first: all or nothing.
            if let Some((lead, expect)) = &c.lead {
                match expect {
                    Expect::New => {
                        if s.leads.contains_key(&lead.id) || s.emails.contains_key(&lead.email) {
                            return Err(StoreError::Conflict);
                        }
                    }
                    Expect::Adopt => {
                        if s.leads.contains_key(&lead.id)
                            || s.emails.get(&lead.email) != Some(&lead.id)
                        {
                            return Err(StoreError::Conflict);
                        }
                    }
                    Expect::Version(v) => {
                        if s.leads.get(&lead.id).map(|l| l.version) != Some(*v) {
                            return Err(StoreError::Conflict);
                        }
                    }
                }
            }
            if let Some((key, reply)) = &c.reply {
                if s.replies
                    .get(key)
                    .is_some_and(|old| old.is_live(reply.created_at))
                {
                    return Err(StoreError::Conflict);
                }
            }
            if let Some(m) = &c.marker {
                if s.markers
                    .contains(&(m.lead_id.clone(), m.step, m.key.clone()))
                {
                    return Err(StoreError::Conflict);
                }
            }
            let counts = stats::settle(c.lead.as_mut().map(|(l, _)| l), &c.events);
            for count in counts {
                let metrics = s.counters.entry(count.key).or_default();
                for (m, n) in count.add {
                    *metrics.entry(m).or_default() += n;
                }
            }
            if let Some((lead, expect)) = c.lead {
                if matches!(expect, Expect::New) {
                    s.emails.insert(lead.email.clone(), lead.id.clone());
                }
                s.leads.insert(lead.id.clone(), lead);
            }
            for e in c.events {
                s.history.entry(e.lead_id.clone()).or_default().push(e);
            }
            for t in c.tasks {
                s.tasks.insert(t.id.clone(), t);
            }
            for m in c.outbox {
                s.outbox.insert(m.id.clone(), m);
            }
            if let Some((key, reply)) = c.reply {
                s.replies.insert(key, reply);
            }
            if let Some(m) = c.marker {
                s.markers.insert((m.lead_id, m.step, m.key));
            }
            for (rep, delta) in c.loads {
                *s.loads.entry(rep).or_default() += delta;
            }
            Ok(())
        })
    }

    async fn marker_exists(&self, m: &Marker) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            s.markers
                .contains(&(m.lead_id.clone(), m.step, m.key.clone()))
        }))
    }

    async fn tasks(&self, lead: &LeadId) -> Result<Vec<Task>, StoreError> {
        Ok(self.with(|s| {
            let mut out: Vec<Task> = s
                .tasks
                .values()
                .filter(|t| &t.lead_id == lead)
                .cloned()
                .collect();
            out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            out
        }))
    }

    async fn leads_by_owner(
        &self,
        owner_key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<LeadPage, StoreError> {
        Ok(self.with(|s| {
            let mut all: Vec<(String, Lead)> = s
                .leads
                .values()
                .filter(|l| l.owner().is_some_and(|o| o.key() == owner_key))
                .map(|l| (activity_key(l), l.clone()))
                .filter(|(k, _)| after.is_none_or(|a| k.as_str() < a))
                .collect();
            all.sort_by(|a, b| b.0.cmp(&a.0));
            let more = all.len() > limit;
            all.truncate(limit);
            LeadPage {
                next: if more {
                    all.last().map(|(k, _)| k.clone())
                } else {
                    None
                },
                leads: all.into_iter().map(|(_, l)| l).collect(),
            }
        }))
    }
}

impl Outbox for MemoryStore {
    async fn outbox_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<OutboxPage, StoreError> {
        Ok(self.with(|s| {
            let mut due: Vec<_> = s
                .outbox
                .values()
                .filter(|m| m.created_at < before)
                .cloned()
                .collect();
            due.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            due.truncate(limit * OUTBOX_SHARDS as usize);
            OutboxPage {
                due,
                unreadable: Vec::new(),
            }
        }))
    }

    async fn outbox_done(&self, id: &MessageId) -> Result<(), StoreError> {
        self.with(|s| s.outbox.remove(id));
        Ok(())
    }

    async fn outbox_done_all(&self, ids: &[MessageId]) -> Result<Vec<MessageId>, StoreError> {
        self.with(|s| {
            for id in ids {
                s.outbox.remove(id);
            }
        });
        Ok(Vec::new())
    }
}

impl SendLedger for MemoryStore {
    async fn claim_send(
        &self,
        lead: &LeadId,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<SendClaim, StoreError> {
        Ok(self.with(|s| {
            let k = (lead.clone(), key.to_string());
            match s.sends.get(&k) {
                Some(Send::Sent { message_id }) => SendClaim::AlreadySent {
                    message_id: message_id.clone(),
                },
                Some(Send::Pending { lease_until: l }) if *l > now => SendClaim::InFlight,
                _ => {
                    s.sends.insert(k, Send::Pending { lease_until });
                    SendClaim::Claimed
                }
            }
        }))
    }

    async fn release_send(&self, lead: &LeadId, key: &str) -> Result<(), StoreError> {
        self.with(|s| {
            let k = (lead.clone(), key.to_string());
            if matches!(s.sends.get(&k), Some(Send::Pending { .. })) {
                s.sends.remove(&k);
            }
        });
        Ok(())
    }

    async fn claim_slot(
        &self,
        lead: &LeadId,
        slot: &str,
        holder: &ResponseId,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<SlotClaim, StoreError> {
        Ok(self.with(|s| {
            let k = (lead.clone(), slot.to_string());
            let free = match s.slots.get(&k) {
                None => true,
                Some(old) => {
                    old.holder == *holder
                        || match old.sent_at {
                            Some(at) => at < window_start,
                            None => old.lease_until < now,
                        }
                }
            };
            if free {
                s.slots.insert(
                    k,
                    Slot {
                        holder: holder.clone(),
                        sent_at: None,
                        lease_until,
                    },
                );
                SlotClaim::Claimed
            } else {
                SlotClaim::Taken {
                    by: s.slots[&k].holder.clone(),
                }
            }
        }))
    }

    async fn complete_send(
        &self,
        lead: &LeadId,
        key: &str,
        message_id: &str,
        entry: HistoryEntry,
        slot: Option<&str>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some(slot) = slot {
                if let Some(held) = s.slots.get_mut(&(lead.clone(), slot.to_string())) {
                    held.sent_at = Some(entry.at);
                }
            }
            s.sends.insert(
                (lead.clone(), key.to_string()),
                Send::Sent {
                    message_id: message_id.to_string(),
                },
            );
            s.history.entry(lead.clone()).or_default().push(entry);
        });
        Ok(())
    }
}

impl Pools for MemoryStore {
    async fn take_turn(&self, pool: &str) -> Result<u64, StoreError> {
        Ok(self.with(|s| {
            let c = s.cursors.entry(pool.to_string()).or_default();
            *c += 1;
            *c - 1
        }))
    }

    async fn pool_state(&self, pool: &str, reps: &[String]) -> Result<PoolState, StoreError> {
        Ok(self.with(|s| PoolState {
            cursor: s.cursors.get(pool).copied().unwrap_or(0),
            loads: reps
                .iter()
                .map(|r| {
                    (
                        r.clone(),
                        s.loads.get(r).copied().unwrap_or(0).max(0) as u64,
                    )
                })
                .collect(),
        }))
    }
}

impl Quotas for MemoryStore {
    async fn take_quota(&self, quotas: &[Quota]) -> Result<Option<Quota>, StoreError> {
        Ok(self.with(|s| {
            let key = |q: &Quota| (q.key.clone(), q.window_start);
            if let Some(q) = quotas
                .iter()
                .find(|q| s.quotas.get(&key(q)).copied().unwrap_or(0) >= q.max)
            {
                return Some(q.clone());
            }
            for q in quotas {
                *s.quotas.entry(key(q)).or_default() += 1;
            }
            None
        }))
    }
}

impl DueWork for MemoryStore {
    async fn open_tasks(
        &self,
        owner_key: &str,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Task>, StoreError> {
        if self.with(|s| s.failing_owners.contains(owner_key)) {
            return Err(StoreError::Unavailable("injected: throttled".into()));
        }
        Ok(self.with(|s| {
            let mut out: Vec<Task> = s
                .tasks
                .values()
                .filter(|t| t.is_open() && t.owner.key() == owner_key)
                .filter(|t| due_before.is_none_or(|b| t.due_at < b))
                .cloned()
                .collect();
            out.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
            out.truncate(limit);
            out
        }))
    }

    async fn open_tasks_after(
        &self,
        owner_key: &str,
        after: (DateTime<Utc>, &crate::domain::ids::TaskId),
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Task>, StoreError> {
        let all = self.open_tasks(owner_key, due_before, usize::MAX).await?;
        Ok(all
            .into_iter()
            .filter(|t| (t.due_at, &t.id) > (after.0, after.1))
            .take(limit)
            .collect())
    }

    async fn claim_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            let Some(stored) = s.tasks.get(&task.id) else {
                return false;
            };
            if notice.of(stored).is_some() {
                return false;
            }
            let key = (task.id.clone(), notice.field());
            if s.notice_leases.get(&key).is_some_and(|until| *until > now) {
                return false;
            }
            s.notice_leases.insert(key, lease_until);
            true
        }))
    }

    async fn complete_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.notice_leases.remove(&(task.id.clone(), notice.field()));
            if let Some(t) = s.tasks.get_mut(&task.id) {
                match notice {
                    TaskNotice::Reminded => t.reminded_at = Some(at),
                    TaskNotice::Escalated => t.escalated_at = Some(at),
                }
            }
        });
        Ok(())
    }

    async fn sla_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<Lead>, StoreError> {
        Ok(self.with(|s| {
            let mut due: Vec<Lead> = s
                .leads
                .values()
                .filter(|l| l.sla.as_ref().is_some_and(|c| c.check_at < before))
                .cloned()
                .collect();
            due.sort_by_key(|l| l.sla.as_ref().map(|c| c.check_at));
            due.truncate(limit * crate::ports::OUTBOX_SHARDS as usize);
            due
        }))
    }

    async fn nurture_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lead>, StoreError> {
        Ok(self.with(|s| {
            let mut due: Vec<Lead> = s
                .leads
                .values()
                .filter(|l| l.sla.is_none())
                .filter(|l| l.nurture.as_ref().is_some_and(|e| e.next_at < before))
                .cloned()
                .collect();
            due.sort_by(|a, b| a.id.cmp(&b.id));
            due.truncate(limit * crate::ports::OUTBOX_SHARDS as usize);
            due
        }))
    }
}

impl Suppressions for MemoryStore {
    async fn suppression(&self, email: &EmailAddress) -> Result<Option<Suppression>, StoreError> {
        Ok(self.with(|s| s.suppressed.get(email).cloned()))
    }

    async fn suppress(&self, email: &EmailAddress, entry: &Suppression) -> Result<(), StoreError> {
        self.with(|s| {
            s.suppressed
                .entry(email.clone())
                .or_insert_with(|| entry.clone());
        });
        Ok(())
    }
}

impl OnceKeys for MemoryStore {
    async fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|s| match s.once.get(key) {
            Some(None) => false,
            Some(Some(lease)) if *lease > now => false,
            _ => {
                s.once.insert(key.to_string(), Some(lease_until));
                true
            }
        }))
    }

    async fn finish_once(&self, key: &str) -> Result<(), StoreError> {
        self.with(|s| s.once.insert(key.to_string(), None));
        Ok(())
    }
}

impl Counters for MemoryStore {
    async fn add_counts(&self, counts: &[stats::Count]) -> Result<(), StoreError> {
        self.with(|s| {
            for count in counts {
                let metrics = s.counters.entry(count.key.clone()).or_default();
                for (m, n) in &count.add {
                    *metrics.entry(m.clone()).or_default() += n;
                }
            }
        });
        Ok(())
    }

    async fn day_counts(
        &self,
        dim: Dim,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRow>, StoreError> {
        Ok(self.with(|s| {
            let mut rows: BTreeMap<(NaiveDate, String), Metrics> = BTreeMap::new();
            for (key, metrics) in &s.counters {
                if let CountKey::Day {
                    day, dim: d, value, ..
                } = key
                {
                    if *d == dim && *day >= from && *day <= to {
                        let row = rows.entry((*day, value.clone())).or_default();
                        for (m, n) in metrics {
                            *row.entry(m.clone()).or_default() += n;
                        }
                    }
                }
            }
            rows.into_iter()
                .map(|((day, value), metrics)| DayRow {
                    day,
                    value,
                    metrics,
                })
                .collect()
        }))
    }

    async fn gauges(&self, dim: Dim) -> Result<Vec<(String, Metrics)>, StoreError> {
        Ok(self.with(|s| {
            let mut rows: BTreeMap<String, Metrics> = BTreeMap::new();
            for (key, metrics) in &s.counters {
                if let CountKey::Gauge { dim: d, value, .. } = key {
                    if *d == dim {
                        let row = rows.entry(value.clone()).or_default();
                        for (m, n) in metrics {
                            *row.entry(m.clone()).or_default() += n;
                        }
                    }
                }
            }
            rows.into_iter().collect()
        }))
    }
}
