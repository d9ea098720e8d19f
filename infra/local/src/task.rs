//! Small helpers for background tasks.

use tokio::task::JoinHandle;

/// A spawned task that is aborted when this handle is dropped.
#[derive(Debug)]
pub struct AbortOnDrop<T = ()>(Option<JoinHandle<T>>);

impl<T> AbortOnDrop<T> {
    pub fn new(handle: JoinHandle<T>) -> Self {
        Self(Some(handle))
    }

    /// Aborts the task and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
            let _ = handle.await;
        }
    }

    pub fn is_finished(&self) -> bool {
        self.0.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// A random UUID (v4), as Lambda uses for request ids.
pub fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_like_shape() {
        let id = super::uuid_like();
        let parts: Vec<&str> = id.split('-').map(str::len).map(|_| "").collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(id.len(), 36);
        assert_ne!(id, super::uuid_like());
    }
}
