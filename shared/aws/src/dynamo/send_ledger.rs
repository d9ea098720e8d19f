//! Send claims and receipts, and coalescing slots (`SendLedger`).

use super::*;

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
        // Already sent, or not ours any more: nothing to give up.
        condition_held(result).map(|_| ())
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
