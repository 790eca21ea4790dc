//! PostgreSQL as a tuning target.

mod binaries;
pub mod catalog;
mod cluster;
mod conn;
pub mod metrics;
pub mod pgbench;
mod target;

pub use binaries::Binaries;
pub use cluster::Cluster;
pub use conn::Conn;
pub use target::{PgTarget, Server};
