//! The SDKs of intake, router, outbox, sales and email_events: DynamoDB and SQS.
use leadflow_bench_floors::{config, get_item, queue_attributes, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    serve(|| async { get_item(&dynamodb).await & queue_attributes(&sqs).await }).await
}
