//! AmDb's benchmark suites, as a library: each suite runs its cases and returns result
//! structs that serialize to the one-object-a-line JSON that `amdb bench SUITE --json` prints
//! (see "Conventions" in DESIGN.md). The CLI only parses flags and prints.
//!
//! - [`engine`]: db_bench-style workloads on `amdb-engine` (fillseq, fillrandom, overwrite,
//!   readrandom, readseq, fillbatch, fillsync).
//!
//! Later suites (market data, indicators, peer engines) live beside it.

pub mod engine;
pub mod sys;
pub mod values;

/// What a suite can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Engine(#[from] amdb_engine::Error),

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The engine returned something other than what the benchmark wrote.
    #[error("verification failed in {case}: {detail}")]
    Verify { case: String, detail: String },
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;
