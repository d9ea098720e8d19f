//! The transactional outbox (`Outbox`).

use super::*;

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
