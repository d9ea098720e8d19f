//! Lead export jobs (`Exports`): one item each, `EXPORT#<id>`, let go by TTL
//! with its file.

use super::*;
use leadflow::app::exports::ExportJob;
use leadflow::domain::ids::ExportId;

const SK: &str = "EXPORT";

impl Exports for DynamoStore {
    async fn save_export(&self, job: &ExportJob) -> Result<(), StoreError> {
        self.put_record(
            format!("EXPORT#{}", job.id),
            SK,
            "export",
            job,
            job.expires_at(),
        )
        .await
    }

    async fn export(&self, id: &ExportId) -> Result<Option<ExportJob>, StoreError> {
        self.get_record(format!("EXPORT#{id}"), SK).await
    }
}
