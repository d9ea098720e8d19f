//! Export jobs and files in memory.

use super::*;

impl crate::ports::Exports for MemoryStore {
    async fn save_export(&self, job: &crate::app::exports::ExportJob) -> Result<(), StoreError> {
        self.with(|s| s.exports.insert(job.id.to_string(), job.clone()));
        Ok(())
    }
    async fn export(
        &self,
        id: &crate::domain::ids::ExportId,
    ) -> Result<Option<crate::app::exports::ExportJob>, StoreError> {
        Ok(self.with(|s| s.exports.get(id.as_str()).cloned()))
    }
}

/// What was written, by key: the download name and the bytes.
type Written = BTreeMap<String, (String, Vec<u8>)>;

/// Export files in memory: what was written, by key (with its download name).
#[derive(Debug, Default, Clone)]
pub struct MemoryFiles {
    files: std::sync::Arc<Mutex<Written>>,
    /// Fail this many upcoming writes, as S3 would under a fault.
    failing: std::sync::Arc<Mutex<usize>>,
}

impl MemoryFiles {
    pub fn get(&self, key: &str) -> Option<(String, Vec<u8>)> {
        self.files.lock().ok()?.get(key).cloned()
    }
    pub fn fail_next(&self, n: usize) {
        if let Ok(mut f) = self.failing.lock() {
            *f = n;
        }
    }
}

impl crate::ports::Files for MemoryFiles {
    async fn put(&self, key: &str, filename: &str, bytes: Vec<u8>) -> Result<(), String> {
        if let Ok(mut f) = self.failing.lock() {
            if *f > 0 {
                *f -= 1;
                return Err("injected: the file store is unavailable".into());
            }
        }
        if let Ok(mut files) = self.files.lock() {
            files.insert(key.to_string(), (filename.to_string(), bytes));
        }
        Ok(())
    }
}
