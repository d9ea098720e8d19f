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

/// The columns of a lead export.
pub const CSV_HEADER: [&str; 20] = [
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

pub fn csv_row(lead: &Lead) -> Vec<String> {
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
