//! The seed documents' tables, as tests of the default playbook.
//! Seed 000: the B.A.N.T. stage table and the request-type hand-offs.
//! Seed 003: the route categories.

use chrono::{TimeZone, Utc};
use leadflow::domain::decision::{PoolState, Route, Stage};
use leadflow::domain::ids::{LeadId, ResponseId};
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::routing::{decide, qualify};
use leadflow::{EmailAddress, Lead, Playbook};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn playbook() -> Playbook {
    Playbook::default_playbook().expect("the shipped playbook is valid")
}

/// A lead built the way intake builds it: from a posted form.
fn lead(fields: &[(&str, &str)]) -> Lead {
    let pb = playbook();
    let mut all: Vec<(String, String)> = vec![("email".into(), "p@example.com".into())];
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let inquiry = Inquiry::parse(&all, &pb.bant).expect("valid inquiry");
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let mut lead = Lead::new(
        LeadId::generate(),
        EmailAddress::parse("p@example.com").unwrap(),
        now,
    );
    lead.apply_response(&inquiry, &ResponseId::generate(), now);
    lead
}

#[test]
fn the_four_typical_profiles_of_the_stage_table_land_on_their_stage() {
    // Each column of seed 000's table, in the default vocabulary.
    let cases = [
        (
            "Inquiry: budget not defined, influencer gathering information, problem not identified, time frame not identified",
            [("budget", "not_defined"), ("authority", "influencer"), ("need", "not_identified"), ("timeframe", "unknown")],
            0,
            Stage::Inquiry,
        ),
        (
            "Lead: budget not defined, specifier in selection, need identified, purchase 6+ months out",
            [("budget", "not_defined"), ("authority", "decision_maker"), ("need", "identified"), ("timeframe", "6_to_12_months")],
            2,
            Stage::Lead,
        ),
        (
            "Opportunity: budget defined, decision maker in selection, need established, purchase in 3-6 months",
            [("budget", "defined"), ("authority", "decision_maker"), ("need", "established"), ("timeframe", "3_to_6_months")],
            3,
            Stage::Opportunity,
        ),
        (
            "Qualified opportunity: budget defined and fits, decision maker deciding, need established, 0-3 months",
            [("budget", "defined_fits"), ("authority", "decision_maker"), ("need", "established"), ("timeframe", "within_3_months")],
            4,
            Stage::QualifiedOpportunity,
        ),
    ];
    let pb = playbook();
    for (name, answers, met, stage) in cases {
        let q = qualify(&lead(&answers), &pb);
        assert_eq!(q.met.len(), met, "{name}");
        assert_eq!(q.stage, stage, "{name}");
    }
}

#[test]
fn met_counts_map_to_stages_exactly_as_the_seed_table() {
    // 0–1 Inquiry, 2 Lead, 3 Opportunity, 4 Qualified opportunity.
    let pb = playbook();
    let expected = [
        Stage::Inquiry,
        Stage::Inquiry,
        Stage::Lead,
        Stage::Opportunity,
        Stage::QualifiedOpportunity,
    ];
    for (met, stage) in expected.iter().enumerate() {
        assert_eq!(pb.stages.stage_for(met), *stage, "{met} criteria met");
    }
}

#[test]
fn each_criterion_is_met_by_the_default_answers_and_only_those() {
    let pb = playbook();
    let met = [
        (
            "budget",
            vec!["defined", "defined_fits"],
            vec!["unknown", "not_defined"],
        ),
        (
            "authority",
            vec!["decision_maker"],
            vec!["unknown", "influencer", "specifier"],
        ),
        (
            "need",
            vec!["identified", "established"],
            vec!["unknown", "not_identified"],
        ),
        (
            "timeframe",
            vec!["within_3_months"],
            vec![
                "unknown",
                "3_to_6_months",
                "6_to_12_months",
                "over_12_months",
            ],
        ),
    ];
    for (criterion, yes, no) in met {
        for v in yes {
            assert_eq!(
                qualify(&lead(&[(criterion, v)]), &pb).met.len(),
                1,
                "{criterion}={v} is met"
            );
        }
        for v in no {
            assert_eq!(
                qualify(&lead(&[(criterion, v)]), &pb).met.len(),
                0,
                "{criterion}={v} is not met"
            );
        }
    }
}

const ALL4: [(&str, &str); 4] = [
    ("budget", "defined_fits"),
    ("authority", "decision_maker"),
    ("need", "established"),
    ("timeframe", "within_3_months"),
];
const THREE: [(&str, &str); 4] = [
    ("budget", "defined"),
    ("authority", "decision_maker"),
    ("need", "established"),
    ("timeframe", "3_to_6_months"),
];
const TWO: [(&str, &str); 4] = [
    ("budget", "not_defined"),
    ("authority", "decision_maker"),
    ("need", "identified"),
    ("timeframe", "over_12_months"),
];

fn with(request: &str, answers: &[(&'static str, &'static str)], country: &str) -> Lead {
    let mut f: Vec<(&str, &str)> = answers.to_vec();
    f.push(("request_type", request));
    f.push(("country", country));
    lead(&f)
}

#[test]
fn seed_000_hand_offs_to_field_sales() {
    let pb = playbook();
    let route = |l: &Lead| decide(l, &[], &pb, now(), |_| Default::default()).route;
    // On-site demo → field sales at once, whatever is known.
    assert_eq!(route(&with("onsite_demo", &[], "DE")), Route::Hot);
    // Demo with RFI → field sales at 3+ criteria; below that inside sales qualifies further.
    assert_eq!(route(&with("rfi", &THREE, "DE")), Route::Hot);
    assert_eq!(route(&with("rfi", &ALL4, "DE")), Route::Hot);
    assert_eq!(route(&with("rfi", &TWO, "DE")), Route::HighPotential);
    // Demo with RFP → field sales only at all 4.
    assert_eq!(route(&with("rfp", &ALL4, "DE")), Route::Hot);
    assert_eq!(route(&with("rfp", &THREE, "DE")), Route::HighPotential);
}

#[test]
fn seed_003_route_categories() {
    let pb = playbook();
    let route = |l: &Lead| decide(l, &[], &pb, now(), |_| Default::default()).route;
    // Hot: scores well, particularly for timing.
    assert_eq!(route(&with("info", &ALL4, "US")), Route::Hot);
    // High potential: scores well in most categories.
    assert_eq!(route(&with("demo", &TWO, "US")), Route::HighPotential);
    assert_eq!(
        route(&with("info", &THREE, "US")),
        Route::HighPotential,
        "3 met without timing"
    );
    // Need information: nothing known yet.
    assert_eq!(route(&with("info", &[], "US")), Route::NeedInformation);
    // Need nurturing: known but far off.
    assert_eq!(
        route(&with(
            "info",
            &[("timeframe", "over_12_months"), ("authority", "influencer")],
            "US"
        )),
        Route::NeedNurturing
    );
    // Low potential: no budget, no identified need.
    assert_eq!(
        route(&with(
            "info",
            &[
                ("budget", "not_defined"),
                ("need", "not_identified"),
                ("timeframe", "3_to_6_months")
            ],
            "US"
        )),
        Route::LowPotential
    );
    // Partner opportunity: a partner territory.
    assert_eq!(route(&with("demo", &TWO, "BR")), Route::Partner);
}

#[test]
fn assignment_follows_territory_round_robin_and_explains_itself() {
    let pb = playbook();
    let l = with("onsite_demo", &ALL4, "DE");
    let first = decide(&l, &[], &pb, now(), |_| Default::default());
    let second = decide(&l, &[], &pb, now(), |_| PoolState {
        cursor: 1,
        ..Default::default()
    });
    assert_eq!(first.owner.display_name(), "Ana Ruiz");
    assert_eq!(second.owner.display_name(), "Jonas Weber");
    assert_eq!(first.pool.as_deref(), Some("emea-field"));
    let why = first.summary();
    assert!(why.contains("Qualified opportunity: 4 of 4"), "{why}");
    assert!(why.contains("hot: on-site demo requested"), "{why}");
    assert!(
        why.contains("territory DE → pool emea-field → round-robin → Ana Ruiz"),
        "{why}"
    );
    // Outside every territory: the fallback of the route's channel, then the fallback queue.
    let jp = decide(&with("onsite_demo", &ALL4, "JP"), &[], &pb, now(), |_| {
        Default::default()
    });
    assert_eq!(jp.owner.key(), "queue#inside-sales");
    let nurture = decide(
        &with("info", &[("timeframe", "over_12_months")], "DE"),
        &[],
        &pb,
        now(),
        |_| Default::default(),
    );
    assert_eq!(nurture.owner.key(), "queue#nurture");
}

#[test]
fn shipped_email_templates_parse() {
    for (name, html, text) in leadflow::email::BUNDLED {
        leadflow::email::check(name, html).unwrap();
        leadflow::email::check(name, text).unwrap();
    }
    for kit in playbook().kits.values() {
        assert!(
            leadflow::email::template(&kit.template).is_some(),
            "{} is bundled",
            kit.template
        );
        leadflow::email::check("subject", &kit.subject).unwrap();
    }
}
