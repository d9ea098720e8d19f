//! Lead exports (issue 24, item 7). `GET /leads` as CSV answers in the call
//! when every matching lead fits in one call's reads; a larger export is a
//! job: the rep's API records it and queues it, the exports function writes
//! the whole file (`exports/<id>.csv` in the export bucket), and the
//! requester polls `GET /exports/{id}` for a short-lived download link.
//!
//! The job's filter is read again under the requester's access when the
//! file is written: an export shows what its requester may see then.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::sales::{list_leads, LeadFilter, SalesError};
use crate::domain::ids::ExportId;
use crate::domain::ids::MessageId;
use crate::domain::lead::Lead;
use crate::domain::playbook::Playbook;
use crate::domain::reports::Table;
use crate::ports::{Exports, Files, LeadStore, OutboxMessage, Publisher, Queue, StoreError};

/// The most rows one export file holds (about 80 MB of CSV); a larger
/// selection is cut there and says so (`truncated`).
pub const FILE_MAX_ROWS: usize = 200_000;
/// How long an export (its record and its file) is kept.
pub const KEEP_DAYS: i64 = 7;
/// A job still running this long after it started has failed (its worker
/// gave up): the requester is told to start it again.
pub const GIVE_UP_AFTER_MINUTES: i64 = 60;
/// How long a download link works.
pub const LINK_MINUTES: i64 = 15;

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Running,
    Ready,
    Failed,
}

/// One export: who asked, for what, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportJob {
    pub id: ExportId,
    /// The requester's (lower-cased) address: only they may download it.
    pub requested_by: String,
    #[serde(default)]
    pub filter: LeadFilter,
    pub created_at: DateTime<Utc>,
    pub status: ExportStatus,
    #[serde(default)]
    pub rows: u64,
    /// More leads matched than [`FILE_MAX_ROWS`]: the file holds the first.
    #[serde(default)]
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ExportJob {
    pub fn new(requested_by: &str, filter: LeadFilter, now: DateTime<Utc>) -> Self {
        Self {
            id: ExportId::at(now),
            requested_by: requested_by.to_ascii_lowercase(),
            filter,
            created_at: now,
            status: ExportStatus::Running,
            rows: 0,
            truncated: false,
            finished_at: None,
            error: None,
        }
    }

    /// The file's key in the export bucket.
    pub fn key(&self) -> String {
        format!("exports/{}.csv", self.id)
    }

    /// The name the download is saved under.
    pub fn filename(&self) -> String {
        format!("leads-{}.csv", self.created_at.format("%Y-%m-%d-%H%M"))
    }

    /// When the record (and the file) are let go.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.created_at + Duration::days(KEEP_DAYS)
    }

    /// The status the requester sees: a job running past
    /// [`GIVE_UP_AFTER_MINUTES`] has failed.
    pub fn status_at(&self, now: DateTime<Utc>) -> ExportStatus {
        match self.status {
            ExportStatus::Running
                if now - self.created_at > Duration::minutes(GIVE_UP_AFTER_MINUTES) =>
            {
                ExportStatus::Failed
            }
            s => s,
        }
    }

    /// Whether `email` may read it.
    pub fn belongs_to(&self, email: &str) -> bool {
        self.requested_by.eq_ignore_ascii_case(email)
    }
}

/// The message that asks the exports function to write a job's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequested {
    pub export_id: ExportId,
}

/// Why a file could not be written this time (the message is retried).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the file could not be written: {0}")]
    File(String),
}

impl crate::ports::Failure for ExportError {
    fn disposition(&self) -> crate::ports::Disposition {
        use crate::ports::Disposition;
        match self {
            ExportError::Store(e) if e.is_permanent() => Disposition::Bury,
            // The message comes back after the queue's visibility timeout;
            // the job reads again from the start (the file is replaced whole).
            _ => Disposition::Retry,
        }
    }
}

/// Records an export of what `filter` matches for `requested_by` and queues
/// it for the exports function. A message that cannot be queued leaves the
/// job failed (the caller is told; nothing waits on it).
pub async fn start<S: Exports, P: Publisher>(
    store: &S,
    publisher: &P,
    requested_by: &str,
    filter: LeadFilter,
    now: DateTime<Utc>,
) -> Result<ExportJob, ExportError> {
    let mut job = ExportJob::new(requested_by, filter, now);
    store.save_export(&job).await?;
    let body = serde_json::to_string(&ExportRequested {
        export_id: job.id.clone(),
    })
    .map_err(|e| ExportError::File(e.to_string()))?;
    let message = OutboxMessage {
        id: MessageId::generate(),
        queue: Queue::Exports,
        body,
        created_at: now,
        delay_seconds: 0,
    };
    if let Err(e) = publisher.publish(&message).await {
        job.status = ExportStatus::Failed;
        job.error = Some("it could not be queued; start it again".into());
        job.finished_at = Some(now);
        store.save_export(&job).await?;
        return Err(ExportError::File(format!(
            "queueing export {}: {}",
            job.id, e.0
        )));
    }
    Ok(job)
}

/// Writes `id`'s file and records it ready (or failed, when its requester
/// is no longer in the playbook). A job that is not running any more is
/// left as it is: a redelivered message writes nothing twice.
pub async fn write<S: LeadStore + Exports, F: Files>(
    store: &S,
    files: &F,
    playbook: &Playbook,
    id: &ExportId,
    now: DateTime<Utc>,
) -> Result<Option<ExportJob>, ExportError> {
    let Some(mut job) = store.export(id).await? else {
        tracing::warn!(export = %id, "no such export: nothing to write");
        return Ok(None);
    };
    if job.status != ExportStatus::Running {
        return Ok(Some(job));
    }
    let Some(caller) = crate::identity::person(&job.requested_by, playbook) else {
        job.status = ExportStatus::Failed;
        job.error = Some("the requester is no longer in the playbook".into());
        job.finished_at = Some(now);
        store.save_export(&job).await?;
        return Ok(Some(job));
    };
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = list_leads(store, playbook, caller, &job.filter, after.as_deref(), 200)
            .await
            .map_err(|e| match e {
                SalesError::Store(e) => ExportError::Store(e),
                other => ExportError::File(other.to_string()),
            })?;
        rows.extend(page.leads.iter().map(lead_row));
        after = page.next;
        if after.is_none() || rows.len() >= FILE_MAX_ROWS {
            break;
        }
    }
    job.truncated = after.is_some() || rows.len() > FILE_MAX_ROWS;
    rows.truncate(FILE_MAX_ROWS);
    job.rows = rows.len() as u64;
    let table = Table {
        header: LEAD_COLUMNS.to_vec(),
        rows,
    };
    let bytes = table.to_csv().map_err(ExportError::File)?;
    files
        .put(&job.key(), &job.filename(), bytes)
        .await
        .map_err(ExportError::File)?;
    job.status = ExportStatus::Ready;
    job.finished_at = Some(now);
    store.save_export(&job).await?;
    Ok(Some(job))
}

/// The columns of a lead export (the CSV answer and the file alike).
pub const LEAD_COLUMNS: [&str; 20] = [
    "lead_id",
    "email",
    "name",
    "company",
    "country",
    "request_type",
    "stage",
    "route",
    "score",
    "owner",
    "status",
    "follow_up_by",
    "first_touch_at",
    "minutes_to_touch",
    "within_sla",
    "responses",
    "campaign",
    "source",
    "created_at",
    "updated_at",
];

pub fn lead_row(lead: &Lead) -> Vec<String> {
    let d = lead.routing.as_ref();
    let opt = |v: Option<String>| v.unwrap_or_default();
    let ft = lead.first_touch.as_ref();
    vec![
        lead.id.to_string(),
        lead.email.to_string(),
        lead.display_name(),
        opt(lead.contact.company.clone()),
        opt(lead.contact.country.as_ref().map(|c| c.to_string())),
        lead.request_type.to_string(),
        opt(d.map(|d| d.stage.to_string())),
        opt(d.map(|d| d.route.to_string())),
        opt(d.map(|d| d.score.total.to_string())),
        opt(d.map(|d| d.owner.display_name().to_string())),
        lead.status.to_string(),
        opt(d.and_then(|d| d.follow_up_by).map(|t| t.to_rfc3339())),
        opt(ft.map(|f| f.at.to_rfc3339())),
        opt(ft.map(|f| f.minutes_to_touch.to_string())),
        opt(ft.and_then(|f| f.within_sla).map(|w| w.to_string())),
        lead.responses.to_string(),
        opt(lead.first_attribution.campaign.clone()),
        lead.first_attribution.source().to_string(),
        lead.created_at.to_rfc3339(),
        lead.updated_at.to_rfc3339(),
    ]
}
