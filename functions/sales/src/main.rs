// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::links::LinkKey;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{
    aws_config, dynamo::DynamoStore, env, env_opt, init_tracing, sqs::SqsPublisher,
};
use sales::Sales;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
    let sales = &Sales {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(
            aws_sdk_sqs::Client::new(&aws),
            None,
            env_opt("FULFILLMENT_QUEUE_URL"),
        ),
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
        links: LinkKey::new(env("ACTION_LINK_KEY")?.as_bytes())?,
    };
    run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(sales.handle(event.payload).await)
    }))
    .await
}
