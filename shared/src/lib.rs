//! leadflow's domain crate.
//!
//! - [`domain`]: the business rules — B.A.N.T., stages, routes, assignment, the lead
//!   and its history, email rendering. Pure; no AWS types.
//! - [`app`]: the use cases (intake, routing, fulfillment, outbox sweep) over the ports.
//! - [`ports`]: what the use cases need from the world.
//! - `testing` (feature `testing`): the ports in memory, for fast handler tests.
//!
//! No AWS type appears here: the adapters over DynamoDB, SQS and SES are the
//! `leadflow-aws` crate (`shared/aws/`), so Cargo keeps the two apart.

pub mod app;
pub mod domain;
pub mod email;
pub mod identity;
pub mod links;
pub mod messages;
pub mod ports;
#[cfg(feature = "testing")]
pub mod testing;

pub use domain::bant::Criterion;
pub use domain::decision::{Decision, Owner, Route, Stage};
pub use domain::email::EmailAddress;
pub use domain::ids::{LeadId, ResponseId};
pub use domain::inquiry::{Inquiry, RequestType, Source};
pub use domain::lead::Lead;
pub use domain::playbook::Playbook;
