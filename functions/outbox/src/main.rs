// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::ports::SystemClock;
use leadflow_aws::{
    aws_config, dynamo::DynamoStore, env, env_opt, init_tracing, sqs::SqsPublisher,
};
use outbox::Sweeper;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
    let sweeper = &Sweeper {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(
            aws_sdk_sqs::Client::new(&aws),
            env_opt("ROUTING_QUEUE_URL"),
            env_opt("FULFILLMENT_QUEUE_URL"),
        ),
        clock: SystemClock,
    };
    // The first request must not pay for connection set-up (issue 9).
    leadflow_aws::prime((&sweeper.store, &sweeper.publisher)).await;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        let deadline = leadflow_aws::sqs_batch::deadline_from_epoch_ms(event.context.deadline);
        Ok::<_, Error>(sweeper.handle_until(event.payload, Some(deadline)).await?)
    }))
    .await
}
