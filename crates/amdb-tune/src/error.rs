//! Errors name the program or file involved and what it said.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PostgreSQL program is not installed where we looked.
    #[error("{program} not found (looked in {looked}); install PostgreSQL's server binaries (Debian: apt-get install postgresql)")]
    NotInstalled { program: String, looked: String },
    /// A program ran but failed; `output` is the tail of what it printed.
    #[error("{command} failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The target refused or could not run a configuration; it is back on its original
    /// settings.
    #[error("configuration refused: {0}")]
    Refused(String),
    /// The user interrupted the run; the target was put back on its original settings.
    #[error("interrupted; the server's original settings were restored")]
    Interrupted,
    /// Reading or writing tuning runs in the AmDb database failed.
    #[error("tuning store: {0}")]
    Store(String),
    /// Output we could not read, with the text that did not parse.
    #[error("cannot read {what} from: {text}")]
    Parse { what: &'static str, text: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
