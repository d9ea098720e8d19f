//! The playbook simulator: the router's own qualification, scoring, routing and
//! assignment over a file of leads, touching no AWS — so an operator can replay
//! a year of leads against a playbook change before deploying it.

use crate::domain::decision::{Decision, PoolState};
use crate::domain::ids::{LeadId, ResponseId};
use crate::domain::inquiry::Inquiry;
use crate::domain::lead::{Event, HistoryEntry, Lead};
use crate::domain::playbook::Playbook;
use crate::domain::routing::decide;
use crate::EmailAddress;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Columns the simulator reads besides the intake's fields.
pub const RECEIVED_AT: &str = "received_at";

#[derive(Debug, Clone, Serialize)]
pub struct SimulatedLead {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    pub email: String,
    pub bant_met: usize,
    pub stage: String,
    pub route: String,
    pub owner: String,
    pub score: i64,
    pub reasons: Vec<String>,
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

/// Runs rows through the playbook, keeping the state a real deployment would:
/// the same person is one lead, pools take turns, reps' loads grow.
pub struct Simulator<'p> {
    playbook: &'p Playbook,
    now: DateTime<Utc>,
    leads: HashMap<EmailAddress, (Lead, Vec<HistoryEntry>)>,
    cursors: HashMap<String, u64>,
    loads: HashMap<String, i64>,
    pub summary: Summary,
}

impl<'p> Simulator<'p> {
    pub fn new(playbook: &'p Playbook, now: DateTime<Utc>) -> Self {
        Simulator {
            playbook,
            now,
            leads: HashMap::new(),
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
    ) -> Result<SimulatedLead, BadRow> {
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
        if !self.leads.contains_key(email) {
            let new = (Lead::new(LeadId::generate(), email.clone(), at), Vec::new());
            self.leads.insert(email.clone(), new);
        }
        let (lead, history) = self.leads.get_mut(email).expect("inserted above");
        let record = lead.apply_response(&inquiry, &ResponseId::generate(), at);
        history.push(HistoryEntry::new(&lead.id, at, Event::Response(record)));

        // The state the router keeps in the store: a cursor per pool, open leads per rep.
        let (cursors, loads) = (&self.cursors, &self.loads);
        let playbook = self.playbook;
        let decision: Decision = decide(lead, history, playbook, at.max(self.now), |pool| {
            PoolState {
                cursor: cursors.get(pool).copied().unwrap_or(0),
                loads: playbook
                    .pool(pool)
                    .map(|p| {
                        p.reps
                            .iter()
                            .map(|r| (r.clone(), loads.get(r).copied().unwrap_or(0).max(0) as u64))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        });
        if let Some(c) = &decision.cursor {
            self.cursors.insert(c.pool.clone(), c.to);
        }
        for (rep, delta) in decision.load_changes(lead.owner()) {
            *self.loads.entry(rep).or_default() += delta;
        }
        let owner = decision.owner.display_name();
        let simulated = SimulatedLead {
            row,
            email: email.to_string(),
            bant_met: decision.bant_met.len(),
            stage: decision.stage.as_str().to_string(),
            route: decision.route.as_str().to_string(),
            owner: owner.to_string(),
            score: decision.score.total,
            reasons: decision.reasons.clone(),
        };
        let s = &mut self.summary;
        s.leads += 1;
        count(&mut s.by_stage, &simulated.stage);
        count(&mut s.by_route, &simulated.route);
        count(&mut s.by_owner, owner);
        if let Some(pool) = &decision.pool {
            if let Some(reps) = s.pools.get_mut(pool) {
                count(reps, owner);
            } else {
                s.pools
                    .insert(pool.clone(), BTreeMap::from([(owner.to_string(), 1)]));
            }
        }
        lead.apply_decision(decision, at);
        s.people = self.leads.len();
        Ok(simulated)
    }

    pub fn bad_row(&mut self) {
        self.summary.bad_rows += 1;
    }
}
