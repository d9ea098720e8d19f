//! `leadflow import` end to end: a list with good rows, bad rows and a
//! repeated person goes through the local stack's intake (as `make dev`
//! runs it); the leads are in DynamoDB, the bad rows in the rejected-rows
//! file, and a second run of the same import records nothing new.

mod common;

use common::{eventually, store, unique};
use leadflow::domain::lead::Event;
use leadflow::ports::prelude::*;
use leadflow::{EmailAddress, Lead, LeadId, RequestType, Source};
use leadflow_aws::dynamo::DynamoStore;
use leadflow_infra::import::{import, ImportArgs, Report};
use leadflow_local::{DevOptions, DevStack, RunningStack};
use std::path::{Path, PathBuf};

async fn stack() -> RunningStack {
    DevStack::start(DevOptions::for_tests(unique("import")))
        .await
        .expect("the local stack starts")
}

/// Runs the import as `leadflow import FILE --source event --campaign C --api URL` does
/// (the command is blocking: off the test's runtime).
async fn run_import(file: &Path, campaign: &str, api: String) -> (Report, String) {
    let mut args = ImportArgs::new(file, "event", Some(campaign));
    args.api = Some(api);
    tokio::task::spawn_blocking(move || {
        let mut progress = Vec::new();
        let report = import(&args, &mut progress, false).expect("the import runs");
        (report, String::from_utf8(progress).unwrap())
    })
    .await
    .unwrap()
}

/// The lead of `email`, and how many responses its history holds.
async fn lead_and_responses(store: &DynamoStore, email: &str) -> (Lead, Vec<Event>) {
    let id: LeadId = store
        .lead_id_by_email(&EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("a lead for {email}"));
    let lead = store.lead(&id).await.unwrap().expect("the lead");
    let responses = store
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.event)
        .filter(|e| matches!(e, Event::Response(_)))
        .collect();
    (lead, responses)
}

#[tokio::test]
async fn a_list_is_imported_once_with_its_rejected_rows_beside_it() {
    let s = stack().await;
    let dir: PathBuf = std::env::temp_dir().join(unique("leadflow-import"));
    std::fs::create_dir_all(&dir).unwrap();
    let ana = format!("{}@kunde.example.de", unique("ana"));
    let bo = format!("{}@example.com", unique("bo"));
    let campaign = unique("fair");
    let file = dir.join("fair.csv");
    std::fs::write(
        &file,
        format!(
            "email,first_name,company,country,request_type,booth\n\
             {ana},Ana,Kunde AG,DE,info,B12\n\
             not-an-address,Cy,Nowhere,US,info,C1\n\
             {bo},Bo,\"Bo & Co, Inc.\",US,demo,\n\
             ,,,,,\n\
             {ana},Ana,Kunde AG,DE,onsite_demo,B12\n\
             {bo},Bo,Bo & Co,US,brochure,\n"
        ),
    )
    .unwrap();

    let (first, progress) = run_import(&file, &campaign, s.api_url()).await;
    assert_eq!(
        (
            first.rows,
            first.blank_rows,
            first.accepted,
            first.replayed,
            first.rejected,
            first.failed
        ),
        (5, 1, 3, 0, 2, 0),
        "{first:?}\n{progress}"
    );
    assert!(
        progress.contains("import: "),
        "plain progress lines: {progress}"
    );

    // The rejected rows as they were, with the intake's reasons.
    let rejects = dir.join("fair.rejected.csv");
    assert_eq!(first.rejects_file.as_deref(), Some(rejects.as_path()));
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "email,first_name,company,country,request_type,booth,line,error_code,error_message,error_field"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].starts_with("not-an-address,Cy,Nowhere,US,info,C1,3,invalid_email,")
            && lines[1].ends_with(",email"),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("{bo},Bo,Bo & Co,US,brochure,,7,invalid_value,"))
            && lines[2].ends_with(",request_type"),
        "{text}"
    );

    // One lead per person, each response from the event and the campaign.
    let store = store(&s);
    let (lead, responses) = lead_and_responses(&store, &ana).await;
    assert_eq!((lead.responses, responses.len()), (2, 2));
    assert_eq!(lead.request_type, RequestType::OnsiteDemo);
    assert_eq!(lead.custom.get("booth").map(String::as_str), Some("B12"));
    for r in &responses {
        let Event::Response(r) = r else {
            unreachable!()
        };
        assert_eq!(r.source, Source::Event);
        assert_eq!(r.attribution.campaign.as_deref(), Some(campaign.as_str()));
    }
    let (lead_bo, responses_bo) = lead_and_responses(&store, &bo).await;
    assert_eq!((lead_bo.responses, responses_bo.len()), (1, 1));
    assert_eq!(lead_bo.contact.company.as_deref(), Some("Bo & Co, Inc."));

    // Through the same pipeline as a landing page's post: qualified and routed.
    let id = lead.id.clone();
    eventually(&s, "the imported lead to be routed", || {
        let (store, id) = (store.clone(), id.clone());
        async move { store.lead(&id).await.ok()??.routing }
    })
    .await;

    // The same import again: every row's answer is replayed, nothing is recorded.
    let (second, progress) = run_import(&file, &campaign, s.api_url()).await;
    assert_eq!(
        (
            second.rows,
            second.accepted,
            second.replayed,
            second.rejected,
            second.failed
        ),
        (5, 0, 3, 2, 0),
        "{second:?}\n{progress}"
    );
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), text);
    let (again, responses) = lead_and_responses(&store, &ana).await;
    assert_eq!((again.responses, responses.len()), (2, 2));
    let (again_bo, responses_bo) = lead_and_responses(&store, &bo).await;
    assert_eq!((again_bo.responses, responses_bo.len()), (1, 1));

    std::fs::remove_dir_all(&dir).unwrap();
    s.shutdown().await;
}
