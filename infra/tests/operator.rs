//! `leadflow playbook check` and `leadflow simulate`, as an operator runs them.

use leadflow_infra::operator::{playbook_check, simulate, synthetic_csv, SimulateArgs};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    leadflow_infra::root::workspace_root()
}

fn temp(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "leadflow-op-{}-{}",
        std::process::id(),
        ulid::Ulid::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

fn run_check(path: &str) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = playbook_check(path, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn playbook_check_accepts_the_shipped_playbook() {
    let path = root().join("infra/playbook.yaml");
    let (code, out, err) = run_check(path.to_str().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("valid"), "{out}");
}

#[test]
fn playbook_check_lists_every_problem_with_its_line() {
    let shipped = std::fs::read_to_string(root().join("infra/playbook.yaml")).unwrap();
    let broken = shipped
        .replacen("reps: [lena.fischer]", "reps: [lena.fisher]", 1)
        .replacen("fallback_queue: unassigned", "fallback_queue: limbo", 1);
    let path = temp("playbook.yaml", &broken);
    let (code, _, err) = run_check(&path);
    assert_eq!(code, 1);
    let prefix = format!("{path}:");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.strip_prefix(&prefix)
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(lines.len(), 2, "{err}");
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!(
            "{path}:{}: pools: `emea-inside` names `lena.fisher`",
            line_of("lena.fisher")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:{}: fallback_queue: `limbo`",
            line_of("fallback_queue: limbo")
        )),
        "{err}"
    );

    let (code, _, err) = run_check("/nonexistent/playbook.yaml");
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
}

const CSV: &str = "\
email,first_name,country,request_type,budget,authority,need,timeframe,campaign
ana@kunde.de,Ana,DE,onsite_demo,defined_fits,decision_maker,established,within_3_months,spring
not-an-email,X,DE,info,,,,,
bo@example.com,Bo,US,info,,,,,
cy@example.com,Cy,US,rfp,huge,,,,
bo@example.com,Bo,US,demo,defined,decision_maker,identified,3_to_6_months,webinar
dee@example.com,Dee,DE,onsite_demo,,,,,
";

fn run_sim(csv: &str, json: bool) -> (i32, String, String) {
    let args = SimulateArgs {
        playbook: root()
            .join("infra/playbook.yaml")
            .to_string_lossy()
            .into_owned(),
        leads: temp("leads.csv", csv),
        json,
        now: Some("2026-11-23T09:00:00Z".parse().unwrap()),
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = simulate(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn simulate_prints_one_json_object_per_lead_in_input_order_and_skips_bad_rows() {
    let (code, out, err) = run_sim(CSV, true);
    assert_eq!(code, 0, "{err}");
    let leads: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rows: Vec<u64> = leads.iter().map(|l| l["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [1, 3, 5, 6], "bad rows 2 and 4 skipped, order kept");
    for l in &leads {
        for key in [
            "email", "bant_met", "stage", "route", "owner", "score", "reasons",
        ] {
            assert!(!l[key].is_null(), "{key} missing in {l}");
        }
    }
    assert_eq!(leads[0]["stage"], "qualified_opportunity");
    assert_eq!(leads[0]["route"], "hot");
    assert_eq!(leads[0]["owner"], "Ana Ruiz");
    assert_eq!(leads[0]["bant_met"], 4);
    // Bo's second response merges into the first: 3 criteria met now.
    assert_eq!(leads[1]["email"], "bo@example.com");
    assert_eq!(leads[1]["stage"], "inquiry");
    assert_eq!(leads[2]["email"], "bo@example.com");
    assert_eq!(leads[2]["bant_met"], 3);
    assert_eq!(leads[2]["stage"], "opportunity");
    // Round-robin carries over between rows: the next EMEA field lead goes to the other rep.
    assert_eq!(leads[3]["owner"], "Jonas Weber");
    assert!(
        err.contains("row 2: email") && err.contains("row 4: budget"),
        "{err}"
    );
}

#[test]
fn simulate_summarises_stages_routes_owners_and_pools() {
    let (code, out, _) = run_sim(CSV, false);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("4 leads (3 people), 2 bad rows skipped"),
        "{out}"
    );
    for section in ["by stage", "by route", "by owner", "load per pool"] {
        assert!(out.contains(section), "{out}");
    }
    assert!(
        out.contains("emea-field") && out.contains("Ana Ruiz 1, Jonas Weber 1"),
        "{out}"
    );
}

#[test]
fn simulate_refuses_what_it_cannot_run() {
    let (code, _, err) = run_sim("first_name\nAna\n", false);
    assert_eq!(code, 1);
    assert!(err.contains("no `email` column"), "{err}");
    assert!(SimulateArgs::parse(&["--leads".into(), "x.csv".into()]).is_err());
    assert!(SimulateArgs::parse(&[
        "--playbook".into(),
        "p".into(),
        "--leads".into(),
        "l".into(),
        "--format".into(),
        "xml".into()
    ])
    .is_err());
}

#[test]
fn synthetic_leads_all_run() {
    let csv = synthetic_csv(3_000, 7);
    let (code, out, err) = run_sim(&csv, false);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("3000 leads"), "{out}");
    assert!(err.is_empty(), "no bad rows: {err}");
}
