// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use intake::{Config, Intake};
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, env, env_opt, sqs::SqsPublisher};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
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
    leadflow_aws::lambda::serve(
        (&intake.store, &intake.publisher),
        move |event, _deadline| async move { Ok::<_, Error>(intake.handle(event).await) },
    )
    .await
}
