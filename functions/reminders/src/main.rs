// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, ses::SesMailer, sqs::SqsPublisher, ConfigError, Env};
use reminders::Reminders;

/// What template.yaml gives this function: read at once, every missing
/// required variable named together.
struct Environment {
    table_name: String,
    sender_address: String,
    ses_configuration_set: Option<String>,
    fulfillment_queue_url: Option<String>,
}

impl Environment {
    fn read() -> Result<Self, ConfigError> {
        let mut env = Env::default();
        let settings = Environment {
            table_name: env.required("TABLE_NAME"),
            sender_address: env.required("SENDER_ADDRESS"),
            ses_configuration_set: env.optional("SES_CONFIGURATION_SET"),
            fulfillment_queue_url: env.optional("FULFILLMENT_QUEUE_URL"),
        };
        env.finish(settings)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    let reminders = &Reminders {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), e.table_name),
        mailer: SesMailer::new(aws_sdk_ses::Client::new(&aws), e.sender_address)
            .with_configuration_set(e.ses_configuration_set),
        publisher: SqsPublisher::new(
            aws_sdk_sqs::Client::new(&aws),
            None,
            e.fulfillment_queue_url,
        ),
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
    };
    leadflow_aws::lambda::serve(
        (&reminders.store, &reminders.mailer, &reminders.publisher),
        move |event, deadline| async move {
            Ok::<_, Error>(reminders.handle_until(event, Some(deadline)).await?)
        },
    )
    .await
}
