//! The lead store on DynamoDB: one table, several item kinds (see template.yaml).
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
        let mut tasks = Vec::new();
        let mut start = None;
        while tasks.len() < limit {
            let out = query
                .clone()
                .limit((limit - tasks.len()).clamp(1, 1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                // BETWEEN is inclusive: the task the page before ended on is not this page's.
                let key = item.get("due_sk").and_then(|v| v.as_s().ok());
                if after.is_some() && key == after.as_ref() {
                    continue;
                }
                match serde_dynamo::from_item::<_, Task>(item) {
                    // The index is eventually consistent: a task closed a
                    // moment ago may still be listed; its item says so.
                    Ok(t) if t.is_open() => tasks.push(t),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(owner = owner_key, error = %e, "unreadable task skipped")
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
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
                let mut out = Vec::new();
                let mut start: Option<Item> = None;
                loop {
                    let mut q = client
                        .query()
                        .table_name(&table)
                        .expression_attribute_values(":pk", s(pk.clone()))
                        .set_exclusive_start_key(start.take());
                    q = match &range {
                        Some((from, to)) => q
                            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                            .expression_attribute_values(":from", s(from.clone()))
                            .expression_attribute_values(":to", s(to.clone())),
                        None => q.key_condition_expression("pk = :pk"),
                    };
                    let page = q.send().await.map_err(unavailable)?;
                    out.extend(page.items.unwrap_or_default());
                    match page.last_evaluated_key {
                        Some(k) if !k.is_empty() => start = Some(k),
                        _ => return Ok::<_, StoreError>(out),
                    }
                }
            });
        }
        let mut items = Vec::new();
        while let Some(joined) = queries.join_next().await {
            items.extend(joined.map_err(|e| StoreError::Unavailable(e.to_string()))??);
        }
        Ok(items)
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

impl Leads for DynamoStore {
    async fn lead_id_by_email(&self, email: &EmailAddress) -> Result<Option<LeadId>, StoreError> {
        match self.get(format!("EMAIL#{email}"), "EMAIL").await? {
            None => Ok(None),
            Some(item) => LeadId::parse(get_s(&item, "lead_id")?)
                .map(Some)
                .map_err(corrupt),
        }
    }

    async fn lead(&self, id: &LeadId) -> Result<Option<Lead>, StoreError> {
        match self.get(lead_pk(id), "LEAD").await? {
            None => Ok(None),
            Some(item) => serde_dynamo::from_item(item).map(Some).map_err(corrupt),
        }
    }

    async fn recent_history(
        &self,
        id: &LeadId,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start = None;
        // Newest first, page by page, until `limit` entries.
        while items.len() < limit {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
                .expression_attribute_values(":pk", s(lead_pk(id)))
                .expression_attribute_values(":evt", s("EVT#"))
                .scan_index_forward(false)
                .limit((limit - items.len()).min(1000) as i32)
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        items.reverse();
        Ok(self.readable_history(id, items))
    }

    async fn history_before(
        &self,
        id: &LeadId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let start = match before {
            Some(key) if key.is_empty() || key.len() > 200 => {
                return Err(StoreError::Invalid("not a history cursor".into()))
            }
            Some(key) => Some(HashMap::from([
                ("pk".to_string(), s(lead_pk(id))),
                ("sk".to_string(), s(format!("EVT#{key}"))),
            ])),
            None => None,
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(lead_pk(id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(self.readable_history(id, out.items.unwrap_or_default()))
    }

    async fn history(&self, id: &LeadId) -> Result<Vec<HistoryEntry>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(lead_pk(id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)?;
        Ok(self.readable_history(id, items))
    }

    async fn reply(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredReply>, StoreError> {
        let Some(item) = self.get(format!("IDEM#{key}"), "IDEM").await? else {
            return Ok(None);
        };
        let reply: StoredReply = serde_dynamo::from_item(item).map_err(corrupt)?;
        // TTL deletes lazily: an expired answer is no answer.
        Ok(reply.is_live(now).then_some(reply))
    }

    async fn commit(&self, mut c: Commit) -> Result<(), StoreError> {
        // The report counters move in the same transaction as what they count.
        let counts = stats::settle(c.lead.as_mut().map(|(l, _)| l), &c.events);
        let mut items = Vec::new();
        if let Some((lead, expect)) = &c.lead {
            let item = Self::lead_item(lead)?;
            match expect {
                Expect::New => {
                    items.push(self.put(item, Some("attribute_not_exists(pk)"))?);
                    let mut claim = Item::new();
                    claim.insert("pk".into(), s(format!("EMAIL#{}", lead.email)));
                    claim.insert("sk".into(), s("EMAIL"));
                    claim.insert("kind".into(), s("email"));
                    claim.insert("lead_id".into(), s(lead.id.as_str()));
                    items.push(self.put(claim, Some("attribute_not_exists(pk)"))?);
                }
                Expect::Adopt => {
                    items.push(self.put(item, Some("attribute_not_exists(pk)"))?);
                    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                        .table_name(&self.table)
                        .key("pk", s(format!("EMAIL#{}", lead.email)))
                        .key("sk", s("EMAIL"))
                        .condition_expression("lead_id = :id")
                        .expression_attribute_values(":id", s(lead.id.as_str()))
                        .build()
                        .map_err(corrupt)?;
                    items.push(TransactWriteItem::builder().condition_check(check).build());
                }
                Expect::Version(v) => {
                    items.push(
                        TransactWriteItem::builder()
                            .update(self.lead_update(item, *v)?)
                            .build(),
                    );
                }
            }
        }
        for e in &c.events {
            items.push(self.put(Self::event_item(e)?, None)?);
        }
        for m in &c.outbox {
            let mut item: Item = serde_dynamo::to_item(m).map_err(corrupt)?;
            item.insert("pk".into(), s(format!("OUTBOX#{}", m.id)));
            item.insert("sk".into(), s("OUTBOX"));
            item.insert("kind".into(), s("outbox"));
            item.insert("due_pk".into(), s(format!("OUTBOX#{}", m.shard())));
            item.insert(
                "due_sk".into(),
                s(format!("{}#{}", timestamp(m.created_at), m.id)),
            );
            items.push(self.put(item, None)?);
        }
        if let Some((key, reply)) = &c.reply {
            let mut item: Item = serde_dynamo::to_item(reply).map_err(corrupt)?;
            item.insert("pk".into(), s(format!("IDEM#{key}")));
            item.insert("sk".into(), s("IDEM"));
            item.insert("kind".into(), s("reply"));
            item.insert("expires_at".into(), n(reply.expires_at().timestamp()));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", n(reply.created_at.timestamp()))
                .build()
                .map_err(corrupt)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if let Some(m) = &c.marker {
            let mut item = Item::new();
            item.insert("pk".into(), s(lead_pk(&m.lead_id)));
            item.insert("sk".into(), s(format!("DONE#{}#{}", m.step, m.key)));
            item.insert("kind".into(), s("marker"));
            items.push(self.put(item, Some("attribute_not_exists(pk)"))?);
        }
        for t in &c.tasks {
            items.push(self.put(Self::task_item(t)?, None)?);
        }
        for (rep, delta) in &c.loads {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(format!("REP#{rep}")))
                .key("sk", s("LOAD"))
                .update_expression("ADD open_leads :d SET kind = :k")
                .expression_attribute_values(":d", n(delta))
                .expression_attribute_values(":k", s("load"))
                .build()
                .map_err(corrupt)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        for count in &counts {
            items.push(
                TransactWriteItem::builder()
                    .update(self.count_update(count)?)
                    .build(),
            );
        }
        if items.is_empty() {
            return Ok(());
        }
        self.transact(items).await
    }

    async fn marker_exists(&self, m: &Marker) -> Result<bool, StoreError> {
        Ok(self
            .get(lead_pk(&m.lead_id), &format!("DONE#{}#{}", m.step, m.key))
            .await?
            .is_some())
    }

    async fn tasks(&self, lead: &LeadId) -> Result<Vec<Task>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :task)")
            .expression_attribute_values(":pk", s(lead_pk(lead)))
            .expression_attribute_values(":task", s("TASK#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)?;
        let mut tasks: Vec<Task> = items
            .into_iter()
            .filter_map(|item| match serde_dynamo::from_item::<_, Task>(item) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(lead_id = %lead, error = %e, "unreadable task skipped");
                    None
                }
            })
            .collect();
        tasks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tasks)
    }

    async fn leads_by_owner(
        &self,
        owner_key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<LeadPage, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_owner")
            .scan_index_forward(false)
            .expression_attribute_values(":k", s(owner_key));
        query = match after {
            Some(a) => query
                .key_condition_expression("owner_pk = :k AND owner_sk < :after")
                .expression_attribute_values(":after", s(a)),
            None => query.key_condition_expression("owner_pk = :k"),
        };
        let mut page = LeadPage::default();
        let mut start = None;
        // One more than asked: whether there is a next page.
        while page.leads.len() <= limit {
            let out = query
                .clone()
                .limit((limit + 1 - page.leads.len()).clamp(1, 1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                match serde_dynamo::from_item::<_, Lead>(item) {
                    Ok(l) => page.leads.push(l),
                    Err(e) => {
                        tracing::warn!(owner = owner_key, error = %e, "unreadable lead skipped")
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        if page.leads.len() > limit {
            page.leads.truncate(limit);
            page.next = page.leads.last().map(activity_key);
        }
        Ok(page)
    }
}

impl Outbox for DynamoStore {
    async fn outbox_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<OutboxPage, StoreError> {
        // Every shard at once (and the single key of entries written before sharding).
        let mut keys: Vec<String> = (0..OUTBOX_SHARDS).map(|i| format!("OUTBOX#{i}")).collect();
        keys.push("OUTBOX".into());
        let mut page = OutboxPage::default();
        for item in self.due_items(keys, before, limit).await? {
            let key = get_s(&item, "pk").unwrap_or("?").to_string();
            match serde_dynamo::from_item::<_, OutboxMessage>(item) {
                Ok(m) => page.due.push(m),
                Err(_) => page.unreadable.push(key),
            }
        }
        page.due
            .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(page)
    }

    async fn outbox_done(&self, id: &MessageId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("OUTBOX#{id}")))
            .key("sk", s("OUTBOX"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn outbox_done_all(&self, ids: &[MessageId]) -> Result<Vec<MessageId>, StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut left = Vec::new();
        for chunk in ids.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|id| {
                    let delete = DeleteRequest::builder()
                        .key("pk", s(format!("OUTBOX#{id}")))
                        .key("sk", s("OUTBOX"))
                        .build()
                        .map_err(corrupt)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            // BatchWriteItem may leave requests unprocessed under load: ask again, a few times.
            for _ in 0..4 {
                if requests.is_empty() {
                    break;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(unavailable)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
            for r in requests {
                let id = r
                    .delete_request()
                    .and_then(|d| d.key().get("pk"))
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.strip_prefix("OUTBOX#"))
                    .and_then(|id| MessageId::parse(id).ok());
                left.extend(id);
            }
        }
        Ok(left)
    }
}

impl SendLedger for DynamoStore {
    async fn claim_send(
        &self,
        lead: &LeadId,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<SendClaim, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let sk = format!("SEND#{key}");
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(lead_pk(lead)))
            .item("sk", s(&sk))
            .item("kind", s("send"))
            .item("state", s("pending"))
            .item("lease_until", s(timestamp(lease_until)))
            .condition_expression(
                "attribute_not_exists(pk) OR (#st = :pending AND lease_until < :now)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", s(timestamp(now)))
            // A refusal answers with the claim as it is: no second request to read it.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(SendClaim::Claimed),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(refused) => {
                    let item = refused.item.unwrap_or_default();
                    match item
                        .get("state")
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                    {
                        Some("sent") => Ok(SendClaim::AlreadySent {
                            message_id: get_s(&item, "message_id").unwrap_or_default().to_string(),
                        }),
                        _ => Ok(SendClaim::InFlight),
                    }
                }
                other => Err(StoreError::Unavailable(format!("{other:?}"))),
            },
        }
    }

    async fn release_send(&self, lead: &LeadId, key: &str) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        // The claim's lease ends now (the next delivery may claim it at
        // once): an update, as the functions that send may write a lead's
        // items but delete none of them.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(lead_pk(lead)))
            .key("sk", s(format!("SEND#{key}")))
            .update_expression("SET lease_until = :released")
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":released", s(timestamp(DateTime::<Utc>::UNIX_EPOCH)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already sent, or not ours any more: nothing to give up.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
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
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let sk = format!("SLOT#{slot}");
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(lead_pk(lead)))
            .item("sk", s(&sk))
            .item("kind", s("slot"))
            .item("state", s("pending"))
            .item("holder", s(holder.as_str()))
            .item("lease_until", s(timestamp(lease_until)))
            .condition_expression(
                "attribute_not_exists(pk) OR holder = :me \
                 OR (#st = :pending AND lease_until < :now) \
                 OR (#st = :sent AND sent_at < :window_start)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":me", s(holder.as_str()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":now", s(timestamp(now)))
            .expression_attribute_values(":window_start", s(timestamp(window_start)))
            // A refusal answers with the slot as it is: no second request to read it.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(SlotClaim::Claimed),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(refused) => {
                    let item = refused.item.unwrap_or_default();
                    let by = ResponseId::parse(get_s(&item, "holder")?).map_err(corrupt)?;
                    Ok(SlotClaim::Taken { by })
                }
                other => Err(StoreError::Unavailable(format!("{other:?}"))),
            },
        }
    }

    async fn complete_send(
        &self,
        lead: &LeadId,
        key: &str,
        message_id: &str,
        entry: HistoryEntry,
        slot: Option<&str>,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(lead_pk(lead)))
            .key("sk", s(format!("SEND#{key}")))
            .update_expression("SET #st = :sent, message_id = :m, sent_at = :at REMOVE lease_until")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":m", s(message_id))
            .expression_attribute_values(":at", s(timestamp(entry.at)))
            .build()
            .map_err(corrupt)?;
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.put(Self::event_item(&entry)?, None)?,
        ];
        if let Some(slot) = slot {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(lead_pk(lead)))
                .key("sk", s(format!("SLOT#{slot}")))
                .update_expression("SET #st = :sent, sent_at = :at REMOVE lease_until")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":sent", s("sent"))
                .expression_attribute_values(":at", s(timestamp(entry.at)))
                .build()
                .map_err(corrupt)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        self.transact(items).await
    }
}

impl Pools for DynamoStore {
    async fn take_turn(&self, pool: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("POOL#{pool}")))
            .key("sk", s("POOL"))
            .update_expression("ADD #c :one SET kind = :k")
            .expression_attribute_names("#c", "cursor")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":k", s("pool"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        let next: u64 = out
            .attributes
            .as_ref()
            .and_then(|a| a.get("cursor"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("pool {pool} has no numeric cursor")))?;
        Ok(next.saturating_sub(1))
    }

    async fn pool_state(&self, pool: &str, reps: &[String]) -> Result<PoolState, StoreError> {
        let cursor = match self.get(format!("POOL#{pool}"), "POOL").await? {
            None => 0,
            Some(item) => item
                .get("cursor")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("pool {pool} has no numeric cursor")))?,
        };
        let mut loads: std::collections::BTreeMap<String, u64> =
            reps.iter().map(|r| (r.clone(), 0)).collect();
        for chunk in reps.chunks(100) {
            let mut keys = KeysAndAttributes::builder().consistent_read(true);
            for rep in chunk {
                let mut key = Item::new();
                key.insert("pk".into(), s(format!("REP#{rep}")));
                key.insert("sk".into(), s("LOAD"));
                keys = keys.keys(key);
            }
            let mut request = Some(keys.build().map_err(corrupt)?);
            // BatchGetItem may leave keys unprocessed under load: ask again for those.
            while let Some(keys) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    let rep = get_s(&item, "pk")?.trim_start_matches("REP#").to_string();
                    let open = item
                        .get("open_leads")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(0);
                    loads.insert(rep, open.max(0) as u64);
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(PoolState { cursor, loads })
    }
}

impl Quotas for DynamoStore {
    async fn take_quota(&self, quotas: &[Quota]) -> Result<Option<Quota>, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        // One conditional increment per counter (a hot counter never conflicts
        // the way a transaction would); a refusal undoes the ones taken before it.
        let key = |q: &Quota| (s(format!("RATE#{}", q.key)), s(timestamp(q.window_start)));
        for (i, q) in quotas.iter().enumerate() {
            let (pk, sk) = key(q);
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", pk)
                .key("sk", sk)
                .update_expression("ADD hits :one SET kind = :k, expires_at = :exp")
                .condition_expression("attribute_not_exists(hits) OR hits < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(q.max))
                .expression_attribute_values(":k", s("rate"))
                .expression_attribute_values(":exp", n(q.window_end.timestamp() + 60))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) => {
                    let refused = matches!(
                        e.into_service_error(),
                        UpdateItemError::ConditionalCheckFailedException(_)
                    );
                    for taken in &quotas[..i] {
                        let (pk, sk) = key(taken);
                        let undo = self
                            .client
                            .update_item()
                            .table_name(&self.table)
                            .key("pk", pk)
                            .key("sk", sk)
                            .update_expression("ADD hits :minus")
                            .expression_attribute_values(":minus", n(-1))
                            .send()
                            .await;
                        if let Err(e) = undo {
                            tracing::warn!(quota = %taken.key, error = ?e, "could not give back a rate-limit unit");
                        }
                    }
                    return if refused {
                        Ok(Some(q.clone()))
                    } else {
                        Err(StoreError::Unavailable(format!(
                            "rate-limit counter {} could not be updated",
                            q.key
                        )))
                    };
                }
            }
        }
        Ok(None)
    }
}

impl DueWork for DynamoStore {
    async fn open_tasks(
        &self,
        owner_key: &str,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Task>, StoreError> {
        self.task_page(owner_key, None, due_before, limit).await
    }

    async fn open_tasks_after(
        &self,
        owner_key: &str,
        after: (DateTime<Utc>, &leadflow::domain::ids::TaskId),
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Task>, StoreError> {
        let after = format!("{}#{}", timestamp(after.0), after.1);
        self.task_page(owner_key, Some(after), due_before, limit)
            .await
    }

    async fn claim_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(lead_pk(&task.lead_id)))
            .key("sk", s(format!("TASK#{}", task.id)))
            .update_expression("SET #lease = :until")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(#done) AND (attribute_not_exists(#lease) OR #lease < :now)",
            )
            .expression_attribute_names("#done", notice.field())
            .expression_attribute_names("#lease", format!("{}_lease", notice.field()))
            .expression_attribute_values(":until", s(timestamp(lease_until)))
            .expression_attribute_values(":now", s(timestamp(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete_task_notice(
        &self,
        task: &Task,
        notice: TaskNotice,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(lead_pk(&task.lead_id)))
            .key("sk", s(format!("TASK#{}", task.id)))
            .update_expression("SET #done = :at REMOVE #lease")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#done", notice.field())
            .expression_attribute_names("#lease", format!("{}_lease", notice.field()))
            .expression_attribute_values(":at", s(timestamp(at)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn sla_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<Lead>, StoreError> {
        self.leads_due("SLA", before, limit).await
    }

    async fn nurture_due(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Lead>, StoreError> {
        self.leads_due("NURTURE", before, limit).await
    }
}

impl Suppressions for DynamoStore {
    async fn suppression(&self, email: &EmailAddress) -> Result<Option<Suppression>, StoreError> {
        match self.get(format!("SUPPRESS#{email}"), "SUPPRESS").await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    async fn suppress(&self, email: &EmailAddress, entry: &Suppression) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(entry).map_err(corrupt)?;
        item.insert("pk".into(), s(format!("SUPPRESS#{email}")));
        item.insert("sk".into(), s("SUPPRESS"));
        // The first reason stands (a complaint is not downgraded to an unsubscribe).
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl OnceKeys for DynamoStore {
    async fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("ONCE#{key}")))
            .item("sk", s("ONCE"))
            .item("kind", s("once"))
            .item("state", s("pending"))
            .item("lease_until", s(timestamp(lease_until)))
            .item(
                "expires_at",
                n((now + chrono::Duration::days(7)).timestamp()),
            )
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :pending AND lease_until < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", s(timestamp(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn finish_once(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("ONCE#{key}")))
            .key("sk", s("ONCE"))
            .update_expression("SET #state = :done REMOVE lease_until")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s("done"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl Counters for DynamoStore {
    async fn add_counts(&self, counts: &[Count]) -> Result<(), StoreError> {
        // Each counter on its own: an ADD is safe to repeat only as a count
        // of something that happened again, which is what these count.
        for count in counts {
            let update = self.count_update(count)?;
            self.client
                .update_item()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression())
                .set_expression_attribute_names(update.expression_attribute_names().cloned())
                .set_expression_attribute_values(update.expression_attribute_values().cloned())
                .send()
                .await
                .map_err(|e| StoreError::Unavailable(format!("{:?}", e.into_service_error())))?;
        }
        Ok(())
    }

    async fn day_counts(
        &self,
        dim: Dim,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRow>, StoreError> {
        let mut pks = Vec::new();
        for month in stats::months(from, to) {
            for shard in 0..STAT_SHARDS {
                pks.push(format!(
                    "STAT#{}#{}#{shard}",
                    dim.as_str(),
                    month.format("%Y-%m")
                ));
            }
        }
        // The last day's values: anything after `<to>#`.
        let range = (format!("{from}#"), format!("{to}#\u{10FFFF}"));
        let mut rows: std::collections::BTreeMap<(NaiveDate, String), Metrics> = Default::default();
        for item in self.partitions(pks, Some(range)).await? {
            let day = get_s(&item, "day")?.parse::<NaiveDate>().map_err(corrupt)?;
            let value = get_s(&item, "value")?.to_string();
            add_metrics(rows.entry((day, value)).or_default(), &item);
        }
        Ok(rows
            .into_iter()
            .map(|((day, value), metrics)| DayRow {
                day,
                value,
                metrics,
            })
            .collect())
    }

    async fn gauges(&self, dim: Dim) -> Result<Vec<(String, Metrics)>, StoreError> {
        let pks = (0..STAT_SHARDS)
            .map(|shard| format!("GAUGE#{}#{shard}", dim.as_str()))
            .collect();
        let mut rows: std::collections::BTreeMap<String, Metrics> = Default::default();
        for item in self.partitions(pks, None).await? {
            let value = get_s(&item, "value")?.to_string();
            add_metrics(rows.entry(value).or_default(), &item);
        }
        Ok(rows.into_iter().collect())
    }
}

/// Add an item's `n_<metric>` numbers to `row`.
impl Quarantine for DynamoStore {
    async fn hold(
        &self,
        post: &leadflow::domain::spam::HeldPost,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(post).map_err(corrupt)?;
        item.insert("pk".into(), s(format!("SPAM#{}", post.id.day())));
        item.insert("sk".into(), s(post.id.as_str()));
        item.insert("kind".into(), s("spam"));
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

    async fn held(
        &self,
        days: &[NaiveDate],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<leadflow::domain::spam::HeldPost>, Option<String>), StoreError> {
        use leadflow::domain::ids::SpamId;
        let after = match cursor {
            Some(c) => Some(
                SpamId::parse(c).map_err(|_| StoreError::Invalid("not a spam cursor".into()))?,
            ),
            None => None,
        };
        let limit = limit.clamp(1, 500);
        let mut posts = Vec::new();
        for day in days {
            if after.as_ref().is_some_and(|a| *day > a.day()) {
                continue;
            }
            let mut start = after.as_ref().filter(|a| a.day() == *day).map(|a| {
                HashMap::from([
                    ("pk".to_string(), s(format!("SPAM#{day}"))),
                    ("sk".to_string(), s(a.as_str())),
                ])
            });
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(format!("SPAM#{day}")))
                    .scan_index_forward(false)
                    .limit((limit + 1 - posts.len().min(limit)) as i32)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out.items.unwrap_or_default() {
                    posts.push(serde_dynamo::from_item(item).map_err(corrupt)?);
                }
                start = out.last_evaluated_key;
                if start.is_none() || posts.len() > limit {
                    break;
                }
            }
            if posts.len() > limit {
                break;
            }
        }
        let more = posts.len() > limit;
        posts.truncate(limit);
        let next = match more {
            true => posts
                .last()
                .map(|p: &leadflow::domain::spam::HeldPost| p.id.to_string()),
            false => None,
        };
        Ok((posts, next))
    }

    async fn held_post(
        &self,
        id: &leadflow::domain::ids::SpamId,
    ) -> Result<Option<leadflow::domain::spam::HeldPost>, StoreError> {
        match self.get(format!("SPAM#{}", id.day()), id.as_str()).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    async fn mark_released(
        &self,
        id: &leadflow::domain::ids::SpamId,
        released: &leadflow::domain::spam::Released,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let value: AttributeValue = serde_dynamo::to_attribute_value(released).map_err(corrupt)?;
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("SPAM#{}", id.day())))
            .key("sk", s(id.as_str()))
            .update_expression("SET released = :r")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(released)")
            .expression_attribute_values(":r", value)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn add_metrics(row: &mut Metrics, item: &Item) {
    for (k, v) in item {
        if let (Some(metric), Ok(n)) = (k.strip_prefix("n_"), v.as_n()) {
            if let Ok(n) = n.parse::<i64>() {
                *row.entry(metric.to_string()).or_default() += n;
            }
        }
    }
}
