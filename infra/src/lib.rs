//! `leadflow_infra`: the operator's `leadflow` command.
//!
//! - [`operator`]: `playbook check` and `simulate`, on the domain code alone (no AWS);
//! - [`simulate`]: the playbook simulator `simulate` runs (the router's own
//!   decisions over a file of leads; moved out of the domain crate, issue 25);
//! - [`import`]: `leadflow import FILE.csv`, a list through the public intake over HTTP;
//! - [`cli`]: the command line (clap), and the pass-throughs `dev`, `emulator` and
//!   `tools`, which run the local AWS (the `leadflow-local` command of `infra/local/`);
//! - [`root`]: where the workspace is.

pub mod cli;
pub mod import;
pub mod operator;
pub mod root;
pub mod simulate;
