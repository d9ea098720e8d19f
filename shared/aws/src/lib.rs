//! leadflow's AWS adapters: the domain crate's ports over DynamoDB, SQS and
//! SES, the Lambda SQS batch loop, and what every function sets up at cold
//! start (settings from the environment, the SDK's configuration, logs), and
//! the functions' CloudWatch metrics (`metrics`: Embedded Metric Format lines),
//! and every function's start-up and runtime loop (`lambda`), and the HTTP
//! edge the API functions share (`http`: bodies, answers, the error envelope).
//!
//! Each SDK is behind a feature of its name, so a function links only the
//! SDKs it uses: `dynamodb`, `sqs`, `ses`, `secrets` (the action-link keys),
//! `s3` (export files).

#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod files;
pub mod http;
pub mod lambda;
pub mod metrics;
pub mod prime;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "ses")]
pub mod ses;
#[cfg(feature = "sqs")]
pub mod sqs;
pub mod sqs_batch;

pub use prime::{prime, Prime};

/// A setting that may be absent.
pub fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Reads a function's environment into its typed settings in one pass:
/// every required variable that is missing is named, all of them at once,
/// before start-up goes any further.
///
/// ```ignore
/// let mut env = Env::default();
/// let settings = Settings { table: env.required("TABLE_NAME"), queue: env.optional("QUEUE_URL") };
/// let settings = env.finish(settings)?; // "environment variables TABLE_NAME, … are not set"
/// ```
#[derive(Debug, Default)]
pub struct Env {
    missing: Vec<&'static str>,
}

impl Env {
    /// A setting template.yaml always gives the function.
    pub fn required(&mut self, name: &'static str) -> String {
        env_opt(name).unwrap_or_else(|| {
            self.missing.push(name);
            String::new()
        })
    }

    /// A setting that may be absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        env_opt(name)
    }

    /// The settings, unless a required variable was missing.
    pub fn finish<T>(self, settings: T) -> Result<T, ConfigError> {
        match self.missing.as_slice() {
            [] => Ok(settings),
            [one] => Err(ConfigError(format!(
                "environment variable {one} is not set"
            ))),
            many => Err(ConfigError(format!(
                "environment variables {} are not set",
                many.join(", ")
            ))),
        }
    }
}

/// A function's environment as a typed struct with a `read()` that fills
/// it through [`Env`]: each field says whether template.yaml always gives
/// the variable (`required`) or may leave it out (`optional`).
///
/// ```ignore
/// leadflow_aws::environment! {
///     struct Environment {
///         table_name: required("TABLE_NAME"),
///         fulfillment_queue_url: optional("FULFILLMENT_QUEUE_URL"),
///     }
/// }
/// let e = Environment::read()?; // e.table_name: String, e.fulfillment_queue_url: Option<String>
/// ```
#[macro_export]
macro_rules! environment {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident: $kind:ident($var:literal)),* $(,)? }) => {
        $(#[$meta])*
        struct $name {
            $($field: $crate::environment!(@type $kind),)*
        }

        impl $name {
            fn read() -> Result<Self, $crate::ConfigError> {
                let mut env = $crate::Env::default();
                let settings = $name { $($field: env.$kind($var),)* };
                env.finish(settings)
            }
        }
    };
    (@type required) => { String };
    (@type optional) => { Option<String> };
}

#[cfg(test)]
mod env_tests {
    use super::Env;

    #[test]
    fn every_missing_variable_is_named_at_once() {
        let mut env = Env::default();
        let a = env.required("LEADFLOW_TEST_SURELY_UNSET_A");
        let b = env.required("LEADFLOW_TEST_SURELY_UNSET_B");
        let err = env.finish((a, b)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: environment variables LEADFLOW_TEST_SURELY_UNSET_A, LEADFLOW_TEST_SURELY_UNSET_B are not set"
        );
        let mut env = Env::default();
        let path = env.required("PATH");
        assert!(env.finish(path).is_ok());
    }
}

/// The SDK's shared configuration, loaded once at cold start. `AWS_ENDPOINT_URL`
/// (the SDK's own setting) points every client at an emulator.
///
/// Every call is bounded ([`SDK_TIMEOUTS`]): a call that hangs must fail well
/// inside the invocation's deadline margin, never outlive a claim's lease.
///
/// Every client made from it shares one HTTPS client, so one connection pool:
/// a connection primed at init ([`prime`]) serves every client of that
/// endpoint. It is the SDK's default client (hyper 1.x, rustls, proxies from
/// the environment) with rustls on ring rather than aws-lc: the same client,
/// a smaller binary (issue 9).
pub async fn aws_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
    let https = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(sdk_timeouts())
        .load()
        .await
}

/// Connect 1 s, one attempt 2 s, a call with its retries 3 s.
pub const SDK_TIMEOUTS: [std::time::Duration; 3] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(3),
];

/// The local stack's emulator is slower than the service on a loaded machine:
/// it sets `LEADFLOW_SDK_TIMEOUT_SCALE` (a whole factor) for the functions it
/// runs. Unset in AWS.
pub const TIMEOUT_SCALE_VAR: &str = "LEADFLOW_SDK_TIMEOUT_SCALE";

pub fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    let scale = std::env::var(TIMEOUT_SCALE_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|s| (1..=10).contains(s))
        .unwrap_or(1);
    let [connect, attempt, operation] = SDK_TIMEOUTS.map(|d| d * scale);
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(connect)
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build()
}

/// Structured logs for CloudWatch; `RUST_LOG` sets the level (`info`, or
/// `target=level` pairs such as `warn,leadflow=debug`; `info` when unset or
/// unreadable). One JSON record per line on stdout, each written whole, so
/// [`metrics::Emf`] lines written to stdout beside them stay lines of their own.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .finish()
        .with(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
}

/// The filter `RUST_LOG`'s value sets: `info` when unset or unreadable.
pub fn log_filter(value: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::Targets;
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

#[cfg(test)]
mod log_filter_tests {
    use super::log_filter;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_by_target() {
        let info = log_filter(None);
        assert!(info.would_enable("leadflow", &Level::INFO));
        assert!(!info.would_enable("leadflow", &Level::DEBUG));
        let debug = log_filter(Some("debug"));
        assert!(debug.would_enable("intake", &Level::DEBUG));
        let mixed = log_filter(Some("warn,leadflow=debug"));
        assert!(mixed.would_enable("leadflow::app", &Level::DEBUG));
        assert!(!mixed.would_enable("hyper", &Level::INFO));
        assert!(mixed.would_enable("hyper", &Level::WARN));
        let junk = log_filter(Some("=[{"));
        assert!(junk.would_enable("leadflow", &Level::INFO));
        assert!(!junk.would_enable("leadflow", &Level::DEBUG));
    }
}
