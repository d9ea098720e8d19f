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
pub struct BantAnswers(pub CriterionMap<KnownAnswer>);

/// A value for some of the four criteria: a slot each, where a `BTreeMap`
/// would take a kilobyte-sized node for four entries (every lead holds one;
/// issue 9's simulator holds a hundred thousand). Stored and read as the map
/// it replaces: `{"budget": …, "need": …}`, in criterion order.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionMap<V>([Option<V>; 4]);

impl<V> Default for CriterionMap<V> {
    fn default() -> Self {
        CriterionMap([None, None, None, None])
    }
}

impl<V> CriterionMap<V> {
    pub fn get(&self, c: &Criterion) -> Option<&V> {
        self.0[*c as usize].as_ref()
    }

    /// Sets `c`'s value; the one it had, if any.
    pub fn insert(&mut self, c: Criterion, value: V) -> Option<V> {
        self.0[c as usize].replace(value)
    }

    /// `c`'s slot, to change its value in place or fill it.
    pub fn slot_mut(&mut self, c: Criterion) -> &mut Option<V> {
        &mut self.0[c as usize]
    }

    /// The criteria that have a value, in criterion order.
    pub fn iter(&self) -> impl Iterator<Item = (Criterion, &V)> {
        Criterion::ALL
            .into_iter()
            .zip(&self.0)
            .filter_map(|(c, v)| Some((c, v.as_ref()?)))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().flatten()
    }
}

impl<V> std::ops::Index<&Criterion> for CriterionMap<V> {
    type Output = V;
    fn index(&self, c: &Criterion) -> &V {
        self.get(c).unwrap_or_else(|| panic!("no value for {c}"))
    }
}

impl<V: Serialize> Serialize for CriterionMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for CriterionMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<Criterion, V>::deserialize(deserializer)?;
        let mut out = CriterionMap::default();
        for (c, v) in map {
            out.insert(c, v);
        }
        Ok(out)
    }
}

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

#[cfg(test)]
mod map_tests {
    use super::*;

    #[test]
    fn a_criterion_map_is_stored_and_read_as_the_btree_map_it_replaces() {
        let answer = |value: &str| KnownAnswer {
            value: value.into(),
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            source: "web".into(),
            campaign: Some("spring".into()),
        };
        for present in [
            vec![],
            vec![Criterion::Need],
            vec![Criterion::Timeframe, Criterion::Budget],
            Criterion::ALL.to_vec(),
        ] {
            let mut slots = CriterionMap::default();
            let mut tree = BTreeMap::new();
            for c in &present {
                slots.insert(*c, answer(c.field()));
                tree.insert(*c, answer(c.field()));
            }
            let stored = serde_json::to_string(&slots).unwrap();
            assert_eq!(stored, serde_json::to_string(&tree).unwrap());
            let read: CriterionMap<KnownAnswer> = serde_json::from_str(&stored).unwrap();
            assert_eq!(read, slots);
            assert_eq!(slots.values().count(), present.len());
            for c in Criterion::ALL {
                assert_eq!(slots.get(&c), tree.get(&c));
            }
            let order: Vec<Criterion> = slots.iter().map(|(c, _)| c).collect();
            assert_eq!(order, tree.keys().copied().collect::<Vec<_>>());
        }
        assert!(serde_json::from_str::<CriterionMap<String>>(r#"{"budgets":"x"}"#).is_err());
    }
}
