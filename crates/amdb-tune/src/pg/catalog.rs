//! The knob catalog: which PostgreSQL settings are tuned, read from `pg_settings` (type,
//! unit, limits, context) and narrowed to ranges that make sense on this machine.
//!
//! Memory ranges follow PGTune's reasoning that what the server may allocate must fit in
//! RAM, taken at the worst corner: every range's maximum together,
//!
//! ```text
//! shared_buffers            ≤ 0.40 · RAM
//! wal_buffers               ≤ RAM / 32   (and ≤ 128 MB)
//! work_mem · 2 · connections ≤ 0.25 · RAM  (2 = hash_mem_multiplier's default)
//! maintenance_work_mem · (autovacuum workers + 1) ≤ 0.25 · RAM  (and ≤ 2 GB)
//! ```
//!
//! sums to at most about 0.93 · RAM. `effective_cache_size` allocates nothing (it tells
//! the planner how much the OS caches) and ranges up to RAM.

use super::Conn;
use crate::knob::{memory_unit_bytes, Apply, Domain, Knob, Value};
use crate::{Error, Result};

/// The six knobs the predecessor tuned.
pub const SEED: &[&str] = &[
    "work_mem",
    "maintenance_work_mem",
    "checkpoint_completion_target",
    "effective_cache_size",
    "wal_writer_delay",
    "checkpoint_timeout",
];

/// Added to [`SEED`] by the `extended` set.
pub const EXTENDED: &[&str] = &[
    "shared_buffers",
    "wal_buffers",
    "max_wal_size",
    "min_wal_size",
    "commit_delay",
    "commit_siblings",
    "bgwriter_delay",
    "bgwriter_lru_maxpages",
    "bgwriter_lru_multiplier",
    "effective_io_concurrency",
    "random_page_cost",
    "wal_compression",
    "wal_writer_flush_after",
    "checkpoint_flush_after",
];

/// Knobs that trade durability for speed, with what they risk. Tuned only when the user
/// allows unsafe knobs.
pub const UNSAFE: &[(&str, &str)] = &[
    (
        "synchronous_commit",
        "off: a crash of the server or the machine loses the last transactions already \
         reported as committed (up to about three times wal_writer_delay of them); the \
         database itself stays consistent",
    ),
    (
        "full_page_writes",
        "off: a crash in the middle of a page write can leave torn pages that recovery \
         cannot repair, silently corrupting tables and indexes",
    ),
    (
        "fsync",
        "off: a power loss or operating-system crash can corrupt the whole cluster beyond \
         repair; only for data that can be recreated",
    ),
];

/// Which knobs to tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnobSet {
    Seed,
    Extended,
}

impl std::str::FromStr for KnobSet {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<KnobSet, String> {
        match s {
            "seed" => Ok(KnobSet::Seed),
            "extended" => Ok(KnobSet::Extended),
            _ => Err(format!("knob set {s:?}: expected seed or extended")),
        }
    }
}

impl KnobSet {
    /// The knob names of the set, plus the unsafe knobs when allowed.
    pub fn names(self, allow_unsafe: bool) -> Vec<&'static str> {
        let mut names: Vec<&str> = SEED.to_vec();
        if self == KnobSet::Extended {
            names.extend_from_slice(EXTENDED);
        }
        if allow_unsafe {
            names.extend(UNSAFE.iter().map(|(n, _)| *n));
        }
        names
    }
}

/// What the ranges are sized from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    pub ram_bytes: u64,
    pub max_connections: u64,
    pub autovacuum_max_workers: u64,
}

impl Machine {
    /// RAM of this machine (the server's when it runs here) and the server's connection
    /// and autovacuum limits.
    pub fn of(conn: &Conn, ram_bytes: Option<u64>) -> Result<Machine> {
        let ram_bytes = ram_bytes
            .or_else(amdb_engine::physical_memory_bytes)
            .unwrap_or(4 << 30);
        let number = |name: &str| -> Result<u64> {
            let text = conn.psql(&format!(
                "SELECT setting FROM pg_settings WHERE name = '{name}'"
            ))?;
            text.parse().map_err(|_| Error::Parse {
                what: "a setting",
                text,
            })
        };
        Ok(Machine {
            ram_bytes,
            max_connections: number("max_connections")?,
            autovacuum_max_workers: number("autovacuum_max_workers")?,
        })
    }
}

/// One row of `pg_settings`.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub name: String,
    pub vartype: String,
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub enumvals: Vec<String>,
    pub context: String,
    pub boot: String,
    pub current: String,
}

/// Reads the `pg_settings` rows of `names`; names the server does not have are left out.
pub fn read_settings(conn: &Conn, names: &[&str]) -> Result<Vec<Setting>> {
    let list = names
        .iter()
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",");
    let text = conn.psql(&format!(
        "SELECT name, vartype, coalesce(unit, ''), coalesce(min_val, ''), coalesce(max_val, ''), \
         coalesce(array_to_string(enumvals, ','), ''), context, coalesce(boot_val, ''), setting \
         FROM pg_settings WHERE name IN ({list}) ORDER BY name"
    ))?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\x1f').collect();
        if f.len() != 9 {
            return Err(Error::Parse {
                what: "a pg_settings row",
                text: line.into(),
            });
        }
        rows.push(Setting {
            name: f[0].into(),
            vartype: f[1].into(),
            unit: f[2].into(),
            min: f[3].parse().ok(),
            max: f[4].parse().ok(),
            enumvals: f[5]
                .split(',')
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect(),
            context: f[6].into(),
            boot: f[7].into(),
            current: f[8].into(),
        });
    }
    // Keep the caller's order: it is the order of the optimizers' coordinates.
    rows.sort_by_key(|r| names.iter().position(|n| *n == r.name));
    Ok(rows)
}

/// The knob for a `pg_settings` row, its range narrowed for `machine`.
pub fn knob(s: &Setting, machine: &Machine) -> Result<Knob> {
    let bad = |what: &'static str| Error::Parse {
        what,
        text: format!("{}: {:?}", s.name, s),
    };
    let apply = match s.context.as_str() {
        "postmaster" => Apply::Restart,
        "sighup" | "superuser" | "user" | "superuser-backend" | "backend" => Apply::Reload,
        _ => return Err(bad("a tunable context")),
    };
    let risk = UNSAFE
        .iter()
        .find(|(n, _)| *n == s.name)
        .map(|(_, r)| r.to_string());
    let (domain, default) = match s.vartype.as_str() {
        "bool" => (Domain::Bool, Value::Bool(s.boot == "on")),
        "enum" => {
            let values = enum_values(&s.name, &s.enumvals);
            (Domain::Enum { values }, Value::Enum(s.boot.clone()))
        }
        "integer" => {
            let (lo, hi) = (
                s.min.ok_or_else(|| bad("min_val"))?,
                s.max.ok_or_else(|| bad("max_val"))?,
            );
            let (min, max, log) = range(&s.name, &s.unit, lo, hi, machine);
            let default = s.boot.parse().map_err(|_| bad("boot_val"))?;
            (
                Domain::Int {
                    min: min.round() as i64,
                    max: max.round() as i64,
                    log,
                },
                Value::Int(default),
            )
        }
        "real" => {
            let (lo, hi) = (
                s.min.ok_or_else(|| bad("min_val"))?,
                s.max.ok_or_else(|| bad("max_val"))?,
            );
            let (min, max, log) = range(&s.name, &s.unit, lo, hi, machine);
            (
                Domain::Real { min, max, log },
                Value::Real(s.boot.parse().map_err(|_| bad("boot_val"))?),
            )
        }
        _ => return Err(bad("a knob type we tune (bool, enum, integer, real)")),
    };
    Ok(Knob {
        name: s.name.clone(),
        domain,
        unit: s.unit.clone(),
        apply,
        default,
        risk,
    })
}

/// Reads `names` from the server and builds their knobs.
pub fn read(conn: &Conn, names: &[&str], machine: &Machine) -> Result<Vec<Knob>> {
    read_settings(conn, names)?
        .iter()
        .map(|s| knob(s, machine))
        .collect()
}

/// Enumeration values worth trying: aliases (`on` for `pglz`) and replication-only
/// levels of `synchronous_commit` would only repeat other values.
fn enum_values(name: &str, all: &[String]) -> Vec<String> {
    let skip: &[&str] = match name {
        "wal_compression" => &["on", "true", "yes", "1", "false", "no", "0"],
        "synchronous_commit" => &[
            "local",
            "remote_write",
            "remote_apply",
            "true",
            "yes",
            "1",
            "false",
            "no",
            "0",
        ],
        _ => &[],
    };
    all.iter()
        .filter(|v| !skip.contains(&v.as_str()))
        .cloned()
        .collect()
}

/// The tuned range `(min, max, log scale)` of a numeric knob in its own unit, inside the
/// server's limits `[lo, hi]`.
fn range(name: &str, unit: &str, lo: f64, hi: f64, m: &Machine) -> (f64, f64, bool) {
    let ram = m.ram_bytes as f64;
    let mib = 1024.0 * 1024.0;
    // Bytes → this knob's unit.
    let mem = |bytes: f64| bytes / memory_unit_bytes(unit).unwrap_or(1) as f64;
    let (min, max, log) = match name {
        "shared_buffers" => (mem(16.0 * mib), mem(0.40 * ram), true),
        "wal_buffers" => (mem(64.0 * 1024.0), mem((ram / 32.0).min(128.0 * mib)), true),
        "work_mem" => (
            64.0,
            mem(0.25 * ram / (2.0 * m.max_connections.max(1) as f64)),
            true,
        ),
        "maintenance_work_mem" => (
            mem(mib),
            mem((0.25 * ram / (m.autovacuum_max_workers + 1) as f64).min(2048.0 * mib)),
            true,
        ),
        "effective_cache_size" => (mem(64.0 * mib), mem(ram), true),
        "max_wal_size" => (64.0, 16384.0, true),
        "min_wal_size" => (32.0, 4096.0, true),
        "checkpoint_completion_target" => (0.1, 1.0, false),
        "checkpoint_timeout" => (30.0, 3600.0, true),
        "wal_writer_delay" => (1.0, 2000.0, true),
        "commit_delay" => (0.0, 10000.0, false),
        "commit_siblings" => (1.0, 100.0, true),
        "bgwriter_delay" => (10.0, 2000.0, true),
        "bgwriter_lru_maxpages" => (0.0, 1000.0, false),
        "bgwriter_lru_multiplier" => (0.0, 10.0, false),
        "effective_io_concurrency" => (0.0, 500.0, false),
        "random_page_cost" => (1.0, 4.0, false),
        "wal_writer_flush_after" | "checkpoint_flush_after" => (0.0, 256.0, false),
        _ => (lo, hi, lo > 0.0 && hi / lo > 100.0),
    };
    let min = min.max(lo);
    let max = max.min(hi).max(min);
    (min, max, log && min > 0.0)
}

/// Bytes the server may allocate at most under a configuration's memory settings
/// (each in its knob's unit, as `(name, value, unit)`), by the accounting in the module
/// documentation.
pub fn worst_case_allocation(settings: &[(&str, f64, &str)], m: &Machine) -> f64 {
    settings
        .iter()
        .map(|(name, v, unit)| {
            let bytes = v * memory_unit_bytes(unit).unwrap_or(1) as f64;
            match *name {
                "shared_buffers" | "wal_buffers" => bytes,
                "work_mem" => bytes * 2.0 * m.max_connections as f64,
                "maintenance_work_mem" => bytes * (m.autovacuum_max_workers + 1) as f64,
                _ => 0.0,
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(name: &str, unit: &str, lo: f64, hi: f64) -> Setting {
        Setting {
            name: name.into(),
            vartype: "integer".into(),
            unit: unit.into(),
            min: Some(lo),
            max: Some(hi),
            enumvals: vec![],
            context: "user".into(),
            boot: "1".into(),
            current: "1".into(),
        }
    }

    #[test]
    fn memory_ranges_never_sum_past_ram() {
        for ram_gib in [1u64, 2, 8, 24, 256] {
            for conns in [20u64, 100, 1000] {
                let m = Machine {
                    ram_bytes: ram_gib << 30,
                    max_connections: conns,
                    autovacuum_max_workers: 3,
                };
                let memory = [
                    ("shared_buffers", "8kB", 16.0, 1073741823.0),
                    ("wal_buffers", "8kB", -1.0, 262143.0),
                    ("work_mem", "kB", 64.0, 2147483647.0),
                    ("maintenance_work_mem", "kB", 1024.0, 2147483647.0),
                ];
                let mut corner = Vec::new();
                for (name, unit, lo, hi) in memory {
                    let k = knob(&setting(name, unit, lo, hi), &m).unwrap();
                    let Domain::Int { min, max, .. } = k.domain else {
                        panic!()
                    };
                    assert!(min <= max, "{name}: {min} > {max}");
                    corner.push((name, max as f64, unit));
                }
                let total = worst_case_allocation(&corner, &m);
                assert!(
                    total <= m.ram_bytes as f64,
                    "{ram_gib} GiB, {conns} connections: {total}"
                );
            }
        }
    }

    #[test]
    fn ranges_stay_inside_the_server_limits() {
        let m = Machine {
            ram_bytes: 24 << 30,
            max_connections: 100,
            autovacuum_max_workers: 3,
        };
        let k = knob(&setting("wal_writer_delay", "ms", 1.0, 10000.0), &m).unwrap();
        assert_eq!(
            k.domain,
            Domain::Int {
                min: 1,
                max: 2000,
                log: true
            }
        );
        let k = knob(&setting("commit_delay", "", 0.0, 50.0), &m).unwrap();
        assert_eq!(
            k.domain,
            Domain::Int {
                min: 0,
                max: 50,
                log: false
            }
        );
        // An unknown knob keeps the server's limits, on a log scale when they are wide.
        let k = knob(&setting("temp_buffers", "8kB", 100.0, 1073741823.0), &m).unwrap();
        assert_eq!(
            k.domain,
            Domain::Int {
                min: 100,
                max: 1073741823,
                log: true
            }
        );
    }

    #[test]
    fn unsafe_knobs_only_when_allowed() {
        for set in [KnobSet::Seed, KnobSet::Extended] {
            let names = set.names(false);
            for (n, _) in UNSAFE {
                assert!(!names.contains(n), "{n} in {set:?}");
                assert!(set.names(true).contains(n));
            }
        }
        assert_eq!(KnobSet::Seed.names(false).len(), 6);
    }

    #[test]
    fn contexts_decide_restart_or_reload() {
        let m = Machine {
            ram_bytes: 8 << 30,
            max_connections: 100,
            autovacuum_max_workers: 3,
        };
        let mut s = setting("shared_buffers", "8kB", 16.0, 1073741823.0);
        s.context = "postmaster".into();
        assert_eq!(knob(&s, &m).unwrap().apply, Apply::Restart);
        s.context = "internal".into();
        assert!(knob(&s, &m)
            .unwrap_err()
            .to_string()
            .contains("shared_buffers"));
    }
}
