//! Suspected spam held and released (issue 24, item 17), with the ports in memory.

use chrono::Utc;
use leadflow::app::quarantine::{days, hold, release, ReleaseError};
use leadflow::domain::ids::SpamId;
use leadflow::domain::spam::SpamSign;
use leadflow::ports::Quarantine;
use leadflow::testing::{MemoryPublisher, MemoryStore};
use leadflow::Playbook;

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn a_held_post_is_released_once_and_a_bad_one_changes_nothing() {
    let store = MemoryStore::new();
    let publisher = MemoryPublisher::new();
    let pb = Playbook::default_playbook().unwrap();
    let now = Utc::now();
    let fields = pairs(&[
        ("email", "autofill@stadtwerke.example"),
        ("request_type", "info"),
        ("form_fill_ms", "800"),
    ]);
    let id = hold(&store, &pb, SpamSign::TooFast, fields, None, now)
        .await
        .unwrap();
    assert!(store.leads().is_empty(), "held, not recorded");
    let (listed, next) = store.held(&days(&pb, now), None, 10).await.unwrap();
    assert_eq!((listed.len(), next), (1, None));
    assert!(listed[0].reason.contains("800 ms"), "{}", listed[0].reason);

    let first = release(&store, &publisher, &pb, &id, "olaf.berg", now)
        .await
        .unwrap();
    assert!(first.new_lead && !first.already);
    assert_eq!(publisher.take().len(), 1, "handed to routing");
    let again = release(&store, &publisher, &pb, &id, "olaf.berg", now)
        .await
        .unwrap();
    assert_eq!(
        (again.lead_id.clone(), again.already),
        (first.lead_id.clone(), true)
    );
    assert!(publisher.take().is_empty());
    assert_eq!(store.leads().len(), 1);
    assert_eq!(store.leads()[0].responses, 1);
    let held = store.held_post(&id).await.unwrap().unwrap();
    assert_eq!(held.released.unwrap().by, "olaf.berg");

    // A post whose fields are no inquiry stays held; nothing is recorded.
    let bad = hold(
        &store,
        &pb,
        SpamSign::Honeypot,
        pairs(&[("email", "not an address"), ("hp_website", "x")]),
        None,
        now,
    )
    .await
    .unwrap();
    let err = release(&store, &publisher, &pb, &bad, "olaf.berg", now)
        .await
        .unwrap_err();
    assert!(matches!(err, ReleaseError::Invalid(_)), "{err}");
    assert!(store
        .held_post(&bad)
        .await
        .unwrap()
        .unwrap()
        .released
        .is_none());
    assert_eq!(store.leads().len(), 1);
    let missing = SpamId::generate();
    assert!(matches!(
        release(&store, &publisher, &pb, &missing, "olaf.berg", now).await,
        Err(ReleaseError::NotFound(_))
    ));
}
