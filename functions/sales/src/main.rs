// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{
    dynamo::DynamoStore,
    env, env_opt,
    sqs::{SqsDeadLetters, SqsPublisher},
};
use sales::workspace::SignIn;
use sales::Sales;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let sales = &Sales {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(
            sqs.clone(),
            env_opt("ROUTING_QUEUE_URL"),
            env_opt("FULFILLMENT_QUEUE_URL"),
        )
        .with_exports(env_opt("EXPORT_QUEUE_URL")),
        dead_letters: SqsDeadLetters::new(
            sqs,
            SqsDeadLetters::parse_list(&env_opt("DEAD_LETTER_QUEUES").unwrap_or_default()),
        ),
        workspace: SignIn::from_env(
            env_opt("WORKSPACE_SIGN_IN"),
            env_opt("COGNITO_DOMAIN"),
            env_opt("USER_POOL_CLIENT_ID"),
        ),
        exports: env_opt("EXPORT_BUCKET")
            .and_then(|bucket| leadflow_aws::files::FileLinks::new(&aws, bucket)),
        export_rows: sales::EXPORT_MAX,
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
        links: leadflow_aws::secrets::keyring(
            aws_sdk_secretsmanager::Client::new(&aws),
            env("ACTION_LINK_KEYS_SECRET")?,
        )
        .await?,
    };
    leadflow_aws::lambda::serve(
        (&sales.store, &sales.publisher),
        move |event, _deadline| async move { Ok::<_, Error>(sales.handle(event).await) },
    )
    .await
}
