//! Assignment rules beyond territory: named accounts, industry, product,
//! least-loaded pools, reps who are away; and score conditions on routes.

use chrono::{TimeZone, Utc};
use leadflow::domain::decision::{Decision, PoolState};
use leadflow::domain::ids::{LeadId, ResponseId};
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::{Event, HistoryEntry};
use leadflow::domain::playbook::DEFAULT_PLAYBOOK;
use leadflow::domain::routing::decide;
use leadflow::{EmailAddress, Lead, Playbook};
use std::collections::BTreeMap;

fn with(extra_yaml: &[(&str, &str)]) -> Playbook {
    let mut text = DEFAULT_PLAYBOOK.to_string();
    for (from, to) in extra_yaml {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    Playbook::parse(&text, "test.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn decision(pb: &Playbook, fields: &[(&str, &str)], state: PoolState) -> Decision {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let inquiry = Inquiry::parse(&fields, &pb.bant).unwrap();
    let mut lead = Lead::new(LeadId::generate(), inquiry.email.clone(), now);
    let rec = lead.apply_response(&inquiry, &ResponseId::generate(), now);
    let history = vec![HistoryEntry::new(&lead.id, now, Event::Response(rec))];
    decide(&lead, &history, pb, now, |_| state.clone())
}

const HOT_DE: &[(&str, &str)] = &[
    ("email", "x@kunde.de"),
    ("country", "DE"),
    ("request_type", "onsite_demo"),
];

#[test]
fn a_named_account_goes_to_its_owner_before_any_territory() {
    let pb = with(&[(
        "assignment:\n",
        "assignment:\n  - name: Kunde AG is Grace's account\n    routes: [hot, high_potential, need_information]\n    domains: [kunde.de]\n    rep: grace.lee\n",
    )]);
    let d = decision(&pb, HOT_DE, PoolState::default());
    assert_eq!(d.owner.display_name(), "Grace Lee");
    assert!(
        d.reasons[3].contains("named account kunde.de → Grace Lee"),
        "{}",
        d.reasons[3]
    );
    // Another company in the same territory still goes to the territory's pool.
    let other = decision(
        &pb,
        &[
            ("email", "y@other.de"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ],
        PoolState::default(),
    );
    assert_eq!(
        other.pool.as_deref(),
        Some("emea-field"),
        "{:?}",
        other.reasons
    );
}

#[test]
fn a_named_account_owner_who_is_away_falls_through_to_the_territory() {
    let pb = with(&[
        (
            "assignment:\n",
            "assignment:\n  - name: Kunde AG is Grace's account\n    routes: [hot]\n    domains: [kunde.de]\n    rep: grace.lee\n",
        ),
        (
            "{ id: grace.lee, name: Grace Lee, email: grace.lee@example.com, role: field_sales, time_zone: America/New_York, calendar: americas }",
            "{ id: grace.lee, name: Grace Lee, email: grace.lee@example.com, role: field_sales, time_zone: America/New_York, calendar: americas, away: true }",
        ),
    ]);
    let d = decision(&pb, HOT_DE, PoolState::default());
    assert_eq!(d.pool.as_deref(), Some("emea-field"));
}

#[test]
fn industry_and_product_rules_route_to_specialists() {
    let pb = with(&[(
        "assignment:\n",
        "assignment:\n  - name: energy specialists\n    routes: [hot]\n    industries: [Energy]\n    pool: amer-field\n  - name: grid product team\n    routes: [hot]\n    interests: [grid analytics]\n    rep: tom.baker\n",
    )]);
    let energy = decision(
        &pb,
        &[
            ("email", "e@x.de"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
            ("industry", "energy"),
        ],
        PoolState::default(),
    );
    assert_eq!(
        energy.pool.as_deref(),
        Some("amer-field"),
        "industry matches case-insensitively"
    );
    let product = decision(
        &pb,
        &[
            ("email", "p@x.de"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
            ("interest", "Grid Analytics for utilities"),
        ],
        PoolState::default(),
    );
    assert_eq!(product.owner.display_name(), "Tom Baker");
}

#[test]
fn least_loaded_pools_pick_the_rep_with_fewest_open_leads() {
    let pb = with(&[(
        "{ name: emea-field, reps: [ana.ruiz, jonas.weber] }",
        "{ name: emea-field, reps: [ana.ruiz, jonas.weber], strategy: least_loaded }",
    )]);
    let loads = |a, j| PoolState {
        cursor: 0,
        loads: BTreeMap::from([("ana.ruiz".to_string(), a), ("jonas.weber".to_string(), j)]),
    };
    assert_eq!(
        decision(&pb, HOT_DE, loads(5, 2)).owner.display_name(),
        "Jonas Weber"
    );
    assert_eq!(
        decision(&pb, HOT_DE, loads(1, 2)).owner.display_name(),
        "Ana Ruiz"
    );
    let d = decision(&pb, HOT_DE, loads(3, 3));
    assert_eq!(
        d.owner.display_name(),
        "Ana Ruiz",
        "ties go in turn from the cursor"
    );
    assert!(
        d.reasons[3].contains("least-loaded (3 open)"),
        "{}",
        d.reasons[3]
    );
    let tie_next = decision(
        &pb,
        HOT_DE,
        PoolState {
            cursor: 1,
            ..loads(3, 3)
        },
    );
    assert_eq!(tie_next.owner.display_name(), "Jonas Weber");
}

#[test]
fn reps_who_are_away_are_skipped_and_an_empty_pool_falls_back() {
    let away = |text: &str| {
        text.replace(
            "email: ana.ruiz@example.com, role: field_sales, time_zone: Europe/Madrid }",
            "email: ana.ruiz@example.com, role: field_sales, time_zone: Europe/Madrid, away: true }",
        )
    };
    let pb = with(&[(
        "{ id: ana.ruiz, name: Ana Ruiz, email: ana.ruiz@example.com, role: field_sales, time_zone: Europe/Madrid }",
        &away("{ id: ana.ruiz, name: Ana Ruiz, email: ana.ruiz@example.com, role: field_sales, time_zone: Europe/Madrid }"),
    )]);
    for cursor in 0..4 {
        let d = decision(
            &pb,
            HOT_DE,
            PoolState {
                cursor,
                ..Default::default()
            },
        );
        assert_eq!(d.owner.display_name(), "Jonas Weber");
        assert!(
            d.reasons[3].contains("(1 away skipped)"),
            "{}",
            d.reasons[3]
        );
    }
    let pb = with(&[
        (
            "{ id: ana.ruiz, name: Ana Ruiz, email: ana.ruiz@example.com, role: field_sales, time_zone: Europe/Madrid }",
            "{ id: ana.ruiz, name: Ana Ruiz, email: ana.ruiz@example.com, role: field_sales, time_zone: Europe/Madrid, away: true }",
        ),
        (
            "{ id: jonas.weber, name: Jonas Weber, email: jonas.weber@example.com, role: field_sales, time_zone: Europe/Berlin }",
            "{ id: jonas.weber, name: Jonas Weber, email: jonas.weber@example.com, role: field_sales, time_zone: Europe/Berlin, away: true }",
        ),
    ]);
    let d = decision(&pb, HOT_DE, PoolState::default());
    assert_eq!(d.owner.key(), "queue#unassigned");
    assert!(
        d.reasons[3].contains("has nobody available → fallback queue"),
        "{}",
        d.reasons[3]
    );
}

#[test]
fn route_rules_can_use_the_score() {
    let pb = with(&[(
        "  - name: asked for a demo or an assessment, inside sales answers in person",
        "  - name: strong fit and interest, inside sales calls now\n    when: { score_at_least: 40 }\n    route: high_potential\n  - name: asked for a demo or an assessment, inside sales answers in person",
    )]);
    // A CTO at a large energy company asking for an assessment: no B.A.N.T. yet, but a strong score.
    let strong = decision(
        &pb,
        &[
            ("email", "cto@grid.example"),
            ("country", "US"),
            ("request_type", "assessment"),
            ("industry", "energy"),
            ("company_size", "1000+"),
            ("title", "CTO"),
        ],
        PoolState::default(),
    );
    assert_eq!(strong.score.total, 55, "{}", strong.reasons[1]);
    assert_eq!(strong.route.as_str(), "high_potential");
    let weak = decision(
        &pb,
        &[("email", "x@grid.example"), ("country", "US")],
        PoolState::default(),
    );
    assert_eq!(weak.route.as_str(), "need_information");
}

#[test]
fn every_email_address_is_normalised_before_matching_named_accounts() {
    let pb = with(&[(
        "assignment:\n",
        "assignment:\n  - name: Kunde AG\n    routes: [hot]\n    domains: [kunde.de]\n    rep: grace.lee\n",
    )]);
    let d = decision(
        &pb,
        &[
            ("email", " Someone@KUNDE.DE "),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ],
        PoolState::default(),
    );
    assert_eq!(d.owner.display_name(), "Grace Lee");
    assert_eq!(
        EmailAddress::parse(" Someone@KUNDE.DE ").unwrap().as_str(),
        "someone@kunde.de"
    );
}

#[test]
fn a_later_low_intent_form_never_hands_a_lead_down_the_value_chain() {
    let pb = Playbook::default_playbook().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let inquiry = |fields: &[(&str, &str)]| {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Inquiry::parse(&fields, &pb.bant).unwrap()
    };
    let first = inquiry(HOT_DE);
    let mut lead = Lead::new(LeadId::generate(), first.email.clone(), now);
    let rec = lead.apply_response(&first, &ResponseId::generate(), now);
    let mut history = vec![HistoryEntry::new(&lead.id, now, Event::Response(rec))];
    let hot = decide(&lead, &history, &pb, now, |_| PoolState::default());
    assert_eq!(hot.route.as_str(), "hot");
    lead.apply_decision(hot.clone(), now);

    // A week later the same person downloads the information kit.
    let later = now + chrono::Duration::days(7);
    let info = inquiry(&[
        ("email", "x@kunde.de"),
        ("country", "DE"),
        ("request_type", "info"),
    ]);
    let rec = lead.apply_response(&info, &ResponseId::generate(), later);
    history.push(HistoryEntry::new(&lead.id, later, Event::Response(rec)));
    let again = decide(&lead, &history, &pb, later, |_| PoolState::default());
    assert_eq!(again.route, hot.route, "{:?}", again.reasons);
    assert_eq!(again.owner, hot.owner, "the field seller keeps it");
    assert!(
        again.reasons[2].contains("only a rep hands a lead down"),
        "{}",
        again.reasons[2]
    );

    // Up the chain is always allowed: an info lead that asks for an on-site demo goes to field sales.
    let mut lead = Lead::new(LeadId::generate(), info.email.clone(), now);
    let rec = lead.apply_response(&info, &ResponseId::generate(), now);
    let mut history = vec![HistoryEntry::new(&lead.id, now, Event::Response(rec))];
    let low = decide(&lead, &history, &pb, now, |_| PoolState::default());
    assert!(low.route.value() < hot.route.value());
    lead.apply_decision(low, now);
    let rec = lead.apply_response(&first, &ResponseId::generate(), later);
    history.push(HistoryEntry::new(&lead.id, later, Event::Response(rec)));
    let up = decide(&lead, &history, &pb, later, |_| PoolState::default());
    assert_eq!(up.route.as_str(), "hot");
}
