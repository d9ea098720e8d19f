// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::{
    dynamo::DynamoStore,
    sqs::{SqsDeadLetters, SqsPublisher},
};
use sales::workspace::SignIn;
use sales::Sales;

leadflow_aws::environment! {
    /// What template.yaml gives this function (every missing required
    /// variable is named at start-up, all at once).
    struct Environment {
        table_name: required("TABLE_NAME"),
        routing_queue_url: optional("ROUTING_QUEUE_URL"),
        fulfillment_queue_url: optional("FULFILLMENT_QUEUE_URL"),
        export_queue_url: optional("EXPORT_QUEUE_URL"),
        dead_letter_queues: optional("DEAD_LETTER_QUEUES"),
        workspace_sign_in: optional("WORKSPACE_SIGN_IN"),
        cognito_domain: optional("COGNITO_DOMAIN"),
        user_pool_client_id: optional("USER_POOL_CLIENT_ID"),
        export_bucket: optional("EXPORT_BUCKET"),
        action_link_keys_secret: required("ACTION_LINK_KEYS_SECRET"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let e = Environment::read()?;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let sales = &Sales {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), e.table_name),
        publisher: SqsPublisher::new(sqs.clone(), e.routing_queue_url, e.fulfillment_queue_url)
            .with_exports(e.export_queue_url),
        dead_letters: SqsDeadLetters::new(
            sqs,
            SqsDeadLetters::parse_list(&e.dead_letter_queues.unwrap_or_default()),
        ),
        workspace: SignIn::from_env(e.workspace_sign_in, e.cognito_domain, e.user_pool_client_id),
        exports: e
            .export_bucket
            .and_then(|bucket| leadflow_aws::files::FileLinks::new(&aws, bucket)),
        export_rows: sales::EXPORT_MAX,
        clock: SystemClock,
        playbook: Playbook::default_playbook()?,
        links: leadflow_aws::secrets::keyring(
            aws_sdk_secretsmanager::Client::new(&aws),
            e.action_link_keys_secret,
        )
        .await?,
    };
    leadflow_aws::lambda::serve(
        (&sales.store, &sales.publisher),
        move |event, _deadline| async move { Ok::<_, Error>(sales.handle(event).await) },
    )
    .await
}
