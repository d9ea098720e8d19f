//! The suppression ledger (`Suppressions`).

use super::*;

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
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_held(result).map(|_| ())
    }
}
