//! Open tasks by owner and their notices, first-touch clocks and nurture steps, through the `by_due` index (`DueWork`).

use super::*;

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
        condition_held(result)
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
