// The compiler computes the layout of `main`'s future: the Lambda runtime
// around the handler around the AWS SDK's calls nests deeper than the default
// limit (128) allows ("queries overflow the depth limit").
#![recursion_limit = "256"]
use email_events::EmailEvents;
use lambda_runtime::Error;
use leadflow::ports::SystemClock;
use leadflow::Playbook;
use leadflow_aws::sqs::{SqsBatchQueues, SqsPublisher};
use leadflow_aws::{dynamo::DynamoStore, env, env_opt};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = leadflow_aws::lambda::start().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let handler = &EmailEvents {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("TABLE_NAME")?),
        publisher: SqsPublisher::new(sqs.clone(), None, env_opt("FULFILLMENT_QUEUE_URL")),
        clock: SystemClock,
        queues: SqsBatchQueues::new(
            sqs,
            env("EMAIL_EVENTS_QUEUE_URL")?,
            env("DEAD_LETTER_QUEUE_URL")?,
        ),
        playbook: Playbook::default_playbook()?,
    };
    leadflow_aws::lambda::serve(
        (&handler.store, &handler.queues),
        move |event, deadline| async move {
            Ok::<_, Error>(handler.handle(event, Some(deadline)).await)
        },
    )
    .await
}
