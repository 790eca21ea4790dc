//! Finding PostgreSQL's programs and the user that runs the server.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// Where the server programs (`initdb`, `pg_ctl`) and clients (`psql`, `pgbench`) are, and
/// whether they must run as the `postgres` user.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub bindir: PathBuf,
    /// Set when we run as root: the server refuses to, so server programs run through
    /// `runuser` as this user (uid, gid).
    pub server_user: Option<(String, u32, u32)>,
}

impl Binaries {
    /// `$AMDB_PG_BINDIR`, else `pg_config --bindir`, else the newest
    /// `/usr/lib/postgresql/*/bin` (Debian keeps the server programs off `PATH`).
    pub fn find() -> Result<Binaries> {
        let mut looked = Vec::new();
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("AMDB_PG_BINDIR") {
            candidates.push(dir.into());
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            if out.status.success() {
                candidates.push(String::from_utf8_lossy(&out.stdout).trim().into());
            }
        }
        candidates.extend(debian_bindirs());
        for dir in candidates {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(Binaries {
                    bindir: dir,
                    server_user: server_user()?,
                });
            }
            looked.push(dir.display().to_string());
        }
        Err(Error::NotInstalled {
            program: "initdb".into(),
            looked: if looked.is_empty() {
                "$AMDB_PG_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin".into()
            } else {
                looked.join(", ")
            },
        })
    }

    /// A program of the installation; clients missing from `bindir` are taken from `PATH`.
    pub fn program(&self, name: &str) -> PathBuf {
        let p = self.bindir.join(name);
        if p.is_file() {
            p
        } else {
            PathBuf::from(name)
        }
    }

    /// A command for a server program, run as the server user when we are root.
    pub(crate) fn server_command(&self, name: &str) -> Command {
        let program = self.program(name);
        match &self.server_user {
            Some((user, _, _)) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// `/usr/lib/postgresql/<major>/bin`, newest major first.
fn debian_bindirs() -> Vec<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    majors.sort_by_key(|m| std::cmp::Reverse(m.0));
    majors.into_iter().map(|(_, p)| p).collect()
}

/// `Some` when running as root: the `postgres` user and its ids.
fn server_user() -> Result<Option<(String, u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam reads a NUL-terminated name and returns a pointer into static storage
    // (or null), which is read at once, before any other call could overwrite it.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(Error::NotInstalled {
            program: "the postgres user (the server refuses to run as root)".into(),
            looked: "/etc/passwd".into(),
        });
    }
    // SAFETY: `pw` is non-null and points to a valid passwd record.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some(("postgres".into(), uid, gid)))
}
