//! Tunes a database's configuration knobs for a workload.
//!
//! This crate is being built for issue 6 (see `docs/tune.md`). What exists so far:
//!
//! - [`pg::Cluster`]: a throwaway PostgreSQL cluster in a temporary directory, made with the
//!   installed `initdb`/`pg_ctl` (as the `postgres` user when run as root), reachable only
//!   through a Unix socket in that directory, and removed when dropped.
//! - [`pg::pgbench`]: initialise and run pgbench against a cluster, and parse its report.
//! - [`optimize`]: optimizers over the unit cube (DDPG, Bayesian optimisation, random search).

pub mod error;
pub mod interrupt;
pub mod knob;
pub mod measure;
pub mod optimize;
pub mod pg;
pub mod pgtune;
pub mod report;
pub mod session;
pub mod settings_file;
pub mod store;
pub mod target;
pub mod workload;

pub use error::{Error, Result};
