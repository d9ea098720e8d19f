//! `leadflow load`'s short version in `make test`: a few hundred inquiries
//! (repeat people, concurrent posts by one person, Idempotency-Key retries,
//! form posts) through the local stack, every one reconciled. `make load`
//! runs the reference: 10,000 inquiries from 50 clients.

mod common;

use std::time::Duration;

use common::unique;
use leadflow_local::load::{run, LoadOptions, StackState};
use leadflow_local::{DevOptions, DevStack};

#[tokio::test]
async fn a_burst_of_inquiries_is_reconciled_with_no_difference() {
    let s = DevStack::start(DevOptions::for_tests(unique("load")))
        .await
        .expect("the local stack starts");
    let state = StackState {
        sdk: s.sdk_config().clone(),
        stack_name: s.stack_name().to_string(),
        emulator: Some(s.endpoint().to_string()),
    };
    let options = LoadOptions {
        inquiries: 120,
        concurrency: 12,
        // More of each awkward case than the reference mix, to meet them all.
        repeat_share: 0.3,
        concurrent_share: 0.1,
        retry_share: 0.1,
        form_share: 0.3,
        drain_timeout: Duration::from_secs(240),
        ..LoadOptions::default()
    };
    let report = run(&s.api_url(), &state, &options).await;
    let out = report.render();
    println!("{out}");
    assert_eq!(report.accepted, 120, "{out}");
    assert!(report.differences.is_empty(), "{out}");
    assert!(out.ends_with("reconciled 120 inquiries: 0 differences"));
}
