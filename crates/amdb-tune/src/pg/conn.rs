//! Talking to a PostgreSQL server through its own client programs, `psql` and `pgbench`,
//! with a libpq connection string. Using the installed clients (rather than a Rust driver)
//! means whatever authentication the user's `~/.pgpass`, `PGPASSWORD` or service file sets
//! up works unchanged, and pgbench measures with the server's own tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Binaries;
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct Conn {
    bins: Binaries,
    /// A libpq connection string or URI (`host=/tmp port=5432 user=postgres dbname=x`,
    /// `postgresql://user@host/db`).
    conninfo: String,
    /// Where client programs run (pgbench writes its per-transaction logs there).
    workdir: PathBuf,
}

impl Conn {
    pub fn new(bins: Binaries, conninfo: impl Into<String>, workdir: impl Into<PathBuf>) -> Conn {
        Conn {
            bins,
            conninfo: conninfo.into(),
            workdir: workdir.into(),
        }
    }

    pub fn conninfo(&self) -> &str {
        &self.conninfo
    }

    pub fn binaries(&self) -> &Binaries {
        &self.bins
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Runs one SQL statement (or several without transaction-sensitive ones) through psql
    /// and returns its unaligned, tuples-only output; fields are separated by `\x1f`.
    pub fn psql(&self, sql: &str) -> Result<String> {
        let mut c = Command::new(self.bins.program("psql"));
        c.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "\x1f",
            "-v",
            "ON_ERROR_STOP=1",
        ])
        .args(["-d", &self.conninfo, "-c", sql]);
        let out = run(c, &self.workdir, "psql")?;
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// Runs an SQL file through psql.
    pub fn psql_file(&self, file: &Path) -> Result<()> {
        let mut c = Command::new(self.bins.program("psql"));
        c.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &self.conninfo,
            "-f",
        ])
        .arg(file);
        run(c, &self.workdir, "psql -f")?;
        Ok(())
    }

    /// A `pgbench` command with the connection given; the caller adds options, and the
    /// connection string is passed last as the database name, which pgbench expands.
    pub fn pgbench(&self) -> Command {
        Command::new(self.bins.program("pgbench"))
    }

    /// Runs a pgbench command built by [`Conn::pgbench`], appending the connection.
    pub fn run_pgbench(&self, mut c: Command, name: &str) -> Result<Output> {
        c.arg(&self.conninfo);
        run(c, &self.workdir, name)
    }
}

/// Runs `c` in `dir` and returns its output, or an error quoting the last lines it printed.
pub(crate) fn run(mut c: Command, dir: &Path, name: &str) -> Result<Output> {
    c.current_dir(dir);
    let out = c.output().map_err(|e| Error::Command {
        command: name.into(),
        status: "could not start".into(),
        output: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(out);
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tail: Vec<&str> = text.lines().rev().take(4).collect();
    Err(Error::Command {
        command: name.into(),
        status: out.status.to_string(),
        output: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
    })
}
