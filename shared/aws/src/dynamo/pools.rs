//! Round-robin turns and reps' loads (`Pools`).

use super::*;

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
