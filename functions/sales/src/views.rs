//! The JSON the rep's API answers with.

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

pub fn task(t: &Task) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    v["task_id"] = json!(t.id);
    v["label"] = json!(t.kind.label());
    v
}

pub fn tasks<'a>(ts: impl IntoIterator<Item = &'a Task>) -> Value {
    Value::Array(ts.into_iter().map(task).collect())
}

/// A lead's page: the lead, its whole history, its tasks.
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
