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
use leadflow_aws::{dynamo::DynamoStore, ConfigError, Env};

/// What template.yaml gives this function: read at once, every missing
/// required variable named together.
struct Environment {
    table_name: String,
    export_bucket: String,
    export_queue_url: String,
    dead_letter_queue_url: String,
}

impl Environment {
    fn read() -> Result<Self, ConfigError> {
        let mut env = Env::default();
        let settings = Environment {
            table_name: env.required("TABLE_NAME"),
            export_bucket: env.required("EXPORT_BUCKET"),
            export_queue_url: env.required("EXPORT_QUEUE_URL"),
            dead_letter_queue_url: env.required("DEAD_LETTER_QUEUE_URL"),
        };
        env.finish(settings)
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
