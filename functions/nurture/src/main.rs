// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use leadflow::links::ActionLinks;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{
    aws_config, dynamo::DynamoStore, env, env_opt, init_tracing, ses::SesMailer, sqs::SqsPublisher,
};
use nurture::Nurture;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = aws_config().await;
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
    // The first request must not pay for connection set-up (issue 9).
    leadflow_aws::prime((&nurture.store, &nurture.mailer, &nurture.publisher)).await;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        let deadline = leadflow_aws::sqs_batch::deadline_from_epoch_ms(event.context.deadline);
        Ok::<_, Error>(nurture.handle_until(event.payload, Some(deadline)).await?)
    }))
    .await
}
