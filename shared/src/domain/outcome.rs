//! What a rep reports, as data: the outcome of a call or meeting (the seed 000
//! branches) and the status of a lead in sales' hands. What each one does is
//! the playbook's `follow_up` section, evaluated in [`super::followup`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// The seed 000 branches of a follow-up call or meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    NotReached,
    /// Reached; keep working it (B.A.N.T. answers updated).
    Qualifying,
    /// No further interest: dead file.
    NoInterest,
    /// No interest at this time: direct-marketing series with periodic ISR follow-up.
    NotNow,
    /// Inside sales schedules an introductory remote demo; a sales executive is assigned.
    WantsDemo,
    /// Field sales (or a partner) is assigned at once.
    WantsOnsite,
    /// The assessment came back: review call with a product manager.
    AssessmentReturned,
    /// Still working on it: follow up on the prospect's own date.
    AssessmentInProgress,
    /// Did not complete it but clearly has a need: qualify further; demo or hand-off.
    AssessmentDroppedInterested,
    /// Did not complete it and has no further interest: dead file.
    AssessmentDroppedNotInterested,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::NotReached,
        Outcome::Qualifying,
        Outcome::NoInterest,
        Outcome::NotNow,
        Outcome::WantsDemo,
        Outcome::WantsOnsite,
        Outcome::AssessmentReturned,
        Outcome::AssessmentInProgress,
        Outcome::AssessmentDroppedInterested,
        Outcome::AssessmentDroppedNotInterested,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NotReached => "not_reached",
            Outcome::Qualifying => "qualifying",
            Outcome::NoInterest => "no_interest",
            Outcome::NotNow => "not_now",
            Outcome::WantsDemo => "wants_demo",
            Outcome::WantsOnsite => "wants_onsite",
            Outcome::AssessmentReturned => "assessment_returned",
            Outcome::AssessmentInProgress => "assessment_in_progress",
            Outcome::AssessmentDroppedInterested => "assessment_dropped_interested",
            Outcome::AssessmentDroppedNotInterested => "assessment_dropped_not_interested",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// In a rep's words.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::NotReached => "not reached",
            Outcome::Qualifying => "reached: qualifying",
            Outcome::NoInterest => "reached: no further interest",
            Outcome::NotNow => "reached: no interest at this time",
            Outcome::WantsDemo => "reached: wants a demo",
            Outcome::WantsOnsite => "reached: wants an on-site visit",
            Outcome::AssessmentReturned => "assessment returned",
            Outcome::AssessmentInProgress => "assessment still in progress",
            Outcome::AssessmentDroppedInterested => "assessment dropped, still interested",
            Outcome::AssessmentDroppedNotInterested => "assessment dropped, not interested",
        }
    }

    /// Whether the prospect was spoken to (everything but `not_reached`).
    pub fn reached(self) -> bool {
        self != Outcome::NotReached
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a lead stands with sales. `open` until an owner accepts it (a
/// sales-accepted lead) or the flows close it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    #[default]
    Open,
    /// In the direct-marketing series (`not_now`), with periodic ISR follow-up.
    Nurturing,
    Accepted,
    /// Sales handed it back to marketing, with a reason.
    Rejected,
    DemoScheduled,
    DemoHeld,
    ProposalSent,
    Won,
    Lost,
    /// No further interest: the dead file.
    Dead,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 10] = [
        LeadStatus::Open,
        LeadStatus::Nurturing,
        LeadStatus::Accepted,
        LeadStatus::Rejected,
        LeadStatus::DemoScheduled,
        LeadStatus::DemoHeld,
        LeadStatus::ProposalSent,
        LeadStatus::Won,
        LeadStatus::Lost,
        LeadStatus::Dead,
    ];

    /// What `POST /leads/{id}/status` may set (the rest are set by the flows).
    pub const SETTABLE: [LeadStatus; 7] = [
        LeadStatus::Accepted,
        LeadStatus::Rejected,
        LeadStatus::DemoScheduled,
        LeadStatus::DemoHeld,
        LeadStatus::ProposalSent,
        LeadStatus::Won,
        LeadStatus::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Open => "open",
            LeadStatus::Nurturing => "nurturing",
            LeadStatus::Accepted => "accepted",
            LeadStatus::Rejected => "rejected",
            LeadStatus::DemoScheduled => "demo_scheduled",
            LeadStatus::DemoHeld => "demo_held",
            LeadStatus::ProposalSent => "proposal_sent",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
            LeadStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<LeadStatus> {
        LeadStatus::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Nothing more happens to a lead in this status: it has no open tasks and
    /// counts toward nobody's open leads.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            LeadStatus::Won | LeadStatus::Lost | LeadStatus::Dead | LeadStatus::Rejected
        )
    }
}

impl fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
