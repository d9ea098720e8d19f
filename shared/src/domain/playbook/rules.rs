//! The rules of a playbook, each next to its evaluation: stage thresholds,
//! route rules and their conditions, assignment rules and their targets.

use crate::domain::bant::Criterion;
use crate::domain::decision::{Qualification, Route, Score, Stage};
use crate::domain::inquiry::{Country, RequestType, Source};
use crate::domain::lead::Lead;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

    pub fn holds(&self, lead: &Lead, q: &Qualification, score: &Score) -> bool {
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
            && self.score_at_least.is_none_or(|m| score.total >= m)
            && self.score_at_most.is_none_or(|m| score.total <= m)
    }
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
