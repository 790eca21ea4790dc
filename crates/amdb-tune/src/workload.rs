//! Workloads, as the CLI writes them:
//!
//! - `pgbench:scale=50,clients=8,seconds=30[,threads=2]` — pgbench's built-in TPC-B-like
//!   script over `scale` × 100,000 accounts;
//! - `sql:FILE[,init=FILE],clients=8,seconds=30[,threads=2]` — a pgbench custom script
//!   (SQL with pgbench's `\set` meta-commands), after running the optional `init` SQL once.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Script {
    /// pgbench's built-in script at a scale factor.
    Pgbench { scale: u32 },
    /// A custom pgbench script, with SQL run once before the first run.
    Sql {
        file: PathBuf,
        init: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub script: Script,
    pub clients: u32,
    /// pgbench worker threads; at most `clients`.
    pub threads: u32,
    /// Length of one measured run.
    pub seconds: u32,
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Workload, String> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!("workload {s:?}: expected pgbench:scale=N,clients=N,seconds=N or sql:FILE,clients=N,seconds=N")
        })?;
        let mut fields = rest.split(',').filter(|f| !f.is_empty());
        let mut script = match kind {
            "pgbench" => Script::Pgbench { scale: 1 },
            "sql" => {
                let file = fields.next().filter(|f| !f.contains('=')).ok_or_else(|| {
                    format!("workload {s:?}: sql: needs the script file first (sql:FILE,...)")
                })?;
                Script::Sql {
                    file: file.into(),
                    init: None,
                }
            }
            other => {
                return Err(format!(
                    "workload {s:?}: unknown kind {other:?} (expected pgbench or sql)"
                ))
            }
        };
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        let mut w = Workload {
            script: Script::Pgbench { scale: 1 },
            clients: 8,
            threads: 0,
            seconds: 30,
        };
        for field in fields {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("workload {s:?}: field {field:?} is not key=value"))?;
            let number = || -> Result<u32, String> {
                value.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("workload {s:?}: {key}={value:?} is not a positive integer")
                })
            };
            match (key, &mut script) {
                ("clients", _) => w.clients = number()?,
                ("threads", _) => w.threads = number()?,
                ("seconds", _) => w.seconds = number()?,
                ("scale", Script::Pgbench { scale }) => *scale = number()?,
                ("init", Script::Sql { init, .. }) => *init = Some(value.into()),
                _ => return Err(format!("workload {s:?}: unknown field {key:?} for {kind}")),
            }
        }
        if w.threads == 0 {
            w.threads = w.clients.min(cpus);
        }
        w.threads = w.threads.min(w.clients);
        w.script = script;
        Ok(w)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.script {
            Script::Pgbench { scale } => write!(f, "pgbench:scale={scale}")?,
            Script::Sql { file, init } => {
                write!(f, "sql:{}", file.display())?;
                if let Some(i) = init {
                    write!(f, ",init={}", i.display())?;
                }
            }
        }
        write!(
            f,
            ",clients={},threads={},seconds={}",
            self.clients, self.threads, self.seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_both_kinds() {
        let w: Workload = "pgbench:scale=50,clients=8,seconds=30,threads=2"
            .parse()
            .unwrap();
        assert_eq!(w.script, Script::Pgbench { scale: 50 });
        assert_eq!((w.clients, w.threads, w.seconds), (8, 2, 30));
        assert_eq!(w.to_string().parse::<Workload>().unwrap(), w);
        let s: Workload = "sql:q.sql,init=schema.sql,clients=4,seconds=5"
            .parse()
            .unwrap();
        assert_eq!(
            s.script,
            Script::Sql {
                file: "q.sql".into(),
                init: Some("schema.sql".into())
            }
        );
        assert!(s.threads >= 1 && s.threads <= 4);
        assert_eq!(s.to_string().parse::<Workload>().unwrap(), s);
    }

    #[test]
    fn bad_workloads_name_the_field() {
        for (text, needle) in [
            ("pgbench:scale=0", "scale=\"0\""),
            ("pgbench:clients=x", "clients"),
            ("pgbench:fast=1", "unknown field \"fast\""),
            ("mysql:x", "unknown kind"),
            ("sql:clients=4", "script file first"),
            ("pgbench", "expected pgbench:"),
            ("pgbench:init=x.sql", "unknown field \"init\""),
        ] {
            let e = text.parse::<Workload>().unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
