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
use leadflow_aws::{dynamo::DynamoStore, env, env_opt, ses::SesMailer};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let fulfillment = &Fulfillment {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        mailer: SesMailer::new(aws_sdk_ses::Client::new(&aws), env("SENDER_ADDRESS")?)
            .with_configuration_set(env_opt("SES_CONFIGURATION_SET")),
        clock: SystemClock,
        queues: SqsBatchQueues::new(
            aws_sdk_sqs::Client::new(&aws),
            env("FULFILLMENT_QUEUE_URL")?,
            env("DEAD_LETTER_QUEUE_URL")?,
        ),
        playbook: Playbook::default_playbook()?,
        // Signed with the current key the secret held at cold start (the
        // keys it lists all verify, so a rotation never voids what is sent).
        links: match (
            env_opt("ACTION_LINK_KEYS_SECRET"),
            env_opt("PUBLIC_API_URL"),
        ) {
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
