//! How a new response folds into a lead: nothing known is erased, a form never
//! withdraws consent, and what a rep learned on the phone outranks a form.

use chrono::{TimeZone, Utc};
use leadflow::domain::bant::{KnownAnswer, SALES_SOURCE};
use leadflow::domain::inquiry::Inquiry;
use leadflow::{Criterion, EmailAddress, Lead, LeadId, Playbook, ResponseId};

fn inquiry(fields: &[(&str, &str)]) -> Inquiry {
    let pb = Playbook::default_playbook().unwrap();
    let f: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Inquiry::parse(&f, &pb.bant).unwrap()
}

fn lead() -> Lead {
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
    Lead::new(
        LeadId::generate(),
        EmailAddress::parse("p@example.com").unwrap(),
        now,
    )
}

#[test]
fn a_form_can_grant_consent_but_never_withdraw_it() {
    let mut l = lead();
    let now = l.created_at;
    l.apply_response(
        &inquiry(&[("email", "p@example.com"), ("consent_email", "true")]),
        &ResponseId::generate(),
        now,
    );
    assert!(l.consent_email.as_ref().unwrap().granted);
    let r = l.apply_response(
        &inquiry(&[("email", "p@example.com"), ("consent_email", "false")]),
        &ResponseId::generate(),
        now,
    );
    assert!(l.consent_email.as_ref().unwrap().granted, "still granted");
    assert!(r.changes.iter().all(|c| c.field != "consent_email"));
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].field, "consent_email");
    assert_eq!(r.conflicts[0].offered, "false");
}

#[test]
fn what_sales_recorded_outranks_a_form_and_the_conflict_is_kept() {
    let mut l = lead();
    let now = l.created_at;
    l.bant.0.insert(
        Criterion::Timeframe,
        KnownAnswer {
            value: "within_3_months".into(),
            at: now,
            source: format!("{SALES_SOURCE}:lena.fischer"),
            campaign: None,
        },
    );
    let r = l.apply_response(
        &inquiry(&[
            ("email", "p@example.com"),
            ("timeframe", "over_12_months"),
            ("need", "identified"),
        ]),
        &ResponseId::generate(),
        now,
    );
    assert_eq!(l.bant.value(Criterion::Timeframe), "within_3_months");
    assert_eq!(
        l.bant.value(Criterion::Need),
        "identified",
        "a new answer is taken"
    );
    assert_eq!(r.conflicts.len(), 1);
    let c = &r.conflicts[0];
    assert_eq!(
        (c.field.as_str(), c.kept.as_str(), c.offered.as_str()),
        ("timeframe", "within_3_months", "over_12_months")
    );
    assert_eq!(
        r.answers[&Criterion::Timeframe],
        "over_12_months",
        "what the form said"
    );
}

#[test]
fn history_written_under_the_earlier_spelling_still_reads() {
    use leadflow::domain::lead::EmailKind;
    let old: EmailKind = serde_json::from_str("\"fulfilment\"").unwrap();
    assert_eq!(old, EmailKind::Fulfillment);
    assert_eq!(
        serde_json::to_string(&EmailKind::Fulfillment).unwrap(),
        "\"fulfillment\""
    );
}

#[test]
fn idempotency_replies_stored_with_an_http_status_still_replay() {
    use leadflow::ports::{Answer, StoredReply};
    let old = r#"{"status":303,"lead_id":"ld_01M864NG62TDTYVD32NE8G47EH","location":"https://example.com/thanks","fingerprint":"f","created_at":"2026-11-23T09:00:00Z"}"#;
    let reply: StoredReply = serde_json::from_str(old).unwrap();
    assert_eq!(
        reply.answer,
        Answer::Redirect {
            location: "https://example.com/thanks".into()
        }
    );
    let new = serde_json::to_string(&reply).unwrap();
    assert_eq!(serde_json::from_str::<StoredReply>(&new).unwrap(), reply);
}

#[test]
fn a_changed_answer_takes_the_new_responses_value_time_source_and_campaign() {
    let mut l = lead();
    let first = l.created_at;
    l.apply_response(
        &inquiry(&[
            ("email", "p@example.com"),
            ("budget", "defined"),
            ("source", "web"),
            ("campaign", "a-rather-long-spring-campaign"),
        ]),
        &ResponseId::generate(),
        first,
    );
    let later = first + chrono::Duration::days(3);
    l.apply_response(
        &inquiry(&[
            ("email", "p@example.com"),
            ("budget", "defined_fits"),
            ("source", "event"),
        ]),
        &ResponseId::generate(),
        later,
    );
    assert_eq!(
        l.bant.0.get(&Criterion::Budget),
        Some(&KnownAnswer {
            value: "defined_fits".into(),
            at: later,
            source: "event".into(),
            campaign: None,
        })
    );
}
