// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use intake::{Config, Intake};
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, sqs::SqsPublisher};

leadflow_aws::environment! {
    /// What template.yaml gives this function (every missing required
    /// variable is named at start-up, all at once).
    struct Environment {
        table_name: required("TABLE_NAME"),
        routing_queue_url: optional("ROUTING_QUEUE_URL"),
        thank_you_url: required("THANK_YOU_URL"),
        allowed_origins: optional("ALLOWED_ORIGINS"),
        redirect_allowlist: optional("REDIRECT_ALLOWLIST"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    let intake = &Intake {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), e.table_name),
        publisher: SqsPublisher::new(aws_sdk_sqs::Client::new(&aws), e.routing_queue_url, None),
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
        config: Config::new(
            e.allowed_origins.as_deref(),
            e.thank_you_url,
            e.redirect_allowlist.as_deref(),
        )?,
    };
    leadflow_aws::lambda::serve(
        (&intake.store, &intake.publisher),
        move |event, _deadline| async move { Ok::<_, Error>(intake.handle(event).await) },
    )
    .await
}
