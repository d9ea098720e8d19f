//! The SDKs of fulfillment, nurture and reminders: DynamoDB, SQS and SES.
use leadflow_bench_floors::{config, get_item, queue_attributes, send_quota, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let ses = aws_sdk_ses::Client::new(&aws);
    serve(|| async {
        get_item(&dynamodb).await & queue_attributes(&sqs).await & send_quota(&ses).await
    })
    .await
}
