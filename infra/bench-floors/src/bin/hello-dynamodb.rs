//! One SDK client: DynamoDB.
use leadflow_bench_floors::{config, get_item, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    serve(|| get_item(&dynamodb)).await
}
