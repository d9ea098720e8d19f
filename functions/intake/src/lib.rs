//! `POST /inquiries`: the public intake for landing pages.
//!
//! Decodes the API Gateway request (JSON or a plain HTML form), lets the domain
//! parse it, records it through `leadflow::app::intake`, and answers 202 (JSON)
//! or 303 (forms). CORS is answered here so it behaves the same everywhere.
//! Each post recorded counts in `LeadsIn` (by source, by request type, in
//! all; `NewLeads` when it is a new person); a replay counts nothing. A post
//! the playbook's spam guard takes for a bot's is thanked as any other,
//! counts in `Spam` (by sign), and is held in the quarantine with its reason
//! (never a lead until ops release it).
//! Each concern has its module; `handle` reads as the steps.

mod accepted;
mod body;
mod config;
mod cors;
mod idempotency;
mod redirect;
mod refusal;

pub use body::MAX_BODY_BYTES;
pub use config::Config;
pub use idempotency::{fingerprint, scoped_key, MAX_IDEMPOTENCY_KEY};
pub use redirect::redirect_allowed;
pub use refusal::{Explanation, Refusal};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderMap, Method};
use body::{Format, MediaType};
use leadflow::app::intake::{self, Submission};
use leadflow::app::quarantine;
use leadflow::domain::inquiry::{Inquiry, RequestType, Source};
use leadflow::domain::playbook::QuotaScope;
use leadflow::domain::spam::SpamSign;
use leadflow::domain::stats;
use leadflow::ports::{Answer, Clock, LeadStore, Publisher, Quarantine};
use leadflow::Playbook;
use leadflow_aws::metrics::Emf;

pub struct Intake<S, P, C> {
    pub store: S,
    pub publisher: P,
    pub clock: C,
    pub playbook: Playbook,
    pub config: Config,
}

impl<S: LeadStore + Quarantine, P: Publisher, C: Clock> Intake<S, P, C> {
    pub async fn handle(&self, req: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let mut resp = match req.request_context.http.method {
            Method::OPTIONS => cors::preflight(&req.headers, &self.config)
                .unwrap_or_else(|refusal| refusal.answer(false)),
            Method::POST => self.post(&req).await,
            _ => Refusal::MethodNotAllowed.answer(false),
        };
        cors::add_headers(&mut resp, cors::allowed_origin(&req.headers, &self.config));
        resp
    }

    async fn post(&self, req: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let media = match MediaType::of(header(&req.headers, "content-type")) {
            Ok(media) => media,
            Err(refusal) => return refusal.answer(false),
        };
        // A plain HTML form gets a page a person can read, not JSON.
        let page = media.format == Format::Form
            && header(&req.headers, "accept").is_some_and(|a| a.contains("text/html"));
        match self.accept(req, &media).await {
            Ok(done) => done,
            Err(refusal) => refusal.answer(page),
        }
    }

    async fn accept(
        &self,
        req: &ApiGatewayV2httpRequest,
        media: &MediaType,
    ) -> Result<ApiGatewayV2httpResponse, Refusal> {
        let bytes = body::read(req.body.as_deref(), req.is_base64_encoded)?;
        let fields = body::fields(media.format, &bytes)?;
        let answer = match media.format {
            Format::Json => Answer::Received,
            Format::Form => Answer::Redirect {
                location: redirect::target(&fields, &self.config),
            },
        };
        let now = self.clock.now();
        // Before anything else is checked: a bot is told what a person would be.
        if let Some(sign) = self.playbook.spam.sign(&fields) {
            spam(sign).emit(now);
            // Held, not dropped: an autofilling browser looks like a bot, and
            // ops can release the post. A store that cannot hold it does not
            // change what the bot is told.
            // A flood from one source is held up to the per-source limit
            // (a counter of its own, so held spam never uses up real posts'),
            // then only counted: a bot cannot fill the table.
            let source_ip = req.request_context.http.source_ip.as_deref();
            let flood = match (self.playbook.limits.per_source_ip, source_ip) {
                (Some(limit), Some(ip)) if !ip.is_empty() => {
                    let quota = limit.quota(QuotaScope::SourceIp, format!("spam#ip#{ip}"), now);
                    matches!(self.store.take_quota(&[quota]).await, Ok(Some(_)))
                }
                _ => false,
            };
            if flood {
                tracing::info!(
                    sign = sign.as_str(),
                    "suspected spam over the source's limit: counted, not held"
                );
            } else {
                match quarantine::hold(&self.store, &self.playbook, sign, fields, source_ip, now)
                    .await
                {
                    Ok(id) => {
                        tracing::info!(sign = sign.as_str(), spam_id = %id, "inquiry held as suspected spam")
                    }
                    Err(e) => {
                        tracing::warn!(sign = sign.as_str(), error = %e, "suspected spam could not be held")
                    }
                }
            }
            // Counted for the health report; a store that cannot count it
            // does not change what the bot is told.
            let shard = now.timestamp_subsec_nanos();
            let count = stats::spam(now.date_naive(), sign.as_str(), shard);
            if let Err(e) = self.store.add_counts(&[count]).await {
                tracing::warn!(error = %e, "could not count a spam post");
            }
            return Ok(accepted::as_if_accepted(answer));
        }
        let fields = self.playbook.spam.strip(fields);
        let source_ip = req.request_context.http.source_ip.as_deref();
        let key = idempotency::key(&req.headers, source_ip)?;
        let inquiry = Inquiry::parse(&fields, &self.playbook.bant)?;
        let (source, request_type) = (inquiry.attribution.source(), inquiry.request_type);
        let submission = Submission {
            quotas: self.playbook.limits.quotas(&inquiry.email, source_ip, now),
            inquiry,
            idempotency_key: key,
            fingerprint: fingerprint(&media.essence, &bytes),
            answer,
        };
        let accepted = intake::submit(&self.store, &self.publisher, now, submission)
            .await
            .map_err(|e| Refusal::from_intake(e, now))?;
        tracing::info!(lead_id = %accepted.lead_id, new_lead = accepted.new_lead, replayed = accepted.replayed, "inquiry accepted");
        if !accepted.replayed {
            leads_in(source, request_type, accepted.new_lead).emit(now);
        }
        Ok(accepted::answer(accepted))
    }
}

/// `Spam`: one post taken for a bot's, by what gave it away and in all.
pub fn spam(sign: SpamSign) -> Emf {
    Emf::leadflow()
        .by("Sign", sign.as_str())
        .and_total()
        .count("Spam", 1)
}

/// `LeadsIn`: one response recorded, by source, by request type and in all
/// (closed vocabularies: nothing a visitor types becomes a dimension).
pub fn leads_in(source: Source, request_type: RequestType, new_lead: bool) -> Emf {
    Emf::leadflow()
        .by("Source", source.as_str())
        .by("RequestType", request_type.as_str())
        .and_total()
        .count("LeadsIn", 1)
        .count("NewLeads", u64::from(new_lead))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn response(status: u16) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status.into();
    r
}
