//! The rep's API behind the HTTP API's JWT authorizer: `GET /leads`,
//! `GET /leads/{lead_id}`, `GET /tasks`, `POST /leads/{lead_id}/outcomes`,
//! `/status` and `/assign`; for ops, the posts the spam guard held
//! (`GET /spam`, `POST /spam/{spam_id}/release`); and, without sign-in, the signed one-click links
//! of owners' emails (`GET`/`POST /actions/{token}`); the reports
//! (`GET /reports/{name}`, JSON or CSV) and the web workspace's static files
//! (`GET /app/…`, no sign-in: the page signs in and calls this same API).
//!
//! The caller is the playbook person the verified claims name
//! ([`identity::PERSON_CLAIM`]) when Cognito verified it; the gateway has
//! already checked the token.

mod answer;
mod pages;
pub mod reports;
pub mod requests;
mod views;
pub mod workspace;

use answer::{error, json, sales_error, unauthorized};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderValue, Method};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use leadflow::app::reports::{ReportError, ReportName};
use leadflow::app::sales::{self, LinkFailure, LinkResult};
use leadflow::domain::ids::LeadId;
use leadflow::domain::playbook::Rep;
use leadflow::identity::{self, PERSON_CLAIM, VERIFIED_CLAIM};
use leadflow::links::{Keyring, LinkError};
use leadflow::ports::{Clock, DeadLetters, Exports, LeadStore, Publisher, Quarantine};
use leadflow::Playbook;
use leadflow_aws::metrics::{Emf, Unit};
use requests::BadRequest;
use serde_json::json;

/// Why a caller is not let in: 401 (nobody we know) or 403 (an address
/// Cognito has not verified).
enum Refused {
    Unknown(String),
    Unverified(String),
}

pub struct Sales<S, P, C, D> {
    pub store: S,
    /// The fulfillment queue: a new owner is sent the lead package.
    pub publisher: P,
    pub clock: C,
    pub playbook: Playbook,
    /// The link keys (read again as they rotate).
    pub links: Keyring,
    /// The dead-letter queues the health report counts.
    pub dead_letters: D,
    /// How the workspace signs people in.
    pub workspace: workspace::SignIn,
    /// Download links to export files (the export bucket); `None` without
    /// one, and a large CSV export then answers page by page.
    pub exports: Option<leadflow_aws::files::FileLinks>,
    /// The most rows a CSV export answers in the call ([`EXPORT_MAX`]; a
    /// test lowers it rather than making thousands of leads).
    pub export_rows: usize,
}

/// A first touch made just now (`FirstTouchMinutes`, by the lead's route
/// after it, and in all): the dashboard's time-to-first-touch percentiles.
fn first_touch_metric(lead: &leadflow::Lead, now: chrono::DateTime<chrono::Utc>) {
    if let Some(ft) = lead.first_touch.as_ref().filter(|ft| ft.at == now) {
        let route = lead
            .routing
            .as_ref()
            .map(|d| d.route.as_str())
            .unwrap_or("none");
        Emf::leadflow()
            .dimension("Route", route)
            .value("FirstTouchMinutes", ft.minutes_to_touch as f64, Unit::None)
            .and_total()
            .emit(now);
    }
}

/// A `next` cursor this API gave (the base64 of an activity key).
fn cursor(next: Option<String>) -> Result<Option<String>, BadRequest> {
    next.map(|n| {
        B64.decode(n)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(BadRequest {
                status: 422,
                code: "invalid_field",
                message: "next is not a cursor this API gave".into(),
                field: Some("next"),
            })
    })
    .transpose()
}

/// The most rows one CSV export answers (a Lambda answer is at most 6 MB).
pub const EXPORT_MAX: usize = 5000;
/// The most pages (each within [`sales::READ_BUDGET`]) one CSV export reads.
pub const EXPORT_PAGES: usize = 25;

fn bad_request(b: BadRequest) -> ApiGatewayV2httpResponse {
    error(b.status, b.code, &b.message, b.field)
}

macro_rules! read {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(b) => return bad_request(b),
        }
    };
}

impl<S: LeadStore + Quarantine + Exports, P: Publisher, C: Clock, D: DeadLetters>
    Sales<S, P, C, D>
{
    pub async fn handle(&self, req: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let route = req.route_key.clone().unwrap_or_default();
        let path = |name: &str| req.path_parameters.get(name).cloned().unwrap_or_default();
        if route == "GET /app" || route == "GET /app/{file+}" {
            return workspace::serve(&path("file"), &self.workspace);
        }
        if route.ends_with(" /actions/{token}") {
            return self.action_link(&req, &path("token")).await;
        }
        if route.ends_with(" /unsubscribe") {
            return self.unsubscribe(&req).await;
        }
        let caller = match self.caller(&req) {
            Ok(c) => c,
            Err(Refused::Unverified(why)) => return error(403, "email_unverified", &why, None),
            Err(Refused::Unknown(why)) => return unauthorized(&why),
        };
        let lead_id = || LeadId::parse(&path("lead_id"));
        match route.as_str() {
            "GET /leads" if reports::wants_csv(&req) => self.export_leads(&req, caller).await,
            "GET /leads" => self.list_leads(&req, caller).await,
            "GET /reports/{name}" => self.report(&req, caller, &path("name")).await,
            "GET /me" => json(200, &views::me(caller, &self.playbook)),
            "GET /tasks" => self.list_tasks(&req, caller).await,
            "GET /leads/{lead_id}" => match lead_id() {
                Ok(id) => self.lead(&req, caller, &id).await,
                Err(_) => sales_error(&sales::SalesError::NotFound),
            },
            "POST /leads/{lead_id}/outcomes"
            | "POST /leads/{lead_id}/status"
            | "POST /leads/{lead_id}/assign" => match lead_id() {
                Ok(id) => self.change(&req, &route, caller, &id).await,
                Err(_) => sales_error(&sales::SalesError::NotFound),
            },
            "POST /exports" => self.request_export(&req, caller).await,
            "GET /exports/{export_id}" => self.export(caller, &path("export_id")).await,
            "GET /spam" => self.list_spam(&req, caller).await,
            "POST /spam/{spam_id}/release" => self.release_spam(caller, &path("spam_id")).await,
            _ => error(404, "not_found", "no such route", None),
        }
    }

    /// `GET /spam` (ops): the posts the spam guard held, newest first, each
    /// with why; `?limit=` (50, at most 200) and `?next=` page.
    async fn list_spam(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
    ) -> ApiGatewayV2httpResponse {
        use leadflow::domain::playbook::Role;
        if caller.role != Role::Ops {
            return error(403, "forbidden", "suspected spam is for ops", None);
        }
        let limit = read!(requests::limit(req, 50, 200));
        let next = requests::query(req, "next");
        if next.is_some_and(|n| leadflow::domain::ids::SpamId::parse(n).is_err()) {
            return error(
                422,
                "invalid_field",
                "next is not a cursor this API gave",
                Some("next"),
            );
        }
        let days = leadflow::app::quarantine::days(&self.playbook, self.clock.now());
        match self.store.held(&days, next, limit).await {
            Ok((posts, next)) => json(
                200,
                &json!({
                    "posts": posts,
                    "next": next,
                    "quarantine_days": self.playbook.spam.quarantine_days,
                }),
            ),
            Err(e) => sales_error(&sales::SalesError::Store(e)),
        }
    }

    /// `POST /spam/{spam_id}/release` (ops): record the held post as the
    /// inquiry it may be, once (a second release answers the same lead).
    async fn release_spam(&self, caller: &Rep, id: &str) -> ApiGatewayV2httpResponse {
        use leadflow::app::quarantine::{self, ReleaseError};
        use leadflow::domain::playbook::Role;
        if caller.role != Role::Ops {
            return error(403, "forbidden", "suspected spam is for ops", None);
        }
        let Ok(id) = leadflow::domain::ids::SpamId::parse(id) else {
            return error(404, "not_found", "no such held post", None);
        };
        let now = self.clock.now();
        match quarantine::release(
            &self.store,
            &self.publisher,
            &self.playbook,
            &id,
            &caller.id,
            now,
        )
        .await
        {
            Ok(r) => json(
                200,
                &json!({
                    "spam_id": id,
                    "released": true,
                    "lead_id": r.lead_id,
                    "already_released": r.already,
                    "new_lead": r.new_lead,
                }),
            ),
            Err(ReleaseError::NotFound(m)) => error(404, "not_found", &m, None),
            Err(ReleaseError::Invalid(e)) => error(
                422,
                "invalid_inquiry",
                &format!("the held post is not a valid inquiry ({e}); it stays held"),
                None,
            ),
            Err(ReleaseError::Intake(e)) => error(503, "unavailable", &e.to_string(), None),
            Err(ReleaseError::Store(e)) => sales_error(&sales::SalesError::Store(e)),
        }
    }

    /// The playbook person the gateway's verified claims name: by the
    /// `email` claim, and only if Cognito verified that address (a user
    /// whose address is unverified could have typed anyone's).
    fn caller(&self, req: &ApiGatewayV2httpRequest) -> Result<&Rep, Refused> {
        let claims = req
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|j| &j.claims)
            .ok_or_else(|| Refused::Unknown("sign in: this API needs a bearer token".into()))?;
        let email = identity::verified_email(
            claims.get(PERSON_CLAIM).map(String::as_str),
            claims.get(VERIFIED_CLAIM).map(String::as_str),
        )
        .map_err(|e| match e {
            identity::ClaimError::NoEmail => Refused::Unknown(e.to_string()),
            identity::ClaimError::Unverified => Refused::Unverified(e.to_string()),
        })?;
        identity::person(email, &self.playbook)
            .ok_or_else(|| Refused::Unknown("the token's person is not in the playbook".into()))
    }

    async fn list_leads(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
    ) -> ApiGatewayV2httpResponse {
        let (filter, next) = read!(requests::lead_filter(req));
        let limit = read!(requests::limit(req, 50, 200));
        let after = read!(cursor(next));
        match sales::list_leads(
            &self.store,
            &self.playbook,
            caller,
            &filter,
            after.as_deref(),
            limit,
        )
        .await
        {
            Ok(l) => json(
                200,
                &json!({
                    "leads": l.leads.iter().map(views::summary).collect::<Vec<_>>(),
                    "next": l.next.map(|n| B64.encode(n)),
                    // Stopped at the page's read budget: follow `next`.
                    "incomplete": l.budget_spent,
                }),
            ),
            Err(e) => sales_error(&e),
        }
    }

    /// `GET /leads` as CSV: every lead the caller may see (with the same
    /// filters), when they fit in one call ([`EXPORT_MAX`] rows,
    /// [`EXPORT_PAGES`] pages). A larger export is written as a file: 202,
    /// and `GET /exports/{id}` gives its link when ready. From a cursor
    /// (`next`), one call's worth and `x-next-cursor` for the rest.
    async fn export_leads(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
    ) -> ApiGatewayV2httpResponse {
        let (filter, next) = read!(requests::lead_filter(req));
        let paging = next.is_some();
        let mut after = read!(cursor(next));
        let mut rows = Vec::new();
        // At most EXPORT_PAGES budgeted pages per call (a bounded read, well
        // inside the function's timeout); `x-next-cursor` continues.
        for _ in 0..EXPORT_PAGES {
            let page = match sales::list_leads(
                &self.store,
                &self.playbook,
                caller,
                &filter,
                after.as_deref(),
                200,
            )
            .await
            {
                Ok(p) => p,
                Err(e) => return sales_error(&e),
            };
            rows.extend(page.leads.iter().map(views::csv_row));
            after = page.next;
            if after.is_none() || rows.len() >= self.export_rows.min(EXPORT_MAX) {
                break;
            }
        }
        if after.is_some() && !paging && self.exports.is_some() {
            return self.start_export(caller, filter).await;
        }
        let table = leadflow::domain::reports::Table {
            header: views::CSV_HEADER.to_vec(),
            rows,
        };
        let mut r = reports::csv(&table, "leads.csv");
        if let Some(Ok(v)) = after.map(|a| HeaderValue::from_str(&B64.encode(a))) {
            r.headers.insert("x-next-cursor", v);
        }
        r
    }

    /// `POST /exports` (the filters of `GET /leads` in the query): the
    /// leads as a file whatever their number, 202 with where to follow it.
    async fn request_export(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
    ) -> ApiGatewayV2httpResponse {
        let (filter, next) = read!(requests::lead_filter(req));
        if next.is_some() {
            return error(
                422,
                "invalid_field",
                "an export file holds every matching lead: it takes no cursor",
                Some("next"),
            );
        }
        if self.exports.is_none() {
            return error(503, "unavailable", "this stack has no export bucket", None);
        }
        self.start_export(caller, filter).await
    }

    /// A lead export written as a file, started: 202 with where to follow it.
    async fn start_export(
        &self,
        caller: &Rep,
        filter: sales::LeadFilter,
    ) -> ApiGatewayV2httpResponse {
        use leadflow::app::exports::{self, ExportError};
        let now = self.clock.now();
        match exports::start(&self.store, &self.publisher, &caller.email, filter, now).await {
            Ok(job) => {
                let href = format!("/exports/{}", job.id);
                let mut r = json(
                    202,
                    &json!({
                        "export": views::export(&job, now, None),
                        "message": "the export is being written as a file: GET href for its download link",
                    }),
                );
                if let Ok(v) = HeaderValue::from_str(&href) {
                    r.headers.insert("location", v);
                }
                r
            }
            Err(ExportError::Store(e)) => sales_error(&sales::SalesError::Store(e)),
            Err(ExportError::File(e)) => error(503, "unavailable", &e, None),
        }
    }

    /// `GET /exports/{export_id}`: the requester's export, and its download
    /// link (good for [`LINK_MINUTES`]) once written. Anyone else's is 404.
    ///
    /// [`LINK_MINUTES`]: leadflow::app::exports::LINK_MINUTES
    async fn export(&self, caller: &Rep, id: &str) -> ApiGatewayV2httpResponse {
        use leadflow::app::exports::{ExportStatus, LINK_MINUTES};
        let not_found = || error(404, "not_found", "no such export of yours", None);
        let Ok(id) = leadflow::domain::ids::ExportId::parse(id) else {
            return not_found();
        };
        let job = match self.store.export(&id).await {
            Ok(Some(job)) if job.belongs_to(&caller.email) => job,
            Ok(_) => return not_found(),
            Err(e) => return sales_error(&sales::SalesError::Store(e)),
        };
        let now = self.clock.now();
        let link = match (job.status_at(now), &self.exports) {
            (ExportStatus::Ready, Some(links)) => {
                let valid = std::time::Duration::from_secs(LINK_MINUTES as u64 * 60);
                match links.link(&job.key(), valid, now.into()).await {
                    Ok(url) => Some((url, now + chrono::Duration::minutes(LINK_MINUTES))),
                    Err(e) => return error(503, "unavailable", &e, None),
                }
            }
            _ => None,
        };
        json(200, &json!({ "export": views::export(&job, now, link) }))
    }

    async fn report(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
        name: &str,
    ) -> ApiGatewayV2httpResponse {
        let Some(name) = ReportName::parse(name) else {
            return error(
                404,
                "not_found",
                "no such report: funnel, follow-up, pipeline, lost or health",
                None,
            );
        };
        let now = self.clock.now();
        let q = read!(reports::query(req, now));
        match leadflow::app::reports::report(
            &self.store,
            &self.dead_letters,
            &self.playbook,
            caller,
            name,
            &q,
            now,
        )
        .await
        {
            Ok(report) if reports::wants_csv(req) => reports::csv(
                &report.table(),
                &format!("{}-{}-{}.csv", name.as_str(), q.from, q.to),
            ),
            Ok(report) => match serde_json::to_value(&report) {
                Ok(mut v) => {
                    // What the figures cover: the company (ops), or the
                    // pools and queues a manager manages.
                    v["scope"] = json!(leadflow::app::reports::ReportScope::of(
                        caller,
                        &self.playbook
                    ));
                    reports::json_report(&v)
                }
                Err(_) => error(500, "internal", "the report could not be written", None),
            },
            Err(ReportError::Forbidden) => {
                error(403, "forbidden", "reports are for managers and ops", None)
            }
            Err(ReportError::OutOfScope(why)) => error(403, "out_of_scope", &why, None),
            Err(ReportError::Store(e)) => sales_error(&sales::SalesError::Store(e)),
        }
    }

    async fn list_tasks(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
    ) -> ApiGatewayV2httpResponse {
        let due_before = read!(requests::due_before(req));
        let limit = read!(requests::limit(req, 100, 500));
        let after = read!(cursor(requests::query(req, "next").map(str::to_string)));
        match sales::list_tasks(
            &self.store,
            &self.playbook,
            caller,
            due_before,
            after.as_deref(),
            limit,
        )
        .await
        {
            Ok(page) => json(
                200,
                &json!({
                    "tasks": views::tasks(&page.tasks),
                    "next": page.next.map(|n| B64.encode(n)),
                }),
            ),
            Err(e) => sales_error(&e),
        }
    }

    /// `GET /leads/{id}`: the lead, the latest `history_limit` (50) entries
    /// of its history, and `history_next`, the cursor of the page before
    /// (`?history_before=` it).
    async fn lead(
        &self,
        req: &ApiGatewayV2httpRequest,
        caller: &Rep,
        id: &LeadId,
    ) -> ApiGatewayV2httpResponse {
        let param = |k: &str| {
            req.query_string_parameters
                .first(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let bad = |field: &'static str, message: String| BadRequest {
            status: 422,
            code: "invalid_field",
            message,
            field: Some(field),
        };
        let limit = read!(match param("history_limit") {
            None => Ok(sales::HISTORY_PAGE),
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=sales::MAX_HISTORY_PAGE).contains(n))
                .ok_or_else(|| bad(
                    "history_limit",
                    format!("history_limit must be 1 to {}", sales::MAX_HISTORY_PAGE)
                )),
        });
        let before = read!(match param("history_before") {
            None => Ok(None),
            Some(c) => B64
                .decode(&c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|k| {
                    k.split_once('#').is_some_and(|(at, id)| {
                        chrono::DateTime::parse_from_rfc3339(at).is_ok() && !id.is_empty()
                    })
                })
                .map(Some)
                .ok_or_else(|| bad(
                    "history_before",
                    "history_before is not a cursor this API gave".into()
                )),
        });
        match sales::lead_view(
            &self.store,
            &self.playbook,
            caller,
            id,
            before.as_deref(),
            limit,
        )
        .await
        {
            Ok(view) => {
                let mut r = json(200, &views::lead(&view));
                if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", view.lead.version)) {
                    r.headers.insert("etag", v);
                }
                r
            }
            Err(e) => sales_error(&e),
        }
    }

    async fn change(
        &self,
        req: &ApiGatewayV2httpRequest,
        route: &str,
        caller: &Rep,
        id: &LeadId,
    ) -> ApiGatewayV2httpResponse {
        let now = self.clock.now();
        let (store, publisher, pb) = (&self.store, &self.publisher, &self.playbook);
        let result = if route.ends_with("/outcomes") {
            let (report, version) = read!(requests::outcome(req));
            sales::record_outcome(store, publisher, pb, caller, id, version, &report, now).await
        } else if route.ends_with("/status") {
            let (report, version) = read!(requests::status(req));
            sales::change_status(store, publisher, pb, caller, id, version, &report, now).await
        } else {
            let (owner, reason, version) = read!(requests::assign(req));
            sales::assign(
                store, publisher, pb, caller, id, version, &owner, &reason, now,
            )
            .await
        };
        match result {
            Ok(applied) => {
                first_touch_metric(&applied.lead, now);
                let mut r = json(200, &views::applied(&applied));
                if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", applied.lead.version)) {
                    r.headers.insert("etag", v);
                }
                r
            }
            Err(e) => sales_error(&e),
        }
    }

    /// The unsubscribe link of marketing mail: a GET shows a page with a
    /// button; a POST (the button, or a mail client's RFC 8058 one-click)
    /// puts the address on the suppression ledger at once.
    async fn unsubscribe(&self, req: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let q = |k: &str| {
            req.query_string_parameters
                .first(k)
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let (raw, token) = (q("e"), q("t"));
        let not_ours = || {
            answer::html(
                404,
                pages::refused("This unsubscribe link is not one we sent."),
            )
        };
        let Ok(email) = leadflow::EmailAddress::parse(&raw) else {
            return not_ours();
        };
        if !self
            .links
            .key_for(&token)
            .await
            .verify_unsubscribe(email.as_str(), &token)
        {
            return not_ours();
        }
        let company = &self.playbook.company.name;
        match req.request_context.http.method {
            Method::GET | Method::HEAD => {
                answer::html(200, pages::unsubscribe_confirm(email.as_str(), company))
            }
            Method::POST => {
                let now = self.clock.now();
                match sales::unsubscribe(&self.store, &email, now).await {
                    Ok(()) => {
                        Emf::leadflow().count("Unsubscribes", 1).emit(now);
                        answer::html(200, pages::unsubscribed(company))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "unsubscribe failed");
                        answer::html(
                            503,
                            pages::refused(
                                "Something went wrong on our side; try the link again in a moment.",
                            ),
                        )
                    }
                }
            }
            _ => error(405, "method_not_allowed", "GET or POST", None),
        }
    }

    async fn action_link(
        &self,
        req: &ApiGatewayV2httpRequest,
        token: &str,
    ) -> ApiGatewayV2httpResponse {
        let now = self.clock.now();
        let links = self.links.key_for(token).await;
        let (store, pb, key) = (&self.store, &self.playbook, &links);
        let failed = |f: LinkFailure| match f {
            LinkFailure::Link(LinkError::Invalid) => {
                answer::html(404, pages::refused(&f.to_string()))
            }
            LinkFailure::Link(LinkError::Expired(_)) => answer::html(
                410,
                pages::refused(&format!("{f}. Sign in to update the lead.")),
            ),
            LinkFailure::NotYours => answer::html(404, pages::refused(&f.to_string())),
            LinkFailure::Sales(sales::SalesError::Refused(r)) => {
                answer::html(422, pages::refused(&r.message))
            }
            LinkFailure::Sales(e) => {
                tracing::error!(error = %e, "action link failed");
                answer::html(
                    503,
                    pages::refused(
                        "Something went wrong on our side; try the link again in a moment.",
                    ),
                )
            }
        };
        match req.request_context.http.method {
            Method::GET | Method::HEAD => match sales::inspect_link(store, pb, key, token, now)
                .await
            {
                Ok((lead, action, used)) => answer::html(200, pages::confirm(&lead, action, used)),
                Err(f) => failed(f),
            },
            Method::POST => {
                match sales::apply_link(store, &self.publisher, pb, key, token, now).await {
                    Ok(LinkResult::Applied {
                        lead,
                        action,
                        reasons,
                    }) => {
                        first_touch_metric(&lead, now);
                        answer::html(200, pages::done(&lead, action, &reasons, false))
                    }
                    Ok(LinkResult::AlreadyApplied { lead, action }) => {
                        answer::html(200, pages::done(&lead, action, &[], true))
                    }
                    Err(f) => failed(f),
                }
            }
            _ => error(405, "method_not_allowed", "GET or POST", None),
        }
    }
}
