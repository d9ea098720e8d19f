//! Lead export jobs (`Exports`): one item each, `EXPORT#<id>`, let go by TTL
//! with its file.

use super::*;
use leadflow::app::exports::ExportJob;
use leadflow::domain::ids::ExportId;

const SK: &str = "EXPORT";

impl Exports for DynamoStore {
    async fn save_export(&self, job: &ExportJob) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(job).map_err(corrupt)?;
        item.insert("pk".into(), s(format!("EXPORT#{}", job.id)));
        item.insert("sk".into(), s(SK));
        item.insert("kind".into(), s("export"));
        item.insert("expires_at".into(), n(job.expires_at().timestamp()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn export(&self, id: &ExportId) -> Result<Option<ExportJob>, StoreError> {
        match self.get(format!("EXPORT#{id}"), SK).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item).map_err(corrupt)?)),
            None => Ok(None),
        }
    }
}
