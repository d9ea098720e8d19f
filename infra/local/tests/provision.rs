//! Provisioning the real template.yaml into the emulator.

mod common;

use aws_sdk_dynamodb::types::{IndexStatus, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use leadflow_local::provision::{provision, sdk_config};
use leadflow_local::root::{template_path, workspace_root};
use leadflow_local::{StackModel, StackSettings, Template};

#[tokio::test(flavor = "multi_thread")]
async fn provisions_the_real_template_idempotently() {
    let emulator = common::emulator().await;
    let template = Template::load(&template_path(&workspace_root())).unwrap();
    let stack = common::unique("prov");
    let mut settings = StackSettings::new(&stack, emulator.endpoint());
    settings.parameter_overrides = leadflow_local::dev::local_parameters(&template, 3000);
    let model = StackModel::resolve(&template, &settings).unwrap();
    let config = sdk_config(emulator.endpoint()).await;

    let first = provision(&model, &config).await.unwrap();
    // Again: everything exists already, which is fine.
    let second = provision(&model, &config).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first.queue_urls.len(),
        8,
        "routing, fulfillment, email events, exports and their DLQs"
    );
    // The buckets exist (made again, kept).
    for bucket in &model.buckets {
        let listed = leadflow_local::emulator::http_request(
            http::Method::GET,
            &format!("{}/{}", emulator.endpoint(), bucket.name),
            &[],
            bytes::Bytes::new(),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_eq!(listed.status, 200, "{}", bucket.name);
    }
    assert_eq!(model.buckets.len(), 2, "the export and analysis buckets");

    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = dynamodb
        .describe_table()
        .table_name(format!("{stack}-LeadsTable"))
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let mut gsis: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            assert_ne!(i.index_status, Some(IndexStatus::Deleting));
            i.index_name.clone().unwrap_or_default()
        })
        .collect();
    gsis.sort();
    assert_eq!(gsis, ["by_due", "by_owner"]);
    assert_eq!(table.key_schema().len(), 2);
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(format!("{stack}-LeadsTable"))
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name.as_deref(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled));

    let sqs = aws_sdk_sqs::Client::new(&config);
    let routing_url = &first.queue_urls["RoutingQueue"];
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(routing_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "180");
    assert_eq!(
        attributes[&QueueAttributeName::MessageRetentionPeriod],
        "1209600"
    );
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        format!("arn:aws:sqs:us-east-1:123456789012:{stack}-RoutingDeadLetterQueue")
    );
    assert_eq!(redrive["maxReceiveCount"].to_string(), "5");
    // The URL the functions get is the one the emulator reports.
    assert_eq!(routing_url, &model.queue("RoutingQueue").unwrap().url);

    let ses = aws_sdk_ses::Client::new(&config);
    let identities = ses.list_identities().send().await.unwrap().identities;
    assert!(identities.contains(&"leads@example.com".to_string()));
}
