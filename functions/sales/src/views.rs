//! The JSON the rep's API answers with.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use leadflow::app::sales::{Applied, LeadView};
use leadflow::domain::lead::Lead;
use leadflow::domain::task::Task;
use serde_json::{json, Value};

/// A lead in a list: enough to pick it.
pub fn summary(lead: &Lead) -> Value {
    let d = lead.routing.as_ref();
    json!({
        "lead_id": lead.id,
        "version": lead.version,
        "email": lead.email,
        "name": lead.display_name(),
        "company": lead.contact.company,
        "country": lead.contact.country,
        "request_type": lead.request_type,
        "stage": d.map(|d| d.stage),
        "route": d.map(|d| d.route),
        "score": d.map(|d| d.score.total),
        "owner": d.map(|d| &d.owner),
        "follow_up_by": d.and_then(|d| d.follow_up_by),
        "status": lead.status,
        "first_touch": lead.first_touch,
        "responses": lead.responses,
        "updated_at": lead.updated_at,
        "created_at": lead.created_at,
    })
}

/// Who the caller is, and the vocabulary the workspace's forms offer (from
/// the playbook, so the page never disagrees with the rules).
pub fn me(person: &leadflow::domain::playbook::Rep, playbook: &leadflow::Playbook) -> Value {
    use leadflow::domain::bant::Criterion;
    use leadflow::domain::outcome::{LeadStatus, Outcome};
    let bant: serde_json::Map<String, Value> = Criterion::ALL
        .into_iter()
        .map(|c| {
            (
                c.field().to_string(),
                json!({"label": c.label(), "values": playbook.bant.allowed_values(c)}),
            )
        })
        .collect();
    json!({
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "role": person.role,
        "reports": leadflow::app::reports::may_see_reports(person),
        "outcomes": Outcome::ALL.map(|o| json!({"id": o.as_str(), "label": o.label()})),
        "statuses": LeadStatus::SETTABLE.map(|s| s.as_str()),
        "bant": bant,
        "company": playbook.company.name,
    })
}

pub use leadflow::app::exports::{lead_row as csv_row, LEAD_COLUMNS as CSV_HEADER};

/// An export as its requester sees it: `url` (and when it stops working)
/// once the file is written.
pub fn export(
    job: &leadflow::app::exports::ExportJob,
    now: chrono::DateTime<chrono::Utc>,
    link: Option<(String, chrono::DateTime<chrono::Utc>)>,
) -> serde_json::Value {
    use leadflow::app::exports::ExportStatus;
    let status = job.status_at(now);
    let error = match (status, &job.error) {
        (ExportStatus::Failed, Some(e)) => Some(e.clone()),
        (ExportStatus::Failed, None) => Some("it did not finish; start it again".to_string()),
        _ => None,
    };
    json!({
        "id": job.id,
        "href": format!("/exports/{}", job.id),
        "status": status,
        "filter": job.filter,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "rows": (status == ExportStatus::Ready).then_some(job.rows),
        "truncated": job.truncated,
        "filename": job.filename(),
        "url": link.as_ref().map(|l| &l.0),
        "url_expires_at": link.as_ref().map(|l| l.1),
        "error": error,
    })
}

pub fn task(t: &Task) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    v["task_id"] = json!(t.id);
    v["label"] = json!(t.kind.label());
    v
}

pub fn tasks<'a>(ts: impl IntoIterator<Item = &'a Task>) -> Value {
    Value::Array(ts.into_iter().map(task).collect())
}

/// A lead's page: the lead, a page of its history, its tasks.
pub fn lead(view: &LeadView) -> Value {
    let open: Vec<&Task> = view.tasks.iter().filter(|t| t.is_open()).collect();
    let closed: Vec<&Task> = view.tasks.iter().filter(|t| !t.is_open()).collect();
    json!({
        "lead_id": view.lead.id,
        "version": view.lead.version,
        "summary": summary(&view.lead),
        "lead": view.lead,
        "reasons": view.lead.routing.as_ref().map(|d| &d.reasons),
        "history": view.history,
        "history_next": view.history_next.as_deref().map(|c| B64.encode(c)),
        "tasks": tasks(open),
        "closed_tasks": tasks(closed),
    })
}

/// What a change left.
pub fn applied(a: &Applied) -> Value {
    let d = a.lead.routing.as_ref();
    json!({
        "lead_id": a.lead.id,
        "version": a.lead.version,
        "stage": d.map(|d| d.stage),
        "route": d.map(|d| d.route),
        "score": d.map(|d| d.score.total),
        "owner": d.map(|d| &d.owner),
        "status": a.lead.status,
        "tasks": tasks(&a.tasks),
        "reasons": a.reasons,
    })
}
