//! A throwaway PostgreSQL cluster: `initdb` in a temporary directory, started with `pg_ctl`
//! on a Unix socket in that directory (no TCP port is opened), stopped and removed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{Binaries, Conn};
use crate::{Error, Result};

pub struct Cluster {
    bins: Binaries,
    /// Removed on drop; holds `data/`, the server log and the socket.
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl Cluster {
    /// Creates and starts a new cluster (a second or two).
    pub fn spawn() -> Result<Cluster> {
        let bins = Binaries::find()?;
        let dir = tempfile::Builder::new()
            .prefix("amdb-pg-")
            .tempdir()
            .map_err(|e| Error::io("create temporary directory in", std::env::temp_dir(), e))?;
        if let Some((_, uid, gid)) = bins.server_user {
            let path = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes())
                .expect("temporary paths have no NUL");
            // SAFETY: a NUL-terminated path; chown has no other preconditions.
            if unsafe { libc::chown(path.as_ptr(), uid, gid) } != 0 {
                return Err(Error::io(
                    "chown to postgres",
                    dir.path(),
                    std::io::Error::last_os_error(),
                ));
            }
        }
        let mut cluster = Cluster {
            bins,
            dir,
            port: free_port()?,
            running: false,
        };
        let data = cluster.data_dir();
        let mut initdb = cluster.bins.server_command("initdb");
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        cluster.run(initdb, "initdb")?;
        cluster.start()?;
        Ok(cluster)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory holding the server's Unix socket (`psql -h DIR`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn binaries(&self) -> &Binaries {
        &self.bins
    }

    /// A libpq connection string for the cluster's socket.
    pub fn dsn(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.socket_dir().display(),
            self.port
        )
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=''",
            self.port,
            self.socket_dir().display()
        );
        let mut c = self.bins.server_command("pg_ctl");
        c.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        self.run(c, "pg_ctl start").map_err(|e| self.with_log(e))?;
        self.running = true;
        Ok(())
    }

    /// Stops the server (fast shutdown: sessions are disconnected, nothing committed is lost).
    pub fn stop(&mut self) -> Result<()> {
        if !self.running {
            return Ok(());
        }
        let mut c = self.bins.server_command("pg_ctl");
        c.arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "-m", "fast", "stop"]);
        self.run(c, "pg_ctl stop")?;
        self.running = false;
        Ok(())
    }

    /// Restarts the server, e.g. to apply a knob of context `postmaster`.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// A connection to the cluster for `psql` and `pgbench`; client programs run in the
    /// cluster's directory.
    pub fn conn(&self) -> Conn {
        Conn::new(self.bins.clone(), self.dsn(), self.dir.path())
    }

    /// Runs SQL through `psql` and returns its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> Result<String> {
        self.conn().psql(sql)
    }

    /// The file `ALTER SYSTEM` writes.
    pub fn auto_conf_path(&self) -> PathBuf {
        self.data_dir().join("postgresql.auto.conf")
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    fn with_log(&self, e: Error) -> Error {
        match e {
            Error::Command {
                command,
                status,
                output,
            } => Error::Command {
                command,
                status,
                output: format!("{output}; server log: {}", self.log_tail()),
            },
            other => other,
        }
    }

    /// Runs `c` in the cluster's directory (the server user may not enter ours).
    pub(crate) fn run(&self, c: Command, name: &str) -> Result<Output> {
        super::conn::run(c, self.dir.path(), name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: a server left running would hold the directory's socket and shared
        // memory. The directory itself goes with `dir`.
        let _ = self.stop();
    }
}

/// A port no TCP listener uses now. The cluster listens only on its socket file, whose
/// name carries the port; a free one keeps `.s.PGSQL.<port>` unique and unsurprising.
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::io("bind a free port on", "127.0.0.1:0", e))?;
    let port = l
        .local_addr()
        .map_err(|e| Error::io("read the port of", "127.0.0.1:0", e))?
        .port();
    Ok(port)
}
