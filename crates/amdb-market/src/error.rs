//! The market layer's errors: typed, each with a one-line message that names what failed.

use crate::bar::BarProblem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] amdb_engine::Error),

    /// A stored chunk or record does not decode: the store is damaged.
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: String, detail: String },

    /// A row of a write was refused; nothing of that write was stored.
    #[error("row {row} (time {}): {problem}; nothing was written", crate::time::format_time(*.ts))]
    BadBar {
        row: usize,
        ts: i64,
        problem: BarProblem,
    },

    #[error("no series {symbol} {timeframe}")]
    NoSuchSeries { symbol: String, timeframe: String },

    #[error("series {symbol} {timeframe} has no version {version}")]
    NoSuchVersion {
        symbol: String,
        timeframe: String,
        version: u64,
    },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error(transparent)]
    Import(#[from] crate::io::ImportError),

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> Error {
        Error::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
