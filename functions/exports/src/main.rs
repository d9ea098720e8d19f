// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use exports::Exporter;
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::dynamo::DynamoStore;
use leadflow_aws::s3::S3Files;
use leadflow_aws::sqs::SqsBatchQueues;

leadflow_aws::environment! {
    /// What template.yaml gives this function (every missing required
    /// variable is named at start-up, all at once).
    struct Environment {
        table_name: required("TABLE_NAME"),
        export_bucket: required("EXPORT_BUCKET"),
        export_queue_url: required("EXPORT_QUEUE_URL"),
        dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    let exporter = &Exporter {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), e.table_name),
        files: S3Files::new(&aws, e.export_bucket),
        clock: SystemClock,
        queues: SqsBatchQueues::new(
            aws_sdk_sqs::Client::new(&aws),
            e.export_queue_url,
            e.dead_letter_queue_url,
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
