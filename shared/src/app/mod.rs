//! The use cases, written against the ports: what each function does.

pub mod email_events;
pub mod exports;
pub mod fulfill;
pub mod intake;
pub mod nurture;
pub mod outbox;
pub mod quarantine;
pub mod reminders;
pub mod reports;
pub mod retry;
pub mod route;
pub mod sales;
pub mod transition;
