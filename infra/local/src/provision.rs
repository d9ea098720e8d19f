//! Creates a [`StackModel`]'s tables, queues and email identities in the emulator.
//! Idempotent: what already exists is left as it is (queue attributes are updated).

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::template::{IndexSpec, NameAndType, StackModel, TableSpec};
use crate::LOCAL_REGION;

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
#[error("provisioning {resource}: {message}")]
pub struct ProvisionError {
    pub resource: String,
    pub message: String,
}

fn fail(resource: &str, message: impl std::fmt::Display) -> ProvisionError {
    ProvisionError {
        resource: resource.to_string(),
        message: message.to_string(),
    }
}

/// AWS SDK configuration for the emulator at `endpoint`: region us-east-1 and
/// dummy credentials (whatever credentials the environment holds are never
/// sent to the emulator).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "leadflow-local",
        ))
        .load()
        .await
}

/// What provisioning learned from the emulator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// Queue URLs as the emulator reported them, by logical id.
    pub queue_urls: BTreeMap<String, String>,
}

/// Creates everything `model` declares. Re-running it is harmless.
pub async fn provision(
    model: &StackModel,
    config: &SdkConfig,
) -> Result<Provisioned, ProvisionError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    for table in &model.tables {
        create_table(&dynamodb, table).await?;
    }
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut provisioned = Provisioned::default();
    for queue in &model.queues {
        let attributes: std::collections::HashMap<QueueAttributeName, String> = queue
            .attributes
            .iter()
            .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
            .collect();
        let created = sqs
            .create_queue()
            .queue_name(&queue.name)
            .set_attributes(Some(attributes.clone()))
            .send()
            .await;
        let url = match created {
            Ok(out) => out.queue_url.unwrap_or_else(|| queue.url.clone()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_name_exists()) =>
            {
                // It exists with other attributes: bring them up to date.
                let url = sqs
                    .get_queue_url()
                    .queue_name(&queue.name)
                    .send()
                    .await
                    .map_err(|e| fail(&queue.logical_id, DisplayErrorContext(e)))?
                    .queue_url
                    .unwrap_or_else(|| queue.url.clone());
                let mutable: std::collections::HashMap<_, _> = attributes
                    .into_iter()
                    .filter(|(k, _)| *k != QueueAttributeName::FifoQueue)
                    .collect();
                sqs.set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(mutable))
                    .send()
                    .await
                    .map_err(|e| fail(&queue.logical_id, DisplayErrorContext(e)))?;
                url
            }
            Err(e) => return Err(fail(&queue.logical_id, DisplayErrorContext(e))),
        };
        tracing::debug!(queue = %queue.logical_id, %url, "queue ready");
        provisioned.queue_urls.insert(queue.logical_id.clone(), url);
    }
    for bucket in &model.buckets {
        create_bucket(&model.endpoint, bucket).await?;
    }
    let ses = aws_sdk_ses::Client::new(config);
    for identity in &model.email_identities {
        let result = if identity.identity.contains('@') {
            ses.verify_email_identity()
                .email_address(&identity.identity)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DisplayErrorContext(e).to_string())
        } else {
            ses.verify_domain_identity()
                .domain(&identity.identity)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DisplayErrorContext(e).to_string())
        };
        result.map_err(|e| fail(&identity.logical_id, e))?;
    }
    for name in &model.configuration_sets {
        let set = aws_sdk_ses::types::ConfigurationSet::builder()
            .name(name)
            .build()
            .map_err(|e| fail(name, e))?;
        match ses
            .create_configuration_set()
            .configuration_set(set)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => {
                let text = DisplayErrorContext(&e).to_string();
                if !text.contains("AlreadyExists") {
                    return Err(fail(name, text));
                }
            }
        }
    }
    Ok(provisioned)
}

fn key_schema(
    resource: &str,
    keys: &[NameAndType],
) -> Result<Vec<ddb::KeySchemaElement>, ProvisionError> {
    keys.iter()
        .map(|k| {
            ddb::KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(ddb::KeyType::from(k.ty.as_str()))
                .build()
                .map_err(|e| fail(resource, e))
        })
        .collect()
}

fn throughput(
    resource: &str,
    rw: Option<(i64, i64)>,
) -> Result<Option<ddb::ProvisionedThroughput>, ProvisionError> {
    rw.map(|(r, w)| {
        ddb::ProvisionedThroughput::builder()
            .read_capacity_units(r)
            .write_capacity_units(w)
            .build()
            .map_err(|e| fail(resource, e))
    })
    .transpose()
}

fn projection(index: &IndexSpec) -> ddb::Projection {
    ddb::Projection::builder()
        .projection_type(ddb::ProjectionType::from(index.projection_type.as_str()))
        .set_non_key_attributes(if index.non_key_attributes.is_empty() {
            None
        } else {
            Some(index.non_key_attributes.clone())
        })
        .build()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
) -> Result<(), ProvisionError> {
    let id = table.logical_id.as_str();
    let provisioned = table.billing_mode == "PROVISIONED";
    let default_throughput = if provisioned { Some((5, 5)) } else { None };
    let attributes = table
        .attribute_definitions
        .iter()
        .map(|a| {
            ddb::AttributeDefinition::builder()
                .attribute_name(&a.name)
                .attribute_type(ddb::ScalarAttributeType::from(a.ty.as_str()))
                .build()
                .map_err(|e| fail(id, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut gsis = Vec::new();
    for index in &table.global_secondary_indexes {
        gsis.push(
            ddb::GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(id, &index.key_schema)?))
                .projection(projection(index))
                .set_provisioned_throughput(throughput(
                    id,
                    index.provisioned_throughput.or(default_throughput),
                )?)
                .build()
                .map_err(|e| fail(id, e))?,
        );
    }
    let mut lsis = Vec::new();
    for index in &table.local_secondary_indexes {
        lsis.push(
            ddb::LocalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(id, &index.key_schema)?))
                .projection(projection(index))
                .build()
                .map_err(|e| fail(id, e))?,
        );
    }
    let stream = match &table.stream_view_type {
        Some(view) => Some(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(ddb::StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| fail(id, e))?,
        ),
        None => None,
    };
    let created = client
        .create_table()
        .table_name(&table.name)
        .billing_mode(ddb::BillingMode::from(table.billing_mode.as_str()))
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(id, &table.key_schema)?))
        .set_global_secondary_indexes(if gsis.is_empty() { None } else { Some(gsis) })
        .set_local_secondary_indexes(if lsis.is_empty() { None } else { Some(lsis) })
        .set_provisioned_throughput(throughput(
            id,
            table.provisioned_throughput.or(default_throughput),
        )?)
        .set_stream_specification(stream)
        .send()
        .await;
    match created {
        Ok(_) => tracing::debug!(table = %table.name, "table created"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            tracing::debug!(table = %table.name, "table exists");
        }
        Err(e) => return Err(fail(id, DisplayErrorContext(e))),
    }
    wait_until_active(client, table).await?;
    if let Some(attribute) = &table.ttl_attribute {
        let current = client
            .describe_time_to_live()
            .table_name(&table.name)
            .send()
            .await
            .map_err(|e| fail(id, DisplayErrorContext(e)))?;
        let enabled = current.time_to_live_description.is_some_and(|d| {
            d.attribute_name.as_deref() == Some(attribute.as_str())
                && matches!(
                    d.time_to_live_status,
                    Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling)
                )
        });
        if !enabled {
            client
                .update_time_to_live()
                .table_name(&table.name)
                .time_to_live_specification(
                    ddb::TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .map_err(|e| fail(id, e))?,
                )
                .send()
                .await
                .map_err(|e| fail(id, DisplayErrorContext(e)))?;
        }
    }
    Ok(())
}

async fn wait_until_active(
    client: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
) -> Result<(), ProvisionError> {
    for _ in 0..100 {
        let out = client
            .describe_table()
            .table_name(&table.name)
            .send()
            .await
            .map_err(|e| fail(&table.logical_id, DisplayErrorContext(e)))?;
        if out.table.and_then(|t| t.table_status) == Some(ddb::TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(fail(&table.logical_id, "the table did not become ACTIVE"))
}

/// `PUT /<bucket>` (S3's CreateBucket, path-style: no S3 client crate for one
/// call no local code needs otherwise). A bucket that exists is kept.
async fn create_bucket(
    endpoint: &str,
    bucket: &crate::template::BucketSpec,
) -> Result<(), ProvisionError> {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=local/20260101/{}/s3/aws4_request, SignedHeaders=host, Signature=0",
        crate::LOCAL_REGION
    );
    let response = crate::emulator::http_request(
        hyper::Method::PUT,
        &format!("{}/{}", endpoint.trim_end_matches('/'), bucket.name),
        &[("authorization", &authorization)],
        bytes::Bytes::new(),
        std::time::Duration::from_secs(30),
    )
    .await
    .map_err(|e| fail(&bucket.logical_id, e))?;
    let body = String::from_utf8_lossy(&response.body);
    if response.status.is_success() || body.contains("BucketAlreadyOwnedByYou") {
        tracing::debug!(bucket = %bucket.name, "bucket ready");
        return Ok(());
    }
    Err(fail(
        &bucket.logical_id,
        format!("CreateBucket {}: {} {body}", bucket.name, response.status),
    ))
}
