//! B.A.N.T.: budget, authority, need, time frame (seeds 000, 004).
//!
//! The criteria are fixed; what each criterion's answers are and which of them
//! count as "met" is the company's own, so the vocabulary lives in the playbook.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    Budget,
    Authority,
    Need,
    Timeframe,
}

impl Criterion {
    pub const ALL: [Criterion; 4] = [
        Criterion::Budget,
        Criterion::Authority,
        Criterion::Need,
        Criterion::Timeframe,
    ];

    pub fn field(self) -> &'static str {
        match self {
            Criterion::Budget => "budget",
            Criterion::Authority => "authority",
            Criterion::Need => "need",
            Criterion::Timeframe => "timeframe",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Criterion::Budget => "Budget",
            Criterion::Authority => "Authority",
            Criterion::Need => "Need",
            Criterion::Timeframe => "Time frame",
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// The answer every criterion starts with and that never overwrites a known one.
pub const UNKNOWN: &str = "unknown";

/// One allowed answer to a criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerDef {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    /// Does this answer meet the criterion?
    #[serde(default)]
    pub met: bool,
    /// Points this answer adds to the score (explicit data).
    #[serde(default)]
    pub points: i64,
}

/// The company's version of B.A.N.T.: the allowed answers of each criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BantDefinition {
    pub budget: Vec<AnswerDef>,
    pub authority: Vec<AnswerDef>,
    pub need: Vec<AnswerDef>,
    pub timeframe: Vec<AnswerDef>,
}

impl BantDefinition {
    pub fn answers(&self, c: Criterion) -> &[AnswerDef] {
        match c {
            Criterion::Budget => &self.budget,
            Criterion::Authority => &self.authority,
            Criterion::Need => &self.need,
            Criterion::Timeframe => &self.timeframe,
        }
    }

    pub fn answer(&self, c: Criterion, value: &str) -> Option<&AnswerDef> {
        self.answers(c).iter().find(|a| a.value == value)
    }

    pub fn is_allowed(&self, c: Criterion, value: &str) -> bool {
        self.answer(c, value).is_some()
    }

    pub fn is_met(&self, c: Criterion, value: &str) -> bool {
        self.answer(c, value).is_some_and(|a| a.met)
    }

    pub fn allowed_values(&self, c: Criterion) -> Vec<&str> {
        self.answers(c).iter().map(|a| a.value.as_str()).collect()
    }
}

/// What the lead has told us so far, criterion by criterion, each answer with
/// when and where it came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BantAnswers(pub BTreeMap<Criterion, KnownAnswer>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownAnswer {
    pub value: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Where it came from: the inquiry source (`web`, `event`, …) or `sales` for a rep's call.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

/// The `source` of an answer a rep recorded from a call: `sales` or `sales:<rep id>`.
pub const SALES_SOURCE: &str = "sales";

impl KnownAnswer {
    /// A rep learned this on the phone: no form may overwrite it.
    pub fn by_sales(&self) -> bool {
        self.source == SALES_SOURCE || self.source.starts_with("sales:")
    }
}

impl BantAnswers {
    pub fn value(&self, c: Criterion) -> &str {
        self.0.get(&c).map(|a| a.value.as_str()).unwrap_or(UNKNOWN)
    }

    pub fn met(&self, def: &BantDefinition) -> Vec<Criterion> {
        let mut met = Vec::with_capacity(Criterion::ALL.len());
        met.extend(
            Criterion::ALL
                .into_iter()
                .filter(|c| def.is_met(*c, self.value(*c))),
        );
        met
    }

    pub fn known_count(&self) -> usize {
        Criterion::ALL
            .into_iter()
            .filter(|c| self.value(*c) != UNKNOWN)
            .count()
    }
}
