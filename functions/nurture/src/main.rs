// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::links::ActionLinks;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, ses::SesMailer, sqs::SqsPublisher};
use nurture::Nurture;

leadflow_aws::environment! {
    /// What template.yaml gives this function (every missing required
    /// variable is named at start-up, all at once).
    struct Environment {
        table_name: required("TABLE_NAME"),
        sender_address: required("SENDER_ADDRESS"),
        ses_configuration_set: optional("SES_CONFIGURATION_SET"),
        fulfillment_queue_url: optional("FULFILLMENT_QUEUE_URL"),
        action_link_keys_secret: required("ACTION_LINK_KEYS_SECRET"),
        public_api_url: required("PUBLIC_API_URL"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    let nurture = &Nurture {
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
        links: Some(ActionLinks {
            key: leadflow_aws::secrets::link_key(
                &aws_sdk_secretsmanager::Client::new(&aws),
                &e.action_link_keys_secret,
            )
            .await?,
            base_url: e.public_api_url,
        }),
    };
    leadflow_aws::lambda::serve(
        (&nurture.store, &nurture.mailer, &nurture.publisher),
        move |event, deadline| async move {
            Ok::<_, Error>(nurture.handle_until(event, Some(deadline)).await?)
        },
    )
    .await
}
