// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use exports::Exporter;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::s3::S3Files;
use leadflow_aws::sqs::SqsBatchQueues;
use leadflow_aws::sqs_batch::deadline_from_epoch_ms;
use leadflow_aws::{aws_config, dynamo::DynamoStore, env, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
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
    run(service_fn(move |event: LambdaEvent<_>| async move {
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        Ok::<_, Error>(exporter.handle(event.payload, Some(deadline)).await)
    }))
    .await
}
