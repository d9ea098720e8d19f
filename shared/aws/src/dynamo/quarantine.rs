//! Posts the spam guard held (`Quarantine`).

use super::*;

impl Quarantine for DynamoStore {
    async fn hold(
        &self,
        post: &leadflow::domain::spam::HeldPost,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.put_record(
            format!("SPAM#{}", post.id.day()),
            post.id.as_str(),
            "spam",
            post,
            expires_at,
        )
        .await
    }

    async fn held(
        &self,
        days: &[NaiveDate],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<leadflow::domain::spam::HeldPost>, Option<String>), StoreError> {
        use leadflow::domain::ids::SpamId;
        let after = match cursor {
            Some(c) => Some(
                SpamId::parse(c).map_err(|_| StoreError::Invalid("not a spam cursor".into()))?,
            ),
            None => None,
        };
        let limit = limit.clamp(1, 500);
        let mut posts = Vec::new();
        for day in days {
            if after.as_ref().is_some_and(|a| *day > a.day()) {
                continue;
            }
            let start = after.as_ref().filter(|a| a.day() == *day).map(|a| {
                HashMap::from([
                    ("pk".to_string(), s(format!("SPAM#{day}"))),
                    ("sk".to_string(), s(a.as_str())),
                ])
            });
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(format!("SPAM#{day}")))
                .scan_index_forward(false);
            // One more than asked: whether there is a next page.
            let wanted = limit + 1 - posts.len().min(limit);
            let mut unreadable = None;
            let page = Self::query_pages(query, wanted, start, |item| {
                serde_dynamo::from_item(item)
                    .inspect_err(|e| unreadable = Some(corrupt(e)))
                    .ok()
            })
            .await?;
            if let Some(e) = unreadable {
                return Err(e);
            }
            posts.extend(page);
            if posts.len() > limit {
                break;
            }
        }
        let more = posts.len() > limit;
        posts.truncate(limit);
        let next = match more {
            true => posts
                .last()
                .map(|p: &leadflow::domain::spam::HeldPost| p.id.to_string()),
            false => None,
        };
        Ok((posts, next))
    }

    async fn held_post(
        &self,
        id: &leadflow::domain::ids::SpamId,
    ) -> Result<Option<leadflow::domain::spam::HeldPost>, StoreError> {
        self.get_record(format!("SPAM#{}", id.day()), id.as_str())
            .await
    }

    async fn mark_released(
        &self,
        id: &leadflow::domain::ids::SpamId,
        released: &leadflow::domain::spam::Released,
    ) -> Result<(), StoreError> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(released).map_err(corrupt)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("SPAM#{}", id.day())))
            .key("sk", s(id.as_str()))
            .update_expression("SET released = :r")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(released)")
            .expression_attribute_values(":r", value)
            .send()
            .await;
        match condition_held(result)? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }
}
