//! The local HTTP API: API Gateway HTTP API (payload format 2.0) in front of the
//! functions, the landing page as static files, and `/_dev/emails`.
//!
//! [`routes`]: the route table (HttpApi events, `{param}` and `{proxy+}`);
//! [`payload`]: HTTP requests into payload format 2.0 events and function
//! results back into HTTP responses; [`jwt`]: the JWT authorizer's check;
//! [`server`]: the HTTP server itself.

pub mod jwt;
mod payload;
mod routes;
mod server;

pub use payload::*;
pub use routes::*;
pub use server::*;

/// How long an HTTP API waits for its integration (a Lambda function) before
/// it answers 503 itself, whatever the function's own timeout.
pub const INTEGRATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// API Gateway's payload limit.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;
/// How much of a too-large body is read (and discarded) before answering 413.
pub(crate) const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

#[cfg(test)]
mod tests;
