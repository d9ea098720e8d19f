//! The exports function: writes each queued lead export as one CSV file
//! (`leadflow::app::exports`), then records it ready for its requester.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use leadflow::app::exports::{self, ExportError, ExportRequested};
use leadflow::ports::{BatchQueues, Clock, Exports, Files, LeadStore};
use leadflow::Playbook;
use leadflow_aws::sqs_batch::each_message;
use std::time::SystemTime;

pub struct Exporter<S, F, C, Q> {
    pub store: S,
    pub files: F,
    pub clock: C,
    pub queues: Q,
    pub playbook: Playbook,
}

impl<S: LeadStore + Exports, F: Files, C: Clock, Q: BatchQueues> Exporter<S, F, C, Q> {
    pub async fn handle(&self, event: SqsEvent, deadline: Option<SystemTime>) -> SqsBatchResponse {
        each_message(
            event,
            &self.queues,
            deadline,
            |m: ExportRequested| async move {
                let now = self.clock.now();
                let job =
                    exports::write(&self.store, &self.files, &self.playbook, &m.export_id, now)
                        .await?;
                if let Some(job) = job {
                    tracing::info!(
                        export = %job.id, status = ?job.status, rows = job.rows,
                        truncated = job.truncated, "export written"
                    );
                }
                Ok::<_, ExportError>(())
            },
        )
        .await
    }
}
