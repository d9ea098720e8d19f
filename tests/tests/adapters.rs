//! The AWS adapters against the emulator (moto speaking the AWS wire protocol),
//! each test with its own uniquely named table and queues from template.yaml.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{emails_to, Resources};
use leadflow::app::intake::{submit, Submission};
use leadflow::app::outbox::sweep;
use leadflow::app::route::route_lead;
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::{Event, HistoryEntry};
use leadflow::messages::RouteRequest;
use leadflow::ports::*;
use leadflow::{EmailAddress, Lead, LeadId, Playbook, ResponseId};
use leadflow_aws::ses::SesMailer;

fn inquiry(pb: &Playbook, fields: &[(&str, &str)]) -> Inquiry {
    let f: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Inquiry::parse(&f, &pb.bant).unwrap()
}

#[tokio::test]
async fn dynamo_store_commits_all_or_nothing_with_its_conditions() {
    let r = Resources::new().await;
    let store = r.store();
    let pb = Playbook::default_playbook().unwrap();
    let now = Utc::now();
    let email = EmailAddress::parse(&format!("{}@Example.com", common::unique("a"))).unwrap();

    let mut lead = Lead::new(LeadId::generate(), email.clone(), now);
    let rec = lead.apply_response(
        &inquiry(
            &pb,
            &[
                ("email", email.as_str()),
                ("budget", "defined"),
                ("country", "DE"),
                ("weird", "x"),
            ],
        ),
        &ResponseId::generate(),
        now,
    );
    lead.version = 1;
    let msg = RouteRequest {
        lead_id: lead.id.clone(),
        response_id: rec.response_id.clone(),
    }
    .to_outbox(now);
    let reply = StoredReply {
        response_id: None,
        answer: leadflow::ports::Answer::Received,
        lead_id: lead.id.clone(),
        fingerprint: "f".into(),
        created_at: now,
    };
    store
        .commit(Commit {
            lead: Some((lead.clone(), Expect::New)),
            events: vec![HistoryEntry::new(
                &lead.id,
                now,
                Event::Response(rec.clone()),
            )],
            outbox: vec![msg.clone()],
            reply: Some(("key-1".into(), reply.clone())),
            ..Commit::default()
        })
        .await
        .unwrap();

    // Everything reads back as written.
    assert_eq!(
        store.lead_id_by_email(&email).await.unwrap(),
        Some(lead.id.clone())
    );
    // The store also brought the lead's report tally up to date in the same write.
    let mut stored = store.lead(&lead.id).await.unwrap().unwrap();
    assert!(stored
        .tally
        .reached
        .contains(&leadflow::domain::stats::Milestone::Suspect));
    stored.tally = lead.tally.clone();
    assert_eq!(stored, lead);
    let history = store.history(&lead.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].event, Event::Response(rec));
    assert_eq!(
        store.reply("key-1", now).await.unwrap(),
        Some(reply.clone())
    );
    assert_eq!(
        store.reply("key-1", now + StoredReply::TTL).await.unwrap(),
        None,
        "expired by then"
    );
    assert_eq!(
        store
            .outbox_due(now + Duration::seconds(1), 10)
            .await
            .unwrap()
            .due,
        vec![msg.clone()]
    );

    // A second "new" lead for the same person is refused, and writes nothing.
    let mut twin = Lead::new(LeadId::generate(), email.clone(), now);
    twin.version = 1;
    let err = store
        .commit(Commit {
            lead: Some((twin.clone(), Expect::New)),
            events: vec![HistoryEntry::new(
                &twin.id,
                now,
                Event::Activity {
                    kind: "site_visit".into(),
                    detail: None,
                    message_id: None,
                    occurred_at: None,
                },
            )],
            ..Commit::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict);
    assert_eq!(store.lead(&twin.id).await.unwrap(), None);
    assert!(store.history(&twin.id).await.unwrap().is_empty());

    // A stale version is refused; the right one goes through.
    let mut stale = lead.clone();
    stale.version = 2;
    assert_eq!(
        store
            .commit(Commit {
                lead: Some((stale.clone(), Expect::Version(0))),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict)
    );
    store
        .commit(Commit {
            lead: Some((stale, Expect::Version(1))),
            ..Commit::default()
        })
        .await
        .unwrap();

    // The same idempotency key and the same marker can be written once.
    assert_eq!(
        store
            .commit(Commit {
                reply: Some(("key-1".into(), reply)),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict)
    );
    let marker = Marker {
        lead_id: lead.id.clone(),
        step: "route",
        key: "r1".into(),
    };
    assert!(!store.marker_exists(&marker).await.unwrap());
    store
        .commit(Commit {
            marker: Some(marker.clone()),
            ..Commit::default()
        })
        .await
        .unwrap();
    assert!(store.marker_exists(&marker).await.unwrap());
    assert_eq!(
        store
            .commit(Commit {
                marker: Some(marker),
                ..Commit::default()
            })
            .await,
        Err(StoreError::Conflict)
    );

    // Round-robin turns (an atomic counter: concurrent takers never collide) and loads.
    let pool = "emea-field".to_string();
    let (a, b) = tokio::join!(store.take_turn(&pool), store.take_turn(&pool));
    let mut turns = [a.unwrap(), b.unwrap()];
    turns.sort();
    assert_eq!(turns, [0, 1], "each taker gets its own turn");
    store
        .commit(Commit {
            loads: vec![("ana.ruiz".into(), 2), ("jonas.weber".into(), 1)],
            ..Commit::default()
        })
        .await
        .unwrap();
    store
        .commit(Commit {
            loads: vec![("ana.ruiz".into(), -1)],
            ..Commit::default()
        })
        .await
        .unwrap();
    let state = store
        .pool_state(
            &pool,
            &["ana.ruiz".into(), "jonas.weber".into(), "nobody".into()],
        )
        .await
        .unwrap();
    assert_eq!(state.cursor, 2, "two turns taken");
    assert_eq!(state.loads.get("ana.ruiz"), Some(&1));
    assert_eq!(state.loads.get("jonas.weber"), Some(&1));
    assert_eq!(state.loads.get("nobody"), Some(&0));

    // The outbox index finds due messages; done ones are gone.
    assert!(
        store
            .outbox_due(now - Duration::seconds(1), 10)
            .await
            .unwrap()
            .due
            .is_empty(),
        "not due yet"
    );
    store.outbox_done(&msg.id).await.unwrap();
    assert!(store
        .outbox_due(now + Duration::seconds(1), 10)
        .await
        .unwrap()
        .due
        .is_empty());
}

#[tokio::test]
async fn send_claims_let_one_delivery_send_and_a_lapsed_one_retry() {
    let r = Resources::new().await;
    let store = r.store();
    let lead = LeadId::generate();
    let now = Utc::now();
    let lease = now + Duration::seconds(30);
    assert_eq!(
        store
            .claim_send(&lead, "rs#fulfillment", now, lease)
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        store
            .claim_send(&lead, "rs#fulfillment", now, lease)
            .await
            .unwrap(),
        SendClaim::InFlight
    );
    // The first delivery died: after the lease another may claim it.
    let later = now + Duration::seconds(31);
    assert_eq!(
        store
            .claim_send(
                &lead,
                "rs#fulfillment",
                later,
                later + Duration::seconds(30)
            )
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    let entry = HistoryEntry::new(
        &lead,
        later,
        Event::Activity {
            kind: "x".into(),
            detail: None,
            message_id: None,
            occurred_at: None,
        },
    );
    store
        .complete_send(&lead, "rs#fulfillment", "msg-1", entry, None)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_send(
                &lead,
                "rs#fulfillment",
                later + Duration::days(1),
                later + Duration::days(2)
            )
            .await
            .unwrap(),
        SendClaim::AlreadySent {
            message_id: "msg-1".into()
        }
    );
    assert_eq!(
        store.history(&lead).await.unwrap().len(),
        1,
        "the send is recorded with its history entry"
    );
}

#[tokio::test]
async fn sqs_publisher_puts_outbox_messages_on_their_queue() {
    let r = Resources::new().await;
    let publisher = r.publisher();
    let msg = RouteRequest {
        lead_id: LeadId::generate(),
        response_id: ResponseId::generate(),
    }
    .to_outbox(Utc::now());
    publisher.publish(&msg).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&r.config);
    let out = sqs
        .receive_message()
        .queue_url(&r.routing_url)
        .wait_time_seconds(2)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let got = out.messages.unwrap_or_default();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body.as_deref(), Some(msg.body.as_str()));
    let attr = got[0]
        .message_attributes
        .as_ref()
        .and_then(|a| a.get("outbox_id"))
        .and_then(|v| v.string_value.clone());
    assert_eq!(attr.as_deref(), Some(msg.id.as_str()));
}

#[tokio::test]
async fn ses_mailer_sends_html_and_text_and_refuses_an_unverified_sender() {
    let r = Resources::new().await;
    let ses = aws_sdk_ses::Client::new(&r.config);
    let from = format!("{}@leads.example.com", common::unique("sender"));
    ses.verify_email_identity()
        .email_address(&from)
        .send()
        .await
        .unwrap();
    let to = format!("{}@example.com", common::unique("to"));
    let email = OutgoingEmail {
        to: to.clone(),
        subject: "Your kit".into(),
        html: "<p>Hello</p>".into(),
        text: "Hello".into(),
        headers: Vec::new(),
    };
    let id = SesMailer::new(ses.clone(), &from)
        .send(&email)
        .await
        .unwrap();
    assert!(!id.is_empty());
    let sent = emails_to(r.emulator.endpoint(), &to).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = sent[0].to_string();
    assert!(m.contains("Your kit") && m.contains("<p>Hello</p>"), "{m}");

    let err = SesMailer::new(ses, "nobody@unverified.example.net")
        .send(&email)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MailError::Sender(_)),
        "an unverified sender is our problem, not the recipient's: {err:?}"
    );
}

#[tokio::test]
async fn concurrent_first_posts_by_one_person_make_one_lead() {
    let r = Resources::new().await;
    let store = r.store();
    let publisher = r.publisher();
    let pb = Playbook::default_playbook().unwrap();
    let email = format!("{}@example.com", common::unique("race"));
    let posts = (0..6).map(|i| {
        let sub = Submission::new(inquiry(
            &pb,
            &[("email", &email), ("campaign", &format!("c{i}"))],
        ));
        let (store, publisher) = (&store, &publisher);
        async move { submit(store, publisher, Utc::now(), sub).await }
    });
    let results = futures_join(posts).await;
    let ids: std::collections::BTreeSet<_> =
        results.into_iter().map(|r| r.unwrap().lead_id).collect();
    assert_eq!(ids.len(), 1, "one person, one lead");
    let id = ids.into_iter().next().unwrap();
    let lead = store.lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.responses, 6);
    assert_eq!(store.history(&id).await.unwrap().len(), 6);
}

/// Run futures concurrently on this task (no extra crate for join_all).
async fn futures_join<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (h, out) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = h {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}

#[tokio::test]
async fn a_crash_between_commit_and_publish_is_finished_by_the_sweeper() {
    let r = Resources::new().await;
    let store = r.store();
    let pb = Playbook::default_playbook().unwrap();
    let email = format!("{}@example.com", common::unique("crash"));
    // The queue is unreachable: the writer commits and "dies" before publishing.
    let dead =
        leadflow_aws::sqs::SqsPublisher::new(aws_sdk_sqs::Client::new(&r.config), None, None);
    let accepted = submit(
        &store,
        &dead,
        Utc::now(),
        Submission::new(inquiry(
            &pb,
            &[
                ("email", &email),
                ("request_type", "onsite_demo"),
                ("country", "DE"),
            ],
        )),
    )
    .await
    .unwrap();
    let report = sweep(
        &store,
        &r.publisher(),
        Utc::now() + Duration::minutes(1),
        None,
    )
    .await
    .unwrap();
    assert!(report.published >= 1);
    // The routing message arrived and the router can finish the job.
    let sqs = aws_sdk_sqs::Client::new(&r.config);
    let out = sqs
        .receive_message()
        .queue_url(&r.routing_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let body = out
        .messages
        .unwrap_or_default()
        .pop()
        .and_then(|m| m.body)
        .unwrap();
    let req: RouteRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(req.lead_id, accepted.lead_id);
    route_lead(&store, &r.publisher(), &pb, Utc::now(), &req)
        .await
        .unwrap();
    let lead = store.lead(&accepted.lead_id).await.unwrap().unwrap();
    assert_eq!(lead.owner().unwrap().display_name(), "Ana Ruiz");
}

#[tokio::test]
async fn dynamo_store_coalesces_notifications_per_slot_and_window() {
    let r = Resources::new().await;
    let store = r.store();
    let lead = LeadId::generate();
    let (first, repeat) = (ResponseId::generate(), ResponseId::generate());
    let now = Utc::now();
    let window = Duration::minutes(10);
    let lease = |t: chrono::DateTime<Utc>| t + Duration::seconds(30);
    let claim = |holder: &ResponseId, at: chrono::DateTime<Utc>| {
        let (store, lead, holder) = (store.clone(), lead.clone(), holder.clone());
        async move {
            store
                .claim_slot(&lead, "kit#demo", &holder, at, at - window, lease(at))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim(&first, now).await, SlotClaim::Claimed);
    // Held (in flight) by the first: a repeat is covered by it; the holder itself may retry.
    assert_eq!(
        claim(&repeat, now).await,
        SlotClaim::Taken { by: first.clone() }
    );
    assert_eq!(claim(&first, now).await, SlotClaim::Claimed);
    let entry = HistoryEntry::new(
        &lead,
        now,
        Event::Activity {
            kind: "x".into(),
            detail: None,
            message_id: None,
            occurred_at: None,
        },
    );
    store
        .complete_send(&lead, "first#fulfillment", "msg-1", entry, Some("kit#demo"))
        .await
        .unwrap();
    // Sent: taken for the rest of the window, even past the lease…
    let inside = now + Duration::minutes(9);
    assert_eq!(
        claim(&repeat, inside).await,
        SlotClaim::Taken { by: first.clone() }
    );
    // …another slot is free at once…
    assert_eq!(
        store
            .claim_slot(
                &lead,
                "kit#onsite_demo",
                &repeat,
                inside,
                inside - window,
                lease(inside)
            )
            .await
            .unwrap(),
        SlotClaim::Claimed
    );
    // …and after the window the same slot is free again.
    assert_eq!(
        claim(&repeat, now + Duration::minutes(11)).await,
        SlotClaim::Claimed
    );
}

#[tokio::test]
async fn dynamo_store_counts_rate_limits_and_refuses_past_them_without_counting() {
    use leadflow::domain::playbook::RateLimit;
    let r = Resources::new().await;
    let store = r.store();
    let now = Utc::now();
    let address = RateLimit {
        max: 3,
        minutes: 60,
    }
    .quota(
        leadflow::domain::playbook::QuotaScope::Address,
        format!("address#{}", common::unique("q")),
        now,
    );
    let ip = RateLimit { max: 4, minutes: 1 }.quota(
        leadflow::domain::playbook::QuotaScope::SourceIp,
        format!("ip#{}", common::unique("ip")),
        now,
    );
    let both = [address.clone(), ip.clone()];
    for _ in 0..3 {
        assert_eq!(store.take_quota(&both).await.unwrap(), None);
    }
    // The address is used up: refused, and the IP's unit is given back.
    assert_eq!(
        store.take_quota(&both).await.unwrap(),
        Some(address.clone())
    );
    assert_eq!(
        store.take_quota(&both).await.unwrap(),
        Some(address.clone())
    );
    assert_eq!(
        store.take_quota(std::slice::from_ref(&ip)).await.unwrap(),
        None,
        "the IP had 3 of 4 taken"
    );
    assert_eq!(
        store.take_quota(std::slice::from_ref(&ip)).await.unwrap(),
        Some(ip.clone())
    );
    // A new window starts from nothing.
    let next = RateLimit {
        max: 3,
        minutes: 60,
    }
    .quota(
        leadflow::domain::playbook::QuotaScope::Address,
        address.key.clone(),
        address.window_end,
    );
    assert_eq!(store.take_quota(&[next]).await.unwrap(), None);
}

#[tokio::test]
async fn dynamo_store_adopts_an_email_claim_whose_lead_is_missing() {
    let r = Resources::new().await;
    let store = r.store();
    let pb = Playbook::default_playbook().unwrap();
    let email = EmailAddress::parse(&format!("{}@example.com", common::unique("orphan"))).unwrap();
    let orphan = LeadId::generate();
    aws_sdk_dynamodb::Client::new(&r.config)
        .put_item()
        .table_name(&r.table)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("EMAIL#{email}")),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("EMAIL".into()),
        )
        .item(
            "lead_id",
            aws_sdk_dynamodb::types::AttributeValue::S(orphan.to_string()),
        )
        .send()
        .await
        .unwrap();
    let publisher = r.publisher();
    let accepted = submit(
        &store,
        &publisher,
        Utc::now(),
        Submission::new(inquiry(&pb, &[("email", email.as_str())])),
    )
    .await
    .expect("accepted, not refused for ever");
    assert_eq!(accepted.lead_id, orphan);
    assert!(accepted.new_lead);
    assert_eq!(store.lead(&orphan).await.unwrap().unwrap().responses, 1);
}

#[tokio::test]
async fn a_lead_stays_storable_however_much_a_person_posts_and_a_refused_write_is_permanent() {
    let r = Resources::new().await;
    let store = r.store();
    let publisher = r.publisher();
    let pb = Playbook::default_playbook().unwrap();
    let email = format!("{}@example.com", common::unique("big"));
    let value = "漢".repeat(1000);
    for post in 0..10 {
        let names: Vec<String> = (0..20).map(|i| format!("field_{post}_{i}")).collect();
        let mut fields: Vec<(&str, &str)> = vec![("email", &email)];
        fields.extend(names.iter().map(|n| (n.as_str(), value.as_str())));
        submit(
            &store,
            &publisher,
            Utc::now(),
            Submission::new(inquiry(&pb, &fields)),
        )
        .await
        .unwrap_or_else(|e| panic!("post {post}: {e}"));
    }
    let id = store
        .lead_id_by_email(&EmailAddress::parse(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let lead = store.lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.responses, 10);
    let bytes: usize = lead.custom.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(bytes <= Lead::MAX_CUSTOM_BYTES, "{bytes}");

    // A write DynamoDB refuses as invalid is reported as permanent, not "try again".
    let mut huge = lead.clone();
    huge.custom.insert("huge".into(), "x".repeat(420 * 1024));
    let v = huge.version;
    huge.version += 1;
    let err = store
        .commit(Commit {
            lead: Some((huge, Expect::Version(v))),
            ..Commit::default()
        })
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
}

#[tokio::test]
async fn the_sweeper_drains_a_sharded_backlog_in_batches_and_skips_an_unreadable_row() {
    let r = Resources::new().await;
    let store = r.store();
    let now = Utc::now() - Duration::minutes(5);
    let messages: Vec<_> = (0..120)
        .map(|_| {
            RouteRequest {
                lead_id: LeadId::generate(),
                response_id: ResponseId::generate(),
            }
            .to_outbox(now)
        })
        .collect();
    let shards: std::collections::BTreeSet<_> = messages.iter().map(|m| m.shard()).collect();
    assert!(shards.len() > 8, "spread over the shards: {shards:?}");
    for chunk in messages.chunks(20) {
        store
            .commit(Commit {
                outbox: chunk.to_vec(),
                ..Commit::default()
            })
            .await
            .unwrap();
    }
    // A row nobody can read (a newer writer's shape, a bad edit) must not block the rest.
    use aws_sdk_dynamodb::types::AttributeValue as A;
    aws_sdk_dynamodb::Client::new(&r.config)
        .put_item()
        .table_name(&r.table)
        .item("pk", A::S("OUTBOX#garbled".into()))
        .item("sk", A::S("OUTBOX".into()))
        .item("due_pk", A::S("OUTBOX#3".into()))
        .item("due_sk", A::S("2000-01-01T00:00:00.000Z#x".into()))
        .send()
        .await
        .unwrap();

    let report = sweep(&store, &r.publisher(), Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(report.published, 120);
    assert_eq!(report.failed + report.not_cleared, 0);
    assert_eq!(report.unreadable, 1);
    let left = store.outbox_due(Utc::now(), 1000).await.unwrap();
    assert!(left.due.is_empty());
    assert_eq!(left.unreadable, ["OUTBOX#garbled"]);
    // Every message is on the routing queue.
    let sqs = aws_sdk_sqs::Client::new(&r.config);
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&r.routing_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let n: usize = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert_eq!(n, 120);
}

#[tokio::test]
async fn a_lead_is_updated_field_by_field_and_an_unreadable_history_row_is_skipped() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let r = Resources::new().await;
    let store = r.store();
    let publisher = r.publisher();
    let pb = Playbook::default_playbook().unwrap();
    let email = format!("{}@example.com", common::unique("fields"));
    let accepted = submit(
        &store,
        &publisher,
        Utc::now(),
        Submission::new(inquiry(
            &pb,
            &[
                ("email", &email),
                ("country", "DE"),
                ("interest", "grid analytics"),
                ("consent_email", "true"),
                ("favourite", "teal"),
                ("request_type", "onsite_demo"),
            ],
        )),
    )
    .await
    .unwrap();
    route_lead(
        &store,
        &publisher,
        &pb,
        Utc::now(),
        &RouteRequest {
            lead_id: accepted.lead_id.clone(),
            response_id: accepted.response_id.clone().unwrap(),
        },
    )
    .await
    .unwrap();
    let lead = store.lead(&accepted.lead_id).await.unwrap().unwrap();
    // Every attribute written for a fully populated lead is one the adapter owns.
    let item = leadflow_aws::dynamo::DynamoStore::lead_item_for(&lead).unwrap();
    for key in item.keys().filter(|k| *k != "pk" && *k != "sk") {
        assert!(
            leadflow_aws::dynamo::LEAD_FIELDS.contains(&key.as_str()),
            "{key} is written but not in LEAD_FIELDS"
        );
    }

    // A newer version writes an attribute this code does not know…
    let client = aws_sdk_dynamodb::Client::new(&r.config);
    let key = |c: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder| {
        c.table_name(&r.table)
            .key("pk", A::S(format!("LEAD#{}", lead.id)))
            .key("sk", A::S("LEAD".into()))
    };
    key(client.update_item())
        .update_expression("SET future_field = :f")
        .expression_attribute_values(":f", A::S("kept".into()))
        .send()
        .await
        .unwrap();
    // …and this version updates the lead, dropping a field it owns.
    let mut changed = lead.clone();
    changed.interest = None;
    changed.version += 1;
    store
        .commit(Commit {
            lead: Some((changed, Expect::Version(lead.version))),
            ..Commit::default()
        })
        .await
        .unwrap();
    let raw = client
        .get_item()
        .table_name(&r.table)
        .key("pk", A::S(format!("LEAD#{}", lead.id)))
        .key("sk", A::S("LEAD".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(raw["future_field"], A::S("kept".into()), "not erased");
    assert!(!raw.contains_key("interest"), "a field it owns is removed");
    let stored = store.lead(&lead.id).await.unwrap().unwrap();
    assert_eq!(stored.version, lead.version + 1);
    assert_eq!(stored.routing, lead.routing);

    // A history row nobody can read is skipped, not a failure for ever.
    let before = store.history(&lead.id).await.unwrap().len();
    client
        .put_item()
        .table_name(&r.table)
        .item("pk", A::S(format!("LEAD#{}", lead.id)))
        .item("sk", A::S("EVT#2000-01-01T00:00:00.000Z#garbled".into()))
        .item("event", A::S("from the future".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(store.history(&lead.id).await.unwrap().len(), before);
}

#[tokio::test]
async fn dynamo_store_keeps_tasks_indexed_by_owner_while_open_and_lists_owners_leads_newest_first()
{
    use leadflow::domain::task::{Task, TaskKind, TaskStatus};
    let r = Resources::new().await;
    let store = r.store();
    let pb = Playbook::default_playbook().unwrap();
    let owner = pb.rep("lena.fischer").unwrap().owner();
    let now = Utc::now();
    let mut leads = Vec::new();
    for i in 0..3 {
        let email = EmailAddress::parse(&format!("{}@example.com", common::unique("t"))).unwrap();
        let mut lead = Lead::new(LeadId::generate(), email, now + Duration::seconds(i));
        lead.updated_at = now + Duration::seconds(i);
        lead.routing = Some(leadflow::domain::routing::decide(
            &lead,
            &[],
            &pb,
            now,
            |_| Default::default(),
        ));
        if let Some(d) = lead.routing.as_mut() {
            d.owner = owner.clone();
        }
        lead.version = 1;
        let call = Task::new(
            &lead.id,
            TaskKind::PrequalificationCall,
            owner.clone(),
            now + Duration::hours(10 - i),
            now,
            "call",
        );
        let later = Task::new(
            &lead.id,
            TaskKind::KitFollowUp,
            owner.clone(),
            now + Duration::days(2),
            now,
            "kit",
        );
        store
            .commit(Commit {
                lead: Some((lead.clone(), Expect::New)),
                tasks: vec![call, later],
                ..Commit::default()
            })
            .await
            .unwrap();
        leads.push(lead);
    }
    let key = owner.key();
    let open = store.open_tasks(&key, None, 100).await.unwrap();
    let ours: Vec<&Task> = open
        .iter()
        .filter(|t| leads.iter().any(|l| l.id == t.lead_id))
        .collect();
    assert_eq!(ours.len(), 6);
    assert!(
        ours.windows(2).all(|w| w[0].due_at <= w[1].due_at),
        "earliest due first"
    );
    let soon = store
        .open_tasks(&key, Some(now + Duration::days(1)), 100)
        .await
        .unwrap();
    assert!(soon
        .iter()
        .filter(|t| leads.iter().any(|l| l.id == t.lead_id))
        .all(|t| t.kind == TaskKind::PrequalificationCall));

    // Paged as GET /tasks pages: after the last task of a page, the rest in
    // due order; within a due_before too; a cursor past it reads nothing
    // (rather than a query DynamoDB would refuse).
    let mine = |ts: Vec<Task>| -> Vec<Task> {
        ts.into_iter()
            .filter(|t| leads.iter().any(|l| l.id == t.lead_id))
            .collect()
    };
    let first = mine(store.open_tasks(&key, None, 100).await.unwrap());
    let (page, rest) = first.split_at(2);
    let last = page.last().unwrap();
    let after = mine(
        store
            .open_tasks_after(&key, (last.due_at, &last.id), None, 100)
            .await
            .unwrap(),
    );
    assert_eq!(
        after.iter().map(|t| &t.id).collect::<Vec<_>>(),
        rest.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    let within = mine(
        store
            .open_tasks_after(
                &key,
                (last.due_at, &last.id),
                Some(now + Duration::days(1)),
                100,
            )
            .await
            .unwrap(),
    );
    assert_eq!(within.len(), 1, "{within:?}");
    assert_eq!(within[0].kind, TaskKind::PrequalificationCall);
    assert!(store
        .open_tasks_after(
            &key,
            (now + Duration::days(3), &last.id),
            Some(now + Duration::days(1)),
            10
        )
        .await
        .unwrap()
        .is_empty());

    // Closing a task takes it out of its owner's list; the lead keeps it.
    let mut done = store.tasks(&leads[0].id).await.unwrap()[0].clone();
    done.close(TaskStatus::Done, "lena.fischer", "called", now);
    store
        .commit(Commit {
            tasks: vec![done.clone()],
            ..Commit::default()
        })
        .await
        .unwrap();
    assert!(!store
        .open_tasks(&key, None, 100)
        .await
        .unwrap()
        .iter()
        .any(|t| t.id == done.id));
    let kept = store.tasks(&leads[0].id).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept
        .iter()
        .any(|t| t.id == done.id && t.status == TaskStatus::Done));

    // An owner's leads, newest activity first, a page at a time.
    let page = store.leads_by_owner(&key, None, 2).await.unwrap();
    let ids: Vec<&LeadId> = page.leads.iter().map(|l| &l.id).collect();
    assert_eq!(ids.len(), 2);
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let p = store
            .leads_by_owner(&key, after.as_deref(), 2)
            .await
            .unwrap();
        all.extend(p.leads.into_iter().map(|l| l.id));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let mine: Vec<&LeadId> = all
        .iter()
        .filter(|id| leads.iter().any(|l| &l.id == *id))
        .collect();
    assert_eq!(mine, vec![&leads[2].id, &leads[1].id, &leads[0].id]);
}

/// The whole company's day counters of the scenario's day (30 Nov 2026).
async fn day_all(
    store: &leadflow_aws::dynamo::DynamoStore,
) -> Vec<leadflow::domain::stats::DayRow> {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    store
        .day_counts(leadflow::domain::stats::Dim::All, day, day)
        .await
        .unwrap()
}

/// The report counters on DynamoDB: a commit moves them in its own
/// transaction, a failed commit moves nothing, shards add up on read, a
/// period reads only its days, and many values page through.
#[tokio::test]
async fn dynamo_store_keeps_report_counters_in_the_commits_transaction() {
    use leadflow::domain::outcome::LeadStatus;
    use leadflow::domain::stats::Dim;
    let r = Resources::new().await;
    let store = r.store();
    let pb = Playbook::default_playbook().unwrap();
    let day = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let mut ids = Vec::new();
    // 30 leads over 30 campaigns (more values than one shard's page of a few
    // items, and spread over the shards), on one day.
    for i in 0..30 {
        let email =
            EmailAddress::parse(&format!("{}-{i}@example.com", common::unique("c"))).unwrap();
        let mut lead = Lead::new(LeadId::generate(), email, day);
        let campaign = format!("campaign-{i:02}");
        let rec = lead.apply_response(
            &inquiry(
                &pb,
                &[
                    ("email", "x@example.com"),
                    ("campaign", &campaign),
                    ("country", "DE"),
                ],
            ),
            &ResponseId::generate(),
            day,
        );
        let entry = HistoryEntry::new(&lead.id, day, Event::Response(rec));
        lead.version = 1;
        store
            .commit(Commit {
                lead: Some((lead.clone(), Expect::New)),
                events: vec![entry],
                ..Commit::default()
            })
            .await
            .unwrap();
        ids.push(lead.id);
    }
    let all = day_all(&store).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].metrics["reached_suspect"], 30);
    assert_eq!(all[0].metrics["responses"], 30);
    let by_campaign = store
        .day_counts(Dim::Campaign, day.date_naive(), day.date_naive())
        .await
        .unwrap();
    assert_eq!(by_campaign.len(), 30);
    assert!(by_campaign
        .iter()
        .all(|r| r.metrics["reached_suspect"] == 1));
    // Another period reads nothing; a period across the month reads the same.
    let before = day.date_naive() - Duration::days(1);
    assert!(store
        .day_counts(Dim::All, before, before)
        .await
        .unwrap()
        .is_empty());
    let across = store
        .day_counts(Dim::All, before, day.date_naive() + Duration::days(5))
        .await
        .unwrap();
    assert_eq!(across[0].metrics["reached_suspect"], 30);

    // Counters of what is not a lead (spam posts) add up over their shards too.
    let today = day.date_naive();
    let spam = |sign: &str, shard| leadflow::domain::stats::spam(today, sign, shard);
    store
        .add_counts(&[
            spam("honeypot", 3),
            spam("honeypot", 11),
            spam("too_fast", 3),
        ])
        .await
        .unwrap();
    let seen = store.day_counts(Dim::Spam, today, today).await.unwrap();
    let seen: Vec<(&str, i64)> = seen
        .iter()
        .map(|r| (r.value.as_str(), r.metrics["spam"]))
        .collect();
    assert_eq!(seen, vec![("honeypot", 2), ("too_fast", 1)]);

    // A stale write moves no counter; the one that wins moves them once.
    let mut lead = store.lead(&ids[0]).await.unwrap().unwrap();
    lead.status = LeadStatus::Won;
    lead.version = 2;
    let stale = Commit {
        lead: Some((lead.clone(), Expect::Version(7))),
        ..Commit::default()
    };
    assert_eq!(store.commit(stale).await, Err(StoreError::Conflict));
    let all = day_all(&store).await;
    assert_eq!(all[0].metrics.get("reached_won"), None);
    store
        .commit(Commit {
            lead: Some((lead, Expect::Version(1))),
            ..Commit::default()
        })
        .await
        .unwrap();
    let all = day_all(&store).await;
    for m in [
        "reached_prospect",
        "reached_sales_ready",
        "reached_quote",
        "reached_won",
    ] {
        assert_eq!(all[0].metrics[m], 1, "{m}: {all:?}");
    }
    // The lead remembers what it is counted as: a further write adds nothing.
    let mut again = store.lead(&ids[0]).await.unwrap().unwrap();
    again.version = 3;
    store
        .commit(Commit {
            lead: Some((again, Expect::Version(2))),
            ..Commit::default()
        })
        .await
        .unwrap();
    let all = day_all(&store).await;
    assert_eq!(all[0].metrics["reached_won"], 1);
    // No lead here is owned (not routed): no open-lead gauges.
    assert!(store.gauges(Dim::All).await.unwrap().is_empty());
}

/// A lead's history a page at a time, newest first, from the table as from
/// the in-memory store: pages meet without a gap or an overlap.
#[tokio::test]
async fn dynamo_store_pages_a_leads_history_newest_first() {
    let r = Resources::new().await;
    let store = r.store();
    let id = LeadId::generate();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let entries: Vec<HistoryEntry> = (0..7)
        .map(|i| {
            HistoryEntry::new(
                &id,
                t0 + Duration::minutes(i),
                Event::Activity {
                    kind: "site_visit".into(),
                    detail: Some(format!("visit {i}")),
                    message_id: None,
                    occurred_at: None,
                },
            )
        })
        .collect();
    store
        .commit(Commit {
            events: entries.clone(),
            ..Commit::default()
        })
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = store
            .history_before(&id, before.as_deref(), 3)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        before = page.last().map(HistoryEntry::key);
        seen.extend(page);
    }
    let mut newest_first = entries.clone();
    newest_first.reverse();
    assert_eq!(
        seen.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        newest_first
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>()
    );
}

/// Issue 24, item 17: held posts are kept per day, listed newest first a
/// page at a time across days, and marked released once.
#[tokio::test]
async fn dynamo_store_holds_suspected_spam_and_releases_a_post_once() {
    use leadflow::domain::spam::{Released, SpamSign};
    let r = Resources::new().await;
    let store = r.store();
    let pb = Playbook::default_playbook().unwrap();
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let post = pb.spam.hold(
            SpamSign::TooFast,
            vec![
                ("email".into(), format!("p{i}@example.com")),
                ("form_fill_ms".into(), "5".into()),
            ],
            None,
            now + Duration::milliseconds(i * 10),
        );
        store.hold(&post, now + Duration::days(30)).await.unwrap();
        ids.push(post.id);
    }
    let old = pb.spam.hold(
        SpamSign::Honeypot,
        vec![("email".into(), "old@example.com".into())],
        None,
        now - Duration::days(1),
    );
    store.hold(&old, now + Duration::days(29)).await.unwrap();
    let days = leadflow::app::quarantine::days(&pb, now);
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..10 {
        let (page, n) = store.held(&days, next.as_deref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|p| p.id));
        next = n;
        if next.is_none() {
            break;
        }
    }
    let mut expected: Vec<_> = ids.iter().rev().cloned().collect();
    expected.push(old.id.clone());
    assert_eq!(seen, expected, "newest first, across days, none twice");
    let got = store.held_post(&ids[0]).await.unwrap().unwrap();
    assert_eq!(
        got.fields,
        vec![("email".to_string(), "p0@example.com".to_string())]
    );
    assert_eq!(
        got.reason,
        "sent 5 ms after the form opened (the minimum is 3000 ms)"
    );
    let released = Released {
        at: now,
        by: "olaf.berg".into(),
        lead_id: LeadId::generate(),
    };
    store.mark_released(&ids[0], &released).await.unwrap();
    assert_eq!(
        store.mark_released(&ids[0], &released).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.held_post(&ids[0]).await.unwrap().unwrap().released,
        Some(released)
    );
}

/// The store contract the in-memory fake also keeps
/// (`leadflow::testing::contract`), against DynamoDB: the fake cannot
/// drift from the real thing unnoticed.
#[tokio::test]
async fn dynamo_store_keeps_the_store_contract() {
    let r = Resources::new().await;
    leadflow::testing::contract::store_contract(&r.store(), Utc::now()).await;
}
