//! The engine's typed errors. Every error that concerns a file names the file, and corruption
//! errors also name the byte offset, so an operator can find the damage.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("corruption in {} at offset {offset}: {reason}", path.display())]
    Corruption {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    #[error("missing file {}: {reason}", path.display())]
    MissingFile { path: PathBuf, reason: String },

    #[error("database {} is locked by another writer{}", dir.display(), holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        dir: PathBuf,
        /// "pid 1234: amdb kv load" when the holder wrote its identity into LOCK.
        holder: Option<String>,
    },

    #[error("no database at {} (no CURRENT file){}", dir.display(), if *read_only { "" } else { "; open it writable with create_if_missing to create one" })]
    NotFound { dir: PathBuf, read_only: bool },

    #[error("write batch of {size} bytes exceeds the maximum of {max} bytes; batches are never split, because a split batch would not be atomic")]
    BatchTooLarge { size: usize, max: usize },

    #[error("no keyspace named {0:?}")]
    NoSuchKeyspace(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("database was opened read-only")]
    ReadOnly,

    #[error("database is closed")]
    Closed,

    /// A background flush or compaction, or a WAL write, failed; the database refuses further
    /// writes until it is reopened, so nothing is acknowledged that recovery could not restore.
    #[error("database stopped accepting writes after an earlier failure: {0}")]
    Background(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corruption(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for damage to stored data (as opposed to I/O failures or misuse).
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. } | Error::MissingFile { .. })
    }

    /// A copy suitable for handing to several waiters; `io::Error` is not `Clone`.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Io { op, path, source } => Error::Io {
                op,
                path: path.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            Error::Corruption {
                path,
                offset,
                reason,
            } => Error::Corruption {
                path: path.clone(),
                offset: *offset,
                reason: reason.clone(),
            },
            Error::MissingFile { path, reason } => Error::MissingFile {
                path: path.clone(),
                reason: reason.clone(),
            },
            Error::Locked { dir, holder } => Error::Locked {
                dir: dir.clone(),
                holder: holder.clone(),
            },
            Error::NotFound { dir, read_only } => Error::NotFound {
                dir: dir.clone(),
                read_only: *read_only,
            },
            Error::BatchTooLarge { size, max } => Error::BatchTooLarge {
                size: *size,
                max: *max,
            },
            Error::NoSuchKeyspace(n) => Error::NoSuchKeyspace(n.clone()),
            Error::InvalidArgument(s) => Error::InvalidArgument(s.clone()),
            Error::ReadOnly => Error::ReadOnly,
            Error::Closed => Error::Closed,
            Error::Background(s) => Error::Background(s.clone()),
        }
    }
}
