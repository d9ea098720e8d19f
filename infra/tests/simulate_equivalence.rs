//! The simulator decides as the router's decide path does: a few hundred
//! synthetic rows replayed through `leadflow simulate`'s own path (which keeps
//! per person only the lead and its responses' times, one response id for
//! every row, and loads only for least-loaded pools) and, row by row, through
//! `routing::decide` on a lead and its full history as the router stores them.
//! Every JSON line — stage, route, owner, score and each reason's text — must
//! be the same.

use chrono::{DateTime, TimeZone, Utc};
use leadflow::domain::decision::PoolState;
use leadflow::domain::lead::{Event, HistoryEntry};
use leadflow::domain::routing::decide;
use leadflow::{Inquiry, Lead, LeadId, Playbook, ResponseId};
use leadflow_infra::operator::{run, synthetic_csv};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// The router's way: the lead and every history entry, a cursor per pool and
/// open leads per rep, as the store keeps them.
fn reference(playbook: &Playbook, csv: &str, now: DateTime<Utc>) -> Vec<Value> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut leads: HashMap<String, (Lead, Vec<HistoryEntry>)> = HashMap::new();
    let mut cursors: HashMap<String, u64> = HashMap::new();
    let mut loads: HashMap<String, i64> = HashMap::new();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.unwrap();
        let mut at = now;
        let mut posted = Vec::new();
        for (k, v) in header.iter().zip(record.iter()) {
            if k == "received_at" {
                at = DateTime::parse_from_rfc3339(v).unwrap().with_timezone(&Utc);
            } else if !v.is_empty() {
                posted.push((k.as_str(), v));
            }
        }
        let inquiry = Inquiry::parse(&posted, &playbook.bant).unwrap();
        let (lead, history) = leads.entry(inquiry.email.to_string()).or_insert_with(|| {
            let lead = Lead::new(LeadId::generate(), inquiry.email.clone(), at);
            (lead, Vec::new())
        });
        let record = lead.apply_response(&inquiry, &ResponseId::generate(), at);
        history.push(HistoryEntry::new(&lead.id, at, Event::Response(record)));
        let decision = decide(lead, history, playbook, at.max(now), |pool| PoolState {
            cursor: cursors.get(pool).copied().unwrap_or(0),
            loads: playbook
                .pool(pool)
                .map(|p| {
                    p.reps
                        .iter()
                        .map(|r| (r.clone(), loads.get(r).copied().unwrap_or(0).max(0) as u64))
                        .collect::<BTreeMap<_, _>>()
                })
                .unwrap_or_default(),
        });
        if let Some(c) = &decision.cursor {
            cursors.insert(c.pool.clone(), c.to);
        }
        for (rep, delta) in decision.load_changes(lead.owner()) {
            *loads.entry(rep).or_default() += delta;
        }
        out.push(json!({
            "row": i + 1,
            "email": lead.email.as_str(),
            "bant_met": decision.bant_met.len(),
            "stage": decision.stage.as_str(),
            "route": decision.route.as_str(),
            "owner": decision.owner.display_name(),
            "score": decision.score.total,
            "reasons": decision.reasons,
        }));
        lead.apply_decision(decision, at);
    }
    out
}

fn check(playbook: &Playbook, rows: usize, seed: u64) {
    let csv = synthetic_csv(rows, seed);
    let now = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
    let simulated = run(playbook, &csv, now, true).unwrap();
    assert!(simulated.bad_rows.is_empty(), "{:?}", simulated.bad_rows);
    let want = reference(playbook, &csv, now);
    assert_eq!(simulated.leads.len(), want.len());
    for (lead, want) in simulated.leads.iter().zip(&want) {
        let got = serde_json::to_value(lead).unwrap();
        assert_eq!(&got, want);
    }
    // Repeat responses and pools taking turns are what this pins.
    assert!(simulated.summary.people < rows / 2);
    assert!(!simulated.summary.pools.is_empty());
}

#[test]
fn the_simulator_decides_every_row_as_the_routers_decide_path() {
    check(&Playbook::default_playbook().unwrap(), 400, 7);
}

#[test]
fn the_same_with_a_least_loaded_pool() {
    let text = leadflow::domain::playbook::DEFAULT_PLAYBOOK.replace(
        "{ name: emea-field, reps: [ana.ruiz, jonas.weber] }",
        "{ name: emea-field, reps: [ana.ruiz, jonas.weber], strategy: least_loaded }",
    );
    assert_ne!(text, leadflow::domain::playbook::DEFAULT_PLAYBOOK);
    let playbook = Playbook::parse(&text, "least-loaded.yaml").unwrap();
    check(&playbook, 400, 11);
}
