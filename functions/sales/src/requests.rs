//! What the rep's API reads from a request: bodies, the lead version, query filters.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use chrono::{DateTime, NaiveDate, Utc};
use leadflow::app::sales::LeadFilter;
use leadflow::domain::bant::Criterion;
use leadflow::domain::decision::{Route, Stage};
use leadflow::domain::followup::{OutcomeReport, StatusReport};
use leadflow::domain::ids::TaskId;
use leadflow::domain::outcome::{LeadStatus, Outcome};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A request that cannot be read: (status, code, message, field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

fn bad(field: &'static str, message: impl Into<String>) -> BadRequest {
    BadRequest {
        status: 422,
        code: "invalid_field",
        message: message.into(),
        field: Some(field),
    }
}

pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_NOTES: usize = 4000;

fn body<T: for<'de> Deserialize<'de>>(req: &ApiGatewayV2httpRequest) -> Result<T, BadRequest> {
    use leadflow_aws::http::{body_bytes, BodyError};
    let bytes =
        body_bytes(req.body.as_deref(), req.is_base64_encoded, MAX_BODY_BYTES).map_err(|e| {
            BadRequest {
                status: match e {
                    BodyError::TooLarge(_) => 413,
                    BodyError::NotBase64 => 400,
                },
                code: match e {
                    BodyError::TooLarge(_) => "body_too_large",
                    BodyError::NotBase64 => "malformed_body",
                },
                message: e.to_string(),
                field: None,
            }
        })?;
    serde_json::from_slice(&bytes).map_err(|e| BadRequest {
        status: 400,
        code: "malformed_body",
        message: format!("the body is not the JSON this takes: {e}"),
        field: None,
    })
}

/// The lead version a change is made against: `If-Match` or the body's `version`.
pub fn version(req: &ApiGatewayV2httpRequest, in_body: Option<u64>) -> Result<u64, BadRequest> {
    if let Some(v) = req.headers.get("if-match").and_then(|v| v.to_str().ok()) {
        let v = v.trim().trim_start_matches("W/").trim_matches('"');
        return v
            .parse()
            .map_err(|_| bad("version", format!("If-Match {v:?} is not a lead version")));
    }
    in_body.ok_or_else(|| {
        bad(
            "version",
            "say which version of the lead this change is made against: If-Match or a body field version",
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    #[serde(default)]
    task_id: Option<String>,
    reached: Option<bool>,
    outcome: Option<String>,
    #[serde(default)]
    bant: BTreeMap<String, String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    follow_up_on: Option<String>,
    #[serde(default)]
    version: Option<u64>,
}

pub fn outcome(req: &ApiGatewayV2httpRequest) -> Result<(OutcomeReport, u64), BadRequest> {
    let b: OutcomeBody = body(req)?;
    let raw = b
        .outcome
        .ok_or_else(|| bad("outcome", "outcome is required"))?;
    let outcome = Outcome::parse(&raw).ok_or_else(|| {
        bad(
            "outcome",
            format!(
                "outcome {raw:?} is not one of {}",
                Outcome::ALL.map(Outcome::as_str).join(", ")
            ),
        )
    })?;
    let reached = b
        .reached
        .ok_or_else(|| bad("reached", "reached (true or false) is required"))?;
    let task_id = b
        .task_id
        .map(|t| TaskId::parse(&t).map_err(|_| bad("task_id", format!("{t:?} is not a task id"))))
        .transpose()?;
    let mut bant = BTreeMap::new();
    for (k, v) in b.bant {
        let c = Criterion::ALL
            .into_iter()
            .find(|c| c.field() == k)
            .ok_or_else(|| {
                bad(
                    "bant",
                    format!("bant.{k}: not one of budget, authority, need, timeframe"),
                )
            })?;
        bant.insert(c, v.trim().to_string());
    }
    if b.notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES)
    {
        return Err(bad(
            "notes",
            format!("notes: at most {MAX_NOTES} characters"),
        ));
    }
    let follow_up_on = b
        .follow_up_on
        .map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                bad(
                    "follow_up_on",
                    format!("follow_up_on {d:?} is not a date (YYYY-MM-DD)"),
                )
            })
        })
        .transpose()?;
    let report = OutcomeReport {
        outcome,
        reached,
        task_id,
        bant,
        notes: b
            .notes
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        follow_up_on,
        via_link: false,
    };
    Ok((report, version(req, b.version)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    amount: Option<f64>,
    #[serde(default)]
    lost_to: Option<String>,
    #[serde(default)]
    version: Option<u64>,
}

pub fn status(req: &ApiGatewayV2httpRequest) -> Result<(StatusReport, u64), BadRequest> {
    let b: StatusBody = body(req)?;
    let raw = b
        .status
        .ok_or_else(|| bad("status", "status is required"))?;
    let status = LeadStatus::parse(&raw)
        .filter(|s| LeadStatus::SETTABLE.contains(s))
        .ok_or_else(|| {
            bad(
                "status",
                format!(
                    "status {raw:?} is not one of {}",
                    LeadStatus::SETTABLE.map(LeadStatus::as_str).join(", ")
                ),
            )
        })?;
    let text = |v: Option<String>, field: &'static str| -> Result<Option<String>, BadRequest> {
        match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > 1000 => {
                Err(bad(field, format!("{field}: at most 1000 characters")))
            }
            other => Ok(other),
        }
    };
    let report = StatusReport {
        status,
        reason: text(b.reason, "reason")?,
        amount: b.amount,
        lost_to: text(b.lost_to, "lost_to")?,
        via_link: false,
    };
    Ok((report, version(req, b.version)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    owner: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    version: Option<u64>,
}

pub fn assign(req: &ApiGatewayV2httpRequest) -> Result<(String, String, u64), BadRequest> {
    let b: AssignBody = body(req)?;
    let owner = b
        .owner
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            bad(
                "owner",
                "owner (a person's id or a queue's name) is required",
            )
        })?;
    let reason = b
        .reason
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("reason", "reason is required"))?;
    Ok((owner, reason, version(req, b.version)?))
}

pub fn query<'a>(req: &'a ApiGatewayV2httpRequest, name: &str) -> Option<&'a str> {
    req.query_string_parameters
        .first(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

pub fn limit(
    req: &ApiGatewayV2httpRequest,
    default: usize,
    max: usize,
) -> Result<usize, BadRequest> {
    match query(req, "limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| bad("limit", format!("limit must be 1 to {max}"))),
    }
}

pub fn lead_filter(
    req: &ApiGatewayV2httpRequest,
) -> Result<(LeadFilter, Option<String>), BadRequest> {
    let parse = |field: &'static str| -> Result<Option<String>, BadRequest> {
        Ok(query(req, field).map(|s| format!("\"{s}\"")))
    };
    let stage = parse("stage")?
        .map(|s| {
            serde_json::from_str::<Stage>(&s).map_err(|_| {
                bad(
                    "stage",
                    format!(
                        "stage {s} is not one of inquiry, lead, opportunity, qualified_opportunity"
                    ),
                )
            })
        })
        .transpose()?;
    let route = parse("route")?
        .map(|s| {
            serde_json::from_str::<Route>(&s).map_err(|_| {
                bad(
                    "route",
                    format!(
                        "route {s} is not one of {}",
                        Route::ALL.map(Route::as_str).join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let status = query(req, "status")
        .map(|s| {
            LeadStatus::parse(s).ok_or_else(|| {
                bad(
                    "status",
                    format!(
                        "status {s:?} is not one of {}",
                        LeadStatus::ALL.map(LeadStatus::as_str).join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let next = query(req, "next").map(str::to_string);
    if next.as_ref().is_some_and(|n| n.len() > 200) {
        return Err(bad("next", "next is not a cursor this API gave"));
    }
    Ok((
        LeadFilter {
            stage,
            route,
            status,
            owner: query(req, "owner").map(str::to_string),
        },
        next,
    ))
}

/// `due_before`: a time (RFC 3339) or a date (that day's start, UTC).
pub fn due_before(req: &ApiGatewayV2httpRequest) -> Result<Option<DateTime<Utc>>, BadRequest> {
    let Some(raw) = query(req, "due_before") else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| {
            bad(
                "due_before",
                format!("due_before {raw:?} is not a time (RFC 3339) or a date (YYYY-MM-DD)"),
            )
        })
}
