// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::dynamo::DynamoStore;
use leadflow_aws::sqs::{SqsBatchQueues, SqsPublisher};
use router::Router;

leadflow_aws::environment! {
    /// What template.yaml gives this function (every missing required
    /// variable is named at start-up, all at once).
    struct Environment {
        table_name: required("TABLE_NAME"),
        fulfillment_queue_url: optional("FULFILLMENT_QUEUE_URL"),
        routing_queue_url: required("ROUTING_QUEUE_URL"),
        dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL"),
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
