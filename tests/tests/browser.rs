//! The sample landing page: a real headless browser submits it. Chromium, driven
//! by infra/browser/submit-landing-page.mjs (playwright-core), fills the form on
//! the local stack's `/` like a person and lands on the thank-you page; then the
//! lead is found in DynamoDB. `make browser` installs Chromium and playwright-core.

mod common;

use common::{eventually, unique};
use leadflow::ports::prelude::*;
use leadflow::{Criterion, EmailAddress, RequestType};
use leadflow_aws::dynamo::DynamoStore;
use leadflow_local::{root, DevOptions, DevStack};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The Chromium the script launches (its default, or `CHROMIUM`).
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails, rather than skips, when the browser is not installed.
fn require_browser(root: &Path) {
    let chromium = chromium();
    assert!(
        chromium.is_file(),
        "{} is missing: run `make browser` (installs Chromium and playwright-core)",
        chromium.display()
    );
    let modules = root.join("infra/browser/node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "{} is missing: run `make browser` (installs Chromium and playwright-core)",
        modules.display()
    );
}

#[tokio::test]
async fn a_person_submits_the_landing_page_in_a_real_browser() {
    let root = root::workspace_root();
    require_browser(&root);
    let s = DevStack::start(DevOptions::for_tests(unique("browser")))
        .await
        .expect("the local stack starts");
    let email = format!("{}@browser.example.de", unique("grete"));
    let screenshot = root::target_dir(&root).join("browser/landing-page-thanks.png");

    let run = tokio::process::Command::new("node")
        .arg(root.join("infra/browser/submit-landing-page.mjs"))
        .arg(s.api_url())
        .arg(&email)
        .arg(&screenshot)
        .current_dir(&root)
        .kill_on_drop(true)
        .output();
    // No limit on the whole run: every step of the script has its own
    // (Playwright's default timeout), so a stuck page fails that step.
    let out = run
        .await
        .expect("node runs (Node.js 20 on PATH; `make browser`)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser did not submit the landing page ({}); screenshot {}\n{stderr}{stdout}",
        out.status,
        screenshot.display()
    );
    let landed: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("a JSON line on stdout: {stdout}"));
    assert_eq!(
        landed["url"],
        format!("{}/thanks.html", s.api_url()),
        "{landed}"
    );
    assert!(
        landed["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Thank you")),
        "{landed}"
    );
    assert!(screenshot.is_file(), "{}", screenshot.display());
    // The page sent the spam guard's fields: the honeypot empty, and how long
    // the form was open (the script waits past the playbook's minimum).
    let posted: Vec<(String, String)> =
        serde_urlencoded::from_str(landed["posted"].as_str().unwrap_or_default()).unwrap();
    let field = |name: &str| {
        posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("hp_website"), Some(""), "{posted:?}");
    let fill_ms: u64 = field("form_fill_ms")
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    assert!(fill_ms >= 3_000, "form_fill_ms {fill_ms}: {posted:?}");

    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(s.sdk_config()),
        s.table_name("LeadsTable").unwrap(),
    );
    let address = EmailAddress::parse(&email).unwrap();
    let lead = eventually(&s, "the browser's lead to be recorded and routed", || {
        let (store, address) = (store.clone(), address.clone());
        async move {
            let id = store.lead_id_by_email(&address).await.ok()??;
            let lead = store.lead(&id).await.ok()??;
            lead.routing.is_some().then_some(lead)
        }
    })
    .await;

    let c = &lead.contact;
    assert_eq!(c.first_name.as_deref(), Some("Grete"));
    assert_eq!(c.last_name.as_deref(), Some("Browser"));
    assert_eq!(c.company.as_deref(), Some("Browser GmbH"));
    assert_eq!(c.country.as_ref().map(|c| c.as_str()), Some("DE"));
    assert_eq!(lead.request_type, RequestType::Demo);
    for (criterion, answer) in [
        (Criterion::Budget, "defined"),
        (Criterion::Authority, "decision_maker"),
        (Criterion::Need, "identified"),
        (Criterion::Timeframe, "within_3_months"),
    ] {
        assert_eq!(lead.bant.value(criterion), answer, "{criterion}");
    }
    assert!(lead.consent_email.as_ref().is_some_and(|c| c.granted));
    assert_eq!(
        lead.attribution.campaign.as_deref(),
        Some("spring-launch"),
        "the form's hidden fields came along"
    );
    assert!(
        !lead.custom.contains_key("hp_website") && !lead.custom.contains_key("form_fill_ms"),
        "the spam guard's fields are never stored: {:?}",
        lead.custom
    );
    let decision = lead.routing.as_ref().expect("routed");
    assert_eq!(decision.bant_met.len(), 4, "{}", decision.summary());
    s.shutdown().await;
}
