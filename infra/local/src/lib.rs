//! `leadflow_local`: the local AWS. Runs `template.yaml` against an AWS emulator (moto).
//!
//! The pieces, in the order [`dev::DevStack::start`] uses them:
//! - [`root`] finds the workspace; [`emulator`] installs the pinned tools and runs moto;
//! - [`template`] reads `template.yaml` and resolves it for one local deployment
//!   (a [`template::StackModel`]);
//! - [`provision`] creates its tables, queues and email identities in the
//!   emulator, and [`cognito`] its user pool and app client;
//! - [`runtime`] builds every function and runs it as its own process behind an
//!   in-process Lambda Runtime API;
//! - [`gateway`] serves the HTTP API (payload format 2.0) and the landing page;
//! - [`events`] drives SQS event source mappings and schedules;
//! - [`proxy`] (when asked, for the cost benchmark) stands between the functions
//!   and the emulator and meters every AWS request;
//! - [`progress`] records the pipeline's movements, which the tests' waits
//!   ([`testing::eventually`]) watch instead of a clock.
//!
//! [`cli`] is the `leadflow-local` command (`dev`, `emulator`, `tools`, `dlq`,
//! `load`, `token`), which `leadflow dev|emulator|tools|dlq|load|token` runs; [`dlq`] and
//! [`load`] are the operator's tools for a bad day and for proof under load.

pub mod cli;
pub mod cognito;
pub mod dev;
pub mod dlq;
pub mod emulator;
pub mod events;
pub mod gateway;
pub mod load;
pub mod progress;
pub mod provision;
pub mod proxy;
pub mod root;
pub mod runtime;
pub mod secrets;
pub mod task;
pub mod template;
pub mod testing;

pub use dev::{DevOptions, DevStack, RunningStack};
pub use emulator::Emulator;
pub use runtime::InvokeError;
pub use template::{StackModel, StackSettings, Template};

/// The region every local deployment lives in.
pub const LOCAL_REGION: &str = "us-east-1";
/// The account id moto uses for the dummy credentials.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";
