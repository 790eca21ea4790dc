//! AmDb's benchmark suites, as a library: each suite runs its cases and returns result
//! structs that serialize to the one-object-a-line JSON that `amdb bench SUITE --json` prints
//! (see "Conventions" in DESIGN.md). The CLI only parses flags and prints.
//!
//! - [`engine`]: db_bench-style workloads on `amdb-engine` and, with `--vs`, on its peers
//!   ([`kv`]: RocksDB, LevelDB, fjall, redb, sled, LMDB behind cargo features; SQLite).
//! - [`market`]: market data on `amdb-market` against SQLite (tuned and plain) and Parquet
//!   files: bulk load, range reads, durable inserts, concurrent agents, CSV import,
//!   MessagePack, memory of a fresh process and bytes on disk.
//! - [`ta`]: indicators and backtests on `amdb-ta` against TA-Lib, Polars and vectorbt (a
//!   Python script run in the same process tree).

pub mod engine;
pub mod kv;
pub mod market;
pub mod sys;
pub mod ta;
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

    #[error(transparent)]
    Market(#[from] amdb_market::Error),

    #[error(transparent)]
    Import(#[from] amdb_market::io::ImportError),

    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),

    /// A child process of a benchmark (the `rss_1m` reader) failed or printed nonsense.
    #[error("child process: {0}")]
    Child(String),

    /// A peer engine of the `engine` suite failed.
    #[error("{engine}: {message}")]
    Peer {
        engine: &'static str,
        message: String,
    },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The engine returned something other than what the benchmark wrote.
    #[error("verification failed in {case}: {detail}")]
    Verify { case: String, detail: String },
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;
