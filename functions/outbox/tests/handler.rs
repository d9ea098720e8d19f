//! The outbox sweeper with in-memory ports.

use chrono::{Duration, TimeZone, Utc};
use leadflow::messages::RouteRequest;
use leadflow::ports::prelude::*;
use leadflow::ports::{Clock, Commit};
use leadflow::testing::{FixedClock, MemoryPublisher, MemoryStore};
use leadflow::{LeadId, ResponseId};
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use outbox::Sweeper;

type Handler = Sweeper<MemoryStore, MemoryPublisher, FixedClock>;

fn sweeper() -> Handler {
    Sweeper {
        store: MemoryStore::new(),
        publisher: MemoryPublisher::new(),
        clock: FixedClock::at(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()),
    }
}

async fn left_behind(h: &Handler, n: usize) {
    let messages = (0..n)
        .map(|_| {
            RouteRequest {
                lead_id: LeadId::generate(),
                response_id: ResponseId::generate(),
            }
            .to_outbox(h.clock.now())
        })
        .collect();
    h.store
        .commit(Commit {
            outbox: messages,
            ..Commit::default()
        })
        .await
        .unwrap();
}

fn tick(at: chrono::DateTime<Utc>) -> aws_lambda_events::eventbridge::EventBridgeEvent {
    serde_json::from_value(serde_json::json!({
        "version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": at.to_rfc3339(), "region": "us-east-1",
        "resources": [], "detail": {}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_backlog_is_drained_in_one_tick_and_a_failure_does_not_stop_the_rest() {
    let h = sweeper();
    left_behind(&h, 2_500).await;
    h.publisher.fail_next(3);
    let report = h
        .handle(tick(h.clock.now() + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(report.published, 2_497);
    assert_eq!(report.failed, 3);
    assert_eq!(
        h.store.outbox().len(),
        3,
        "the failed ones wait for the next tick"
    );
    let report = h
        .handle(tick(h.clock.now() + Duration::minutes(2)))
        .await
        .unwrap();
    assert_eq!((report.published, report.failed), (3, 0));
    assert!(h.store.outbox().is_empty());
}

#[tokio::test]
async fn the_sweeper_stops_before_the_deadline() {
    let h = sweeper();
    left_behind(&h, 10).await;
    let report = h
        .handle_until(
            tick(h.clock.now() + Duration::minutes(1)),
            Some(std::time::SystemTime::now()),
        )
        .await
        .unwrap();
    assert!(report.stopped_early);
    assert_eq!(report.published, 0);
    assert_eq!(h.store.outbox().len(), 10);
}

#[test]
fn a_sweep_counts_what_it_republished() {
    let report = leadflow::app::outbox::SweepReport {
        published: 2,
        unreadable: 1,
        ..Default::default()
    };
    let doc = outbox::sweep_metrics(&report)
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(
        emf_shape(&doc),
        (
            sets(&[&[]]),
            counts(&[
                ("OutboxRepublished", 2),
                ("OutboxPublishFailed", 0),
                ("OutboxUnreadable", 1)
            ])
        )
    );
}
