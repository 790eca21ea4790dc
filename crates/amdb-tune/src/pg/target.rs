//! PostgreSQL as a [`Target`]: knobs are set with `ALTER SYSTEM` and applied with a
//! reload, or a restart for `postmaster` knobs when restarts are allowed and we control
//! the server.
//!
//! Rollback restores exactly what `postgresql.auto.conf` said before: knobs the user had
//! set with `ALTER SYSTEM` get their old value back, the others are `RESET`. A
//! configuration the server refuses (`ALTER SYSTEM` error) or cannot start with is undone
//! before the error is returned, so a failed trial never leaves the server changed.

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{self, Machine};
use super::{metrics, pgbench, Cluster, Conn};
use crate::knob::{Apply, Config, Domain, Knob, Value};
use crate::target::{Metrics, RunResult, Target};
use crate::workload::{Script, Workload};
use crate::{Error, Result};

/// The server being tuned.
pub enum Server {
    /// A throwaway cluster we created: we may restart it and edit its files.
    Spawned(Cluster),
    /// A server given by connection string: reload only, never restarted by us.
    Dsn(Conn),
}

pub struct PgTarget {
    server: Server,
    conn: Conn,
    knobs: Vec<Knob>,
    /// Knobs left out of the catalog, with why.
    skipped: Vec<(String, String)>,
    /// Each catalog knob's value in `postgresql.auto.conf` before we started, if any.
    original: BTreeMap<String, Option<String>>,
    /// `postgresql.auto.conf` as we found it, for recovering a spawned cluster that no
    /// longer starts.
    original_auto_conf: Option<Vec<u8>>,
    /// Knobs whose `ALTER SYSTEM` entry we changed and not yet restored.
    touched: BTreeSet<String>,
    allow_restart: bool,
    version: String,
    prepared: Option<Workload>,
}

impl PgTarget {
    /// Opens `server` for tuning the knobs `names`. Knobs that need a restart are left out
    /// (and listed by [`PgTarget::skipped`]) unless `allow_restart` is set and we control the
    /// server. `ram_bytes` overrides this machine's RAM for sizing memory ranges (for a
    /// server on another machine).
    pub fn new(
        server: Server,
        names: &[&str],
        allow_restart: bool,
        ram_bytes: Option<u64>,
    ) -> Result<PgTarget> {
        let conn = match &server {
            Server::Spawned(c) => c.conn(),
            Server::Dsn(c) => c.clone(),
        };
        let can_restart = allow_restart && matches!(server, Server::Spawned(_));
        let version = conn.psql("SHOW server_version")?;
        let machine = Machine::of(&conn, ram_bytes)?;
        let mut knobs = Vec::new();
        let mut skipped = Vec::new();
        let found = catalog::read(&conn, names, &machine)?;
        for n in names
            .iter()
            .filter(|n| !found.iter().any(|k| k.name == **n))
        {
            let why = format!("not a setting of this server (PostgreSQL {version})");
            skipped.push((n.to_string(), why));
        }
        for k in found {
            if k.apply == Apply::Restart && !can_restart {
                let why = if allow_restart {
                    "needs a restart, and amdb restarts only clusters it spawned (--spawn)"
                } else {
                    "needs a restart; pass --allow-restart to tune it"
                };
                skipped.push((k.name.clone(), why.to_string()));
            } else {
                knobs.push(k);
            }
        }
        let original = auto_conf_values(&conn, &knobs)?;
        let original_auto_conf = match &server {
            Server::Spawned(c) => Some(
                std::fs::read(c.auto_conf_path())
                    .map_err(|e| Error::io("read", c.auto_conf_path(), e))?,
            ),
            Server::Dsn(_) => None,
        };
        Ok(PgTarget {
            server,
            conn,
            knobs,
            skipped,
            original,
            original_auto_conf,
            touched: BTreeSet::new(),
            allow_restart: can_restart,
            version,
            prepared: None,
        })
    }

    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// Knobs asked for but not tuned, with the reason.
    pub fn skipped(&self) -> &[(String, String)] {
        &self.skipped
    }

    pub fn server_version(&self) -> &str {
        &self.version
    }

    /// The value the server runs with now, as `pg_settings.setting` reports it.
    pub fn current(&self, name: &str) -> Result<String> {
        self.conn.psql(&format!(
            "SELECT setting FROM pg_settings WHERE name = {}",
            quote(name)
        ))
    }

    fn knob(&self, name: &str) -> Option<&Knob> {
        self.knobs.iter().find(|k| k.name == name)
    }

    /// Writes the `ALTER SYSTEM` entries for `config` (other touched knobs back to their
    /// originals), then reloads and, when a knob needs it, restarts.
    fn set(&mut self, config: &Config) -> Result<()> {
        let mut names: BTreeSet<String> = self.touched.clone();
        names.extend(config.keys().cloned());
        for name in &names {
            let statement = match (config.get(name), self.original.get(name).cloned().flatten()) {
                (Some(v), _) => {
                    let literal = self
                        .knob(name)
                        .map(|k| k.literal(v))
                        .unwrap_or_else(|| v.to_string());
                    format!("ALTER SYSTEM SET {name} = {}", quote(&literal))
                }
                (None, Some(original)) => format!("ALTER SYSTEM SET {name} = {}", quote(&original)),
                (None, None) => format!("ALTER SYSTEM RESET {name}"),
            };
            // ALTER SYSTEM cannot run in a transaction block: one statement per call.
            self.conn.psql(&statement)?;
            if config.contains_key(name) {
                self.touched.insert(name.clone());
            } else {
                self.touched.remove(name);
            }
        }
        self.conn.psql("SELECT pg_reload_conf()")?;
        let pending = self
            .conn
            .psql("SELECT name FROM pg_settings WHERE pending_restart")?;
        if !pending.is_empty() {
            match &mut self.server {
                Server::Spawned(cluster) if self.allow_restart => cluster.restart()?,
                _ => {
                    return Err(Error::Refused(format!(
                        "{} changed but needs a restart, which is not allowed here",
                        pending.lines().collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
        Ok(())
    }

    /// Brings the server back to its original settings after a failed apply, starting a
    /// spawned cluster from its original `postgresql.auto.conf` if it is down.
    fn recover(&mut self) -> Result<()> {
        if let Server::Spawned(cluster) = &mut self.server {
            if !cluster.is_running() || self.conn.psql("SELECT 1").is_err() {
                let _ = cluster.stop();
                let path = cluster.auto_conf_path();
                if let Some(bytes) = &self.original_auto_conf {
                    std::fs::write(&path, bytes).map_err(|e| Error::io("restore", &path, e))?;
                }
                cluster.start()?;
                self.touched.clear();
                return Ok(());
            }
        }
        self.set(&Config::new())
    }

    /// Checks that every knob of `config` now has the value asked for.
    fn verify(&self, config: &Config) -> Result<()> {
        for (name, want) in config {
            let got = self.current(name)?;
            let ok = match want {
                Value::Bool(b) => (got == "on") == *b,
                Value::Int(i) => got.parse::<i64>().ok() == Some(*i),
                Value::Real(r) => got
                    .parse::<f64>()
                    .is_ok_and(|g| (g - r).abs() <= 1e-9 * r.abs().max(1.0)),
                Value::Enum(s) => got == *s,
            };
            if !ok {
                return Err(Error::Refused(format!(
                    "{name} is {got} after applying {want}"
                )));
            }
        }
        Ok(())
    }
}

impl Target for PgTarget {
    fn catalog(&self) -> &[Knob] {
        &self.knobs
    }

    fn apply(&mut self, config: &Config) -> Result<()> {
        for (name, v) in config {
            let knob = self
                .knob(name)
                .ok_or_else(|| Error::Refused(format!("{name} is not a knob of this target")))?;
            if !knob.admits(v) {
                return Err(Error::Refused(format!(
                    "{name} = {} is outside its range {}",
                    knob.literal(v),
                    knob.describe_domain()
                )));
            }
        }
        let attempt = self.set(config).and_then(|()| self.verify(config));
        if let Err(e) = attempt {
            let log = match &self.server {
                Server::Spawned(c) => c.log_tail(),
                Server::Dsn(_) => String::new(),
            };
            self.recover().map_err(|r| {
                Error::Refused(format!(
                    "{e}; then restoring the original settings failed: {r}"
                ))
            })?;
            return Err(match e {
                Error::Refused(m) => Error::Refused(m),
                other if log.is_empty() => Error::Refused(other.to_string()),
                other => Error::Refused(format!("{other}; server log: {log}")),
            });
        }
        Ok(())
    }

    fn current_config(&mut self) -> Result<Config> {
        let mut out = Config::new();
        for k in &self.knobs {
            let text = self.current(&k.name)?;
            let v = match &k.domain {
                Domain::Bool => Some(Value::Bool(text == "on")),
                Domain::Int { .. } => text.parse().ok().map(Value::Int),
                Domain::Real { .. } => text.parse().ok().map(Value::Real),
                Domain::Enum { .. } => Some(Value::Enum(text.clone())),
            };
            let v = v.ok_or_else(|| Error::Parse {
                what: "a setting",
                text: format!("{} = {text}", k.name),
            })?;
            out.insert(k.name.clone(), v);
        }
        Ok(out)
    }

    fn rollback(&mut self) -> Result<()> {
        if self.touched.is_empty() {
            return Ok(());
        }
        self.set(&Config::new())
    }

    fn metrics(&mut self) -> Result<Metrics> {
        metrics::snapshot(&self.conn)
    }

    fn state(&self, before: &Metrics, after: &Metrics, seconds: f64) -> Vec<f64> {
        metrics::state(before, after, seconds)
    }

    fn prepare(&mut self, workload: &Workload) -> Result<()> {
        if self.prepared.as_ref() == Some(workload) {
            return Ok(());
        }
        match &workload.script {
            Script::Pgbench { scale } => {
                if pgbench::current_scale(&self.conn)? != Some(*scale) {
                    pgbench::init(&self.conn, *scale)?;
                }
            }
            Script::Sql {
                init: Some(file), ..
            } => self.conn.psql_file(file)?,
            Script::Sql { init: None, .. } => {}
        }
        self.conn.psql("CHECKPOINT")?;
        self.prepared = Some(workload.clone());
        Ok(())
    }

    fn run(&mut self, workload: &Workload, seconds: u32) -> Result<RunResult> {
        // Every run starts from the same state: no dirty pages left by the previous run to
        // be written during this one, and a full-page image for each page's first change
        // after the checkpoint. Without it a checkpoint falls into some runs and not
        // others, and TPS between identical runs here varied from 1,250 to 4,500.
        self.conn.psql("CHECKPOINT")?;
        pgbench::run(&self.conn, workload, seconds)
    }

    fn describe(&self) -> String {
        match &self.server {
            Server::Spawned(_) => format!("PostgreSQL {} (throwaway cluster)", self.version),
            Server::Dsn(_) => format!("PostgreSQL {}", self.version),
        }
    }
}

impl Drop for PgTarget {
    /// A server given by `--dsn` is never left with our settings, even after an error.
    fn drop(&mut self) {
        let _ = self.rollback();
    }
}

/// An SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Each knob's raw value in `postgresql.auto.conf`, if set there.
fn auto_conf_values(conn: &Conn, knobs: &[Knob]) -> Result<BTreeMap<String, Option<String>>> {
    let text = conn.psql(
        "SELECT name, setting FROM pg_file_settings \
         WHERE sourcefile LIKE '%postgresql.auto.conf' AND applied IS NOT NULL ORDER BY seqno",
    )?;
    let set: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('\x1f')).collect();
    Ok(knobs
        .iter()
        .map(|k| {
            (
                k.name.clone(),
                set.get(k.name.as_str()).map(|v| v.to_string()),
            )
        })
        .collect())
}
