#![recursion_limit = "256"]
use fulfillment::Fulfillment;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::adapters::{aws_config, dynamo::DynamoStore, env, init_tracing, ses::SesMailer};
use leadflow::ports::SystemClock;
use leadflow::Playbook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
    let fulfillment = &Fulfillment {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        mailer: SesMailer::new(aws_sdk_ses::Client::new(&aws), env("SENDER_ADDRESS")?),
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
    };
    run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(fulfillment.handle(event.payload).await)
    }))
    .await
}
