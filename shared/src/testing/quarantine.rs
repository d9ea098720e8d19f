//! The posts the spam guard held, in memory.

use super::*;

impl crate::ports::Quarantine for MemoryStore {
    async fn hold(
        &self,
        post: &crate::domain::spam::HeldPost,
        _expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| s.held.insert(post.id.to_string(), post.clone()));
        Ok(())
    }
    async fn held(
        &self,
        days: &[chrono::NaiveDate],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<crate::domain::spam::HeldPost>, Option<String>), StoreError> {
        self.with(|s| {
            let mut posts: Vec<_> = s
                .held
                .values()
                .filter(|p| days.contains(&p.id.day()))
                .filter(|p| cursor.is_none_or(|c| p.id.as_str() < c))
                .cloned()
                .collect();
            posts.sort_by(|a, b| b.id.cmp(&a.id));
            let more = posts.len() > limit;
            posts.truncate(limit);
            let next = more
                .then(|| posts.last().map(|p| p.id.to_string()))
                .flatten();
            Ok((posts, next))
        })
    }
    async fn held_post(
        &self,
        id: &crate::domain::ids::SpamId,
    ) -> Result<Option<crate::domain::spam::HeldPost>, StoreError> {
        Ok(self.with(|s| s.held.get(id.as_str()).cloned()))
    }
    async fn mark_released(
        &self,
        id: &crate::domain::ids::SpamId,
        released: &crate::domain::spam::Released,
    ) -> Result<(), StoreError> {
        self.with(|s| match s.held.get_mut(id.as_str()) {
            Some(p) if p.released.is_none() => {
                p.released = Some(released.clone());
                Ok(())
            }
            Some(_) => Err(StoreError::Conflict),
            None => Err(StoreError::Corrupt("no such held post".into())),
        })
    }
}
