//! The playbook simulator: the router's own qualification, scoring, routing and
//! assignment over a file of leads, touching no AWS — so an operator can replay
//! a year of leads against a playbook change before deploying it.

use crate::domain::decision::{Decision, PoolState};
use crate::domain::ids::{LeadId, ResponseId};
use crate::domain::inquiry::Inquiry;
use crate::domain::lead::Lead;
use crate::domain::playbook::{Playbook, Strategy};
use crate::domain::routing::decide;
use crate::domain::scoring::{Behaviour, FORM_SUBMISSION};
use crate::EmailAddress;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// Columns the simulator reads besides the intake's fields.
pub const RECEIVED_AT: &str = "received_at";

/// One decided row. It borrows from the simulator (the lead's latest
/// decision holds the owner and the reasons): [`SimulatedLead::into_owned`]
/// keeps it past the next row.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedLead<'a> {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    pub email: Cow<'a, str>,
    pub bant_met: usize,
    pub stage: &'static str,
    pub route: &'static str,
    pub owner: Cow<'a, str>,
    pub score: i64,
    pub reasons: Cow<'a, [String]>,
}

impl SimulatedLead<'_> {
    pub fn into_owned(self) -> SimulatedLead<'static> {
        SimulatedLead {
            email: Cow::Owned(self.email.into_owned()),
            owner: Cow::Owned(self.owner.into_owned()),
            reasons: Cow::Owned(self.reasons.into_owned()),
            ..self
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BadRow {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub leads: usize,
    pub people: usize,
    pub bad_rows: usize,
    pub by_stage: BTreeMap<String, usize>,
    pub by_route: BTreeMap<String, usize>,
    pub by_owner: BTreeMap<String, usize>,
    /// Leads each pool received, and how they spread over its reps.
    pub pools: BTreeMap<String, BTreeMap<String, usize>>,
}

/// One more under `key`, allocating the key only the first time it is seen.
fn count(counts: &mut BTreeMap<String, usize>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// What later rows of one person need to be decided as the router would
/// decide them: the lead as the responses so far left it (with its latest
/// decision), and when each response came (its behaviour, for the score).
/// Nothing else of the router's history feeds a decision.
struct Person {
    lead: Lead,
    responses: Responses,
}

/// A person's responses, oldest first: each a form submission at its time.
struct Responses(Vec<DateTime<Utc>>);

impl Behaviour for Responses {
    fn behaviours(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.0.iter().map(|at| (FORM_SUBMISSION, *at))
    }
}

/// Runs rows through the playbook, keeping the state a real deployment would:
/// the same person is one lead, pools take turns, reps' loads grow.
pub struct Simulator<'p> {
    playbook: &'p Playbook,
    now: DateTime<Utc>,
    /// Every row's response id: nothing a decision reads depends on it, and
    /// the simulator keeps no history where responses must be told apart.
    response_id: ResponseId,
    /// Boxed: a `Lead` is about 1.5 KB, and the table holds each of its slots
    /// (a power of two, up to 8/7 of the people) inline and moves them all on
    /// every growth; boxed, it holds and moves pointers (issue 9: 100,000 rows
    /// over 31,700 people took 285 MB and a third of the run that way).
    people: HashMap<EmailAddress, Box<Person>>,
    cursors: HashMap<String, u64>,
    loads: HashMap<String, i64>,
    pub summary: Summary,
}

impl<'p> Simulator<'p> {
    pub fn new(playbook: &'p Playbook, now: DateTime<Utc>) -> Self {
        Simulator {
            playbook,
            now,
            response_id: ResponseId::generate(),
            people: HashMap::new(),
            cursors: HashMap::new(),
            loads: HashMap::new(),
            summary: Summary::default(),
        }
    }

    /// One row: (column, value) pairs as a form would post them.
    pub fn row<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        row: usize,
        fields: &[(K, V)],
    ) -> Result<SimulatedLead<'_>, BadRow> {
        let bad = |field: &str, message: String| BadRow {
            row,
            field: field.to_string(),
            message,
        };
        let mut at = self.now;
        let mut posted = Vec::with_capacity(fields.len());
        for (k, v) in fields {
            let (k, v) = (k.as_ref(), v.as_ref());
            if k == RECEIVED_AT {
                if !v.trim().is_empty() {
                    at = DateTime::parse_from_rfc3339(v.trim())
                        .map_err(|e| {
                            bad(RECEIVED_AT, format!("{v:?} is not an RFC 3339 time: {e}"))
                        })?
                        .with_timezone(&Utc);
                }
            } else if !v.is_empty() {
                posted.push((k, v));
            }
        }
        let inquiry =
            Inquiry::parse(&posted, &self.playbook.bant).map_err(|e| bad(&e.field, e.message))?;
        let email = &inquiry.email;
        if !self.people.contains_key(email) {
            let person = Person {
                lead: Lead::new(LeadId::generate(), email.clone(), at),
                responses: Responses(Vec::new()),
            };
            self.people.insert(email.clone(), Box::new(person));
        }
        self.summary.people = self.people.len();
        let person = self.people.get_mut(email).expect("inserted above");
        let Person { lead, responses } = &mut **person;
        lead.apply_response(&inquiry, &self.response_id, at);
        responses.0.push(at);

        // The state the router keeps in the store: a cursor per pool, open leads per rep.
        let (cursors, loads) = (&self.cursors, &self.loads);
        let playbook = self.playbook;
        let decision: Decision = decide(lead, responses, playbook, at.max(self.now), |name| {
            let pool = playbook.pool(name);
            PoolState {
                cursor: cursors.get(name).copied().unwrap_or(0),
                // Only a least-loaded pool reads its reps' loads.
                loads: match pool {
                    Some(p) if p.strategy == Strategy::LeastLoaded => p
                        .reps
                        .iter()
                        .map(|r| (r.clone(), loads.get(r).copied().unwrap_or(0).max(0) as u64))
                        .collect(),
                    _ => BTreeMap::new(),
                },
            }
        });
        if let Some(c) = &decision.cursor {
            match self.cursors.get_mut(&c.pool) {
                Some(cursor) => *cursor = c.to,
                None => {
                    self.cursors.insert(c.pool.clone(), c.to);
                }
            }
        }
        for (rep, delta) in decision.load_changes(lead.owner()) {
            *self.loads.entry(rep).or_default() += delta;
        }
        let s = &mut self.summary;
        s.leads += 1;
        let owner = decision.owner.display_name();
        count(&mut s.by_stage, decision.stage.as_str());
        count(&mut s.by_route, decision.route.as_str());
        count(&mut s.by_owner, owner);
        if let Some(pool) = &decision.pool {
            if let Some(reps) = s.pools.get_mut(pool) {
                count(reps, owner);
            } else {
                s.pools
                    .insert(pool.clone(), BTreeMap::from([(owner.to_string(), 1)]));
            }
        }
        let (bant_met, stage, route, score) = (
            decision.bant_met.len(),
            decision.stage.as_str(),
            decision.route.as_str(),
            decision.score.total,
        );
        lead.apply_decision(decision, at);
        let decided = lead.routing.as_ref().expect("decided above");
        Ok(SimulatedLead {
            row,
            email: Cow::Borrowed(lead.email.as_str()),
            bant_met,
            stage,
            route,
            owner: Cow::Borrowed(decided.owner.display_name()),
            score,
            reasons: Cow::Borrowed(&decided.reasons),
        })
    }

    pub fn bad_row(&mut self) {
        self.summary.bad_rows += 1;
    }
}
