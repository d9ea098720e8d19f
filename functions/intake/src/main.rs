// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use intake::{Config, Intake};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{
    aws_config, dynamo::DynamoStore, env, env_opt, init_tracing, sqs::SqsPublisher,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
    let intake = &Intake {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(
            aws_sdk_sqs::Client::new(&aws),
            env_opt("ROUTING_QUEUE_URL"),
            None,
        ),
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
        config: Config::from_env()?,
    };
    // The first request must not pay for connection set-up (issue 9).
    leadflow_aws::prime((&intake.store, &intake.publisher)).await;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(intake.handle(event.payload).await)
    }))
    .await
}
