//! Invariants of qualification, scoring, routing and assignment, over random leads.

use chrono::{Duration, TimeZone, Utc};
use leadflow::domain::decision::{Owner, PoolState};
use leadflow::domain::ids::{LeadId, ResponseId};
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::{Event, HistoryEntry};
use leadflow::domain::routing::{decide, qualify};
use leadflow::domain::scoring::score;
use leadflow::{Criterion, EmailAddress, Lead, Playbook, RequestType};
use proptest::prelude::*;

fn playbook() -> Playbook {
    Playbook::default_playbook().unwrap()
}

const COUNTRIES: &[&str] = &["DE", "FR", "US", "CA", "BR", "JP", "IN", "GB", "MX", "AU"];

fn answers(c: Criterion) -> Vec<String> {
    playbook()
        .bant
        .allowed_values(c)
        .into_iter()
        .map(str::to_string)
        .collect()
}

prop_compose! {
    fn inquiry_fields()(
        b in 0usize..4, a in 0usize..4, n in 0usize..4, t in 0usize..5,
        rt in 0usize..6, country in 0usize..COUNTRIES.len(), with_country in any::<bool>(),
        industry in prop::sample::select(vec!["energy", "retail", "manufacturing", ""]),
        title in prop::sample::select(vec!["CTO", "Analyst", "VP Sales", ""]),
    ) -> Vec<(String, String)> {
        let mut f = vec![("email".to_string(), "p@example.com".to_string())];
        let pick = |c: Criterion, i: usize| { let a = answers(c); a[i % a.len()].clone() };
        f.push(("budget".into(), pick(Criterion::Budget, b)));
        f.push(("authority".into(), pick(Criterion::Authority, a)));
        f.push(("need".into(), pick(Criterion::Need, n)));
        f.push(("timeframe".into(), pick(Criterion::Timeframe, t)));
        f.push(("request_type".into(), RequestType::ALL[rt].as_str().into()));
        if with_country { f.push(("country".into(), COUNTRIES[country].into())); }
        if !industry.is_empty() { f.push(("industry".into(), industry.into())); }
        if !title.is_empty() { f.push(("title".into(), title.into())); }
        f
    }
}

fn build(fields: &[(String, String)], pb: &Playbook) -> (Lead, Vec<HistoryEntry>) {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let inquiry = Inquiry::parse(fields, &pb.bant).unwrap();
    let mut lead = Lead::new(
        LeadId::generate(),
        EmailAddress::parse("p@example.com").unwrap(),
        now,
    );
    let rec = lead.apply_response(&inquiry, &ResponseId::generate(), now);
    let history = vec![HistoryEntry::new(&lead.id, now, Event::Response(rec))];
    (lead, history)
}

proptest! {
    #[test]
    fn meeting_one_more_criterion_never_lowers_the_stage(fields in inquiry_fields(), which in 0usize..4) {
        let pb = playbook();
        let (lead, _) = build(&fields, &pb);
        let before = qualify(&lead, &pb);
        let c = Criterion::ALL[which];
        let met_value = pb.bant.answers(c).iter().find(|a| a.met).unwrap().value.clone();
        let mut raised = fields.clone();
        raised.retain(|(k, _)| k != c.field());
        raised.push((c.field().to_string(), met_value));
        let (lead2, _) = build(&raised, &pb);
        let after = qualify(&lead2, &pb);
        prop_assert!(after.met.len() >= before.met.len());
        prop_assert!(after.stage >= before.stage, "{:?} -> {:?}", before.stage, after.stage);
    }

    #[test]
    fn every_lead_gets_one_route_and_an_owner_or_the_fallback(fields in inquiry_fields(), cursor in 0u64..1000) {
        let pb = playbook();
        let (lead, history) = build(&fields, &pb);
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let d = decide(&lead, &history, &pb, now, |_| PoolState { cursor, ..Default::default() });
        prop_assert_eq!(d.reasons.len(), 4);
        match &d.owner {
            Owner::Rep { id, .. } => {
                let rep = pb.rep(id);
                prop_assert!(rep.is_some_and(|r| !r.away), "assigned to an unknown or away rep");
                prop_assert!(d.pool.is_some());
            }
            Owner::Queue { name, .. } => prop_assert!(pb.queues.iter().any(|q| &q.name == name)),
        }
        // Deterministic: the same inputs decide the same.
        let again = decide(&lead, &history, &pb, now, |_| PoolState { cursor, ..Default::default() });
        prop_assert_eq!(again, d);
    }

    #[test]
    fn a_score_recomputed_from_the_history_is_the_same(fields in inquiry_fields(), later in 0i64..400) {
        let pb = playbook();
        let (lead, history) = build(&fields, &pb);
        let at = history[0].at + Duration::days(later);
        let stored = score(&lead, &history, &pb, at);
        let rebuilt = Lead::rebuild(lead.id.clone(), lead.email.clone(), &history).unwrap();
        prop_assert_eq!(&rebuilt.bant, &lead.bant);
        prop_assert_eq!(&rebuilt.contact, &lead.contact);
        prop_assert_eq!(score(&rebuilt, &history, &pb, at), stored);
    }
}

#[test]
fn behaviour_points_decay_with_the_half_life() {
    let pb = playbook();
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let (lead, mut history) = build(&[("email".into(), "p@example.com".into())], &pb);
    history.clear();
    for i in 0..10 {
        history.push(HistoryEntry::new(
            &lead.id,
            t0 + Duration::hours(i),
            Event::Activity {
                kind: "email_click".into(),
                detail: None,
                message_id: None,
                occurred_at: None,
            },
        ));
    }
    let half_life = pb.scoring.behaviour.half_life_days;
    let fresh = score(&lead, &history, &pb, t0 + Duration::hours(10)).behaviour;
    let later = score(
        &lead,
        &history,
        &pb,
        t0 + Duration::hours(10) + Duration::days(half_life as i64),
    )
    .behaviour;
    let year = score(&lead, &history, &pb, t0 + Duration::days(365)).behaviour;
    assert!((fresh - 30.0).abs() < 0.5, "10 clicks × 3 points: {fresh}");
    assert!(
        (later / fresh - 0.5).abs() < 0.02,
        "one half-life halves it: {later} vs {fresh}"
    );
    assert!(
        year < 0.01 * fresh,
        "a year-old burst is worth almost nothing: {year}"
    );
    // Activity after the time of scoring does not count.
    assert_eq!(
        score(&lead, &history, &pb, t0 - Duration::days(1)).behaviour,
        0.0
    );
}
