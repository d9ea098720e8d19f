// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use exports::Exporter;
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::s3::S3Files;
use leadflow_aws::sqs::SqsBatchQueues;
use leadflow_aws::{dynamo::DynamoStore, env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let exporter = &Exporter {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        files: S3Files::new(&aws, env("EXPORT_BUCKET")?),
        clock: SystemClock,
        queues: SqsBatchQueues::new(
            aws_sdk_sqs::Client::new(&aws),
            env("EXPORT_QUEUE_URL")?,
            env("DEAD_LETTER_QUEUE_URL")?,
        ),
        playbook: Playbook::default_playbook()?,
    };
    leadflow_aws::lambda::serve(
        (&exporter.store, &exporter.queues),
        move |event, deadline| async move {
            Ok::<_, Error>(exporter.handle(event, Some(deadline)).await)
        },
    )
    .await
}
