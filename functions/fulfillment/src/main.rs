// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use fulfillment::Fulfillment;
use lambda_runtime::Error;
use leadflow::links::ActionLinks;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::sqs::SqsBatchQueues;
use leadflow_aws::{dynamo::DynamoStore, ses::SesMailer};

leadflow_aws::environment! {
    /// What template.yaml gives this function (every missing required
    /// variable is named at start-up, all at once).
    struct Environment {
        table_name: required("TABLE_NAME"),
        sender_address: required("SENDER_ADDRESS"),
        ses_configuration_set: optional("SES_CONFIGURATION_SET"),
        fulfillment_queue_url: required("FULFILLMENT_QUEUE_URL"),
        dead_letter_queue_url: required("DEAD_LETTER_QUEUE_URL"),
        action_link_keys_secret: optional("ACTION_LINK_KEYS_SECRET"),
        public_api_url: optional("PUBLIC_API_URL"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    let fulfillment = &Fulfillment {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), e.table_name),
        mailer: SesMailer::new(aws_sdk_ses::Client::new(&aws), e.sender_address)
            .with_configuration_set(e.ses_configuration_set),
        clock: SystemClock,
        queues: SqsBatchQueues::new(
            aws_sdk_sqs::Client::new(&aws),
            e.fulfillment_queue_url,
            e.dead_letter_queue_url,
        ),
        playbook: Playbook::default_playbook()?,
        // Signed with the current key the secret held at cold start (the
        // keys it lists all verify, so a rotation never voids what is sent).
        links: match (e.action_link_keys_secret, e.public_api_url) {
            (Some(secret), Some(base_url)) => Some(ActionLinks {
                key: leadflow_aws::secrets::link_key(
                    &aws_sdk_secretsmanager::Client::new(&aws),
                    &secret,
                )
                .await?,
                base_url,
            }),
            _ => None,
        },
    };
    leadflow_aws::lambda::serve(
        (&fulfillment.store, &fulfillment.mailer, &fulfillment.queues),
        move |event, deadline| async move {
            Ok::<_, Error>(fulfillment.handle_until(event, Some(deadline)).await)
        },
    )
    .await
}
