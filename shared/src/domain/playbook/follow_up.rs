//! The playbook's follow-up flows (seed 000): what each outcome a rep
//! reports does, and the tasks it leaves.

use super::*;

/// The follow-up flows (seed 000): the tasks routing creates, and what each
/// outcome a rep reports does to the lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// Business days after the kit goes out before inside sales' follow-up call.
    #[serde(default = "FollowUp::default_kit_follow_up_days")]
    pub kit_follow_up_days: u32,
    /// Hours to the first touch of a lead whose route has no SLA.
    #[serde(default = "FollowUp::default_first_touch_hours")]
    pub first_touch_hours: u32,
    /// One entry per outcome; an outcome left out does what seed 000 says.
    #[serde(default)]
    pub outcomes: BTreeMap<Outcome, OutcomeFlow>,
}

/// What one outcome does: to the lead's route and owner (`then`), and the task it leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeFlow {
    pub then: Effect,
    /// With `rescore`: hand the lead to field sales once this many B.A.N.T.
    /// criteria are met (seed 000: 3 or 4 for an assessment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_off_at: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskRule>,
}

/// What an outcome does to the lead's route and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Route and owner stay; stage and score follow the answers.
    Keep,
    /// Re-qualify and re-score with what the rep learned; the lead moves up
    /// the value chain when the route rules (or `hand_off_at`) say so, and
    /// otherwise stays with its owner.
    Rescore,
    /// The dead file: no open tasks, no open-lead count.
    Dead,
    /// The direct-marketing series (route `need_nurturing`); the owner keeps
    /// it for the periodic follow-up.
    Nurture,
    /// To field sales (or the territory's partner) at once.
    HandOff,
}

/// The task an outcome leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRule {
    pub kind: TaskKind,
    /// Due this many business days after the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_days: Option<u32>,
    /// Due on the date the rep gives (`follow_up_on`), which is then required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<DueOn>,
    /// Whose task: the lead's owner after the outcome (default), or the rep
    /// who reported it (inside sales scheduling a demo for field sales).
    #[serde(default, rename = "for")]
    pub for_whom: TaskFor,
    /// Not when the outcome handed the lead to field sales.
    #[serde(default)]
    pub unless_handed_off: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueOn {
    FollowUpOn,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskFor {
    #[default]
    Owner,
    Reporter,
}

impl Default for FollowUp {
    fn default() -> Self {
        FollowUp {
            kit_follow_up_days: FollowUp::default_kit_follow_up_days(),
            first_touch_hours: FollowUp::default_first_touch_hours(),
            outcomes: BTreeMap::new(),
        }
    }
}

impl FollowUp {
    fn default_kit_follow_up_days() -> u32 {
        2
    }
    fn default_first_touch_hours() -> u32 {
        48
    }

    /// What `outcome` does: the playbook's entry, else seed 000's.
    pub fn flow(&self, outcome: Outcome) -> OutcomeFlow {
        self.outcomes
            .get(&outcome)
            .cloned()
            .unwrap_or_else(|| OutcomeFlow::seed(outcome))
    }
}

impl OutcomeFlow {
    /// Seed 000's flow for each outcome.
    pub fn seed(outcome: Outcome) -> OutcomeFlow {
        let rule = |kind, in_days| TaskRule {
            kind,
            in_days: Some(in_days),
            on: None,
            for_whom: TaskFor::Owner,
            unless_handed_off: false,
        };
        let task = |kind, in_days| Some(rule(kind, in_days));
        let flow = |then, hand_off_at, task| OutcomeFlow {
            then,
            hand_off_at,
            task,
        };
        match outcome {
            Outcome::NotReached => flow(Effect::Keep, None, task(TaskKind::CallAgain, 1)),
            Outcome::Qualifying => flow(Effect::Rescore, None, task(TaskKind::FollowUpCall, 5)),
            Outcome::NoInterest | Outcome::AssessmentDroppedNotInterested => {
                flow(Effect::Dead, None, None)
            }
            Outcome::NotNow => flow(Effect::Nurture, None, task(TaskKind::PeriodicFollowUp, 20)),
            Outcome::WantsDemo => flow(
                Effect::HandOff,
                None,
                Some(TaskRule {
                    for_whom: TaskFor::Reporter,
                    ..rule(TaskKind::ScheduleRemoteDemo, 1)
                }),
            ),
            Outcome::WantsOnsite => flow(Effect::HandOff, None, None),
            Outcome::AssessmentReturned => flow(
                Effect::Rescore,
                Some(3),
                Some(TaskRule {
                    unless_handed_off: true,
                    ..rule(TaskKind::AssessmentReview, 2)
                }),
            ),
            Outcome::AssessmentInProgress => flow(
                Effect::Keep,
                None,
                Some(TaskRule {
                    kind: TaskKind::AssessmentFollowUp,
                    in_days: None,
                    on: Some(DueOn::FollowUpOn),
                    for_whom: TaskFor::Owner,
                    unless_handed_off: false,
                }),
            ),
            Outcome::AssessmentDroppedInterested => flow(
                Effect::Rescore,
                Some(3),
                Some(TaskRule {
                    unless_handed_off: true,
                    ..rule(TaskKind::ScheduleRemoteDemo, 1)
                }),
            ),
        }
    }
}
