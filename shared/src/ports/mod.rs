//! What the domain needs from the world. Production adapters wrap the AWS SDK
//! (`leadflow_aws::{dynamo, sqs, ses}`); `testing`
//! implements the same traits in memory for fast handler tests.
//!
//! Handlers are generic over these traits (no `dyn`): the compiler checks every
//! wiring and the fakes cost nothing in production.

use crate::domain::decision::PoolState;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{LeadId, MessageId, ResponseId};
use crate::domain::lead::{HistoryEntry, Lead};
use crate::domain::playbook::Quota;
use crate::domain::stats::{DayRow, Dim, Metrics};
use crate::domain::task::{Task, TaskNotice};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// A store failure. `Conflict` means a condition failed (someone else wrote
/// first): re-read and try again. `Unavailable` is transient. `Corrupt` and
/// `Invalid` are permanent: trying again cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("conflicting concurrent write")]
    Conflict,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The store refuses the write itself (an item over its size limit, a
    /// value it cannot hold).
    #[error("the store refuses this write: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Trying again (now or later) cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, StoreError::Corrupt(_) | StoreError::Invalid(_))
    }
}

/// How a recorded inquiry is answered, in the use case's terms; the HTTP
/// layer turns it into a status (202, or 303 for a redirect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// A client that reads the answer: told its response was received.
    Received,
    /// A browser's form post: sent on to this page.
    Redirect { location: String },
}

/// The answer an Idempotency-Key replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "stored_reply::Read")]
pub struct StoredReply {
    pub answer: Answer,
    pub lead_id: LeadId,
    /// What the client was told: the response, never the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<ResponseId>,
    /// Which request got this answer: a different body under the same key is refused.
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
}

/// Replies stored before answers were named held an HTTP status and a
/// location; they still replay (for the 24 hours they live).
mod stored_reply {
    use super::*;

    #[derive(Deserialize)]
    pub struct Read {
        answer: Option<Answer>,
        #[serde(default)]
        location: Option<String>,
        lead_id: LeadId,
        #[serde(default)]
        response_id: Option<ResponseId>,
        fingerprint: String,
        created_at: DateTime<Utc>,
    }

    impl From<Read> for StoredReply {
        fn from(r: Read) -> Self {
            StoredReply {
                answer: r.answer.unwrap_or(match r.location {
                    Some(location) => Answer::Redirect { location },
                    None => Answer::Received,
                }),
                lead_id: r.lead_id,
                response_id: r.response_id,
                fingerprint: r.fingerprint,
                created_at: r.created_at,
            }
        }
    }
}

impl StoredReply {
    /// How long an Idempotency-Key's answer is replayed.
    pub const TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

    pub fn expires_at(&self) -> DateTime<Utc> {
        self.created_at + Self::TTL
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at() > now
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The lead must not exist yet (and nor may its email's claim).
    New,
    /// The lead must not exist, and its email's claim must already name it: a
    /// claim whose lead was never written (or was lost) is taken over, not
    /// left to refuse that person for ever.
    Adopt,
    /// The stored lead must still be at this version.
    Version(u64),
}

/// The queues that join the stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    Routing,
    Fulfillment,
    /// Lead exports to write as files.
    Exports,
}

/// A message written in the same transaction as the state it announces, then
/// published; the outbox sweeper re-publishes any whose writer died first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: MessageId,
    pub queue: Queue,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Seconds the queue holds the message before delivering it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_seconds: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What one read of the outbox found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxPage {
    pub due: Vec<OutboxMessage>,
    /// Keys of rows that could not be read.
    pub unreadable: Vec<String>,
}

/// How many partitions the outbox's due index is spread over, so a burst of
/// writes never lands on one hot key.
pub const OUTBOX_SHARDS: u32 = 16;

impl OutboxMessage {
    /// The due-index shard this message lives in (stable for its id).
    pub fn shard(&self) -> u32 {
        self.id
            .as_str()
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
            % OUTBOX_SHARDS
    }
}

/// A consumer's "done" marker: the step ran for this key (e.g. routed this response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub lead_id: LeadId,
    pub step: &'static str,
    pub key: String,
}

/// Everything one use case writes, applied all-or-nothing.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    /// The lead as it should be stored, and what must hold of the stored one.
    /// The store writes `lead.version`; callers bump it.
    pub lead: Option<(Lead, Expect)>,
    pub events: Vec<HistoryEntry>,
    pub outbox: Vec<OutboxMessage>,
    /// An Idempotency-Key and its answer; must not exist yet.
    pub reply: Option<(String, StoredReply)>,
    /// Must not exist yet.
    pub marker: Option<Marker>,
    /// Changes to reps' open-lead counts (for least-loaded pools).
    pub loads: Vec<(String, i64)>,
    /// Tasks created or changed, each stored whole (an open one is indexed
    /// under its owner by due time; a closed one leaves the index).
    pub tasks: Vec<Task>,
}

/// One page of an owner's leads, newest activity first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadPage {
    pub leads: Vec<Lead>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Where a lead sorts in its owner's list: newest activity first, then by id.
pub fn activity_key(lead: &Lead) -> String {
    format!(
        "{}#{}",
        lead.updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        lead.id
    )
}

/// Where a send stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendClaim {
    /// Ours to send now.
    Claimed,
    /// Sent before: do nothing.
    AlreadySent { message_id: String },
    /// Another delivery is sending it right now: try again later.
    InFlight,
}

/// Where a coalescing slot stands: one notification of a kind per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotClaim {
    /// Ours: send, then mark it sent with [`SendLedger::complete_send`].
    Claimed,
    /// Sent inside the window, or being sent, for another response: send nothing.
    Taken { by: ResponseId },
}

/// The lead, its history and tasks, and the one atomic write of a change.
pub trait Leads: Send + Sync {
    fn lead_id_by_email(
        &self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<LeadId>, StoreError>> + Send;

    fn lead(&self, id: &LeadId) -> impl Future<Output = Result<Option<Lead>, StoreError>> + Send;

    /// The lead's whole history, oldest first (for reports and tests: a use
    /// case on the hot path reads [`recent_history`](Self::recent_history)).
    fn history(
        &self,
        id: &LeadId,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send;

    /// The lead's latest `limit` history entries, oldest first: what a message
    /// handler reads, so a lead with thousands of responses costs the same.
    fn recent_history(
        &self,
        id: &LeadId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send;

    /// Up to `limit` history entries older than the one whose
    /// [`key`](HistoryEntry::key) is `before` (from the newest when `None`),
    /// newest first: a lead's page shows its history a page at a time.
    fn history_before(
        &self,
        id: &LeadId,
        before: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send;

    /// The answer stored under an Idempotency-Key, unless it has expired by `now`.
    fn reply(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<StoredReply>, StoreError>> + Send;

    /// All or nothing; `Conflict` when any condition fails.
    fn commit(&self, commit: Commit) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn marker_exists(
        &self,
        marker: &Marker,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every task of a lead, open and closed, oldest first.
    fn tasks(&self, lead: &LeadId) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send;

    /// An owner's leads, newest activity first, after the [`activity_key`]
    /// `after` when given; at most `limit`.
    fn leads_by_owner(
        &self,
        owner_key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<LeadPage, StoreError>> + Send;
}

/// The transactional outbox: what a writer published, or must still publish.
pub trait Outbox: Send + Sync {
    /// Outbox messages written before `before`, oldest first per shard, at
    /// most `limit` per shard; with the ids of rows it could not read (left
    /// in place and reported, never blocking the rest).
    fn outbox_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<OutboxPage, StoreError>> + Send;

    fn outbox_done(&self, id: &MessageId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Clear many published messages at once; returns those it could not clear.
    fn outbox_done_all(
        &self,
        ids: &[MessageId],
    ) -> impl Future<Output = Result<Vec<MessageId>, StoreError>> + Send;
}

/// Each email's send claim and receipt, and the coalescing slots of notifications.
pub trait SendLedger: Send + Sync {
    /// Take the right to send `key` until `lease_until`; a lapsed claim may be taken again.
    fn claim_send(
        &self,
        lead: &LeadId,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SendClaim, StoreError>> + Send;

    /// Give up a claim taken by [`claim_send`](Self::claim_send) whose send
    /// surely did not happen, so the next delivery need not wait for its lease.
    fn release_send(
        &self,
        lead: &LeadId,
        key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Take the coalescing `slot` for `holder`'s notification: free when it was
    /// never used, last sent before `window_start`, or left pending past its
    /// lease; `holder` may always take it again (a retry of its own send).
    fn claim_slot(
        &self,
        lead: &LeadId,
        slot: &str,
        holder: &ResponseId,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotClaim, StoreError>> + Send;

    /// Mark `key` sent (and `slot`, when given, sent at the entry's time) and
    /// record it in the history, in one write.
    fn complete_send(
        &self,
        lead: &LeadId,
        key: &str,
        message_id: &str,
        entry: HistoryEntry,
        slot: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Round-robin turns and reps' loads.
pub trait Pools: Send + Sync {
    /// Take the next turn of a pool's round-robin: an atomic counter, so
    /// concurrent assignments never contend (a turn taken by a write that then
    /// loses its race is skipped, not retried). Returns the turn taken.
    fn take_turn(&self, pool: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A pool's round-robin cursor (turns taken) and the open-lead counts of `reps`.
    fn pool_state(
        &self,
        pool: &str,
        reps: &[String],
    ) -> impl Future<Output = Result<PoolState, StoreError>> + Send;
}

/// The intake's rate limits.
pub trait Quotas: Send + Sync {
    /// Take one unit of each quota, or none: the first quota that is used up
    /// is returned and nothing is counted.
    fn take_quota(
        &self,
        quotas: &[Quota],
    ) -> impl Future<Output = Result<Option<Quota>, StoreError>> + Send;
}

/// Work that falls due: open tasks by owner and their notices, first-touch clocks, nurture steps.
pub trait DueWork: Send + Sync {
    /// The open tasks of an owner (`rep#…`/`queue#…`), earliest due first,
    /// due before `due_before` when given; at most `limit`.
    fn open_tasks(
        &self,
        owner_key: &str,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send;

    /// The next page of an owner's open tasks in due order: those after
    /// `after` (a task's due time and id, the last of the page before).
    fn open_tasks_after(
        &self,
        owner_key: &str,
        after: (DateTime<Utc>, &crate::domain::ids::TaskId),
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send;

    /// Take the right to send `notice` of `task` until `lease_until`: false
    /// when it was sent already, or another tick holds it (its lease not yet lapsed).
    fn claim_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Record `notice` of `task` as sent at `at`.
    fn complete_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Untouched leads whose first-touch clock (`Lead::sla`) says look at them
    /// by `before`, through the index (every shard), at most `limit` per shard.
    fn sla_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;

    /// Leads in a nurture series whose next step is due by `before`, through the index.
    fn nurture_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Lead>, StoreError>> + Send;
}

/// The suppression ledger: addresses nothing more is sent to.
pub trait Suppressions: Send + Sync {
    /// Whether an address is on the suppression ledger, and why.
    fn suppression(
        &self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<Suppression>, StoreError>> + Send;

    /// Put an address on the ledger (the first reason recorded stands).
    fn suppress(
        &self,
        email: &EmailAddress,
        entry: &Suppression,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Things done once (a person's digest of a day, a manager's escalation).
pub trait OnceKeys: Send + Sync {
    /// Take the right to do `key` (a person's digest of a day) until
    /// `lease_until`: false when it was done, or another tick holds it.
    fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Record `key` done: it is never claimed again.
    fn finish_once(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The report counters and gauges.
pub trait Counters: Send + Sync {
    /// The day counters of `dim` from `from` to `to` (inclusive), summed
    /// over shards: one row per day and value. Every `commit` keeps them
    /// ([`crate::domain::stats::settle`], in the same transaction).
    /// Add to report counters outside a lead's commit (what is not a lead:
    /// posts taken for spam).
    fn add_counts(
        &self,
        counts: &[crate::domain::stats::Count],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn day_counts(
        &self,
        dim: Dim,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<DayRow>, StoreError>> + Send;

    /// The gauges of `dim` (open leads now), summed over shards, by value.
    fn gauges(
        &self,
        dim: Dim,
    ) -> impl Future<Output = Result<Vec<(String, Metrics)>, StoreError>> + Send;
}

/// The store's traits, to call their methods on a concrete store:
/// `use leadflow::ports::prelude::*`.
pub mod prelude {
    pub use super::{
        Counters, DueWork, LeadStore, Leads, OnceKeys, Outbox, Pools, Quotas, SendLedger,
        Suppressions,
    };
}

/// Everything the use cases ask of the store, as one bound: each concern is
/// a small trait of its own (issue 25), and any type with all of them is a
/// `LeadStore`.
pub trait LeadStore:
    Leads + Outbox + SendLedger + Pools + Quotas + DueWork + Suppressions + OnceKeys + Counters
{
}

impl<T> LeadStore for T where
    T: Leads + Outbox + SendLedger + Pools + Quotas + DueWork + Suppressions + OnceKeys + Counters
{
}

/// Why an address gets no more (marketing) mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Asked for no more marketing: transactional mail (a kit they request) still goes.
    Unsubscribed,
    /// The address does not exist: nothing goes to it.
    HardBounce,
    /// They marked our mail as spam: nothing goes to it.
    Complaint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: SuppressionReason,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Suppression {
    /// No mail at all, not even what the person asks for.
    pub fn blocks_everything(&self) -> bool {
        self.reason != SuppressionReason::Unsubscribed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publish failed: {0}")]
pub struct PublishError(pub String);

pub trait Publisher: Send + Sync {
    fn publish(
        &self,
        message: &OutboxMessage,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
    /// Publish many (in batches where the queue takes them); one result per
    /// message, in order.
    fn publish_all(
        &self,
        messages: &[OutboxMessage],
    ) -> impl Future<Output = Vec<Result<(), PublishError>>> + Send {
        async move {
            let mut out = Vec::with_capacity(messages.len());
            for m in messages {
                out.push(self.publish(m).await);
            }
            out
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers (marketing mail's `List-Unsubscribe`), set by a MIME
    /// builder in the adapter, never pasted into a message by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// This recipient cannot take it (a refused or malformed address): sending
    /// again will not help, so it is recorded and not retried.
    #[error("email rejected: {0}")]
    Rejected(String),
    /// Our side cannot send (sender identity or MAIL FROM domain not verified,
    /// sandbox, account paused, configuration missing): nothing will be
    /// delivered until an operator acts. Retried, and alarmed; never blamed
    /// on the recipient.
    #[error("our mail sender cannot send: {0}")]
    Sender(String),
    /// Over the account's sending rate: wait for capacity.
    #[error("mail sending rate exceeded: {0}")]
    Throttled(String),
    /// The service answered with a transient error: nothing was sent; try again later.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
    /// No answer (a timeout, a dropped connection): it may or may not have
    /// been sent, so the claim is held for its lease before anyone tries again.
    #[error("mail service did not answer: {0}")]
    Uncertain(String),
}

impl MailError {
    /// The service answered, so we know nothing went out.
    pub fn nothing_sent(&self) -> bool {
        !matches!(self, MailError::Uncertain(_))
    }
}

pub trait Mailer: Send + Sync {
    /// Returns the provider's message id.
    fn send(&self, email: &OutgoingEmail)
        -> impl Future<Output = Result<String, MailError>> + Send;
}

/// What becomes of a message whose handling failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: report it failed; the queue delivers it again later.
    Retry,
    /// Throttled: put it back with this delay and acknowledge this delivery,
    /// so waiting for capacity does not use up its receives.
    Defer(std::time::Duration),
    /// It can never succeed: straight to the dead-letter queue, with the reason.
    Bury,
}

/// A failure that knows what should become of its message.
pub trait Failure: std::fmt::Display {
    fn disposition(&self) -> Disposition;
}

/// The queue operations a consumer needs beyond acknowledging.
pub trait BatchQueues: Send + Sync {
    /// Send `body` to the consumer's dead-letter queue, saying why.
    fn bury(
        &self,
        body: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
    /// Send `body` to the consumer's own queue again, delivered after `delay`.
    fn defer(
        &self,
        body: &str,
        delay: std::time::Duration,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
    /// The queue's `maxReceiveCount`, when known: a message failing on its
    /// last receive is buried with its error rather than left for the queue's
    /// redrive policy to move without one (so `leadflow dlq` can say why).
    fn max_receives(&self) -> Option<u32> {
        None
    }
}

/// Posts the spam guard held (issue 24, item 17): kept with their reason for
/// the playbook's days, listed for ops, released into the pipeline once.
/// A port of its own: only intake (hold) and the rep's API (list, release) use it.
pub trait Quarantine: Send + Sync {
    /// Keep `post` until `expires_at`.
    fn hold(
        &self,
        post: &crate::domain::spam::HeldPost,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Held posts newest first, from `days` (newest day first), after
    /// `cursor` (the last page's `next`): at most `limit`, and the next cursor.
    fn held(
        &self,
        days: &[NaiveDate],
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<crate::domain::spam::HeldPost>, Option<String>), StoreError>>
           + Send;
    fn held_post(
        &self,
        id: &crate::domain::ids::SpamId,
    ) -> impl Future<Output = Result<Option<crate::domain::spam::HeldPost>, StoreError>> + Send;
    /// Record the post released (once: `Conflict` when it already was).
    fn mark_released(
        &self,
        id: &crate::domain::ids::SpamId,
        released: &crate::domain::spam::Released,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Lead exports written as files (issue 24, item 7): the job's record.
/// Only the rep's API (start, read) and the exports function (write) use it.
pub trait Exports: Send + Sync {
    /// Store `job` whole (kept until [`ExportJob::expires_at`]).
    ///
    /// [`ExportJob::expires_at`]: crate::app::exports::ExportJob::expires_at
    fn save_export(
        &self,
        job: &crate::app::exports::ExportJob,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn export(
        &self,
        id: &crate::domain::ids::ExportId,
    ) -> impl Future<Output = Result<Option<crate::app::exports::ExportJob>, StoreError>> + Send;
}

/// Where export files go (S3 in AWS).
pub trait Files: Send + Sync {
    /// Write `bytes` (CSV) at `key`, downloaded as `filename`; writing the
    /// same key again replaces it.
    fn put(
        &self,
        key: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// How many messages sit in each dead-letter queue (for the health report).
pub trait DeadLetters: Send + Sync {
    /// Each dead-letter queue's name and depth; a queue that cannot be read
    /// is left out (and logged), never failing the report.
    fn depths(&self) -> impl Future<Output = Vec<crate::domain::reports::QueueDepth>> + Send;
}

/// Time is an input.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
