//! Download links to export files: an S3 GET presigned (SigV4 in the query)
//! with the function's own credentials, made when the requester asks, so a
//! link lives its [`LINK_MINUTES`] and never longer than the credentials that
//! signed it. Only the signing is here (the rep's API has no S3 client); the
//! exports function writes the files ([`crate::s3`]).
//!
//! With `AWS_ENDPOINT_URL` set (the local stack) the link is path-style on
//! that endpoint, as the S3 client's calls are.
//!
//! [`LINK_MINUTES`]: leadflow::app::exports::LINK_MINUTES

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What SigV4 leaves unencoded in a query value: `A-Z a-z 0-9 - _ . ~`.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the credentials come from: the SDK's chain (a Lambda's role), or
/// fixed ones (tests).
#[derive(Debug, Clone)]
enum Signer {
    Chain(SharedCredentialsProvider),
    Fixed(Credentials),
}

/// Makes download links to one bucket's objects.
#[derive(Debug, Clone)]
pub struct FileLinks {
    bucket: String,
    region: String,
    /// `AWS_ENDPOINT_URL`: path-style links on it.
    endpoint: Option<String>,
    signer: Signer,
}

impl FileLinks {
    /// Links to `bucket`'s objects signed with `aws`'s credentials.
    pub fn new(aws: &aws_config::SdkConfig, bucket: String) -> Option<Self> {
        Some(Self {
            bucket,
            region: aws.region()?.to_string(),
            endpoint: crate::env_opt("AWS_ENDPOINT_URL").map(|e| e.trim_end_matches('/').into()),
            signer: Signer::Chain(aws.credentials_provider()?),
        })
    }

    /// Links signed with fixed credentials (handler tests).
    pub fn fixed(bucket: &str, region: &str, endpoint: Option<&str>) -> Self {
        Self::with_key(bucket, region, endpoint, "AKIDTEST", "secret")
    }

    /// Links signed with this access key (the local stack checks a link's
    /// signature by making it again with the functions' key).
    pub fn with_key(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        access_key: &str,
        secret: &str,
    ) -> Self {
        Self {
            bucket: bucket.into(),
            region: region.into(),
            endpoint: endpoint.map(Into::into),
            signer: Signer::Fixed(Credentials::new(access_key, secret, None, None, "fixed")),
        }
    }

    /// A GET of `key` that works for `valid_for` from `now`.
    pub async fn link(
        &self,
        key: &str,
        valid_for: Duration,
        now: SystemTime,
    ) -> Result<String, String> {
        let credentials = match &self.signer {
            Signer::Fixed(c) => c.clone(),
            Signer::Chain(p) => p
                .provide_credentials()
                .await
                .map_err(|e| format!("no credentials to sign a link with: {e}"))?,
        };
        let path: String = key
            .split('/')
            .map(|part| utf8_percent_encode(part, QUERY).to_string())
            .collect::<Vec<_>>()
            .join("/");
        let url = match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{path}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{path}",
                self.bucket, self.region
            ),
        };
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(valid_for);
        // S3 signs the path as sent: encoded once, never normalised.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        let request = SignableRequest::new(
            "GET",
            &url,
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| format!("the link {url}: {e}"))?;
        let (instructions, _) = sign(request, &params)
            .map_err(|e| format!("signing the link: {e}"))?
            .into_parts();
        let query: Vec<String> = instructions
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
            .collect();
        Ok(format!("{url}?{}", query.join("&")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_link_is_a_presigned_get_that_expires() {
        let links = FileLinks::fixed("bucket-1", "eu-central-1", None);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let url = links
            .link("exports/ex_1.csv", Duration::from_secs(900), at)
            .await
            .unwrap();
        assert!(
            url.starts_with("https://bucket-1.s3.eu-central-1.amazonaws.com/exports/ex_1.csv?"),
            "{url}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Credential=AKIDTEST%2F",
            "%2Feu-central-1%2Fs3%2Faws4_request",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} in {url}");
        }
        let local = FileLinks::fixed("b", "us-east-1", Some("http://127.0.0.1:9"));
        let url = local
            .link("exports/x.csv", Duration::from_secs(60), at)
            .await
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/b/exports/x.csv?X-Amz-"),
            "{url}"
        );
    }
}
