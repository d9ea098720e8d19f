//! Qualification, routing and assignment: the decisions the router makes, each
//! with reasons a rep can read.

use super::bant::Criterion;
use super::lead::Lead;
use crate::playbook::{AssignmentRule, Conditions, Playbook, Target};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The seed 000 stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Inquiry,
    Lead,
    Opportunity,
    QualifiedOpportunity,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Inquiry => "inquiry",
            Stage::Lead => "lead",
            Stage::Opportunity => "opportunity",
            Stage::QualifiedOpportunity => "qualified_opportunity",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Stage::Inquiry => "Inquiry",
            Stage::Lead => "Lead",
            Stage::Opportunity => "Opportunity",
            Stage::QualifiedOpportunity => "Qualified opportunity",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seed 003 route categories, plus `dead` for no further interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Hot,
    HighPotential,
    NeedInformation,
    LowPotential,
    Partner,
    NeedNurturing,
    Dead,
}

impl Route {
    pub const ALL: [Route; 7] = [
        Route::Hot,
        Route::HighPotential,
        Route::NeedInformation,
        Route::LowPotential,
        Route::Partner,
        Route::NeedNurturing,
        Route::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Hot => "hot",
            Route::HighPotential => "high_potential",
            Route::NeedInformation => "need_information",
            Route::LowPotential => "low_potential",
            Route::Partner => "partner",
            Route::NeedNurturing => "need_nurturing",
            Route::Dead => "dead",
        }
    }

    /// The channel seed 003 sends this category to.
    pub fn channel(self) -> &'static str {
        match self {
            Route::Hot => "sales now",
            Route::HighPotential => "inside sales / call center",
            Route::NeedInformation => "inside sales to complete the profile, then re-score",
            Route::LowPotential => "self-serve / web purchasing",
            Route::Partner => "partner",
            Route::NeedNurturing => "automated nurture emails",
            Route::Dead => "dead file",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds the lead: a person, or a queue worked by a team or a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    Rep {
        id: String,
        name: String,
        email: String,
    },
    Queue {
        name: String,
        label: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
}

impl Owner {
    /// The key the `by_owner` index groups leads by.
    pub fn key(&self) -> String {
        match self {
            Owner::Rep { id, .. } => format!("rep#{id}"),
            Owner::Queue { name, .. } => format!("queue#{name}"),
        }
    }
    pub fn display_name(&self) -> &str {
        match self {
            Owner::Rep { name, .. } => name,
            Owner::Queue { label, .. } => label,
        }
    }
    pub fn email(&self) -> Option<&str> {
        match self {
            Owner::Rep { email, .. } => Some(email),
            Owner::Queue { email, .. } => email.as_deref(),
        }
    }
}

/// How many criteria are met and what stage that makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qualification {
    pub met: Vec<Criterion>,
    pub stage: Stage,
    pub reason: String,
}

pub fn qualify(lead: &Lead, playbook: &Playbook) -> Qualification {
    let met = lead.bant.met(&playbook.bant);
    let stage = playbook.stages.stage_for(met.len());
    let detail: Vec<String> = Criterion::ALL
        .iter()
        .map(|c| {
            let v = lead.bant.value(*c);
            let mark = if met.contains(c) { "met" } else { "not met" };
            format!("{} {v} ({mark})", c.field())
        })
        .collect();
    Qualification {
        reason: format!(
            "{}: {} of 4 B.A.N.T. criteria met — {}",
            stage.label(),
            met.len(),
            detail.join(", ")
        ),
        stage,
        met,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteDecision {
    pub route: Route,
    pub rule: String,
    pub reason: String,
}

/// The first route rule whose conditions hold.
pub fn route(lead: &Lead, q: &Qualification, playbook: &Playbook) -> RouteDecision {
    for rule in &playbook.routes {
        if rule.when.holds(lead, q) {
            return RouteDecision {
                route: rule.route,
                rule: rule.name.clone(),
                reason: format!("{}: {} → {}", rule.route, rule.name, rule.route.channel()),
            };
        }
    }
    // Validation guarantees a catch-all last rule; this keeps the function total anyway.
    RouteDecision {
        route: Route::NeedNurturing,
        rule: "no rule matched".into(),
        reason: "need_nurturing: no route rule matched → automated nurture emails".into(),
    }
}

impl Conditions {
    pub fn holds(&self, lead: &Lead, q: &Qualification) -> bool {
        let n = q.met.len() as u8;
        (self.request_type.is_empty() || self.request_type.contains(&lead.request_type))
            && (self.source.is_empty() || self.source.contains(&lead.attribution.source()))
            && (self.country.is_empty()
                || lead
                    .contact
                    .country
                    .as_ref()
                    .is_some_and(|c| self.country.contains(c)))
            && self.met_at_least.is_none_or(|m| n >= m)
            && self.met_at_most.is_none_or(|m| n <= m)
            && self.met.iter().all(|c| q.met.contains(c))
            && self
                .known_at_most
                .is_none_or(|k| lead.bant.known_count() as u8 <= k)
            && self
                .answers
                .iter()
                .all(|(c, values)| values.iter().any(|v| v == lead.bant.value(*c)))
    }
}

/// Where the route sends the lead, before a person is picked.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement<'p> {
    pub target: &'p Target,
    pub rule: &'p AssignmentRule,
}

/// The first assignment rule that covers this lead on this route.
pub fn place<'p>(lead: &Lead, route: Route, playbook: &'p Playbook) -> Option<Placement<'p>> {
    playbook
        .assignment
        .iter()
        .find(|r| r.matches(lead, route))
        .map(|rule| Placement {
            target: &rule.target,
            rule,
        })
}

/// The outcome of assignment, and what it consumed of the pool's round-robin cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub owner: Owner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    pub reason: String,
    #[serde(skip)]
    pub cursor: Option<CursorAdvance>,
}

/// Round-robin state of a pool: the cursor moves from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorAdvance {
    pub pool: String,
    pub from: u64,
    pub to: u64,
}

/// Pick the owner. `cursor` is the pool's round-robin position (0 when new);
/// `current` is who holds the lead now: they keep it when they are still in the pool.
pub fn assign(
    lead: &Lead,
    route: Route,
    playbook: &Playbook,
    cursor: u64,
    current: Option<&Owner>,
) -> Assignment {
    let territory = territory(lead);
    let Some(placement) = place(lead, route, playbook) else {
        let owner = playbook.fallback_owner();
        return Assignment {
            reason: format!(
                "no assignment rule covers {route} in {territory} → fallback queue {}",
                owner.display_name()
            ),
            owner,
            pool: None,
            cursor: None,
        };
    };
    let rule_name = &placement.rule.name;
    match placement.target {
        Target::Queue(name) => {
            let owner = playbook.queue_owner(name);
            Assignment {
                reason: format!("{rule_name}: {territory} → queue {}", owner.display_name()),
                owner,
                pool: None,
                cursor: None,
            }
        }
        Target::Pool(pool_name) => {
            let Some(pool) = playbook.pool(pool_name) else {
                let owner = playbook.fallback_owner();
                return Assignment {
                    reason: format!(
                        "{rule_name}: pool {pool_name} is not defined → fallback queue"
                    ),
                    owner,
                    pool: None,
                    cursor: None,
                };
            };
            let available: Vec<_> = pool
                .reps
                .iter()
                .filter_map(|id| playbook.rep(id))
                .filter(|r| !r.away)
                .collect();
            if let Some(Owner::Rep { id, .. }) = current {
                if let Some(rep) = available.iter().find(|r| &r.id == id) {
                    return Assignment {
                        reason: format!(
                            "{rule_name}: {territory} → pool {pool_name} → kept with current owner {}",
                            rep.name
                        ),
                        owner: rep.owner(),
                        pool: Some(pool_name.clone()),
                        cursor: None,
                    };
                }
            }
            if available.is_empty() {
                let owner = playbook.fallback_owner();
                return Assignment {
                    reason: format!(
                        "{rule_name}: {territory} → pool {pool_name} has nobody available → fallback queue {}",
                        owner.display_name()
                    ),
                    owner,
                    pool: Some(pool_name.clone()),
                    cursor: None,
                };
            }
            let rep = available[(cursor % available.len() as u64) as usize];
            let skipped = pool.reps.len() - available.len();
            let away = if skipped > 0 {
                format!(" ({skipped} away skipped)")
            } else {
                String::new()
            };
            Assignment {
                reason: format!(
                    "{rule_name}: {territory} → pool {pool_name} → round-robin{away} → {}",
                    rep.name
                ),
                owner: rep.owner(),
                pool: Some(pool_name.clone()),
                cursor: Some(CursorAdvance {
                    pool: pool_name.clone(),
                    from: cursor,
                    to: cursor + 1,
                }),
            }
        }
    }
}

fn territory(lead: &Lead) -> String {
    match (&lead.contact.country, &lead.contact.region) {
        (Some(c), Some(r)) => format!("territory {c}/{r}"),
        (Some(c), None) => format!("territory {c}"),
        _ => "no territory given".to_string(),
    }
}

/// Everything the router decides for a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub bant_met: Vec<Criterion>,
    pub stage: Stage,
    pub route: Route,
    pub rule: String,
    pub owner: Owner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// One line per decision: stage, route, owner.
    pub reasons: Vec<String>,
    #[serde(skip)]
    pub cursor: Option<CursorAdvance>,
}

impl Decision {
    pub fn summary(&self) -> String {
        self.reasons.join("; ")
    }
}

/// Qualify, route and assign. `cursor_of` gives a pool's round-robin position.
pub fn decide(lead: &Lead, playbook: &Playbook, cursor_of: impl Fn(&str) -> u64) -> Decision {
    let q = qualify(lead, playbook);
    let r = route(lead, &q, playbook);
    let cursor = match place(lead, r.route, playbook).map(|p| p.target) {
        Some(Target::Pool(p)) => cursor_of(p),
        _ => 0,
    };
    let current = lead.routing.as_ref().map(|d| &d.owner);
    let a = assign(lead, r.route, playbook, cursor, current);
    Decision {
        bant_met: q.met,
        stage: q.stage,
        route: r.route,
        rule: r.rule,
        owner: a.owner,
        pool: a.pool,
        reasons: vec![q.reason, r.reason, a.reason],
        cursor: a.cursor,
    }
}
