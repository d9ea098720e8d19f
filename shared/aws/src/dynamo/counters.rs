//! The report counters and gauges (`Counters`).

use super::*;

impl Counters for DynamoStore {
    async fn add_counts(&self, counts: &[Count]) -> Result<(), StoreError> {
        // Each counter on its own: an ADD is safe to repeat only as a count
        // of something that happened again, which is what these count.
        for count in counts {
            let update = self.count_update(count)?;
            self.client
                .update_item()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression())
                .set_expression_attribute_names(update.expression_attribute_names().cloned())
                .set_expression_attribute_values(update.expression_attribute_values().cloned())
                .send()
                .await
                .map_err(|e| StoreError::Unavailable(format!("{:?}", e.into_service_error())))?;
        }
        Ok(())
    }

    async fn day_counts(
        &self,
        dim: Dim,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRow>, StoreError> {
        let mut pks = Vec::new();
        for month in stats::months(from, to) {
            for shard in 0..STAT_SHARDS {
                pks.push(format!(
                    "STAT#{}#{}#{shard}",
                    dim.as_str(),
                    month.format("%Y-%m")
                ));
            }
        }
        // The last day's values: anything after `<to>#`.
        let range = (format!("{from}#"), format!("{to}#\u{10FFFF}"));
        let mut rows: std::collections::BTreeMap<(NaiveDate, String), Metrics> = Default::default();
        for item in self.partitions(pks, Some(range)).await? {
            let day = get_s(&item, "day")?.parse::<NaiveDate>().map_err(corrupt)?;
            let value = get_s(&item, "value")?.to_string();
            add_metrics(rows.entry((day, value)).or_default(), &item);
        }
        Ok(rows
            .into_iter()
            .map(|((day, value), metrics)| DayRow {
                day,
                value,
                metrics,
            })
            .collect())
    }

    async fn gauges(&self, dim: Dim) -> Result<Vec<(String, Metrics)>, StoreError> {
        let pks = (0..STAT_SHARDS)
            .map(|shard| format!("GAUGE#{}#{shard}", dim.as_str()))
            .collect();
        let mut rows: std::collections::BTreeMap<String, Metrics> = Default::default();
        for item in self.partitions(pks, None).await? {
            let value = get_s(&item, "value")?.to_string();
            add_metrics(rows.entry(value).or_default(), &item);
        }
        Ok(rows.into_iter().collect())
    }
}
