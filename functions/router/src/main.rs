// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::sqs::{SqsBatchQueues, SqsPublisher};
use leadflow_aws::sqs_batch::deadline_from_epoch_ms;
use leadflow_aws::{aws_config, dynamo::DynamoStore, env, env_opt, init_tracing};
use router::Router;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
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
    // The first request must not pay for connection set-up (issue 9).
    leadflow_aws::prime((&router.store, &router.queues)).await;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        Ok::<_, Error>(router.handle_until(event.payload, Some(deadline)).await)
    }))
    .await
}
