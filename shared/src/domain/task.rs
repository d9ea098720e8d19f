//! A rep's tasks: the calls, reviews and demos the follow-up flows (seed 000)
//! ask of a person, each with a kind, a due time, an owner and the reason it exists.

use super::decision::Owner;
use super::ids::{LeadId, TaskId};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a task asks of its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Inside sales calls a new inquiry to pre-qualify and verify the contact data.
    PrequalificationCall,
    /// Field sales or a partner opens the dialogue with a lead handed to them.
    InitialDialogue,
    /// After the kit: verify receipt, answer questions, qualify, promote a demo.
    KitFollowUp,
    /// The prospect was not reached: try again.
    CallAgain,
    /// Keep qualifying: the next call with a prospect inside sales is working.
    FollowUpCall,
    /// A returned assessment: review call with the prospect and a product manager.
    AssessmentReview,
    /// The prospect is still working on the assessment: call on their date.
    AssessmentFollowUp,
    /// A `not_now` lead in the direct-marketing series: periodic inside-sales call.
    PeriodicFollowUp,
    /// The prospect wants a demo: inside sales schedules the remote demo.
    ScheduleRemoteDemo,
}

impl TaskKind {
    pub const ALL: [TaskKind; 9] = [
        TaskKind::PrequalificationCall,
        TaskKind::InitialDialogue,
        TaskKind::KitFollowUp,
        TaskKind::CallAgain,
        TaskKind::FollowUpCall,
        TaskKind::AssessmentReview,
        TaskKind::AssessmentFollowUp,
        TaskKind::PeriodicFollowUp,
        TaskKind::ScheduleRemoteDemo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::PrequalificationCall => "prequalification_call",
            TaskKind::InitialDialogue => "initial_dialogue",
            TaskKind::KitFollowUp => "kit_follow_up",
            TaskKind::CallAgain => "call_again",
            TaskKind::FollowUpCall => "follow_up_call",
            TaskKind::AssessmentReview => "assessment_review",
            TaskKind::AssessmentFollowUp => "assessment_follow_up",
            TaskKind::PeriodicFollowUp => "periodic_follow_up",
            TaskKind::ScheduleRemoteDemo => "schedule_remote_demo",
        }
    }

    /// What the owner is asked to do, in a rep's words.
    pub fn label(self) -> &'static str {
        match self {
            TaskKind::PrequalificationCall => "Pre-qualification call: verify the contact data",
            TaskKind::InitialDialogue => {
                "Initial dialogue: confirm the information, understand needs and decision criteria"
            }
            TaskKind::KitFollowUp => {
                "Follow-up call: verify receipt of the kit, answer questions, qualify, promote a demo"
            }
            TaskKind::CallAgain => "Call again: the prospect was not reached",
            TaskKind::FollowUpCall => "Follow-up call: keep qualifying (B.A.N.T.)",
            TaskKind::AssessmentReview => {
                "Review call: go through the returned assessment with a product manager"
            }
            TaskKind::AssessmentFollowUp => {
                "Assessment follow-up: call on the date the prospect gave"
            }
            TaskKind::PeriodicFollowUp => {
                "Periodic follow-up: check in on a lead in the direct-marketing series"
            }
            TaskKind::ScheduleRemoteDemo => "Schedule the introductory remote demo",
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    /// Its owner recorded the outcome it asked for.
    Done,
    /// The flow made it moot (a hand-off, a dead lead, a reassignment away from its owner).
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub lead_id: LeadId,
    pub kind: TaskKind,
    pub owner: Owner,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Why the task exists: the flow step that made it.
    pub reason: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it (a person's id), or the flow that made it moot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_reason: Option<String>,
    /// When its owner was reminded it fell due (once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
    /// When it was escalated to the owner's manager for being overdue (once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<DateTime<Utc>>,
}

/// What a task's owner or their manager is told of it, each once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskNotice {
    /// It fell due: in the owner's reminder.
    Reminded,
    /// Overdue past the grace: in the manager's escalation.
    Escalated,
}

impl TaskNotice {
    /// The task's attribute that records it.
    pub fn field(self) -> &'static str {
        match self {
            TaskNotice::Reminded => "reminded_at",
            TaskNotice::Escalated => "escalated_at",
        }
    }
    pub fn of(self, t: &Task) -> Option<DateTime<Utc>> {
        match self {
            TaskNotice::Reminded => t.reminded_at,
            TaskNotice::Escalated => t.escalated_at,
        }
    }
}

impl Task {
    pub fn new(
        lead_id: &LeadId,
        kind: TaskKind,
        owner: Owner,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
        reason: impl Into<String>,
    ) -> Self {
        Task {
            id: TaskId::generate(),
            lead_id: lead_id.clone(),
            kind,
            owner,
            due_at,
            created_at: now,
            reason: reason.into(),
            status: TaskStatus::Open,
            closed_at: None,
            closed_by: None,
            closed_reason: None,
            reminded_at: None,
            escalated_at: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.status == TaskStatus::Open
    }

    /// Close it as `status` (done or cancelled).
    pub fn close(
        &mut self,
        status: TaskStatus,
        by: impl Into<String>,
        why: impl Into<String>,
        now: DateTime<Utc>,
    ) {
        self.status = status;
        self.closed_at = Some(now);
        self.closed_by = Some(by.into());
        self.closed_reason = Some(why.into());
    }
}

/// `days` business days (Monday to Friday) after `from`, at the same time of
/// day; a start on a weekend counts from the next Monday.
pub fn business_days_after(from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let mut at = from;
    while is_weekend(at.weekday()) {
        at += Duration::days(1);
    }
    let mut left = days;
    while left > 0 {
        at += Duration::days(1);
        if !is_weekend(at.weekday()) {
            left -= 1;
        }
    }
    at
}

/// A date the prospect gave (`follow_up_on`), as a due time: 09:00 UTC that day.
pub fn due_on(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default())
        .and_utc()
}

fn is_weekend(d: Weekday) -> bool {
    matches!(d, Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn business_days_skip_weekends() {
        // 2026-12-04 is a Friday.
        assert_eq!(
            business_days_after(at(2026, 12, 4, 10), 1),
            at(2026, 12, 7, 10)
        );
        assert_eq!(
            business_days_after(at(2026, 12, 4, 10), 2),
            at(2026, 12, 8, 10)
        );
        assert_eq!(
            business_days_after(at(2026, 12, 1, 10), 2),
            at(2026, 12, 3, 10)
        );
        // A Saturday start counts from Monday.
        assert_eq!(
            business_days_after(at(2026, 12, 5, 10), 1),
            at(2026, 12, 8, 10)
        );
        assert_eq!(
            business_days_after(at(2026, 12, 5, 10), 0),
            at(2026, 12, 7, 10)
        );
        assert_eq!(
            business_days_after(at(2026, 12, 1, 10), 5),
            at(2026, 12, 8, 10)
        );
    }

    #[test]
    fn every_kind_has_a_name_and_a_label() {
        for k in TaskKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert!(!k.label().is_empty());
        }
    }
}
