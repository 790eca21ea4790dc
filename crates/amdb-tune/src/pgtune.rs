//! PGTune's rules (le0pard/pgtune, the web calculator many operators start from), the
//! rule-based baseline the tuner must beat. They size memory for a *dedicated* server from
//! its RAM, CPUs, connection count, workload type and storage, without measuring anything.

use std::fmt;
use std::str::FromStr;

/// PGTune's "DB type".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbType {
    Web,
    Oltp,
    Dw,
    Desktop,
    Mixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Ssd,
    Hdd,
    San,
}

impl FromStr for DbType {
    type Err = String;
    fn from_str(s: &str) -> Result<DbType, String> {
        Ok(match s {
            "web" => DbType::Web,
            "oltp" => DbType::Oltp,
            "dw" => DbType::Dw,
            "desktop" => DbType::Desktop,
            "mixed" => DbType::Mixed,
            _ => {
                return Err(format!(
                    "PGTune type {s:?}: expected web, oltp, dw, desktop or mixed"
                ))
            }
        })
    }
}

impl fmt::Display for DbType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbType::Web => "web",
            DbType::Oltp => "oltp",
            DbType::Dw => "dw",
            DbType::Desktop => "desktop",
            DbType::Mixed => "mixed",
        })
    }
}

impl FromStr for Storage {
    type Err = String;
    fn from_str(s: &str) -> Result<Storage, String> {
        Ok(match s {
            "ssd" => Storage::Ssd,
            "hdd" => Storage::Hdd,
            "san" => Storage::San,
            _ => return Err(format!("storage {s:?}: expected ssd, hdd or san")),
        })
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Storage::Ssd => "ssd",
            Storage::Hdd => "hdd",
            Storage::San => "san",
        })
    }
}

/// What PGTune asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    pub ram_bytes: u64,
    pub cpus: u32,
    /// `None`: PGTune's default for the type.
    pub connections: Option<u32>,
    pub db_type: DbType,
    pub storage: Storage,
}

impl Input {
    /// This machine's RAM and CPUs.
    pub fn for_this_machine(db_type: DbType, storage: Storage) -> Input {
        Input {
            ram_bytes: amdb_engine::physical_memory_bytes().unwrap_or(4 << 30),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            connections: None,
            db_type,
            storage,
        }
    }
}

/// One recommended setting, its value written as PostgreSQL accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub value: String,
}

const KB_PER_MB: u64 = 1024;
const KB_PER_GB: u64 = 1024 * 1024;

/// kB in the largest unit that divides it exactly, as PGTune prints memory.
fn memory(kb: u64) -> String {
    if kb.is_multiple_of(KB_PER_GB) {
        format!("{}GB", kb / KB_PER_GB)
    } else if kb.is_multiple_of(KB_PER_MB) {
        format!("{}MB", kb / KB_PER_MB)
    } else {
        format!("{kb}kB")
    }
}

/// PGTune's recommendation, in its order.
pub fn recommend(input: &Input) -> Vec<Setting> {
    use DbType::*;
    let ram_kb = input.ram_bytes / 1024;
    let t = input.db_type;
    let connections = input.connections.unwrap_or(match t {
        Web => 200,
        Oltp => 300,
        Dw => 40,
        Desktop => 20,
        Mixed => 100,
    }) as u64;
    let shared_buffers = if t == Desktop {
        ram_kb / 16
    } else {
        ram_kb / 4
    };
    let effective_cache = if t == Desktop {
        ram_kb / 4
    } else {
        ram_kb * 3 / 4
    };
    let maintenance = (if t == Dw { ram_kb / 8 } else { ram_kb / 16 }).min(2 * KB_PER_GB);
    let wal_buffers = {
        let w = shared_buffers * 3 / 100;
        let max = 16 * KB_PER_MB;
        if w > max || w > 14 * KB_PER_MB {
            max
        } else {
            w.max(32)
        }
    };
    let (min_wal, max_wal) = match t {
        Web | Mixed => (KB_PER_GB, 4 * KB_PER_GB),
        Oltp => (2 * KB_PER_GB, 8 * KB_PER_GB),
        Dw => (4 * KB_PER_GB, 16 * KB_PER_GB),
        Desktop => (100 * KB_PER_MB, 2 * KB_PER_GB),
    };
    let mut out = Vec::new();
    let mut set = |name: &'static str, value: String| out.push(Setting { name, value });
    set("max_connections", connections.to_string());
    set("shared_buffers", memory(shared_buffers));
    set("effective_cache_size", memory(effective_cache));
    set("maintenance_work_mem", memory(maintenance));
    set("checkpoint_completion_target", "0.9".into());
    set("wal_buffers", memory(wal_buffers));
    set(
        "default_statistics_target",
        if t == Dw { "500" } else { "100" }.into(),
    );
    set(
        "random_page_cost",
        if input.storage == Storage::Hdd {
            "4"
        } else {
            "1.1"
        }
        .into(),
    );
    set(
        "effective_io_concurrency",
        match input.storage {
            Storage::Hdd => "2",
            Storage::Ssd => "200",
            Storage::San => "300",
        }
        .into(),
    );
    let parallel = input.cpus >= 4;
    let workers = if parallel { input.cpus as u64 } else { 8 };
    let base_work_mem = (ram_kb - shared_buffers) / ((connections + workers) * 3);
    let work_mem = match t {
        Web | Oltp => base_work_mem,
        Dw | Mixed => base_work_mem / 2,
        Desktop => base_work_mem / 6,
    }
    .max(64);
    set("work_mem", memory(work_mem));
    set(
        "huge_pages",
        if input.ram_bytes >= 32 << 30 {
            "try"
        } else {
            "off"
        }
        .into(),
    );
    set("min_wal_size", memory(min_wal));
    set("max_wal_size", memory(max_wal));
    if parallel {
        let half = input.cpus.div_ceil(2);
        set("max_worker_processes", input.cpus.to_string());
        set(
            "max_parallel_workers_per_gather",
            if t == Dw { half } else { half.min(4) }.to_string(),
        );
        set("max_parallel_workers", input.cpus.to_string());
        set("max_parallel_maintenance_workers", half.min(4).to_string());
    }
    if t == Desktop {
        set("wal_level", "minimal".into());
        set("max_wal_senders", "0".into());
    }
    out
}

/// The settings as `ALTER SYSTEM` statements.
pub fn alter_system_script(settings: &[Setting]) -> String {
    settings
        .iter()
        .map(|s| {
            format!(
                "ALTER SYSTEM SET {} = '{}';\n",
                s.name,
                s.value.replace('\'', "''")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(s: &'a [Setting], name: &str) -> Option<&'a str> {
        s.iter().find(|x| x.name == name).map(|x| x.value.as_str())
    }

    #[test]
    fn mixed_24_gib_two_cpus_ssd_matches_pgtune() {
        let s = recommend(&Input {
            ram_bytes: 24 << 30,
            cpus: 2,
            connections: Some(100),
            db_type: DbType::Mixed,
            storage: Storage::Ssd,
        });
        for (name, want) in [
            ("shared_buffers", "6GB"),
            ("effective_cache_size", "18GB"),
            ("maintenance_work_mem", "1536MB"),
            ("wal_buffers", "16MB"),
            ("min_wal_size", "1GB"),
            ("max_wal_size", "4GB"),
            ("checkpoint_completion_target", "0.9"),
            ("default_statistics_target", "100"),
            ("random_page_cost", "1.1"),
            ("effective_io_concurrency", "200"),
            ("work_mem", "29127kB"),
            ("huge_pages", "off"),
        ] {
            assert_eq!(get(&s, name), Some(want), "{name}");
        }
        assert_eq!(
            get(&s, "max_worker_processes"),
            None,
            "no parallel settings below 4 CPUs"
        );
    }

    #[test]
    fn oltp_64_gib_eight_cpus_hdd() {
        let s = recommend(&Input {
            ram_bytes: 64 << 30,
            cpus: 8,
            connections: None,
            db_type: DbType::Oltp,
            storage: Storage::Hdd,
        });
        // 300 connections (OLTP default), 8 workers: (64 GiB − 16 GiB) / (308 · 3) in kB.
        let work_mem = (64u64 * KB_PER_GB - 16 * KB_PER_GB) / (308 * 3);
        assert_eq!(get(&s, "work_mem"), Some(format!("{work_mem}kB").as_str()));
        assert_eq!(get(&s, "max_connections"), Some("300"));
        assert_eq!(get(&s, "shared_buffers"), Some("16GB"));
        assert_eq!(get(&s, "maintenance_work_mem"), Some("2GB"), "capped");
        assert_eq!(get(&s, "random_page_cost"), Some("4"));
        assert_eq!(get(&s, "effective_io_concurrency"), Some("2"));
        assert_eq!(get(&s, "huge_pages"), Some("try"));
        assert_eq!(get(&s, "min_wal_size"), Some("2GB"));
        assert_eq!(get(&s, "max_wal_size"), Some("8GB"));
        assert_eq!(get(&s, "max_worker_processes"), Some("8"));
        assert_eq!(get(&s, "max_parallel_workers_per_gather"), Some("4"));
        assert_eq!(get(&s, "max_parallel_maintenance_workers"), Some("4"));
    }

    #[test]
    fn small_desktop_and_big_warehouse_edges() {
        let desk = recommend(&Input {
            ram_bytes: 256 << 20,
            cpus: 1,
            connections: None,
            db_type: DbType::Desktop,
            storage: Storage::Ssd,
        });
        // shared_buffers 16 MB → 3 % is 491 kB (above the 32 kB floor).
        assert_eq!(get(&desk, "shared_buffers"), Some("16MB"));
        assert_eq!(get(&desk, "wal_buffers"), Some("491kB"));
        assert_eq!(get(&desk, "wal_level"), Some("minimal"));
        assert_eq!(
            get(&desk, "work_mem"),
            Some("487kB"),
            "(262144 − 16384) / (28·3) = 2925, / 6"
        );
        let tiny = recommend(&Input {
            ram_bytes: 16 << 20,
            ..Input {
                cpus: 1,
                connections: None,
                db_type: DbType::Desktop,
                storage: Storage::Ssd,
                ram_bytes: 0,
            }
        });
        assert_eq!(get(&tiny, "wal_buffers"), Some("32kB"), "floor");
        assert_eq!(get(&tiny, "work_mem"), Some("64kB"), "floor");
        let dw = recommend(&Input {
            ram_bytes: 128 << 30,
            cpus: 16,
            connections: None,
            db_type: DbType::Dw,
            storage: Storage::San,
        });
        assert_eq!(get(&dw, "maintenance_work_mem"), Some("2GB"));
        assert_eq!(get(&dw, "default_statistics_target"), Some("500"));
        assert_eq!(
            get(&dw, "max_parallel_workers_per_gather"),
            Some("8"),
            "not capped for dw"
        );
        assert_eq!(get(&dw, "effective_io_concurrency"), Some("300"));
    }

    #[test]
    fn script_and_names_parse() {
        let s = alter_system_script(&[Setting {
            name: "work_mem",
            value: "4MB".into(),
        }]);
        assert_eq!(s, "ALTER SYSTEM SET work_mem = '4MB';\n");
        assert_eq!("oltp".parse::<DbType>().unwrap(), DbType::Oltp);
        assert!("olap".parse::<DbType>().unwrap_err().contains("web, oltp"));
        assert!("nvme"
            .parse::<Storage>()
            .unwrap_err()
            .contains("ssd, hdd or san"));
    }
}
