//! The web workspace in a real headless browser (infra/browser/workspace.mjs,
//! playwright-core and Debian's Chromium): a rep signs in, completes a task
//! with one click and sees the lead move to field sales; a manager signs in
//! and sees the funnel and the follow-up report reflect it — the same figures
//! the reports API gives. `make browser` installs Chromium and playwright-core.

mod common;

use common::{eventually, request, store, unique};
use leadflow::ports::prelude::*;
use leadflow::EmailAddress;
use leadflow_local::{root, DevOptions, DevStack, RunningStack};
use serde_json::{json, Value};
use std::path::PathBuf;

async fn post_inquiry(s: &RunningStack, email: &str, first_name: &str) {
    let body = json!({
        "email": email, "first_name": first_name, "last_name": "Lang",
        "company": "Stadtwerke", "request_type": "info", "country": "DE",
        "campaign": "expo-2026", "source": "event",
    });
    let r = request(
        "POST",
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

/// A report as the API answers it to the local sign-in's token for `who`
/// (the user pool's ID token, as `leadflow token` prints it).
async fn report(s: &RunningStack, who: &str, name: &str) -> Value {
    let t = request(
        "POST",
        &format!("{}/_local/token", s.api_url()),
        &[("content-type", "application/json")],
        json!({ "rep": who }).to_string(),
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.body);
    let token = t.json()["token"].as_str().unwrap().to_string();
    let auth = format!("Bearer {token}");
    let r = request(
        "GET",
        &format!("{}/reports/{name}", s.api_url()),
        &[("authorization", auth.as_str())],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn a_rep_completes_a_task_and_a_manager_sees_the_reports_in_a_real_browser() {
    let root = root::workspace_root();
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.is_file()
            && root
                .join("infra/browser/node_modules/playwright-core")
                .is_dir(),
        "run `make browser` (installs Chromium and playwright-core)"
    );
    let s = DevStack::start(DevOptions::for_tests(unique("workspace")))
        .await
        .expect("the local stack starts");

    // The workspace is served by the API, with no sign-in, and a strict CSP.
    let page = request("GET", &format!("{}/app/", s.api_url()), &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("leadflow workspace"), "{}", page.body);
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("script-src 'self'")));
    let config = request("GET", &format!("{}/app/config.json", s.api_url()), &[], "").await;
    assert_eq!(config.json(), json!({"sign_in": "local"}));

    // Two trade-show leads for inside sales (Lena Fischer).
    let name = unique("Petra");
    let store = store(&s);
    for (i, first) in [name.as_str(), "Other"].iter().enumerate() {
        let email = format!("{}-{i}@stadtwerke.example", unique("p"));
        post_inquiry(&s, &email, first).await;
        let address = EmailAddress::parse(&email).unwrap();
        let store = store.clone();
        eventually(&s, "the lead to be routed with its first task", || {
            let (store, address) = (store.clone(), address.clone());
            async move {
                let id = store.lead_id_by_email(&address).await.ok()??;
                let tasks = store.tasks(&id).await.ok()?;
                (!tasks.is_empty()).then_some(())
            }
        })
        .await;
    }

    let shots = root::target_dir(&root).join("browser/workspace");
    let run = tokio::process::Command::new("node")
        .arg(root.join("infra/browser/workspace.mjs"))
        .arg(s.api_url())
        .arg(&name)
        .arg(&shots)
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
        "the browser run failed ({}); screenshots in {}\n{stderr}{stdout}",
        out.status,
        shots.display()
    );
    let seen: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("a JSON line on stdout: {stdout}"));

    // The rep's click moved the lead to EMEA field sales, and off her day.
    assert!(
        seen["task"]
            .as_str()
            .is_some_and(|t| t.starts_with("Pre-qualification call")),
        "{seen}"
    );
    assert_eq!(seen["lead"]["route"], "hot", "{seen}");
    let owner = seen["lead"]["owner"].as_str().unwrap_or_default();
    assert!(["Ana Ruiz", "Jonas Weber"].contains(&owner), "{seen}");
    assert_eq!(seen["still_listed"], 0, "{seen}");
    // The answer and the note she gave on the card were recorded with the outcome.
    assert_eq!(seen["lead"]["notes"], true, "{seen}");
    assert!(
        seen["lead"]["need"]
            .as_str()
            .is_some_and(|t| t.contains("need: established (sales:lena.fischer")),
        "{seen}"
    );
    assert_eq!(seen["errors"], json!([]), "{seen}");

    // The manager's page shows what the reports API says, and the API says
    // what happened: two arrived, one handed to sales, one touched by Lena,
    // one never touched.
    let funnel = report(&s, "nina.kovac", "funnel").await;
    let all = &funnel["groups"][0]["counts"];
    assert_eq!(all["suspect"], 2, "{funnel}");
    assert_eq!(all["sales_ready"], 1, "{funnel}");
    let follow = report(&s, "nina.kovac", "follow-up").await;
    assert_eq!(follow["all"]["touched"], 1, "{follow}");
    assert_eq!(follow["never_touched"]["untouched"], 1, "{follow}");
    let r = &seen["reports"];
    assert_eq!(r["suspect"], all["suspect"], "{seen}");
    assert_eq!(r["sales_ready"], all["sales_ready"], "{seen}");
    assert_eq!(r["touched"], follow["all"]["touched"], "{seen}");
    assert_eq!(r["lena_touched"], 1, "{seen}");
    assert_eq!(r["never_touched"], 1, "{seen}");
    assert!(shots.join("3-manager-reports.png").is_file());
    s.shutdown().await;
}
