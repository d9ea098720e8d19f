// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::sqs::{SqsBatchQueues, SqsPublisher};
use leadflow_aws::{dynamo::DynamoStore, env, env_opt};
use router::Router;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    // One SQS client (one connection pool) for publishing and for the batch's own queues.
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let router = &Router {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(sqs.clone(), None, env_opt("FULFILLMENT_QUEUE_URL")),
        clock: SystemClock,
        queues: SqsBatchQueues::new(
            sqs,
            env("ROUTING_QUEUE_URL")?,
            env("DEAD_LETTER_QUEUE_URL")?,
        ),
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
