//! The lead store on DynamoDB: one table, several item kinds (see template.yaml).
//! This file holds the table's layout, the item codecs and the shared query
//! helpers; each port the store implements is in a file of its own
//! (`leads`, `outbox`, `send_ledger`, `pools`, `quotas`, `due_work`,
//! `suppressions`, `once_keys`, `counters`, `quarantine`).
//!
//! | pk              | sk                     | what                                   |
//! |-----------------|------------------------|----------------------------------------|
//! | `LEAD#<id>`     | `LEAD`                 | the lead; `owner_pk`/`owner_sk` → GSI `by_owner`; while untouched, its first-touch clock (`due_pk` = `SLA#<shard>`), else while in a nurture series its next step (`NURTURE#<shard>`), `due_sk` = `<when>#<id>` → GSI `by_due` |
//! | `SUPPRESS#<email>` | `SUPPRESS`          | the suppression ledger: unsubscribed, hard-bounced or complained |
//! | `ONCE#<key>`    | `ONCE`                 | something done once (a person's digest of a day): pending with a lease, or done (TTL `expires_at`) |
//! | `LEAD#<id>`     | `EVT#<at>#<event id>`  | its history, in time order             |
//! | `LEAD#<id>`     | `DONE#<step>#<key>`    | a consumer's done-marker               |
//! | `LEAD#<id>`     | `SEND#<response>#<kind>` | an email's send claim / receipt     |
//! | `LEAD#<id>`     | `SLOT#<slot>`          | a coalescing slot: the last send of a kind of notification |
//! | `LEAD#<id>`     | `TASK#<task id>`       | a rep's task; while open `due_pk` = `TASK#<owner key>`, `due_sk` = `<due>#<task id>` → GSI `by_due` |
//! | `RATE#<scope>#<key>` | `<window start>`  | an intake rate-limit counter (TTL `expires_at`) |
//! | `EMAIL#<email>` | `EMAIL`                | one lead per person                    |
//! | `IDEM#<key>`    | `IDEM`                 | an Idempotency-Key's answer (TTL `expires_at`) |
//! | `OUTBOX#<id>`   | `OUTBOX`               | unconfirmed message; `due_pk` = `OUTBOX#<shard>`, `due_sk` → GSI `by_due` |
//! | `POOL#<name>`   | `POOL`                 | round-robin turns taken (atomic counter) |
//! | `REP#<id>`      | `LOAD`                 | a rep's open leads (least-loaded pools) |
//! | `STAT#<dim>#<YYYY-MM>#<shard>` | `<YYYY-MM-DD>#<value>` | a report day counter: `n_<metric>` numbers, kept by every commit |
//! | `GAUGE#<dim>#<shard>` | `<value>`        | a report gauge (open leads now): `n_<metric>` numbers |
//! | `SPAM#<YYYY-MM-DD>` | `<spam id>`        | a post the spam guard held (TTL `expires_at`); `released` once ops let it in |
//!
//! `by_due` is shared with later due work (nurture touches, ISR tasks): each
//! kind has its own `due_pk`, and `due_sk` starts with the due time.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use leadflow::domain::decision::PoolState;
use leadflow::domain::email::EmailAddress;
use leadflow::domain::ids::{LeadId, MessageId, ResponseId};
use leadflow::domain::lead::{HistoryEntry, Lead};
use leadflow::domain::playbook::Quota;
use leadflow::domain::stats::{self, Count, CountKey, DayRow, Dim, Metrics, STAT_SHARDS};
use leadflow::domain::task::{Task, TaskNotice};
use leadflow::ports::*;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

mod counters;
mod due_work;
mod exports;
mod leads;
mod once_keys;
mod outbox;
mod pools;
mod quarantine;
mod quotas;
mod send_ledger;
mod suppressions;

/// Every attribute of a lead item this code writes (the `Lead` fields, and the
/// index keys the adapter adds). One that is absent from a write is removed;
/// any other attribute is left as it is. A test keeps this list complete.
pub const LEAD_FIELDS: &[&str] = &[
    "id",
    "email",
    "contact",
    "consent_email",
    "bant",
    "request_type",
    "interest",
    "first_attribution",
    "attribution",
    "custom",
    "responses",
    "last_response_id",
    "routing",
    "status",
    "status_detail",
    "first_touch",
    "support",
    "sla",
    "nurture",
    "marketing_sent",
    "tally",
    "created_at",
    "updated_at",
    "version",
    "kind",
    "owner_pk",
    "owner_sk",
    "due_pk",
    "due_sk",
];

/// The due-index shard of a lead's due entry (first-touch clock or nurture step; stable for its id).
fn due_shard(id: &LeadId) -> u32 {
    id.as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % OUTBOX_SHARDS
}

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn lead_pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}

/// A failed call: refused as invalid (permanent), or anything else (transient).
fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::fmt::Debug + aws_sdk_dynamodb::error::ProvideErrorMetadata,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(se) if se.err().code() == Some("ValidationException") => {
            StoreError::Invalid(
                se.err()
                    .message()
                    .unwrap_or("ValidationException")
                    .to_string(),
            )
        }
        _ => StoreError::Unavailable(format!("{e:?}")),
    }
}

/// Whether a conditional write went through: `false` when its condition
/// failed (DynamoDB's `ConditionalCheckFailedException`), an error otherwise.
fn condition_held<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: std::fmt::Debug + aws_sdk_dynamodb::error::ProvideErrorMetadata,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(unavailable(e)),
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn get_s<'a>(item: &'a Item, k: &str) -> Result<&'a str, StoreError> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("item has no string {k}")))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The key of an item that never exists, for [`DynamoStore::prime`]: a lead
/// key (every function that reads the table may read lead keys), whose id
/// is no ULID.
const PRIME_LEAD: &str = "LEAD#prime";

impl crate::Prime for DynamoStore {
    /// `GetItem` of an item that does not exist (keys only): 0.5 read units.
    async fn prime(&self) {
        let result = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(PRIME_LEAD))
            .key("sk", s("LEAD"))
            .projection_expression("pk")
            .send()
            .await;
        crate::prime::log_outcome("dynamodb:GetItem", result);
    }
}

impl DynamoStore {
    /// An owner's open tasks in due order (`due_sk`), after `after` and
    /// before `due_before` when given, at most `limit`.
    async fn task_page(
        &self,
        owner_key: &str,
        after: Option<String>,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Task>, StoreError> {
        if let (Some(a), Some(before)) = (&after, due_before) {
            if *a >= timestamp(before) {
                return Ok(Vec::new());
            }
        }
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_due")
            .expression_attribute_values(":k", s(format!("TASK#{owner_key}")));
        query = match (&after, due_before) {
            (Some(a), Some(before)) => query
                .key_condition_expression("due_pk = :k AND due_sk BETWEEN :after AND :before")
                .expression_attribute_values(":after", s(a.clone()))
                .expression_attribute_values(":before", s(timestamp(before))),
            (Some(a), None) => query
                .key_condition_expression("due_pk = :k AND due_sk > :after")
                .expression_attribute_values(":after", s(a.clone())),
            (None, Some(before)) => query
                .key_condition_expression("due_pk = :k AND due_sk < :before")
                .expression_attribute_values(":before", s(timestamp(before))),
            (None, None) => query.key_condition_expression("due_pk = :k"),
        };
        let tasks = Self::query_pages(query, limit, None, |item| {
            // BETWEEN is inclusive: the task the page before ended on is not this page's.
            let key = item.get("due_sk").and_then(|v| v.as_s().ok());
            if after.is_some() && key == after.as_ref() {
                return None;
            }
            match serde_dynamo::from_item::<_, Task>(item) {
                // The index is eventually consistent: a task closed a
                // moment ago may still be listed; its item says so.
                Ok(t) if t.is_open() => Some(t),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(owner = owner_key, error = %e, "unreadable task skipped");
                    None
                }
            }
        })
        .await?;
        Ok(tasks)
    }

    /// The item a lead is stored as (for tests of the stored shape).
    pub fn lead_item_for(lead: &Lead) -> Result<Item, StoreError> {
        Self::lead_item(lead)
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(corrupt)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn lead_item(lead: &Lead) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(lead).map_err(corrupt)?;
        item.insert("pk".into(), s(lead_pk(&lead.id)));
        item.insert("sk".into(), s("LEAD"));
        item.insert("kind".into(), s("lead"));
        if let Some(owner) = lead.owner() {
            item.insert("owner_pk".into(), s(owner.key()));
            item.insert(
                "owner_sk".into(),
                s(format!("{}#{}", timestamp(lead.updated_at), lead.id)),
            );
        }
        // One due entry a lead: its first-touch clock, else its next nurture
        // step (a nurtured lead has been touched, or sits on a queue without an SLA).
        let due = match (&lead.sla, &lead.nurture) {
            (Some(clock), _) => Some(("SLA", clock.check_at)),
            (None, Some(e)) => Some(("NURTURE", e.next_at)),
            _ => None,
        };
        if let Some((kind, at)) = due {
            item.insert(
                "due_pk".into(),
                s(format!("{kind}#{}", due_shard(&lead.id))),
            );
            item.insert("due_sk".into(), s(format!("{}#{}", timestamp(at), lead.id)));
        }
        Ok(item)
    }

    /// An existing lead is updated field by field, never replaced: attributes
    /// this code does not know (written by a newer version mid-deploy) survive.
    /// The fields it owns are set, or removed when they no longer apply.
    fn lead_update(&self, mut item: Item, version: u64) -> Result<Update, StoreError> {
        let pk = item
            .remove("pk")
            .ok_or_else(|| corrupt("lead item without pk"))?;
        let sk = item
            .remove("sk")
            .ok_or_else(|| corrupt("lead item without sk"))?;
        let mut builder = Update::builder()
            .table_name(&self.table)
            .key("pk", pk)
            .key("sk", sk)
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(version));
        let mut set = Vec::new();
        for (i, (name, value)) in item.into_iter().enumerate() {
            set.push(format!("#s{i} = :s{i}"));
            builder = builder
                .expression_attribute_names(format!("#s{i}"), name)
                .expression_attribute_values(format!(":s{i}"), value);
        }
        let mut expression = format!("SET {}", set.join(", "));
        let present: Vec<String> = builder
            .get_expression_attribute_names()
            .as_ref()
            .map(|names| names.values().cloned().collect())
            .unwrap_or_default();
        let absent: Vec<&str> = LEAD_FIELDS
            .iter()
            .copied()
            .filter(|f| !present.iter().any(|p| p == f))
            .collect();
        if !absent.is_empty() {
            let mut remove = Vec::new();
            for (i, name) in absent.into_iter().enumerate() {
                remove.push(format!("#r{i}"));
                builder = builder.expression_attribute_names(format!("#r{i}"), name);
            }
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        builder
            .update_expression(expression)
            .build()
            .map_err(corrupt)
    }

    /// One unreadable row (a newer version's event, a bad edit) is reported
    /// and skipped; it must not block the lead for ever.
    fn readable_history(&self, id: &LeadId, items: Vec<Item>) -> Vec<HistoryEntry> {
        items
            .into_iter()
            .filter_map(|i| {
                let sk = get_s(&i, "sk").unwrap_or("?").to_string();
                match serde_dynamo::from_item(i) {
                    Ok(entry) => Some(entry),
                    Err(e) => {
                        tracing::error!(lead_id = %id, %sk, error = %e, "history row cannot be read; skipped");
                        None
                    }
                }
            })
            .collect()
    }

    /// The `by_due` entries under each of `keys` before `before` (at most
    /// `limit` a key), every key queried at once.
    async fn due_items(
        &self,
        keys: Vec<String>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut queries = tokio::task::JoinSet::new();
        for key in keys {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_due")
                .key_condition_expression("due_pk = :k AND due_sk < :before")
                .expression_attribute_values(":k", s(key))
                .expression_attribute_values(":before", s(timestamp(before)))
                .limit(limit.clamp(1, 1000) as i32);
            queries.spawn(async move { query.send().await });
        }
        let mut items = Vec::new();
        while let Some(joined) = queries.join_next().await {
            let out = joined
                .map_err(|e| StoreError::Unavailable(e.to_string()))?
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// Leads whose `kind` due entry (`SLA`, `NURTURE`) is before `before`, every shard at once.
    async fn leads_due(
        &self,
        kind: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lead>, StoreError> {
        let keys = (0..OUTBOX_SHARDS).map(|i| format!("{kind}#{i}")).collect();
        let mut leads = Vec::new();
        for item in self.due_items(keys, before, limit).await? {
            match serde_dynamo::from_item::<_, Lead>(item) {
                Ok(l) => leads.push(l),
                Err(e) => {
                    tracing::warn!(kind, error = %e, "unreadable lead in the due index skipped")
                }
            }
        }
        leads.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(leads)
    }

    fn task_item(t: &Task) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(t).map_err(corrupt)?;
        item.insert("pk".into(), s(lead_pk(&t.lead_id)));
        item.insert("sk".into(), s(format!("TASK#{}", t.id)));
        // No `kind` marker as other items have: a task's own `kind` (what it
        // asks for) holds that name; the `TASK#` key says what the item is.
        if t.is_open() {
            // Sparse: only open tasks are in the due index.
            item.insert("due_pk".into(), s(format!("TASK#{}", t.owner.key())));
            item.insert(
                "due_sk".into(),
                s(format!("{}#{}", timestamp(t.due_at), t.id)),
            );
        }
        Ok(item)
    }

    fn event_item(e: &HistoryEntry) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(e).map_err(corrupt)?;
        item.insert("pk".into(), s(lead_pk(&e.lead_id)));
        item.insert("sk".into(), s(format!("EVT#{}", e.key())));
        item.insert("kind".into(), s("event"));
        Ok(item)
    }

    /// `ADD` a counter change to its item (made on first use).
    fn count_update(&self, count: &Count) -> Result<Update, StoreError> {
        let (pk, sk, dim, value, day) = match &count.key {
            CountKey::Day {
                day,
                dim,
                value,
                shard,
            } => (
                format!("STAT#{}#{}#{shard}", dim.as_str(), day.format("%Y-%m")),
                format!("{day}#{value}"),
                dim,
                value,
                Some(day),
            ),
            CountKey::Gauge { dim, value, shard } => (
                format!("GAUGE#{}#{shard}", dim.as_str()),
                value.clone(),
                dim,
                value,
                None,
            ),
        };
        let mut builder = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .expression_attribute_values(":k", s("stat"))
            .expression_attribute_values(":dim", s(dim.as_str()))
            .expression_attribute_values(":v", s(value.as_str()));
        // Every name through a placeholder: DynamoDB reserves many words.
        let mut set = vec![
            "#kind = :k".to_string(),
            "#dim = :dim".into(),
            "#value = :v".into(),
        ];
        builder = builder
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#dim", "dim")
            .expression_attribute_names("#value", "value");
        if let Some(day) = day {
            set.push("#day = :day".into());
            builder = builder
                .expression_attribute_names("#day", "day")
                .expression_attribute_values(":day", s(day.to_string()));
        }
        let mut add = Vec::new();
        for (i, (metric, n)) in count.add.iter().enumerate() {
            add.push(format!("#m{i} :m{i}"));
            builder = builder
                .expression_attribute_names(format!("#m{i}"), format!("n_{metric}"))
                .expression_attribute_values(format!(":m{i}"), self::n(n));
        }
        builder
            .update_expression(format!("SET {} ADD {}", set.join(", "), add.join(", ")))
            .build()
            .map_err(corrupt)
    }

    /// Every item of each counter partition (`sk` between the range's ends
    /// when given), every partition queried at once.
    async fn partitions(
        &self,
        pks: Vec<String>,
        range: Option<(String, String)>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut queries = tokio::task::JoinSet::new();
        for pk in pks {
            let (client, table, range) = (self.client.clone(), self.table.clone(), range.clone());
            queries.spawn(async move {
                let q = client
                    .query()
                    .table_name(&table)
                    .expression_attribute_values(":pk", s(pk.clone()));
                let q = match &range {
                    Some((from, to)) => q
                        .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                        .expression_attribute_values(":from", s(from.clone()))
                        .expression_attribute_values(":to", s(to.clone())),
                    None => q.key_condition_expression("pk = :pk"),
                };
                Self::query_pages(q, usize::MAX, None, Some).await
            });
        }
        let mut items = Vec::new();
        while let Some(joined) = queries.join_next().await {
            items.extend(joined.map_err(|e| StoreError::Unavailable(e.to_string()))??);
        }
        Ok(items)
    }

    /// The items of one kind under a lead's key (`EVT#…` its history,
    /// `TASK#…` its tasks), read consistently.
    fn lead_items(
        &self,
        id: &LeadId,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(lead_pk(id)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }

    /// A lead's history entries, oldest first.
    fn history_query(
        &self,
        id: &LeadId,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.lead_items(id, "EVT#")
    }

    /// The one pagination loop: `query` page after page from `start`, each
    /// page asking only for what is still wanted, until `limit` items are
    /// taken (`take` decodes an item, or skips it with `None`) or the last
    /// page is read. Every page is bounded (at most 1,000 items).
    async fn query_pages<T>(
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        limit: usize,
        mut start: Option<Item>,
        mut take: impl FnMut(Item) -> Option<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut taken = Vec::new();
        while taken.len() < limit {
            let out = query
                .clone()
                .limit((limit - taken.len()).clamp(1, 1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            taken.extend(
                out.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(&mut take),
            );
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                break;
            }
        }
        Ok(taken)
    }

    /// A record of its own (not a lead's): `value` as the item, under
    /// `pk`/`sk`, with its `kind` and the TTL that lets it go.
    async fn put_record(
        &self,
        pk: String,
        sk: &str,
        kind: &str,
        value: &impl serde::Serialize,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(value).map_err(corrupt)?;
        item.insert("pk".into(), s(pk));
        item.insert("sk".into(), s(sk));
        item.insert("kind".into(), s(kind));
        item.insert("expires_at".into(), n(expires_at.timestamp()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The record [`put_record`](Self::put_record) wrote, if any.
    async fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.get(pk, sk).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.into_service_error() {
                E::TransactionCanceledException(e) => {
                    let reasons: Vec<_> = e
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .filter(|c| *c != "None")
                        .collect();
                    if reasons
                        .iter()
                        .all(|c| *c == "ConditionalCheckFailed" || *c == "TransactionConflict")
                    {
                        Err(StoreError::Conflict)
                    } else if reasons.contains(&"ValidationError") {
                        Err(StoreError::Invalid(format!(
                            "transaction cancelled: {reasons:?}"
                        )))
                    } else {
                        Err(StoreError::Unavailable(format!(
                            "transaction cancelled: {reasons:?}"
                        )))
                    }
                }
                E::TransactionInProgressException(_) => Err(StoreError::Conflict),
                other if other.code() == Some("ValidationException") => Err(StoreError::Invalid(
                    other.message().unwrap_or("ValidationException").to_string(),
                )),
                other => Err(StoreError::Unavailable(format!("{other:?}"))),
            },
        }
    }
}

/// Add an item's `n_<metric>` numbers to `row`.
fn add_metrics(row: &mut Metrics, item: &Item) {
    for (k, v) in item {
        if let (Some(metric), Ok(n)) = (k.strip_prefix("n_"), v.as_n()) {
            if let Ok(n) = n.parse::<i64>() {
                *row.entry(metric.to_string()).or_default() += n;
            }
        }
    }
}
