//! What the counters last counted a lead as (its funnel steps, where it
//! stands among the open leads): stored on the lead, read by `stats`. Its
//! own module so that `lead` and `stats` do not depend on each other.

use super::outcome::LeadStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The seed 002 funnel: suspect → prospect → sales-ready → quote → close.
/// Reaching a step counts every step before it too, so each ratio is at most 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// Any inquiry.
    Suspect,
    /// Stage Lead or beyond (2 B.A.N.T. criteria).
    Prospect,
    /// Stage Opportunity or beyond, handed to field sales or a partner, or accepted by sales.
    SalesReady,
    /// A proposal or quote was sent.
    Quote,
    Won,
}

impl Milestone {
    pub const ALL: [Milestone; 5] = [
        Milestone::Suspect,
        Milestone::Prospect,
        Milestone::SalesReady,
        Milestone::Quote,
        Milestone::Won,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Milestone::Suspect => "suspect",
            Milestone::Prospect => "prospect",
            Milestone::SalesReady => "sales_ready",
            Milestone::Quote => "quote",
            Milestone::Won => "won",
        }
    }

    /// The day-counter metric of leads that reached this step.
    pub fn metric(self) -> String {
        format!("reached_{}", self.as_str())
    }
}

/// What the counters count a lead as: the funnel steps it has reached, and
/// where it stands among the open leads. Stored on the lead so the next
/// write knows what to move.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub reached: BTreeSet<Milestone>,
    /// Counted as lost (at most once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenSlot>,
    /// Steps reached while nobody owned it (the inquiry, before routing):
    /// counted under its first owner when it gets one, so an owner's (and a
    /// manager's) funnel starts where the company's does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unowned: bool,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }
}

/// Where an open lead is counted in the gauges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSlot {
    pub status: LeadStatus,
    /// The owner's counter value ([`owner_value`](super::stats::owner_value)).
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<String>,
    /// Nobody has touched it, and its first-touch SLA runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untouched: bool,
    /// Untouched past its SLA (escalated).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub breached: bool,
}
