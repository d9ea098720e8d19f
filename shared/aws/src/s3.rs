//! Export files in S3 (`Files`): one PutObject each, as `text/csv` and an
//! attachment named for the download.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use leadflow::ports::Files;

#[derive(Debug, Clone)]
pub struct S3Files {
    client: Client,
    bucket: String,
}

impl S3Files {
    /// `aws`'s client for `bucket`: path-style when `AWS_ENDPOINT_URL` names
    /// an emulator (it has no per-bucket host names), and a longer call
    /// timeout than [`crate::SDK_TIMEOUTS`] (a file is megabytes, not an item).
    pub fn new(aws: &aws_config::SdkConfig, bucket: String) -> Self {
        let config = aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(crate::env_opt("AWS_ENDPOINT_URL").is_some())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(crate::SDK_TIMEOUTS[0])
                    .operation_attempt_timeout(std::time::Duration::from_secs(60))
                    .operation_timeout(std::time::Duration::from_secs(120))
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
            bucket,
        }
    }
}

impl Files for S3Files {
    async fn put(&self, key: &str, filename: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/csv; charset=utf-8")
            .content_disposition(format!("attachment; filename=\"{filename}\""))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| format!("s3:PutObject {key}: {e:?}"))?;
        Ok(())
    }
}
