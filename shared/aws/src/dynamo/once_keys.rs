//! Things done once (`OnceKeys`).

use super::*;

impl OnceKeys for DynamoStore {
    async fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
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
        condition_held(result)
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
