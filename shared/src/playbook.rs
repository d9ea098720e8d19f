//! The playbook: the company's own rules for B.A.N.T., stages, routes, assignment
//! and fulfilment kits, as one reviewed YAML file (`infra/playbook.yaml`).
//!
//! It is bundled into the functions at build time and validated at cold start; an
//! invalid playbook is refused with the file, the line and what is wrong.

use crate::domain::bant::{BantDefinition, Criterion, UNKNOWN};
use crate::domain::decision::{Owner, Route, Stage};
use crate::domain::inquiry::{Country, RequestType, Source};
use crate::domain::lead::Lead;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The default playbook, as shipped in `infra/playbook.yaml`.
pub const DEFAULT_PLAYBOOK: &str = include_str!("../../infra/playbook.yaml");
pub const DEFAULT_PLAYBOOK_PATH: &str = "infra/playbook.yaml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub company: Company,
    pub bant: BantDefinition,
    pub stages: StageThresholds,
    /// Ordered: the first rule whose conditions hold decides the route.
    pub routes: Vec<RouteRule>,
    pub reps: Vec<Rep>,
    pub pools: Vec<Pool>,
    pub queues: Vec<QueueDef>,
    /// Ordered: the first rule that covers the lead's route and territory decides.
    pub assignment: Vec<AssignmentRule>,
    /// Where a lead goes when no assignment rule covers it.
    pub fallback_queue: String,
    pub kits: BTreeMap<RequestType, Kit>,
    pub scoring: ScoringModel,
    /// Hours within which the owner must follow up, per route (seed 002: ideally
    /// real time, never more than two days). A route without one has no SLA.
    #[serde(default)]
    pub slas: BTreeMap<Route, u32>,
    /// How repeated responses from one person are notified.
    #[serde(default)]
    pub repeats: Repeats,
    /// Limits on the public intake; none when absent.
    #[serde(default)]
    pub limits: IntakeLimits,
}

/// Repeated responses from one person (a double click, a page that retries, a
/// bot) are all recorded, but notified once: within `coalesce_minutes` of a
/// send, the prospect gets no second copy of the same kit and the owner no
/// second lead package for the same request type and route. A new kind of
/// request, a new route or a new owner is a new notification, sent at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeats {
    pub coalesce_minutes: u32,
    /// The owner's package waits this long after routing, so that a burst of
    /// repeats reaches the owner as one package listing all of them. The
    /// prospect's kit never waits.
    #[serde(default)]
    pub owner_notice_delay_seconds: u32,
}

impl Default for Repeats {
    fn default() -> Self {
        Repeats {
            coalesce_minutes: 10,
            owner_notice_delay_seconds: 5,
        }
    }
}

impl Repeats {
    pub fn window(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.coalesce_minutes as i64)
    }
}

/// Most posts the public intake takes per fixed window, per email address and
/// per source IP. Beyond them the answer is 429 with `Retry-After`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_address: Option<RateLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_source_ip: Option<RateLimit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub max: u32,
    pub minutes: u32,
}

impl IntakeLimits {
    /// The counters a post from `email` (and `source_ip`, when known) draws on at `now`.
    pub fn quotas(
        &self,
        email: &crate::domain::email::EmailAddress,
        source_ip: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Quota> {
        let mut out = Vec::new();
        if let Some(l) = self.per_address {
            out.push(l.quota(QuotaScope::Address, format!("address#{email}"), now));
        }
        if let (Some(l), Some(ip)) = (self.per_source_ip, source_ip.filter(|ip| !ip.is_empty())) {
            out.push(l.quota(QuotaScope::SourceIp, format!("ip#{ip}"), now));
        }
        out
    }
}

impl RateLimit {
    /// Fixed windows aligned to the epoch: every post in one window shares a counter.
    pub fn quota(
        &self,
        scope: QuotaScope,
        key: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Quota {
        let len = (self.minutes.max(1) as i64) * 60;
        let start = now.timestamp().div_euclid(len) * len;
        let at = |secs: i64| chrono::DateTime::from_timestamp(secs, 0).unwrap_or(now);
        Quota {
            scope,
            key,
            max: self.max,
            window_start: at(start),
            window_end: at(start + len),
        }
    }
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaScope {
    Address,
    SourceIp,
}

/// One counter of one window: a post takes one unit unless `max` are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub scope: QuotaScope,
    /// `address#<email>` or `ip#<address>`.
    pub key: String,
    pub max: u32,
    pub window_start: chrono::DateTime<chrono::Utc>,
    pub window_end: chrono::DateTime<chrono::Utc>,
}

impl Quota {
    /// Whole seconds until the window ends (at least 1): the `Retry-After`.
    pub fn retry_after(&self, now: chrono::DateTime<chrono::Utc>) -> u64 {
        let ms = (self.window_end - now).num_milliseconds().max(0) as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// How a lead scores. B.A.N.T. answers carry their own `points` in `bant`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringModel {
    /// Explicit data: what was asked for.
    #[serde(default)]
    pub request_type: BTreeMap<RequestType, i64>,
    /// The perfect prospect profile.
    #[serde(default)]
    pub fit: FitModel,
    #[serde(default)]
    pub behaviour: BehaviourModel,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitModel {
    /// Matched case-insensitively against the lead's field.
    #[serde(default)]
    pub industry: BTreeMap<String, i64>,
    #[serde(default)]
    pub company_size: BTreeMap<String, i64>,
    #[serde(default)]
    pub country: BTreeMap<String, i64>,
    /// Keywords of a job title; the best one found counts once.
    #[serde(default)]
    pub title: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourModel {
    /// After this many days an activity is worth half its points.
    pub half_life_days: f64,
    /// Points per activity: form_submission, site_visit, download, email_click, event_attendance, …
    #[serde(default)]
    pub points: BTreeMap<String, i64>,
}

impl Default for BehaviourModel {
    fn default() -> Self {
        BehaviourModel {
            half_life_days: 30.0,
            points: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Company {
    pub name: String,
    #[serde(default)]
    pub website: Option<String>,
}

/// Minimum number of criteria met for each stage above Inquiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageThresholds {
    pub lead: u8,
    pub opportunity: u8,
    pub qualified_opportunity: u8,
}

impl StageThresholds {
    pub fn stage_for(&self, met: usize) -> Stage {
        let met = met.min(u8::MAX as usize) as u8;
        if met >= self.qualified_opportunity {
            Stage::QualifiedOpportunity
        } else if met >= self.opportunity {
            Stage::Opportunity
        } else if met >= self.lead {
            Stage::Lead
        } else {
            Stage::Inquiry
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Read by reps in every explanation: say why, e.g. "on-site demo requested".
    pub name: String,
    #[serde(default)]
    pub when: Conditions,
    pub route: Route,
}

/// All given conditions must hold; an empty list or absent value does not constrain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_type: Vec<RequestType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<Source>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub country: Vec<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met_at_least: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met_at_most: Option<u8>,
    /// These criteria must be met.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met: Vec<Criterion>,
    /// At most this many criteria answered (not `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_at_most: Option<u8>,
    /// The criterion's answer is one of these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<Criterion, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_at_least: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_at_most: Option<i64>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self == &Conditions::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rep {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Away reps are skipped by round-robin until they are back.
    #[serde(default)]
    pub away: bool,
}

impl Rep {
    pub fn owner(&self) -> Owner {
        Owner::Rep {
            id: self.id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub name: String,
    pub reps: Vec<String>,
    #[serde(default)]
    pub strategy: Strategy,
}

/// How a pool shares its leads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// In turn.
    #[default]
    RoundRobin,
    /// To whoever holds the fewest open leads (ties in turn).
    LeastLoaded,
}

/// A queue owned by a team or a program rather than one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueDef {
    pub name: String,
    /// How the prospect's email names who follows up, e.g. "our inside sales team".
    pub label: String,
    /// Where the lead package goes, if anyone reads this queue by mail.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRule {
    pub name: String,
    pub routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<Country>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
    /// Named accounts: the company's email domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Products: matched against the lead's `interest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interests: Vec<String>,
    #[serde(flatten)]
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Pool(String),
    Queue(String),
    /// One person: a named account's owner.
    Rep(String),
}

impl AssignmentRule {
    pub fn matches(&self, lead: &Lead, route: Route) -> bool {
        self.routes.contains(&route)
            && (self.countries.is_empty()
                || lead
                    .contact
                    .country
                    .as_ref()
                    .is_some_and(|c| self.countries.contains(c)))
            && (self.regions.is_empty()
                || lead
                    .contact
                    .region
                    .as_ref()
                    .is_some_and(|r| self.regions.iter().any(|x| x.eq_ignore_ascii_case(r))))
            && (self.industries.is_empty()
                || lead
                    .contact
                    .industry
                    .as_ref()
                    .is_some_and(|i| self.industries.iter().any(|x| x.eq_ignore_ascii_case(i))))
            && (self.domains.is_empty()
                || self
                    .domains
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(lead.email.domain())))
            && (self.interests.is_empty()
                || lead.interest.as_ref().is_some_and(|i| {
                    let i = i.to_lowercase();
                    self.interests.iter().any(|x| i.contains(&x.to_lowercase()))
                }))
    }
}

/// What a request type gets by email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kit {
    /// Shown to the rep: "Information kit".
    pub name: String,
    /// The email template under `infra/email/`, without extension.
    pub template: String,
    pub subject: String,
    /// Where the kit's material is.
    pub link: String,
}

/// One problem in a playbook, with the line it is on when we can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlaybookError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: invalid playbook ({} problem(s))",
            self.file,
            self.problems.len()
        )?;
        for p in &self.problems {
            match p.line {
                Some(l) => writeln!(f, "{}:{}: {}", self.file, l, p.message)?,
                None => writeln!(f, "{}: {}", self.file, p.message)?,
            }
        }
        Ok(())
    }
}

pub const KNOWN_TEMPLATES: &[&str] = &[
    "info_kit",
    "assessment_kit",
    "demo_confirmation",
    "proposal_next_steps",
];

impl Playbook {
    /// The shipped default. It is checked by a test, so this cannot fail in a build that passed.
    pub fn default_playbook() -> Result<Playbook, PlaybookError> {
        Playbook::parse(DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK_PATH)
    }

    /// Parse and validate. `file` names the source in every message.
    pub fn parse(source: &str, file: &str) -> Result<Playbook, PlaybookError> {
        let playbook: Playbook = serde_yaml::from_str(source).map_err(|e| PlaybookError {
            file: file.to_string(),
            problems: vec![Problem {
                line: e.location().map(|l| l.line()),
                message: e
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            }],
        })?;
        let problems = playbook.problems(source);
        if problems.is_empty() {
            Ok(playbook)
        } else {
            Err(PlaybookError {
                file: file.to_string(),
                problems,
            })
        }
    }

    /// Semantic checks serde cannot make: references resolve, rules are reachable.
    fn problems(&self, source: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut problem = |needle: &str, message: String| {
            out.push(Problem {
                line: line_of(source, needle),
                message,
            })
        };

        for c in Criterion::ALL {
            let answers = self.bant.answers(c);
            if !answers.iter().any(|a| a.value == UNKNOWN) {
                problem(
                    &format!("{}:", c.field()),
                    format!("bant.{}: must list the answer `unknown` (what a form that does not ask gets)", c.field()),
                );
            }
            if answers.iter().any(|a| a.value == UNKNOWN && a.met) {
                problem(
                    &format!("{}:", c.field()),
                    format!("bant.{}: `unknown` cannot count as met", c.field()),
                );
            }
            let mut seen = BTreeSet::new();
            for a in answers {
                if !seen.insert(&a.value) {
                    problem(
                        &format!("value: {}", a.value),
                        format!("bant.{}: answer `{}` is listed twice", c.field(), a.value),
                    );
                }
                if a.value.is_empty()
                    || !a
                        .value
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                {
                    problem(
                        &format!("value: {}", a.value),
                        format!(
                            "bant.{}: answer `{}` must be lower-case letters, digits and _",
                            c.field(),
                            a.value
                        ),
                    );
                }
            }
            if !answers.iter().any(|a| a.met) {
                problem(
                    &format!("{}:", c.field()),
                    format!(
                        "bant.{}: no answer counts as met, so the criterion can never be met",
                        c.field()
                    ),
                );
            }
        }

        let s = &self.stages;
        let rising = (1..=4).contains(&s.lead)
            && s.lead < s.opportunity
            && s.opportunity < s.qualified_opportunity
            && s.qualified_opportunity <= 4;
        if !rising {
            problem("stages:", format!(
                "stages: thresholds must rise 1 ≤ lead < opportunity < qualified_opportunity ≤ 4 (got {}, {}, {})",
                s.lead, s.opportunity, s.qualified_opportunity
            ));
        }

        if self.routes.is_empty() {
            problem("routes:", "routes: at least one rule is needed".into());
        }
        for (i, r) in self.routes.iter().enumerate() {
            let at = format!("name: {}", r.name);
            if r.when.is_empty() && i + 1 != self.routes.len() {
                problem(&at, format!("routes[{i}] `{}` matches everything, so the rules after it can never apply", r.name));
            }
            for (c, values) in &r.when.answers {
                for v in values {
                    if !self.bant.is_allowed(*c, v) {
                        problem(
                            &at,
                            format!(
                                "routes[{i}] `{}`: `{v}` is not an answer of {}",
                                r.name,
                                c.field()
                            ),
                        );
                    }
                }
            }
            for n in [
                r.when.met_at_least,
                r.when.met_at_most,
                r.when.known_at_most,
            ]
            .into_iter()
            .flatten()
            {
                if n > 4 {
                    problem(
                        &at,
                        format!(
                            "routes[{i}] `{}`: counts of criteria go from 0 to 4, not {n}",
                            r.name
                        ),
                    );
                }
            }
        }
        if self.routes.last().is_some_and(|r| !r.when.is_empty()) {
            problem(
                "routes:",
                "routes: the last rule must have no `when`, so every lead gets a route".into(),
            );
        }

        let mut rep_ids = BTreeSet::new();
        for r in &self.reps {
            if !rep_ids.insert(r.id.as_str()) {
                problem(
                    &format!("id: {}", r.id),
                    format!("reps: id `{}` is used twice", r.id),
                );
            }
            if crate::domain::email::EmailAddress::parse(&r.email).is_err() {
                problem(
                    &format!("email: {}", r.email),
                    format!("reps: `{}` has an invalid email `{}`", r.id, r.email),
                );
            }
        }
        let mut pool_names = BTreeSet::new();
        for p in &self.pools {
            if !pool_names.insert(p.name.as_str()) {
                problem(
                    &format!("name: {}", p.name),
                    format!("pools: `{}` is defined twice", p.name),
                );
            }
            if p.reps.is_empty() {
                problem(
                    &format!("name: {}", p.name),
                    format!("pools: `{}` has no reps", p.name),
                );
            }
            for id in &p.reps {
                if !rep_ids.contains(id.as_str()) {
                    problem(
                        id,
                        format!("pools: `{}` names `{id}`, who is not in reps", p.name),
                    );
                }
            }
        }
        let queue_names: BTreeSet<&str> = self.queues.iter().map(|q| q.name.as_str()).collect();
        if !queue_names.contains(self.fallback_queue.as_str()) {
            problem(
                "fallback_queue:",
                format!("fallback_queue: `{}` is not in queues", self.fallback_queue),
            );
        }
        for (i, a) in self.assignment.iter().enumerate() {
            let at = format!("name: {}", a.name);
            match &a.target {
                Target::Pool(p) if !pool_names.contains(p.as_str()) => problem(
                    &at,
                    format!("assignment[{i}] `{}`: pool `{p}` is not defined", a.name),
                ),
                Target::Queue(q) if !queue_names.contains(q.as_str()) => problem(
                    &at,
                    format!("assignment[{i}] `{}`: queue `{q}` is not defined", a.name),
                ),
                Target::Rep(r) if !rep_ids.contains(r.as_str()) => problem(
                    &at,
                    format!("assignment[{i}] `{}`: rep `{r}` is not in reps", a.name),
                ),
                _ => {}
            }
            if a.routes.is_empty() {
                problem(
                    &at,
                    format!("assignment[{i}] `{}`: names no routes", a.name),
                );
            }
        }
        if self.scoring.behaviour.half_life_days.is_nan()
            || self.scoring.behaviour.half_life_days <= 0.0
        {
            problem(
                "half_life_days:",
                "scoring.behaviour.half_life_days must be more than 0".into(),
            );
        }
        for (route, hours) in &self.slas {
            if *hours == 0 {
                problem(
                    &format!("{route}:"),
                    format!("slas.{route}: 0 hours cannot be met; leave the route out for no SLA"),
                );
            }
        }
        if self.repeats.coalesce_minutes > 24 * 60 {
            problem(
                "coalesce_minutes:",
                "repeats.coalesce_minutes: at most 1440 (a day)".into(),
            );
        }
        if self.repeats.owner_notice_delay_seconds > 900 {
            problem(
                "owner_notice_delay_seconds:",
                "repeats.owner_notice_delay_seconds: at most 900 (the longest a queue can delay a message)".into(),
            );
        }
        for (name, limit) in [
            ("per_address", self.limits.per_address),
            ("per_source_ip", self.limits.per_source_ip),
        ] {
            if let Some(l) = limit {
                if l.max == 0 || l.minutes == 0 || l.minutes > 24 * 60 {
                    problem(
                        &format!("{name}:"),
                        format!("limits.{name}: max must be at least 1 and minutes from 1 to 1440 (got max {}, minutes {})", l.max, l.minutes),
                    );
                }
            }
        }
        for rt in RequestType::ALL {
            match self.kits.get(rt) {
                None => problem("kits:", format!("kits: request type `{rt}` has no kit")),
                Some(k) if !KNOWN_TEMPLATES.contains(&k.template.as_str()) => problem(
                    &format!("template: {}", k.template),
                    format!(
                        "kits.{rt}: template `{}` is not one of {}",
                        k.template,
                        KNOWN_TEMPLATES.join(", ")
                    ),
                ),
                _ => {}
            }
        }
        out
    }

    pub fn rep(&self, id: &str) -> Option<&Rep> {
        self.reps.iter().find(|r| r.id == id)
    }

    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }

    pub fn queue_owner(&self, name: &str) -> Owner {
        match self.queues.iter().find(|q| q.name == name) {
            Some(q) => Owner::Queue {
                name: q.name.clone(),
                label: q.label.clone(),
                email: q.email.clone(),
            },
            None => Owner::Queue {
                name: name.to_string(),
                label: name.to_string(),
                email: None,
            },
        }
    }

    pub fn fallback_owner(&self) -> Owner {
        self.queue_owner(&self.fallback_queue)
    }

    pub fn kit(&self, request_type: RequestType) -> Option<&Kit> {
        self.kits.get(&request_type)
    }
}

/// The first line (1-based) that contains `needle`, to point a reader at a problem.
fn line_of(source: &str, needle: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            let l = l.split(" #").next().unwrap_or(l);
            l.contains(needle)
        })
        .map(|i| i + 1)
}
