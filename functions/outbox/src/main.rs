// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow_aws::{dynamo::DynamoStore, env, env_opt, sqs::SqsPublisher};
use outbox::Sweeper;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let sweeper = &Sweeper {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(
            aws_sdk_sqs::Client::new(&aws),
            env_opt("ROUTING_QUEUE_URL"),
            env_opt("FULFILLMENT_QUEUE_URL"),
        ),
        clock: SystemClock,
    };
    leadflow_aws::lambda::serve(
        (&sweeper.store, &sweeper.publisher),
        move |event, deadline| async move {
            Ok::<_, Error>(sweeper.handle_until(event, Some(deadline)).await?)
        },
    )
    .await
}
