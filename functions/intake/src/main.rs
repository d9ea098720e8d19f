// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use intake::{Config, Intake};
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, sqs::SqsPublisher, ConfigError, Env};

/// What template.yaml gives this function: read at once, every missing
/// required variable named together.
struct Environment {
    table_name: String,
    routing_queue_url: Option<String>,
}

impl Environment {
    fn read() -> Result<Self, ConfigError> {
        let mut env = Env::default();
        let settings = Environment {
            table_name: env.required("TABLE_NAME"),
            routing_queue_url: env.optional("ROUTING_QUEUE_URL"),
        };
        env.finish(settings)
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
        config: Config::from_env()?,
    };
    leadflow_aws::lambda::serve(
        (&intake.store, &intake.publisher),
        move |event, _deadline| async move { Ok::<_, Error>(intake.handle(event).await) },
    )
    .await
}
