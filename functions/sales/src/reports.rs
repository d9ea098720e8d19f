//! `GET /reports/{name}`: the query, and the answer as JSON or CSV
//! (`Accept: text/csv`, or `?format=csv`).

use crate::answer::{error, json};
use crate::requests::BadRequest;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, NaiveDate, Utc};
use leadflow::app::reports::{ReportQuery, MAX_DAYS};
use leadflow::domain::reports::Table;
use leadflow::domain::stats::Dim;

fn bad(field: &'static str, message: impl Into<String>) -> BadRequest {
    BadRequest {
        status: 422,
        code: "invalid_field",
        message: message.into(),
        field: Some(field),
    }
}

/// The first and last day a report may name.
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a day");
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2999, 12, 31).expect("a day");

fn param(req: &ApiGatewayV2httpRequest, k: &str) -> Option<String> {
    req.query_string_parameters
        .first(k)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The dimensions a report may be grouped or filtered by.
const GROUPS: [Dim; 6] = [
    Dim::All,
    Dim::Campaign,
    Dim::Source,
    Dim::Territory,
    Dim::Rep,
    Dim::Pool,
];

/// `from`, `to` (days, inclusive; the last 30 days by default), `by` (a
/// dimension), or one of `campaign=`, `source=`, `territory=`, `rep=`,
/// `pool=` to keep that value only.
pub fn query(req: &ApiGatewayV2httpRequest, now: DateTime<Utc>) -> Result<ReportQuery, BadRequest> {
    let mut q = ReportQuery::last_30_days(now);
    // Days of the years a report can cover: chrono takes years up to
    // ±262,143, whose arithmetic overflows and whose months never end.
    let (first, last) = (FIRST_DAY, LAST_DAY);
    let day = |k: &'static str| -> Result<Option<NaiveDate>, BadRequest> {
        param(req, k)
            .map(|v| {
                let outside = || bad(k, format!("{k} is a day from {first} to {last}; got {v:?}"));
                match v.parse::<NaiveDate>() {
                    Ok(d) if (first..=last).contains(&d) => Ok(d),
                    Ok(_) => Err(outside()),
                    Err(_) => Err(bad(k, format!("{k} is a day, YYYY-MM-DD; got {v:?}"))),
                }
            })
            .transpose()
    };
    if let Some(to) = day("to")? {
        q.to = to;
        q.from = to
            .checked_sub_days(chrono::Days::new(29))
            .unwrap_or(first)
            .max(first);
    }
    if let Some(from) = day("from")? {
        q.from = from;
    }
    if q.from > q.to {
        return Err(bad("from", "from is after to"));
    }
    if (q.to - q.from).num_days() >= MAX_DAYS {
        return Err(bad(
            "from",
            format!("a report covers at most {MAX_DAYS} days; for more, see docs/analysis.md (ad-hoc analysis)"),
        ));
    }
    if let Some(by) = param(req, "by") {
        q.by = Dim::parse(&by)
            .filter(|d| GROUPS.contains(d))
            .ok_or_else(|| {
                bad(
                    "by",
                    "by is one of all, campaign, source, territory, rep, pool",
                )
            })?;
    }
    for dim in GROUPS.into_iter().skip(1) {
        if let Some(v) = param(req, dim.as_str()) {
            if q.only.is_some() || (q.by != Dim::All && q.by != dim) {
                return Err(bad(
                    dim.as_str(),
                    "a report is grouped or filtered by one dimension at a time",
                ));
            }
            q.by = dim;
            q.only = Some(v);
        }
    }
    Ok(q)
}

/// Whether the caller asked for CSV.
pub fn wants_csv(req: &ApiGatewayV2httpRequest) -> bool {
    param(req, "format").is_some_and(|f| f == "csv")
        || req
            .headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.to_ascii_lowercase().contains("text/csv"))
}

/// A table as a CSV answer, named `filename` for a browser's download.
pub fn csv(table: &Table, filename: &str) -> ApiGatewayV2httpResponse {
    let Ok(bytes) = table.to_csv() else {
        return error(500, "internal", "the CSV could not be written", None);
    };
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = 200;
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert("content-disposition", v);
    }
    r.headers = headers;
    r.body = Some(Body::Text(String::from_utf8_lossy(&bytes).into_owned()));
    r
}

pub use leadflow::domain::reports::neutralise;

pub fn json_report(value: &serde_json::Value) -> ApiGatewayV2httpResponse {
    json(200, value)
}
