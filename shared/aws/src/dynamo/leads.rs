//! The lead, its history and tasks, and the one atomic write of a change (`Leads`).

use super::*;

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
        // Newest first, page by page, until `limit` entries.
        let query = self.history_query(id).scan_index_forward(false);
        let mut items = Self::query_pages(query, limit, None, Some).await?;
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
            .history_query(id)
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(self.readable_history(id, out.items.unwrap_or_default()))
    }

    async fn history(&self, id: &LeadId) -> Result<Vec<HistoryEntry>, StoreError> {
        let query = self.history_query(id);
        let items = Self::query_pages(query, usize::MAX, None, Some).await?;
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
            .lead_items(lead, "TASK#")
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
        // One more than asked: whether there is a next page.
        let mut page = LeadPage {
            leads: Self::query_pages(query, limit + 1, None, |item| {
                serde_dynamo::from_item::<_, Lead>(item)
                    .inspect_err(|e| {
                        tracing::warn!(owner = owner_key, error = %e, "unreadable lead skipped")
                    })
                    .ok()
            })
            .await?,
            next: None,
        };
        if page.leads.len() > limit {
            page.leads.truncate(limit);
            page.next = page.leads.last().map(activity_key);
        }
        Ok(page)
    }
}
