//! Connection priming at cold start (issue 9): each adapter makes one cheap,
//! read-only call in `main`, before the Lambda runtime asks for the first
//! event, so the TCP and TLS set-up with each AWS endpoint (and the first
//! request signing) happen in the init phase, not on the first request.
//!
//! Each SDK client has its own connection pool: an adapter primes its own
//! client, and adapters that share a client (clones) share the warm
//! connection. Priming is best effort: whatever the answer (even a refusal,
//! which still leaves the connection open) the function starts; the SDK's
//! timeouts ([`crate::SDK_TIMEOUTS`]) bound how long it can take.

use std::future::Future;
use std::time::Instant;

/// Something that talks to AWS and can open its connection ahead of use.
pub trait Prime: Sync {
    /// One cheap read-only call whose answer does not matter.
    fn prime(&self) -> impl Future<Output = ()> + Send;
}

impl<T: Prime + ?Sized> Prime for &T {
    fn prime(&self) -> impl Future<Output = ()> + Send {
        (**self).prime()
    }
}

impl<A: Prime, B: Prime> Prime for (A, B) {
    async fn prime(&self) {
        tokio::join!(self.0.prime(), self.1.prime());
    }
}

impl<A: Prime, B: Prime, C: Prime> Prime for (A, B, C) {
    async fn prime(&self) {
        tokio::join!(self.0.prime(), self.1.prime(), self.2.prime());
    }
}

/// Primes `clients` (a tuple primes its members at once) and logs how long it took.
pub async fn prime(clients: impl Prime) {
    let started = Instant::now();
    clients.prime().await;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "connections primed"
    );
}

/// Logs a priming call that failed (at debug: the answer does not matter).
pub(crate) fn log_outcome<T, E: std::fmt::Debug>(what: &str, result: Result<T, E>) {
    if let Err(e) = result {
        tracing::debug!(call = what, error = ?e, "priming call answered with an error");
    }
}
