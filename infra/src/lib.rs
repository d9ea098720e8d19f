//! `leadflow_infra`: the operator's `leadflow` command.
//!
//! - [`operator`]: `playbook check` and `simulate`, on the domain code alone (no AWS);
//! - [`cli`]: the command line (clap), and the pass-throughs `dev`, `emulator` and
//!   `tools`, which run the local AWS (the `leadflow-local` command of `infra/local/`);
//! - [`root`]: where the workspace is.

pub mod cli;
pub mod operator;
pub mod root;
