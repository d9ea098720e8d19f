//! The playbook is validated at build time (here) and at cold start: every
//! problem is reported with the file, the line and what is wrong.

use leadflow::domain::playbook::{Playbook, DEFAULT_PLAYBOOK};

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

/// Replace `from` (which must occur) in the default playbook, parse, and return the problems.
fn problems(from: &str, to: &str) -> (String, Vec<(Option<usize>, String)>) {
    assert!(
        DEFAULT_PLAYBOOK.contains(from),
        "the default playbook contains {from:?}"
    );
    let text = DEFAULT_PLAYBOOK.replacen(from, to, 1);
    let err = Playbook::parse(&text, "custom.yaml").expect_err("should be refused");
    assert_eq!(err.file, "custom.yaml");
    let rendered = err.to_string();
    assert!(
        rendered.starts_with("custom.yaml: invalid playbook"),
        "{rendered}"
    );
    (
        text,
        err.problems
            .into_iter()
            .map(|p| (p.line, p.message))
            .collect(),
    )
}

fn assert_problem(from: &str, to: &str, says: &str, on_line_with: &str) {
    let (text, found) = problems(from, to);
    let hit = found.iter().find(|(_, m)| m.contains(says));
    let Some((line, _)) = hit else {
        panic!("no problem saying {says:?} in {found:#?}");
    };
    assert_eq!(
        *line,
        Some(line_of(&text, on_line_with)),
        "{says}: {found:?}"
    );
}

#[test]
fn the_shipped_playbook_is_valid() {
    Playbook::default_playbook().unwrap();
}

#[test]
fn yaml_syntax_errors_name_the_line() {
    assert_problem("stages:\n  lead: 2", "stages:\n  lead: [2", "", "lead: [2");
}

#[test]
fn misspelt_keys_are_refused_not_ignored() {
    assert_problem(
        "  opportunity: 3",
        "  oportunity: 3",
        "unknown field `oportunity`",
        "oportunity: 3",
    );
}

#[test]
fn wrong_types_and_unknown_route_names_are_refused() {
    assert_problem(
        "    route: low_potential",
        "    route: lukewarm",
        "unknown variant `lukewarm`",
        "route: lukewarm",
    );
    assert_problem("  lead: 2", "  lead: two", "invalid type", "lead: two");
}

#[test]
fn every_criterion_lists_unknown() {
    assert_problem(
        "  budget:\n    - { value: unknown }\n",
        "  budget:\n",
        "bant.budget: must list the answer `unknown`",
        "budget:",
    );
}

#[test]
fn unknown_cannot_be_met() {
    assert_problem(
        "  need:\n    - { value: unknown }",
        "  need:\n    - { value: unknown, met: true }",
        "`unknown` cannot count as met",
        "need:",
    );
}

#[test]
fn answers_are_unique_and_well_formed() {
    assert_problem(
        "    - { value: specifier, label: Specifier involved in selection, points: 8 }",
        "    - { value: influencer, label: again }",
        "answer `influencer` is listed twice",
        "value: influencer",
    );
    assert_problem(
        "    - { value: over_12_months, label: Purchase in over 12 months }",
        "    - { value: Over 12, label: Purchase in over 12 months }",
        "answer `Over 12` must be lower-case",
        "value: Over 12",
    );
}

#[test]
fn a_criterion_that_can_never_be_met_is_refused() {
    assert_problem(
        "    - { value: within_3_months, label: Purchase within 3 months, met: true, points: 25 }",
        "    - { value: within_3_months, label: Purchase within 3 months, points: 25 }",
        "bant.timeframe: no answer counts as met",
        "timeframe:",
    );
}

#[test]
fn stage_thresholds_must_rise() {
    assert_problem(
        "  opportunity: 3",
        "  opportunity: 2",
        "thresholds must rise",
        "stages:",
    );
}

#[test]
fn route_rules_must_be_reachable_and_total() {
    assert_problem(
        "  - name: on-site demo requested, field sales at once\n    when: { request_type: [onsite_demo] }",
        "  - name: on-site demo requested, field sales at once",
        "matches everything, so the rules after it can never apply",
        "name: on-site demo requested",
    );
    assert_problem(
        "  - name: not sales-ready yet\n    route: need_nurturing",
        "  - name: not sales-ready yet\n    when: { met_at_most: 1 }\n    route: need_nurturing",
        "the last rule must have no `when`",
        "routes:",
    );
}

#[test]
fn route_conditions_use_real_answers_and_counts() {
    assert_problem(
        "when: { answers: { timeframe: [6_to_12_months, over_12_months] } }",
        "when: { answers: { timeframe: [next_year] } }",
        "`next_year` is not an answer of timeframe",
        "name: known but far off",
    );
    assert_problem(
        "when: { met_at_least: 2 }\n    route: high_potential",
        "when: { met_at_least: 5 }\n    route: high_potential",
        "counts of criteria go from 0 to 4, not 5",
        "name: 2 or more criteria met",
    );
}

#[test]
fn reps_are_unique_with_valid_email() {
    assert_problem(
        "  - { id: jonas.weber, name: Jonas Weber, email: jonas.weber@example.com, role: field_sales, time_zone: Europe/Berlin }",
        "  - { id: ana.ruiz, name: Jonas Weber, email: jonas.weber@example.com, role: field_sales, time_zone: Europe/Berlin }",
        "id `ana.ruiz` is used twice",
        "id: ana.ruiz",
    );
    assert_problem(
        "email: grace.lee@example.com",
        "email: grace.lee",
        "invalid email `grace.lee`",
        "email: grace.lee",
    );
}

#[test]
fn pools_name_known_reps() {
    assert_problem(
        "reps: [lena.fischer]",
        "reps: [lena.fisher]",
        "names `lena.fisher`, who is not in reps",
        "lena.fisher",
    );
    assert_problem(
        "reps: [sam.patel]",
        "reps: []",
        "`amer-inside` has no reps",
        "name: amer-inside",
    );
    assert_problem(
        "  - { name: amer-inside, reps: [sam.patel] }",
        "  - { name: emea-inside, reps: [sam.patel] }",
        "`emea-inside` is defined twice",
        "name: emea-inside",
    );
}

#[test]
fn assignment_targets_exist() {
    assert_problem(
        "    pool: amer-field",
        "    pool: americas-field",
        "pool `americas-field` is not defined",
        "name: Americas field sales",
    );
    assert_problem(
        "    queue: self-serve",
        "    queue: webshop",
        "queue `webshop` is not defined",
        "name: self-serve",
    );
    assert_problem(
        "    pool: latam-partner",
        "    rep: nobody",
        "rep `nobody` is not in reps",
        "name: LATAM partner",
    );
    assert_problem(
        "fallback_queue: unassigned",
        "fallback_queue: limbo",
        "fallback_queue: `limbo` is not in queues",
        "fallback_queue:",
    );
}

#[test]
fn every_request_type_has_a_bundled_kit() {
    assert_problem(
        "  rfp:\n    name: Proposal next steps (RFP)",
        "  rfp_old:\n    name: Proposal next steps (RFP)",
        "unknown variant `rfp_old`",
        "rfp_old:",
    );
    assert_problem(
        "    template: info_kit",
        "    template: brochure",
        "template `brochure` is not one of",
        "template: brochure",
    );
}

#[test]
fn scoring_and_slas_are_sane() {
    assert_problem(
        "    half_life_days: 30",
        "    half_life_days: 0",
        "half_life_days must be more than 0",
        "half_life_days:",
    );
    assert_problem(
        "  partner: 16",
        "  partner: 0",
        "slas.partner: 0 hours cannot be met",
        "partner: 0",
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = DEFAULT_PLAYBOOK
        .replacen("reps: [lena.fischer]", "reps: [lena.fisher]", 1)
        .replacen("fallback_queue: unassigned", "fallback_queue: limbo", 1)
        .replacen("  opportunity: 3", "  opportunity: 2", 1);
    let err = Playbook::parse(&text, "p.yaml").unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
    for p in &err.problems {
        assert!(p.line.is_some(), "{err}");
    }
}

#[test]
fn misspelt_keys_in_assignment_rules_are_refused_too() {
    let (_, found) = problems(
        "    countries: [US, CA]\n    pool: amer-field",
        "    countrys: [US, CA]\n    pool: amer-field",
    );
    assert!(
        found
            .iter()
            .any(|(line, m)| m.contains("unknown field `countrys`") && line.is_some()),
        "{found:?}"
    );
}

#[test]
fn repeats_and_limits_are_checked() {
    assert_problem(
        "coalesce_minutes: 10",
        "coalesce_minutes: 2000",
        "repeats.coalesce_minutes: at most 1440",
        "coalesce_minutes: 2000",
    );
    assert_problem(
        "owner_notice_delay_seconds: 5",
        "owner_notice_delay_seconds: 901",
        "repeats.owner_notice_delay_seconds: at most 900",
        "owner_notice_delay_seconds: 901",
    );
    assert_problem(
        "per_address: { max: 30, minutes: 60 }",
        "per_address: { max: 0, minutes: 60 }",
        "limits.per_address: max must be at least 1",
        "per_address:",
    );
    assert_problem(
        "per_source_ip: { max: 300, minutes: 1 }",
        "per_source_ip: { max: 300, minutes: 0 }",
        "limits.per_source_ip: max must be at least 1 and minutes from 1 to 1440",
        "per_source_ip:",
    );
}

#[test]
fn the_spam_guard_uses_fields_of_its_own_and_a_humane_minimum() {
    assert_problem(
        "honeypot_field: hp_website",
        "honeypot_field: email",
        "spam.honeypot_field: `email` must be a form field of its own",
        "honeypot_field: email",
    );
    assert_problem(
        "fill_time_field: form_fill_ms",
        "fill_time_field: redirect",
        "spam.fill_time_field: `redirect` must be a form field of its own",
        "fill_time_field: redirect",
    );
    assert_problem(
        "fill_time_field: form_fill_ms",
        "fill_time_field: \"fill time\"",
        "spam.fill_time_field: `fill time` must be a form field of its own",
        "fill_time_field:",
    );
    assert_problem(
        "fill_time_field: form_fill_ms",
        "fill_time_field: hp_website",
        "spam: the honeypot and the fill time must be two fields",
        "fill_time_field:",
    );
    assert_problem(
        "min_fill_seconds: 3",
        "min_fill_seconds: 90",
        "spam.min_fill_seconds: at most 60",
        "min_fill_seconds:",
    );
    // Absent: on, with the defaults the landing page uses.
    let start = DEFAULT_PLAYBOOK.find("\nspam:\n").unwrap();
    let end = DEFAULT_PLAYBOOK[start + 1..].find("\n\n").unwrap() + start + 1;
    let without = format!("{}{}", &DEFAULT_PLAYBOOK[..start], &DEFAULT_PLAYBOOK[end..]);
    let pb = Playbook::parse(&without, "custom.yaml").unwrap();
    assert_eq!(pb.spam, Playbook::default_playbook().unwrap().spam);
}

#[test]
fn rate_limit_windows_are_fixed_and_say_when_to_retry() {
    use chrono::TimeZone;
    use leadflow::domain::playbook::{QuotaScope, RateLimit};
    let limit = RateLimit {
        max: 5,
        minutes: 60,
    };
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 59, 30)
        .unwrap();
    let q = limit.quota(QuotaScope::Address, "address#a@example.com".into(), at);
    assert_eq!(q.window_start.to_rfc3339(), "2026-11-24T09:00:00+00:00");
    assert_eq!(q.window_end.to_rfc3339(), "2026-11-24T10:00:00+00:00");
    assert_eq!(q.retry_after(at), 30);
    assert_eq!(q.retry_after(q.window_end), 1, "never 0");
    let pb = Playbook::default_playbook().unwrap();
    let email = leadflow::EmailAddress::parse("a@example.com").unwrap();
    let scopes: Vec<_> = pb
        .limits
        .quotas(&email, Some("192.0.2.1"), at)
        .into_iter()
        .map(|q| (q.scope, q.key))
        .collect();
    assert_eq!(
        scopes,
        [
            (QuotaScope::Address, "address#a@example.com".to_string()),
            (QuotaScope::SourceIp, "ip#192.0.2.1".to_string())
        ]
    );
    assert_eq!(
        pb.limits.quotas(&email, None, at).len(),
        1,
        "no IP, no IP limit"
    );
}

#[test]
fn roles_are_checked() {
    assert_problem(
        "role: manager, manages: [emea-field, emea-inside, inside-sales]",
        "role: manager",
        "manager `nina.kovac` manages no pool or queue",
        "id: nina.kovac",
    );
    assert_problem(
        "manages: [emea-field, emea-inside, inside-sales]",
        "manages: [emea-field, nowhere]",
        "manages `nowhere`, which is neither a pool nor a queue",
        "id: nina.kovac",
    );
    assert_problem(
        "email: sam.patel@example.com, role: isr",
        "email: sam.patel@example.com, role: isr, manages: [amer-inside]",
        "`sam.patel` is `isr`; only a manager has `manages`",
        "id: sam.patel",
    );
    assert_problem(
        "email: sam.patel@example.com, role: isr",
        "email: sam.patel@example.com, role: ops",
        "names `sam.patel`, whose role `ops` owns no leads",
        "sam.patel",
    );
    assert_problem(
        "email: olaf.berg@example.com, role: ops",
        "email: olaf.berg@example.com, role: manager, manages: [nurture]",
        "nobody has the role `ops`",
        "reps:",
    );
}

#[test]
fn a_request_for_a_person_may_not_end_on_a_queue_nobody_reads() {
    // Without the rule that sends weak demo and assessment requests to inside
    // sales, they would fall through to the nurture and self-serve queues.
    assert_problem(
        "  - name: asked for a demo or an assessment, inside sales answers in person\n    when: { request_type: [demo, assessment] }\n    route: need_information\n",
        "",
        "`not sales-ready yet` can send a request for assessment, demo to route need_nurturing, which can end on queue `nurture` with no email",
        "name: not sales-ready yet",
    );
    // A mailbox on the queue is a way to be told, too.
    let text = DEFAULT_PLAYBOOK
        .replace(
            "  - name: asked for a demo or an assessment, inside sales answers in person\n    when: { request_type: [demo, assessment] }\n    route: need_information\n",
            "",
        )
        .replace(
            "{ name: self-serve, label: our online store team }",
            "{ name: self-serve, label: our online store team, email: store@example.com }",
        )
        .replace(
            "{ name: nurture, label: our customer success team }",
            "{ name: nurture, label: our customer success team, email: success@example.com }",
        );
    Playbook::parse(&text, "t.yaml").unwrap();
}

#[test]
fn follow_up_flows_are_checked() {
    assert_problem(
        "no_interest: { then: dead }",
        "no_interest: { then: dead, task: { kind: call_again, in_days: 1 } }",
        "follow_up.outcomes.no_interest: a dead lead has no open tasks",
        "no_interest: { then: dead, task",
    );
    assert_problem(
        "not_reached: { then: keep, task: { kind: call_again, in_days: 1 } }",
        "not_reached: { then: keep, hand_off_at: 3, task: { kind: call_again, in_days: 1 } }",
        "follow_up.outcomes.not_reached: hand_off_at goes with `then: rescore`",
        "not_reached: { then: keep, hand_off_at",
    );
    assert_problem(
        "not_now: { then: nurture, task: { kind: periodic_follow_up, in_days: 20 } }",
        "not_now: { then: nurture, task: { kind: periodic_follow_up } }",
        "follow_up.outcomes.not_now: a task is due either `in_days`",
        "not_now: { then: nurture",
    );
    assert_problem(
        "first_touch_hours: 16",
        "first_touch_hours: 72",
        "follow_up.first_touch_hours: 1 to 48",
        "first_touch_hours: 72",
    );
    let (_, found) = problems(
        "wants_onsite: { then: hand_off }",
        "wants_onsite: { then: teleport }",
    );
    assert!(
        found.iter().any(|(_, m)| m.contains("teleport")),
        "{found:?}"
    );
    let (_, found) = problems(
        "not_reached: { then: keep, task: { kind: call_again, in_days: 1 } }",
        "not_reachd: { then: keep }",
    );
    assert!(
        found.iter().any(|(_, m)| m.contains("not_reachd")),
        "{found:?}"
    );
}

#[test]
fn an_outcome_the_playbook_leaves_out_does_what_seed_000_says() {
    use leadflow::domain::outcome::Outcome;
    use leadflow::domain::playbook::OutcomeFlow;
    let shipped = Playbook::default_playbook().unwrap();
    for o in Outcome::ALL {
        assert_eq!(
            shipped.follow_up.flow(o),
            OutcomeFlow::seed(o),
            "{o}: the shipped playbook spells out seed 000"
        );
    }
    let text = DEFAULT_PLAYBOOK.replacen("    wants_onsite: { then: hand_off }\n", "", 1);
    let pb = Playbook::parse(&text, "custom.yaml").unwrap();
    assert_eq!(
        pb.follow_up.flow(Outcome::WantsOnsite),
        OutcomeFlow::seed(Outcome::WantsOnsite)
    );
}

#[test]
fn report_assumptions_are_probabilities_and_shares() {
    assert_problem(
        "proposal_sent: 0.5 }",
        "proposal_sent: 1.5 }",
        "reports.forecast.proposal_sent: a probability from 0 to 1, got 1.5",
        "forecast:",
    );
    assert_problem(
        "max_bounce_rate: 0.05",
        "max_bounce_rate: 5",
        "reports.max_bounce_rate: a share from 0 to 1, got 5",
        "max_bounce_rate:",
    );
}

/// Hostile playbooks (issue 11): whatever the file holds — any text, or the
/// shipped playbook cut, shuffled or spliced with odd YAML — loading it is a
/// result, never a panic, and a refusal names at least one problem, each
/// with a message and a line inside the file.
mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str) -> Result<(), TestCaseError> {
        match Playbook::parse(text, "hostile.yaml") {
            Ok(_) => Ok(()),
            Err(e) => {
                prop_assert_eq!(&e.file, "hostile.yaml");
                prop_assert!(!e.problems.is_empty());
                let lines = text.lines().count() + 1;
                for p in &e.problems {
                    prop_assert!(!p.message.trim().is_empty(), "{:?}", e.problems);
                    prop_assert!(p.line.is_none_or(|l| (1..=lines).contains(&l)), "{p:?}");
                }
                prop_assert!(e.to_string().starts_with("hostile.yaml: invalid playbook"));
                Ok(())
            }
        }
    }

    /// YAML that stresses a parser: aliases, merges, tags, deep nesting, odd scalars.
    const SPLICES: &[&str] = &[
        "*undefined_alias",
        "&a [1, 2]",
        "<<: *a",
        "!!binary aGVsbG8=",
        "!custom {x: 1}",
        "? complex key\n: value",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "~",
        "null",
        ".nan",
        "-.inf",
        "0x7fffffffffffffffffff",
        "-1",
        "99999999999999999999999",
        "1e400",
        "\"\\u0000\"",
        "'",
        "\t",
        "{",
        "[",
        "|\n  block",
        "\u{feff}",
        "é",
        "\u{202e}",
    ];

    fn mutation() -> impl Strategy<Value = String> {
        let text = DEFAULT_PLAYBOOK;
        let n = text.lines().count();
        prop_oneof![
            // Cut at any byte (kept on a character boundary).
            (0..=text.len()).prop_map(move |at| {
                let at = (0..=at)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text[..at].to_string()
            }),
            // Drop, repeat or swap lines.
            (0..n, 1..8usize).prop_map(move |(at, k)| {
                let mut l: Vec<&str> = text.lines().collect();
                l.drain(at..(at + k).min(n));
                l.join("\n")
            }),
            (0..n, 0..n).prop_map(move |(a, b)| {
                let mut l: Vec<&str> = text.lines().collect();
                l.swap(a, b);
                l.join("\n")
            }),
            (0..n).prop_map(move |at| {
                let mut l: Vec<&str> = text.lines().collect();
                l.insert(at, l[at]);
                l.join("\n")
            }),
            // A line's value replaced by odd YAML, or by any text.
            (0..n, prop::sample::select(SPLICES)).prop_map(move |(at, s)| splice(text, at, s)),
            (0..n, any::<String>()).prop_map(move |(at, s)| splice(text, at, &s)),
            // Deep nesting at the top or inside.
            (1..5000usize).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
            (1..2000usize).prop_map(move |d| format!(
                "{text}\nextra: {}1{}",
                "{a: ".repeat(d),
                "}".repeat(d)
            )),
        ]
    }

    /// `text` with line `at`'s value (after its first `:`) replaced by `value`.
    fn splice(text: &str, at: usize, value: &str) -> String {
        text.lines()
            .enumerate()
            .map(|(i, l)| match (i == at, l.find(':')) {
                (true, Some(c)) => format!("{} {value}", &l[..=c]),
                (true, None) => value.to_string(),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_refused_with_problems_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            // The loader takes text; bytes that are not UTF-8 are refused when the file is read.
            check(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn a_mangled_playbook_is_a_result_never_a_panic(text in mutation()) {
            check(&text)?;
        }
    }

    #[test]
    /// 10^9 strings if the aliases were expanded: serde_yaml refuses instead.
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        for text in [
            bomb,
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("company: {}1{}", "{a: ".repeat(10_000), "}".repeat(10_000)),
        ] {
            let e = Playbook::parse(&text, "hostile.yaml").unwrap_err();
            assert!(
                !e.problems.is_empty() && !e.problems[0].message.is_empty(),
                "{e}"
            );
        }
    }
}

#[test]
fn the_spam_quarantine_keeps_posts_for_a_bounded_time() {
    assert_problem(
        "  quarantine_days: 30",
        "  quarantine_days: 0",
        "spam.quarantine_days: 1 to 365",
        "quarantine_days: 0",
    );
}

#[test]
fn business_hours_are_checked() {
    assert_problem(
        "  default: emea\n",
        "  default: apac\n",
        "business_hours.default: no calendar named \"apac\"",
        "business_hours:",
    );
    assert_problem(
        "      time_zone: America/New_York\n      days:",
        "      time_zone: America/Gotham\n      days:",
        "business_hours.calendars.americas: time_zone \"America/Gotham\" is not an IANA time zone",
        "americas:",
    );
    assert_problem(
        "      from: \"09:00\"\n      to: \"17:00\"\n      # Germany",
        "      from: \"17:00\"\n      to: \"09:00\"\n      # Germany",
        "business_hours.calendars.emea: the working day must start before it ends",
        "emea:",
    );
    assert_problem(
        "      from: \"09:00\"\n      to: \"17:00\"\n      # Germany",
        "      from: \"9am\"\n      to: \"17:00\"\n      # Germany",
        "business_hours.calendars.emea: \"9am\" is not HH:MM",
        "emea:",
    );
    assert_problem(
        "calendar: latam }",
        "calendar: mars }",
        "reps.maria.silva: calendar \"mars\" is not one of business_hours.calendars",
        "id: maria.silva",
    );
    // Without the section, a calendar named anywhere is refused; the rest counts around the clock.
    let text = DEFAULT_PLAYBOOK;
    let start = text.find("\nbusiness_hours:").unwrap();
    let end = start + 1 + text[start + 1..].find("\n\n").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let err = Playbook::parse(&without, "test.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reps.maria.silva: calendar \"latam\" is not one of business_hours.calendars"),
        "{err}"
    );
    let around_the_clock = without
        .replace(", calendar: americas", "")
        .replace(", calendar: latam", "");
    let pb = Playbook::parse(&around_the_clock, "test.yaml").unwrap();
    assert!(pb.business_hours.is_none());
}
