//! The rules of the business, with no AWS type in sight.
//!
//! Dependencies point down this list: the leaves (`ids`, `email`, `bant`,
//! `inquiry`), then what a decision is (`decision`), the lead and its history
//! (`lead`), the company's rules as data (`playbook`, with `spam`'s guard), and what evaluates them
//! (`scoring`, `routing`), and the follow-up flows a rep's
//! outcomes drive (`outcome` and `task` as data, `followup` evaluating them);
//! `transition`, the one way a lead's owner, route, status, series or tasks
//! change, whatever caused it;
//! `stats` keeps the counters reports read (what it last counted a lead as, its
//! `tally`, is stored on the lead), and `reports` turns them into figures;
//! `tz` answers what the wall clock says in a lead's or a rep's time zone,
//! and `calendar` when an owner works (business hours per region).

pub mod access;
pub mod bant;
pub mod calendar;
pub mod decision;
pub mod email;
pub mod followup;
pub mod ids;
pub mod inquiry;
pub mod lead;
pub mod nurture;
pub mod outcome;
pub mod playbook;
pub mod reminders;
pub mod reports;
pub mod routing;
pub mod scoring;
pub mod spam;
pub mod stats;
pub mod tally;
pub mod task;
pub mod transition;
pub mod tz;
