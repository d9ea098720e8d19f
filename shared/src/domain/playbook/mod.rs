//! The playbook: the company's own rules for B.A.N.T., stages, routes, assignment
//! and fulfillment kits, as one reviewed YAML file (`shared/playbook.yaml`).
//!
//! It is bundled into the functions at build time and validated at cold start; an
//! invalid playbook is refused with the file, the line and what is wrong.

mod follow_up;
mod rules;
mod validate;

pub use follow_up::{DueOn, Effect, FollowUp, OutcomeFlow, TaskFor, TaskRule};
pub use rules::{AssignmentRule, Conditions, RouteRule, StageThresholds, Strategy, Target};
pub use validate::{PlaybookError, Problem};

use crate::domain::bant::{BantDefinition, Criterion, UNKNOWN};
use crate::domain::decision::{Owner, Route, Stage};
use crate::domain::inquiry::RequestType;
use crate::domain::outcome::Outcome;
use crate::domain::task::TaskKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The default playbook, as shipped in `shared/playbook.yaml`.
pub const DEFAULT_PLAYBOOK: &str = include_str!("../../../playbook.yaml");
pub const DEFAULT_PLAYBOOK_PATH: &str = "shared/playbook.yaml";

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
    /// The working time SLAs, reassignment windows and due days count in,
    /// per region; around the clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<crate::domain::calendar::BusinessHours>,
    /// How repeated responses from one person are notified.
    #[serde(default)]
    pub repeats: Repeats,
    /// Limits on the public intake; none when absent.
    #[serde(default)]
    pub limits: IntakeLimits,
    /// How the public form tells a bot's post from a person's (on, with its
    /// defaults, when absent).
    #[serde(default)]
    pub spam: crate::domain::spam::SpamGuard,
    /// What each outcome a rep reports does, and the tasks the flows create
    /// (seed 000 when absent).
    #[serde(default)]
    pub follow_up: FollowUp,
    /// When the reminders function tells owners and managers.
    #[serde(default)]
    pub reminders: Reminders,
    /// The nurture series and the rules every marketing email keeps.
    #[serde(default)]
    pub nurture: Nurture,
    /// What the reports assume: the pipeline forecast, the health thresholds.
    #[serde(default)]
    pub reports: ReportSettings,
}

/// What the reports assume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// The chance a lead at each pipeline status is won (0 to 1): the forecast.
    #[serde(default = "ReportSettings::default_forecast")]
    pub forecast: BTreeMap<super::outcome::LeadStatus, f64>,
    /// A nurture series whose share of enrolled leads that unsubscribe,
    /// hard-bounce or complain is above these is flagged in the health report.
    #[serde(default = "ReportSettings::default_unsubscribe")]
    pub max_unsubscribe_rate: f64,
    #[serde(default = "ReportSettings::default_bounce")]
    pub max_bounce_rate: f64,
    #[serde(default = "ReportSettings::default_complaint")]
    pub max_complaint_rate: f64,
}

impl ReportSettings {
    fn default_forecast() -> BTreeMap<super::outcome::LeadStatus, f64> {
        use super::outcome::LeadStatus as S;
        [
            (S::Accepted, 0.1),
            (S::DemoScheduled, 0.2),
            (S::DemoHeld, 0.35),
            (S::ProposalSent, 0.5),
        ]
        .into_iter()
        .collect()
    }
    fn default_unsubscribe() -> f64 {
        0.05
    }
    fn default_bounce() -> f64 {
        0.05
    }
    fn default_complaint() -> f64 {
        0.001
    }
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            forecast: Self::default_forecast(),
            max_unsubscribe_rate: Self::default_unsubscribe(),
            max_bounce_rate: Self::default_bounce(),
            max_complaint_rate: Self::default_complaint(),
        }
    }
}

/// Nurture: series of touches for leads not ready for sales (seeds 002, 003, 004).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nurture {
    /// Local hours (from inclusive, to exclusive) on business days when a step may go out.
    #[serde(default)]
    pub send_window: SendWindow,
    /// At most `max` marketing emails per `days` days to one person; a step
    /// over the cap is deferred, never dropped. Transactional mail is exempt.
    #[serde(default)]
    pub frequency_cap: FrequencyCap,
    /// A lead whose score reaches this leaves its series for inside sales.
    #[serde(default = "Nurture::default_exit_score")]
    pub exit_score: i64,
    /// IANA time zone per country (a lead's `time_zone` field wins); else `default_time_zone`.
    #[serde(default)]
    pub time_zones: BTreeMap<String, String>,
    #[serde(default = "Nurture::default_time_zone")]
    pub default_time_zone: String,
    /// Countries where marketing email needs opt-in: no series without `consent_email`.
    #[serde(default)]
    pub opt_in_countries: Vec<String>,
    #[serde(default)]
    pub series: Vec<Series>,
}

impl Nurture {
    fn default_exit_score() -> i64 {
        60
    }
    fn default_time_zone() -> String {
        "UTC".into()
    }
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    pub from_hour: u32,
    pub to_hour: u32,
}

impl Default for SendWindow {
    fn default() -> Self {
        SendWindow {
            from_hour: 9,
            to_hour: 17,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max: u32,
    pub days: u32,
}

impl Default for FrequencyCap {
    fn default() -> Self {
        FrequencyCap { max: 2, days: 7 }
    }
}

/// A series: who enters it, and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub name: String,
    /// Leads routed to one of these enter (and stay while they are on them).
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Leads a rep reports one of these for enter (and stay while on `need_nurturing`).
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    /// Leads at one of these stages enter (and stay while below inside sales' routes).
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// Reaching one of these stages is sales-ready: back to inside sales with a task.
    #[serde(default)]
    pub exit_stages: Vec<Stage>,
    pub steps: Vec<Step>,
}

impl Series {
    /// The routes a lead stays in this series on.
    pub fn stay_routes(&self) -> Vec<Route> {
        if self.routes.is_empty() && self.outcomes.is_empty() {
            // Enrolled by stage: any route short of inside sales.
            return Route::ALL
                .into_iter()
                .filter(|r| r.value() < Route::HighPotential.value())
                .collect();
        }
        let mut r = self.routes.clone();
        if !self.outcomes.is_empty() && !r.contains(&Route::NeedNurturing) {
            r.push(Route::NeedNurturing);
        }
        r
    }
}

/// One touch: an email (`template`, `subject`) or an inside-sales call task
/// (`call`), `wait_days` business days after the previous touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Business days after the previous touch (the fallback when a date below is unknown).
    pub wait_days: u32,
    /// Due this many weeks before the lead's next budget cycle (its
    /// `budget_cycle_month` field, 1–12 or a month's name), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_budget_cycle_weeks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<TaskKind>,
}

/// The reminders function's windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    /// A task overdue this long goes to its owner's manager.
    #[serde(default = "Reminders::default_hours")]
    pub overdue_grace_hours: u32,
    /// A lead still untouched this long after its SLA breach was escalated is
    /// reassigned (another rep of its pool, else the fallback queue).
    #[serde(default = "Reminders::default_hours")]
    pub reassign_after_hours: u32,
    /// The local hour (on business days) each person with tasks gets the day's digest.
    #[serde(default = "Reminders::default_digest_hour")]
    pub digest_hour: u32,
    /// How many times a lead whose SLA runs out untouched moves to another
    /// rep of its pool; at the next breach it goes to the fallback queue
    /// (and its managers hear). Nobody gets it back once they let it breach.
    #[serde(default = "Reminders::default_max_sla_reassignments")]
    pub max_sla_reassignments: u32,
}

impl Reminders {
    fn default_hours() -> u32 {
        24
    }
    fn default_digest_hour() -> u32 {
        8
    }
    fn default_max_sla_reassignments() -> u32 {
        2
    }
}

impl Default for Reminders {
    fn default() -> Self {
        Reminders {
            overdue_grace_hours: 24,
            reassign_after_hours: 24,
            digest_hour: Reminders::default_digest_hour(),
            max_sla_reassignments: Reminders::default_max_sla_reassignments(),
        }
    }
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
    /// A kit the prospect already got is not sent again for this many days
    /// (the owner still hears of every new response); 0: only the coalescing
    /// window holds it back.
    #[serde(default = "Repeats::default_kit_resend_days")]
    pub kit_resend_days: u32,
}

impl Default for Repeats {
    fn default() -> Self {
        Repeats {
            coalesce_minutes: 10,
            owner_notice_delay_seconds: 5,
            kit_resend_days: Repeats::default_kit_resend_days(),
        }
    }
}

impl Repeats {
    fn default_kit_resend_days() -> u32 {
        30
    }

    pub fn window(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.coalesce_minutes as i64)
    }

    /// How far back a kit already sent holds back the same kit.
    pub fn kit_window(&self) -> chrono::Duration {
        self.window()
            .max(chrono::Duration::days(self.kit_resend_days as i64))
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
    /// In the footer of every marketing email (required where there are series).
    #[serde(default)]
    pub postal_address: Option<String>,
    /// The mailbox of marketing mail's `mailto:` unsubscribe.
    #[serde(default)]
    pub unsubscribe_email: Option<String>,
}

/// A person who signs in: a rep who owns leads, a manager, or ops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rep {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// A manager's pools and queues: they see and reassign the leads these hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manages: Vec<String>,
    /// Away reps are skipped by round-robin until they are back.
    #[serde(default)]
    pub away: bool,
    /// Their IANA time zone: the morning digest arrives at their local morning (UTC when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The `business_hours` calendar their SLAs and due days count in (the
    /// default calendar when absent), read in their `time_zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

/// What a person does, and so what they may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Inside sales: qualifies by phone, follows up, nurtures.
    Isr,
    FieldSales,
    /// A partner's person: sees only the leads handed to them.
    Partner,
    /// Sees and reassigns the leads of the pools and queues they manage.
    Manager,
    /// Sees everything and may reassign anyone's leads.
    Ops,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Isr,
        Role::FieldSales,
        Role::Partner,
        Role::Manager,
        Role::Ops,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Isr => "isr",
            Role::FieldSales => "field_sales",
            Role::Partner => "partner",
            Role::Manager => "manager",
            Role::Ops => "ops",
        }
    }

    /// Whether people of this role own leads (and so may be in a pool).
    pub fn owns_leads(self) -> bool {
        matches!(self, Role::Isr | Role::FieldSales | Role::Partner)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// The `business_hours` calendar its SLAs count in (the default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

/// What a request type gets by email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kit {
    /// Shown to the rep: "Information kit".
    pub name: String,
    /// The email template under `shared/email/`, without extension.
    pub template: String,
    pub subject: String,
    /// Where the kit's material is.
    pub link: String,
}

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

    /// The working time `owner`'s deadlines count in: their calendar (else
    /// the default) in their own time zone (else the calendar's); around the
    /// clock when the playbook has no business hours.
    pub fn calendar_of(&self, owner: &Owner) -> crate::domain::calendar::Calendar<'_> {
        use crate::domain::calendar::Calendar;
        let Some(hours) = &self.business_hours else {
            return Calendar::always();
        };
        let (name, zone) = match owner {
            Owner::Rep { id, .. } => match self.rep(id) {
                Some(r) => (r.calendar.as_deref(), r.time_zone.as_deref()),
                None => (None, None),
            },
            Owner::Queue { name, .. } => (
                self.queues
                    .iter()
                    .find(|q| &q.name == name)
                    .and_then(|q| q.calendar.as_deref()),
                None,
            ),
        };
        let name = name.unwrap_or(&hours.default);
        match hours.calendars.get_key_value(name) {
            Some((name, def)) => Calendar::of(name, def, zone),
            None => Calendar::always(),
        }
    }

    pub fn fallback_owner(&self) -> Owner {
        self.queue_owner(&self.fallback_queue)
    }

    pub fn kit(&self, request_type: RequestType) -> Option<&Kit> {
        self.kits.get(&request_type)
    }
}
