// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::sqs::{SqsBatchQueues, SqsPublisher};
use leadflow_aws::{dynamo::DynamoStore, ConfigError, Env};
use router::Router;

/// What template.yaml gives this function: read at once, every missing
/// required variable named together.
struct Environment {
    table_name: String,
    fulfillment_queue_url: Option<String>,
    routing_queue_url: String,
    dead_letter_queue_url: String,
}

impl Environment {
    fn read() -> Result<Self, ConfigError> {
        let mut env = Env::default();
        let settings = Environment {
            table_name: env.required("TABLE_NAME"),
            fulfillment_queue_url: env.optional("FULFILLMENT_QUEUE_URL"),
            routing_queue_url: env.required("ROUTING_QUEUE_URL"),
            dead_letter_queue_url: env.required("DEAD_LETTER_QUEUE_URL"),
        };
        env.finish(settings)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    // One SQS client (one connection pool) for publishing and for the batch's own queues.
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let router = &Router {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), e.table_name),
        publisher: SqsPublisher::new(sqs.clone(), None, e.fulfillment_queue_url),
        clock: SystemClock,
        queues: SqsBatchQueues::new(sqs, e.routing_queue_url, e.dead_letter_queue_url),
        playbook: Playbook::default_playbook()?,
    };
    leadflow_aws::lambda::serve(
        (&router.store, &router.queues),
        move |event, deadline| async move {
            Ok::<_, Error>(router.handle_until(event, Some(deadline)).await)
        },
    )
    .await
}
