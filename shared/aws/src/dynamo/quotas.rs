//! The intake's rate-limit counters (`Quotas`).

use super::*;

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
