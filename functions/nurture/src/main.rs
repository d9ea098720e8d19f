// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::links::ActionLinks;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{dynamo::DynamoStore, env, env_opt, ses::SesMailer, sqs::SqsPublisher};
use nurture::Nurture;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let nurture = &Nurture {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        mailer: SesMailer::new(aws_sdk_ses::Client::new(&aws), env("SENDER_ADDRESS")?)
            .with_configuration_set(env_opt("SES_CONFIGURATION_SET")),
        publisher: SqsPublisher::new(
            aws_sdk_sqs::Client::new(&aws),
            None,
            env_opt("FULFILLMENT_QUEUE_URL"),
        ),
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
        links: Some(ActionLinks {
            key: leadflow_aws::secrets::link_key(
                &aws_sdk_secretsmanager::Client::new(&aws),
                &env("ACTION_LINK_KEYS_SECRET")?,
            )
            .await?,
            base_url: env("PUBLIC_API_URL")?,
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
