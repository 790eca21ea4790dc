//! PostgreSQL as a tuning target.

mod binaries;
mod cluster;
pub mod pgbench;

pub use binaries::Binaries;
pub use cluster::Cluster;
