//! The rules of the business, with no AWS type in sight.

pub mod bant;
pub mod decision;
pub mod email;
pub mod ids;
pub mod inquiry;
pub mod lead;
pub mod render;
pub mod scoring;
