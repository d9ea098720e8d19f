//! leadflow's domain crate.
//!
//! - [`domain`]: the business rules — B.A.N.T., stages, routes, assignment, the lead
//!   and its history, email rendering. Pure; no AWS types.
//! - [`playbook`]: the company's rules as validated configuration.
//! - [`app`]: the use cases (intake, routing, fulfilment, outbox sweep) over the ports.
//! - [`ports`]: what the use cases need from the world.
//! - [`adapters`]: the ports over DynamoDB, SQS and SES, and in memory for tests.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod email;
pub mod messages;
pub mod playbook;
pub mod ports;

pub use domain::bant::Criterion;
pub use domain::decision::{Decision, Owner, Route, Stage};
pub use domain::email::EmailAddress;
pub use domain::ids::{LeadId, ResponseId};
pub use domain::inquiry::{Inquiry, RequestType, Source};
pub use domain::lead::Lead;
pub use playbook::Playbook;
