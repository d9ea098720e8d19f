//! The lead: one person, everything we know of them, and how each response changed it.

use super::bant::{BantAnswers, Criterion, KnownAnswer, UNKNOWN};
use super::decision::{Decision, Owner};
use super::email::EmailAddress;
use super::ids::{EventId, LeadId, ResponseId, TaskId};
use super::inquiry::{Attribution, Contact, Inquiry, RequestType, Source};
use super::outcome::{LeadStatus, Outcome};
use super::tally::Tally;
use super::task::{TaskKind, TaskStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub granted: bool,
    pub at: DateTime<Utc>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub email: EmailAddress,
    pub contact: Contact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_email: Option<Consent>,
    pub bant: BantAnswers,
    /// The latest request; each response's own is in the history.
    pub request_type: RequestType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest: Option<String>,
    /// The first touch: the campaign that brought the person in.
    pub first_attribution: Attribution,
    /// The latest touch.
    pub attribution: Attribution,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    pub responses: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response_id: Option<ResponseId>,
    /// The latest decision (the router's, or one a rep's report made), with its reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Decision>,
    /// Where the lead stands with sales.
    #[serde(default)]
    pub status: LeadStatus,
    /// Why and how it came to its status (a rejection's reason, a win's amount, who it was lost to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<StatusDetail>,
    /// The first outcome anyone recorded: when, by whom, against the route's SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_touch: Option<FirstTouch>,
    /// The inside-sales rep who handed the lead to field sales and supports
    /// them (schedules the demo): they still see the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<String>,
    /// The first-touch clock while nobody has touched the lead: when the
    /// route's SLA runs out, and whether it was escalated (the reminders
    /// function finds leads through it, by an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaClock>,
    /// The nurture series the lead is in, and its next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nurture: Option<Enrolment>,
    /// Marketing emails sent to this person lately, whatever the series: the
    /// frequency cap counts them, so leaving a series and joining one again
    /// does not start it afresh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marketing_sent: Vec<DateTime<Utc>>,
    /// What the report counters count this lead as (kept by every write).
    #[serde(default, skip_serializing_if = "Tally::is_empty")]
    pub tally: Tally,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: every write expects the one it read.
    pub version: u64,
}

/// How a lead came to its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDetail {
    pub at: DateTime<Utc>,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_to: Option<String>,
}

/// A lead's place in a nurture series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub series: String,
    /// The next step (0-based).
    pub step: usize,
    /// When the next step is due (the index's key).
    pub next_at: DateTime<Utc>,
    pub enrolled_at: DateTime<Utc>,
    /// Marketing emails sent lately (for the frequency cap).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<DateTime<Utc>>,
}

/// The first-touch SLA of a lead nobody has touched yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// When the owner must have touched it (the route's SLA).
    pub due: DateTime<Utc>,
    /// When the breach was escalated to the owner's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<DateTime<Utc>>,
    /// When the reminders function looks at it next (the index's key): the
    /// SLA, then the end of the window after the escalation.
    pub check_at: DateTime<Utc>,
    /// The owners (keys) who let it run out before and lost it: the SLA
    /// reassignment never hands it back to them, and after the playbook's
    /// number of them it goes to the fallback queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<String>,
}

impl SlaClock {
    pub fn new(due: DateTime<Utc>) -> Self {
        SlaClock {
            due,
            escalated_at: None,
            check_at: due,
            passed_over: Vec::new(),
        }
    }
}

/// A lead's first touch: the first outcome a person recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstTouch {
    pub at: DateTime<Utc>,
    pub by: String,
    pub outcome: Outcome,
    /// The route's SLA: when the first touch was due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_by: Option<DateTime<Utc>>,
    /// Within the SLA (none: the route had no SLA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_sla: Option<bool>,
    /// From the lead's arrival to the first touch.
    pub minutes_to_touch: i64,
    /// The pool the lead was in when it was touched (reports roll up by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
}

/// One field a response changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
}

impl Lead {
    /// Custom fields a lead keeps, and their total size (names and values, in
    /// UTF-8 bytes): together with the bounded known fields this keeps the lead
    /// item far below DynamoDB's 400 KB whatever a person posts.
    pub const MAX_CUSTOM_FIELDS: usize = 50;
    pub const MAX_CUSTOM_BYTES: usize = 16 * 1024;

    fn custom_bytes(&self) -> usize {
        self.custom.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    pub fn new(id: LeadId, email: EmailAddress, now: DateTime<Utc>) -> Self {
        Lead {
            id,
            email,
            contact: Contact::default(),
            consent_email: None,
            bant: BantAnswers::default(),
            request_type: RequestType::Info,
            interest: None,
            first_attribution: Attribution::default(),
            attribution: Attribution::default(),
            custom: BTreeMap::new(),
            responses: 0,
            last_response_id: None,
            routing: None,
            status: LeadStatus::Open,
            status_detail: None,
            first_touch: None,
            support: None,
            sla: None,
            nurture: None,
            marketing_sent: Vec::new(),
            tally: Tally::default(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    pub fn owner(&self) -> Option<&Owner> {
        self.routing.as_ref().map(|d| &d.owner)
    }

    pub fn display_name(&self) -> String {
        self.contact
            .full_name()
            .unwrap_or_else(|| self.email.to_string())
    }

    /// Fold a new response into the lead. Nothing known is erased: an absent
    /// field or an `unknown` answer keeps what we had; a new value replaces the
    /// old and the change is returned for the history.
    pub fn apply_response(
        &mut self,
        inquiry: &Inquiry,
        response_id: &ResponseId,
        now: DateTime<Utc>,
    ) -> ResponseRecord {
        let mut journal = Record::default();
        let first = self.merge_response(inquiry, response_id, now, &mut journal);
        ResponseRecord {
            response_id: response_id.clone(),
            request_type: inquiry.request_type,
            source: inquiry.attribution.source(),
            attribution: inquiry.attribution.clone(),
            interest: inquiry.interest.clone(),
            message: inquiry.message.clone(),
            answers: journal.answers,
            changes: journal.changes,
            conflicts: journal.conflicts,
            first,
        }
    }

    /// [`apply_response`](Self::apply_response) for one who keeps no
    /// history (the simulator): the same merge, with no record of it made.
    pub fn take_response(
        &mut self,
        inquiry: &Inquiry,
        response_id: &ResponseId,
        now: DateTime<Utc>,
    ) {
        self.merge_response(inquiry, response_id, now, &mut NoRecord);
    }

    /// The merge behind both: whether this was the person's first response.
    fn merge_response(
        &mut self,
        inquiry: &Inquiry,
        response_id: &ResponseId,
        now: DateTime<Utc>,
        journal: &mut impl Journal,
    ) -> bool {
        let source = inquiry.attribution.source();
        let incoming = &inquiry.contact;
        let c = &mut self.contact;
        merge(
            journal,
            "first_name",
            &mut c.first_name,
            &incoming.first_name,
        );
        merge(journal, "last_name", &mut c.last_name, &incoming.last_name);
        merge(journal, "company", &mut c.company, &incoming.company);
        merge(journal, "title", &mut c.title, &incoming.title);
        merge(journal, "phone", &mut c.phone, &incoming.phone);
        merge(journal, "country", &mut c.country, &incoming.country);
        merge(journal, "region", &mut c.region, &incoming.region);
        merge(journal, "industry", &mut c.industry, &incoming.industry);
        merge(
            journal,
            "company_size",
            &mut c.company_size,
            &incoming.company_size,
        );
        merge(journal, "interest", &mut self.interest, &inquiry.interest);

        for criterion in Criterion::ALL {
            let Some(value) = inquiry.bant.get(&criterion) else {
                continue;
            };
            if value == UNKNOWN {
                continue;
            }
            journal.answered(criterion, value);
            let old = self.bant.value(criterion);
            if old == value {
                continue;
            }
            if self.bant.0.get(&criterion).is_some_and(|a| a.by_sales()) {
                // What a rep learned on the phone outranks a form: keep it, and
                // keep what the form said in the history for the owner to see.
                journal.conflicted(|| Conflict {
                    field: criterion.field().to_string(),
                    kept: old.to_string(),
                    offered: value.clone(),
                    why: "recorded by sales".into(),
                });
            } else {
                journal.changed(|| FieldChange {
                    field: criterion.field().to_string(),
                    from: (old != UNKNOWN).then(|| old.to_string()),
                    to: value.clone(),
                });
                let campaign = &inquiry.attribution.campaign;
                match self.bant.0.slot_mut(criterion) {
                    // Into the answer it replaces: its strings' room is reused.
                    // Every field named: one added to answers must be set here too.
                    Some(KnownAnswer {
                        value: old_value,
                        at,
                        source: old_source,
                        campaign: old_campaign,
                    }) => {
                        old_value.clone_from(value);
                        *at = now;
                        old_source.clear();
                        old_source.push_str(source.as_str());
                        old_campaign.clone_from(campaign);
                    }
                    none => {
                        *none = Some(KnownAnswer {
                            value: value.clone(),
                            at: now,
                            source: source.as_str().to_string(),
                            campaign: campaign.clone(),
                        })
                    }
                }
            }
        }

        if let Some(granted) = inquiry.consent_email {
            let current = self.consent_email.as_ref().map(|c| c.granted);
            if !granted && current == Some(true) {
                // Only the unsubscribe link withdraws consent: anyone can post
                // a form in someone's name.
                journal.conflicted(|| Conflict {
                    field: "consent_email".into(),
                    kept: "true".into(),
                    offered: "false".into(),
                    why: "consent is withdrawn only by the unsubscribe link".into(),
                });
            } else if current != Some(granted) {
                journal.changed(|| FieldChange {
                    field: "consent_email".into(),
                    from: current.map(|c| c.to_string()),
                    to: granted.to_string(),
                });
                self.consent_email = Some(Consent {
                    granted,
                    at: now,
                    source: source.as_str().to_string(),
                });
            }
        }
        for (k, v) in &inquiry.custom {
            let old = self.custom.get(k);
            if old == Some(v) {
                continue;
            }
            // The lead carries a bounded set of custom fields (each post may
            // bring new ones; the lead must stay far below the store's item
            // limit): what does not fit stays in this response's history only.
            let bytes_after =
                self.custom_bytes() - old.map_or(0, |o| k.len() + o.len()) + k.len() + v.len();
            let count_after = self.custom.len() + usize::from(old.is_none());
            if count_after > Lead::MAX_CUSTOM_FIELDS || bytes_after > Lead::MAX_CUSTOM_BYTES {
                journal.conflicted(|| Conflict {
                    field: k.clone(),
                    kept: old.cloned().unwrap_or_default(),
                    offered: v.clone(),
                    why: format!(
                        "a lead keeps at most {} custom fields of {} KiB in all; this one is in the history only",
                        Lead::MAX_CUSTOM_FIELDS,
                        Lead::MAX_CUSTOM_BYTES / 1024
                    ),
                });
                continue;
            }
            let mut slot = old.cloned();
            merge(journal, k, &mut slot, &Some(v.clone()));
            if let Some(v) = slot {
                self.custom.insert(k.clone(), v);
            }
        }

        let is_first = self.responses == 0;
        if is_first {
            self.first_attribution.clone_from(&inquiry.attribution);
        }
        self.attribution.clone_from(&inquiry.attribution);
        self.request_type = inquiry.request_type;
        self.responses += 1;
        self.last_response_id = Some(response_id.clone());
        self.updated_at = now;
        is_first
    }

    /// Record the router's decision; returns the earlier owner when it changed.
    pub fn apply_decision(&mut self, decision: Decision, now: DateTime<Utc>) -> Option<Owner> {
        // The earlier owner is moved out of the decision it replaces, not copied.
        let previous = self.routing.replace(decision).map(|d| d.owner);
        self.updated_at = now;
        previous.filter(|p| Some(p) != self.owner())
    }
}

impl Lead {
    /// Rebuild what the responses in a history say of the person, from the
    /// changes each one recorded. The stored lead must agree with this.
    pub fn rebuild(id: LeadId, email: EmailAddress, history: &[HistoryEntry]) -> Option<Lead> {
        let mut lead: Option<Lead> = None;
        for h in history {
            let Event::Response(r) = &h.event else {
                continue;
            };
            let l = lead.get_or_insert_with(|| Lead::new(id.clone(), email.clone(), h.at));
            for c in &r.changes {
                l.set_field(&c.field, &c.to, h.at, r);
            }
            if r.first {
                l.first_attribution = r.attribution.clone();
            }
            l.attribution = r.attribution.clone();
            l.request_type = r.request_type;
            l.responses += 1;
            l.last_response_id = Some(r.response_id.clone());
            l.updated_at = h.at;
        }
        lead
    }

    fn set_field(&mut self, field: &str, value: &str, at: DateTime<Utc>, r: &ResponseRecord) {
        let v = Some(value.to_string());
        let c = &mut self.contact;
        match field {
            "first_name" => c.first_name = v,
            "last_name" => c.last_name = v,
            "company" => c.company = v,
            "title" => c.title = v,
            "phone" => c.phone = v,
            "country" => c.country = super::inquiry::Country::parse(value),
            "region" => c.region = v,
            "industry" => c.industry = v,
            "company_size" => c.company_size = v,
            "interest" => self.interest = v,
            "consent_email" => {
                self.consent_email = Some(Consent {
                    granted: value == "true",
                    at,
                    source: r.source.to_string(),
                })
            }
            other => {
                if let Some(criterion) = Criterion::ALL.into_iter().find(|c| c.field() == other) {
                    self.bant.0.insert(
                        criterion,
                        KnownAnswer {
                            value: value.to_string(),
                            at,
                            source: r.source.to_string(),
                            campaign: r.attribution.campaign.clone(),
                        },
                    );
                } else {
                    self.custom.insert(other.to_string(), value.to_string());
                }
            }
        }
    }
}

fn merge<T: Clone + PartialEq + ToString>(
    journal: &mut impl Journal,
    field: &str,
    current: &mut Option<T>,
    incoming: &Option<T>,
) {
    if let Some(new) = incoming {
        if current.as_ref() != Some(new) {
            journal.changed(|| FieldChange {
                field: field.to_string(),
                from: current.as_ref().map(|v| v.to_string()),
                to: new.to_string(),
            });
            // Into the value it replaces, where that has room.
            current.clone_from(incoming);
        }
    }
}

/// Where merging a response notes what it did: the response's record for
/// the history, or nowhere. Each note is made only when it is kept.
trait Journal {
    fn answered(&mut self, criterion: Criterion, value: &str);
    fn changed(&mut self, change: impl FnOnce() -> FieldChange);
    fn conflicted(&mut self, conflict: impl FnOnce() -> Conflict);
}

/// What a response did, for its [`ResponseRecord`].
#[derive(Default)]
struct Record {
    answers: BTreeMap<Criterion, String>,
    changes: Vec<FieldChange>,
    conflicts: Vec<Conflict>,
}

impl Journal for Record {
    fn answered(&mut self, criterion: Criterion, value: &str) {
        self.answers.insert(criterion, value.to_string());
    }
    fn changed(&mut self, change: impl FnOnce() -> FieldChange) {
        self.changes.push(change());
    }
    fn conflicted(&mut self, conflict: impl FnOnce() -> Conflict) {
        self.conflicts.push(conflict());
    }
}

/// No record: the simulator keeps no history.
struct NoRecord;

impl Journal for NoRecord {
    fn answered(&mut self, _: Criterion, _: &str) {}
    fn changed(&mut self, _: impl FnOnce() -> FieldChange) {}
    fn conflicted(&mut self, _: impl FnOnce() -> Conflict) {}
}

/// A value a response offered that the lead did not take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub field: String,
    pub kept: String,
    pub offered: String,
    pub why: String,
}

/// What one response said, kept in the lead's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub response_id: ResponseId,
    pub request_type: RequestType,
    pub source: Source,
    pub attribution: Attribution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The B.A.N.T. answers this response gave (not `unknown`).
    pub answers: BTreeMap<Criterion, String>,
    pub changes: Vec<FieldChange>,
    /// What this response said that was not taken, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// The person's first response (a new lead).
    pub first: bool,
}

/// Which email a send was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// The acknowledgement with the kit, to the prospect. (Read under its
    /// earlier spelling too, so entries written before the rename still parse.)
    #[serde(alias = "fulfilment")]
    Fulfillment,
    /// The lead package, to the owner.
    OwnerNotice,
    /// A nurture step: marketing mail (unsubscribe, frequency cap, consent apply).
    Nurture,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Fulfillment => "fulfillment",
            EmailKind::OwnerNotice => "owner_notice",
            EmailKind::Nurture => "nurture",
        }
    }
}

/// Something that happened to a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Response(ResponseRecord),
    Routed {
        response_id: ResponseId,
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_owner: Option<Owner>,
    },
    /// Behaviour that scores: a site visit, a download, an email click, an event attended.
    Activity {
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        /// The email it came from (a click: SES's message id).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// When it happened, as its source says (a click's time), when that
        /// is not when it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        occurred_at: Option<DateTime<Utc>>,
    },
    /// The mail service refused the message (a bad or suppressed address): not retried.
    EmailRejected {
        response_id: ResponseId,
        kind: EmailKind,
        to: String,
        reason: String,
    },
    /// A repeat inside the coalescing window: the same notification already
    /// went out (or is going out) for `covered_by`, so nothing was sent.
    EmailCoalesced {
        response_id: ResponseId,
        kind: EmailKind,
        to: String,
        covered_by: ResponseId,
    },
    EmailSent {
        response_id: ResponseId,
        kind: EmailKind,
        to: String,
        subject: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kit: Option<String>,
        message_id: String,
    },
    /// What a call or meeting found, as the rep reported it.
    OutcomeRecorded {
        outcome: Outcome,
        reached: bool,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_id: Option<TaskId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up_on: Option<NaiveDate>,
        /// B.A.N.T. answers learned on the call.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<FieldChange>,
        /// Through a signed link from an email rather than the API.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        via_link: bool,
    },
    /// A decision a person's report or status change made (the router's are `Routed`).
    Decided {
        by: String,
        /// What caused it: `outcome wants_demo`, `status rejected`.
        cause: String,
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_owner: Option<Owner>,
    },
    StatusChanged {
        from: LeadStatus,
        to: LeadStatus,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lost_to: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        via_link: bool,
    },
    /// Handed to another owner by a person.
    Reassigned {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Owner>,
        to: Owner,
        by: String,
        reason: String,
    },
    FirstTouch(FirstTouch),
    /// Nobody touched the lead within its route's SLA: its owner's managers were told.
    SlaEscalated {
        owner: Owner,
        due: DateTime<Utc>,
        told: Vec<String>,
        reason: String,
    },
    /// What SES said became of an email: delivery, bounce, complaint, open.
    EmailFeedback {
        kind: String,
        to: String,
        message_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    NurtureEnrolled {
        series: String,
        reason: String,
    },
    /// A step done (the email is `EmailSent`; a call is a task).
    NurtureStep {
        series: String,
        step: usize,
        what: String,
    },
    NurtureExited {
        series: String,
        reason: String,
    },
    /// Still untouched a window after the escalation: handed to someone else.
    SlaReassigned {
        from: Owner,
        to: Owner,
        reason: String,
    },
    TaskOpened {
        task_id: TaskId,
        kind: TaskKind,
        owner: Owner,
        due_at: DateTime<Utc>,
        reason: String,
    },
    TaskClosed {
        task_id: TaskId,
        kind: TaskKind,
        status: TaskStatus,
        by: String,
        reason: String,
    },
}

impl Event {
    /// A task opened, as its history records it (the one place this event
    /// is made): `because` says why when it is not the task's own reason
    /// (a task that moved with its lead).
    pub fn task_opened(t: &super::task::Task, because: Option<String>) -> Event {
        Event::TaskOpened {
            task_id: t.id.clone(),
            kind: t.kind,
            owner: t.owner.clone(),
            due_at: t.due_at,
            reason: because.unwrap_or_else(|| t.reason.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: EventId,
    pub lead_id: LeadId,
    pub at: DateTime<Utc>,
    pub event: Event,
}

impl HistoryEntry {
    pub fn new(lead_id: &LeadId, at: DateTime<Utc>, event: Event) -> Self {
        HistoryEntry {
            id: EventId::generate(),
            lead_id: lead_id.clone(),
            at,
            event,
        }
    }

    /// The entry's place in its lead's history (`<at, ms>#<event id>`): keys
    /// sort as the entries happened, and a page of history starts after one.
    pub fn key(&self) -> String {
        format!(
            "{}#{}",
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.id
        )
    }
}
