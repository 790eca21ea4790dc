//! The `market` suite: market data on `amdb-market` against the stores a trading team would
//! otherwise use, in one run on one machine.
//!
//! Systems:
//!
//! | system         | what it is                                                              |
//! |----------------|-------------------------------------------------------------------------|
//! | `amdb`         | `amdb-market` on the engine, `Durability::Sync`                         |
//! | `sqlite_tuned` | SQLite with the predecessor's tuning and single writer queue ([`sqlite`]) |
//! | `sqlite_plain` | SQLite defaults, a connection per writing thread, `busy_timeout` 0      |
//! | `parquet`      | one arrow-rs Parquet file per symbol, zstd level 3 ([`parquet`])        |
//! | `json`         | serde_json, only in `serialize_1mb` / `deserialize_1mb`                 |
//!
//! Dataset: `symbols` series of `years` of 15-minute bars from `amdb_market::gen` (seed 1;
//! 64 × 140,256 bars at the defaults). Cases, each one JSON line per system:
//!
//! | case              | what it times                                                     |
//! |-------------------|-------------------------------------------------------------------|
//! | `load_all`        | storing the whole dataset (one write per symbol; amdb and parquet from every core, sqlite_tuned parses on every core into its writer queue, sqlite_plain one thread; sqlite one transaction per symbol) |
//! | `disk_bytes`      | bytes on disk after the load, once settled (amdb: flush + compact; sqlite: WAL checkpoint); `seconds` is the settling time |
//! | `read_one`        | one symbol's whole range into columns (`Vec` per column): median of `read_reps` after a warm-up, p50/p95 over the repetitions |
//! | `read_all`        | every symbol into columns, one reader per core: median of `min(read_reps, 3)` after a warm-up |
//! | `insert_10k`      | a durable append of 10,000 new bars after the end of one series (sqlite: one transaction; parquet: a new file, fsynced): median and p95 of `read_reps` batches |
//! | `agents_p95`      | `agents` threads writing MessagePack signals paced to `agent_rate` per second in total for `agent_seconds`, each write durable; latency from the scheduled time ([`agents`]); not parquet |
//! | `import_csv`      | parsing one CSV file per symbol (`amdb_market::io::csv::read_csv`) and storing it, into a fresh store |
//! | `serialize_1mb`   | encoding about 1 MB of `Signal` records (amdb: MessagePack; json: serde_json), median of 50 |
//! | `deserialize_1mb` | decoding them back, median of 50                                   |
//! | `rss_1m`          | peak RSS of a fresh process reading 1,000,000 bars into columns and computing a streaming 20-bar SMA and the total volume ([`rss`]); needs `child_exe` |
//!
//! Every read is checked against the generated data (row count and a checksum of every
//! column's bits); a wrong answer fails the run with [`BenchError::Verify`].

pub mod agents;
pub mod amdb_system;
pub mod dataset;
pub mod parquet;
pub mod payloads;
pub mod rss;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use amdb_market::events::Signal;
use amdb_market::io::csv as mcsv;
use amdb_market::{gen, Bars, Timeframe};
use serde::Serialize;

use crate::{BenchError, Result};
use dataset::{verify, Checksum, Dataset, TF};

pub use rss::{rss_child, RssChildReport};

/// Every case, in the order they run.
pub const CASES: [&str; 10] = [
    "load_all",
    "disk_bytes",
    "read_one",
    "read_all",
    "insert_10k",
    "agents_p95",
    "import_csv",
    "serialize_1mb",
    "deserialize_1mb",
    "rss_1m",
];

/// The storage systems compared.
pub const SYSTEMS: [&str; 4] = ["amdb", "sqlite_tuned", "sqlite_plain", "parquet"];

/// Rows per `insert_10k` batch.
pub const INSERT_ROWS: usize = 10_000;
/// Repetitions of the serialization cases.
pub const SERDE_REPS: usize = 50;

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    pub symbols: usize,
    pub years: f64,
    /// A fresh temporary directory is made under this one (or under `$TMPDIR` when `None`)
    /// and removed afterwards.
    pub dir: Option<PathBuf>,
    /// The `amdb` binary, run as `<child_exe> bench market --rss-child SYSTEM --dir DIR` for
    /// `rss_1m`. `None` skips that case (with a note on stderr).
    pub child_exe: Option<PathBuf>,
    pub agent_seconds: f64,
    pub agents: usize,
    /// Total signals per second of all agents.
    pub agent_rate: f64,
    /// Cases to run (names from [`CASES`]); empty runs all.
    pub cases: Vec<String>,
    /// Systems to run (names from [`SYSTEMS`], plus `json`); empty runs all.
    pub systems: Vec<String>,
    /// Repetitions of `read_one` and `insert_10k` (at least 20 for published numbers);
    /// `read_all` runs `min(read_reps, 3)`.
    pub read_reps: usize,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Rows per chunk of the amdb system (to measure the chunk size).
    pub chunk_rows: usize,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            symbols: 64,
            years: 4.0,
            dir: None,
            child_exe: None,
            agent_seconds: 5.0,
            agents: 16,
            agent_rate: 5_000.0,
            cases: Vec::new(),
            systems: Vec::new(),
            read_reps: 20,
            progress: false,
            chunk_rows: amdb_market::store::DEFAULT_CHUNK_ROWS,
        }
    }
}

/// One (case, system) result; serializes to one JSON line of `amdb bench market --json`.
/// Fields that mean nothing for a case are left out of the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct MarketResult {
    /// Always `"market"`.
    pub suite: &'static str,
    pub case: String,
    pub system: String,
    /// Wall time of the case; for repeated cases the median repetition.
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    /// `agents_p95`: writes not sent by the cutoff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<u64>,
    /// Bytes on disk (`disk_bytes`), of the CSV files (`import_csv`) or of the encoding
    /// (`serialize_1mb`, `deserialize_1mb`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// `rss_1m`: the child's peak resident set size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// Timed repetitions behind `seconds` and the percentiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reps: Option<usize>,
    pub symbols: usize,
    pub bars_per_symbol: usize,
    /// Whether what the case stored or read was checked against the generated data (a failed
    /// check fails the run instead).
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl MarketResult {
    fn new(case: &str, system: &str, seconds: f64, symbols: usize, bars_per_symbol: usize) -> Self {
        MarketResult {
            suite: "market",
            case: case.to_string(),
            system: system.to_string(),
            seconds: round(seconds.max(1e-9), 9),
            ops: None,
            ops_per_s: None,
            rows: None,
            rows_per_s: None,
            p50_us: None,
            p95_us: None,
            p99_us: None,
            max_us: None,
            errors: None,
            missed: None,
            bytes: None,
            rss_bytes: None,
            reps: None,
            symbols,
            bars_per_symbol,
            verified: true,
            note: None,
        }
    }

    fn with_rows(mut self, rows: u64) -> Self {
        self.rows = Some(rows);
        self.rows_per_s = Some(round(rows as f64 / self.seconds, 1));
        self
    }

    fn with_ops(mut self, ops: u64) -> Self {
        self.ops = Some(ops);
        self.ops_per_s = Some(round(ops as f64 / self.seconds, 1));
        self
    }

    /// Median as `seconds`, and percentiles over the repetitions.
    fn with_reps(mut self, t: &[Duration]) -> Self {
        let s = sorted_secs(t);
        self.seconds = round(quantile(&s, 0.5).max(1e-9), 9);
        self.p50_us = Some(round(quantile(&s, 0.50) * 1e6, 3));
        self.p95_us = Some(round(quantile(&s, 0.95) * 1e6, 3));
        self.p99_us = Some(round(quantile(&s, 0.99) * 1e6, 3));
        self.max_us = Some(round(s.last().copied().unwrap_or(0.0) * 1e6, 3));
        self.reps = Some(t.len());
        self
    }
}

/// A store of bars, as each system keeps them.
pub trait BarStore: Sync {
    fn system(&self) -> &'static str;
    /// Threads that `load_all` and `import_csv` use.
    fn load_threads(&self) -> usize;
    /// Stores one whole series durably (replacing what the symbol had).
    fn store_series(&self, symbol: &str, bars: Bars) -> Result<()>;
    /// Reads one whole series into columns.
    fn read(&self, symbol: &str) -> Result<Bars>;
    /// Durably appends bars after the end of a series.
    fn append(&self, symbol: &str, bars: Bars) -> Result<()>;
    /// Settles the store (flush, compaction, checkpoint) and returns its bytes on disk.
    fn disk_bytes(&self) -> Result<u64>;
    /// Whether agents can write signals to this system.
    fn supports_signals(&self) -> bool {
        true
    }
    /// A writer of signals for one agent thread.
    fn signal_writer(&self) -> Result<Box<dyn SignalWriter + '_>>;
    /// Signals stored so far.
    fn signal_count(&self) -> Result<u64>;
    fn close(self: Box<Self>) -> Result<()>;
}

/// One agent's way of writing a signal durably.
pub trait SignalWriter {
    fn put(&mut self, ts: i64, agent: &str, symbol: &str, signal: &Signal) -> Result<()>;
}

/// A writable store of `system` in `dir` (created if missing).
pub fn open_store(
    system: &str,
    dir: &Path,
    tf: Timeframe,
    threads: usize,
    chunk_rows: usize,
) -> Result<Box<dyn BarStore>> {
    Ok(match system {
        "amdb" => Box::new(amdb_system::AmdbStore::open(dir, tf, threads, chunk_rows)?),
        "sqlite_tuned" => Box::new(sqlite::SqliteStore::open(
            dir,
            sqlite::Flavor::Tuned,
            threads,
        )?),
        "sqlite_plain" => Box::new(sqlite::SqliteStore::open(
            dir,
            sqlite::Flavor::Plain,
            threads,
        )?),
        "parquet" => Box::new(parquet::ParquetStore::open(dir, threads)?),
        other => return Err(unknown_system(other)),
    })
}

/// An existing store of `system` in `dir`, opened only to read (as a second process would).
pub fn open_for_reading(system: &str, dir: &Path, tf: Timeframe) -> Result<Box<dyn BarStore>> {
    Ok(match system {
        "amdb" => Box::new(amdb_system::AmdbStore::open_read_only(dir, tf)?),
        "sqlite_tuned" => Box::new(sqlite::SqliteStore::open_for_reading(
            dir,
            sqlite::Flavor::Tuned,
        )?),
        "sqlite_plain" => Box::new(sqlite::SqliteStore::open_for_reading(
            dir,
            sqlite::Flavor::Plain,
        )?),
        "parquet" => {
            if !dir.is_dir() {
                return Err(BenchError::InvalidArgument(format!(
                    "no directory {}",
                    dir.display()
                )));
            }
            Box::new(parquet::ParquetStore::open(dir, 1)?)
        }
        other => return Err(unknown_system(other)),
    })
}

fn unknown_system(s: &str) -> BenchError {
    BenchError::InvalidArgument(format!(
        "unknown system {s:?}; expected one of {}, json",
        SYSTEMS.join(", ")
    ))
}

pub(crate) fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> BenchError {
    BenchError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Bytes of the regular files under `dir` whose names pass `keep`.
pub(crate) fn dir_bytes(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Result<u64> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| io_err("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", dir, e))?;
        let path = entry.path();
        let meta = entry.metadata().map_err(|e| io_err("stat", &path, e))?;
        if meta.is_dir() {
            total += dir_bytes(&path, keep)?;
        } else if meta.is_file() && keep(&entry.file_name().to_string_lossy()) {
            total += meta.len();
        }
    }
    Ok(total)
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

fn sorted_secs(t: &[Duration]) -> Vec<f64> {
    let mut s: Vec<f64> = t.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// Nearest-rank quantile of sorted values (the median of an even count is the mean of the
/// middle two).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if q == 0.5 && n.is_multiple_of(2) {
        return (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// Repeated timings: one untimed warm-up, then `reps` timed calls; `check` sees every result
/// (outside the timed part).
pub(crate) struct TimedReps;

impl TimedReps {
    pub(crate) fn run<T>(
        reps: usize,
        mut f: impl FnMut() -> Result<T>,
        mut check: impl FnMut(T) -> Result<()>,
    ) -> Result<Vec<Duration>> {
        check(f()?)?;
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            let v = f()?;
            times.push(t.elapsed());
            check(v)?;
        }
        Ok(times)
    }
}

/// Runs `f` on every item from `threads` threads (each takes the next item when done);
/// stops at the first error and returns it.
fn parallel<T: Send>(
    threads: usize,
    items: Vec<T>,
    f: impl Fn(T) -> Result<()> + Sync,
) -> Result<()> {
    let queue = Mutex::new(items.into_iter());
    let failed = AtomicBool::new(false);
    let errors: Mutex<Vec<BenchError>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let Some(item) = queue.lock().unwrap_or_else(|p| p.into_inner()).next() else {
                    return;
                };
                if let Err(e) = f(item) {
                    failed.store(true, Ordering::Relaxed);
                    errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                    return;
                }
            });
        }
    });
    match errors
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .next()
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Reads every symbol with one reader per thread; returns the series in symbol order.
fn read_all_once(store: &dyn BarStore, symbols: &[String], threads: usize) -> Result<Vec<Bars>> {
    let out: Vec<Mutex<Option<Bars>>> = symbols.iter().map(|_| Mutex::new(None)).collect();
    parallel(threads, (0..symbols.len()).collect(), |i| {
        let b = store.read(&symbols[i])?;
        *out[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(b);
        Ok(())
    })?;
    Ok(out
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_default()
        })
        .collect())
}

fn verify_all(case: &str, system: &str, data: &Dataset, got: &[Bars]) -> Result<()> {
    for (i, b) in got.iter().enumerate() {
        verify(case, system, &data.symbols[i], b, &data.sums[i])?;
    }
    Ok(())
}

/// Runs the selected cases on the selected systems, calling `emit` as each result is ready.
pub fn run(cfg: &MarketConfig, emit: &mut dyn FnMut(&MarketResult)) -> Result<()> {
    validate(cfg)?;
    let want_case = |c: &str| cfg.cases.is_empty() || cfg.cases.iter().any(|x| x == c);
    let want_system = |s: &str| cfg.systems.is_empty() || cfg.systems.iter().any(|x| x == s);
    let progress = |msg: &str| {
        if cfg.progress {
            eprintln!("market: {msg}");
        }
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    let parent = match &cfg.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| io_err("create directory", d, e))?;
            d.clone()
        }
        None => std::env::temp_dir(),
    };
    let temp = tempfile::Builder::new()
        .prefix("amdb-bench-market-")
        .tempdir_in(&parent)
        .map_err(|e| io_err("create temp dir in", &parent, e))?;
    let root = temp.path();

    let bar_cases = [
        "load_all",
        "disk_bytes",
        "read_one",
        "read_all",
        "insert_10k",
        "import_csv",
    ];
    let needs_data = bar_cases.iter().any(|c| want_case(c));
    let per = gen::bars_for_years(TF, cfg.years);
    let data = if needs_data {
        progress(&format!("generating {} symbols x {per} bars", cfg.symbols));
        Some(Dataset::generate(cfg.symbols, cfg.years)?)
    } else {
        None
    };
    let res = |case: &str, system: &str, seconds: f64| {
        MarketResult::new(case, system, seconds, cfg.symbols, per)
    };

    // CSV files for import_csv, written once (untimed) and shared by every system.
    let csv_files = match (&data, want_case("import_csv")) {
        (Some(d), true) => Some(export_csv(d, &root.join("csv"), threads)?),
        _ => None,
    };

    for system in SYSTEMS.iter().copied().filter(|s| want_system(s)) {
        if let Some(data) = &data {
            let store_cases = [
                "load_all",
                "disk_bytes",
                "read_one",
                "read_all",
                "insert_10k",
            ];
            let agents = want_case("agents_p95") && system != "parquet";
            if store_cases.iter().any(|c| want_case(c)) || agents {
                let dir = root.join(system);
                let store = open_store(system, &dir, TF, threads, cfg.chunk_rows)?;
                let r = bars_cases(
                    cfg, &*store, data, threads, &want_case, &progress, &res, emit,
                );
                let r2 = r.and_then(|()| {
                    if agents {
                        progress(&format!("{system}: agents_p95"));
                        emit(&agents_case(cfg, &*store, &data.symbols, &res)?);
                    }
                    Ok(())
                });
                let closed = store.close();
                r2?;
                closed?;
                remove_dir(&dir)?;
            }
            if let Some(files) = &csv_files {
                progress(&format!("{system}: import_csv"));
                emit(&import_case(
                    system,
                    data,
                    files,
                    threads,
                    cfg.chunk_rows,
                    root,
                    &res,
                )?);
            }
        } else if want_case("agents_p95") && system != "parquet" {
            // Agents without the bar cases: an empty store is enough.
            let symbols: Vec<String> = (0..cfg.symbols.max(1)).map(gen::symbol_name).collect();
            let dir = root.join(system);
            let store = open_store(system, &dir, TF, threads, cfg.chunk_rows)?;
            progress(&format!("{system}: agents_p95"));
            let r = agents_case(cfg, &*store, &symbols, &res);
            let closed = store.close();
            emit(&r?);
            closed?;
            remove_dir(&dir)?;
        }
    }

    if want_case("serialize_1mb") || want_case("deserialize_1mb") {
        let records = payloads::records()?;
        for format in [payloads::Format::MessagePack, payloads::Format::Json] {
            if !want_system(format.system()) {
                continue;
            }
            progress(&format!(
                "{}: serialize_1mb / deserialize_1mb",
                format.system()
            ));
            let (bytes, enc, dec) = payloads::measure(format, &records, SERDE_REPS)?;
            for (case, t) in [("serialize_1mb", &enc), ("deserialize_1mb", &dec)] {
                if want_case(case) {
                    let mut r = res(case, format.system(), 0.0).with_reps(t);
                    r = r.with_rows(records.len() as u64);
                    r.bytes = Some(bytes as u64);
                    emit(&r);
                }
            }
        }
    }

    if want_case("rss_1m") {
        match &cfg.child_exe {
            None => eprintln!(
                "market: rss_1m skipped: it runs the amdb binary as a child process, and no \
                 executable was given (MarketConfig::child_exe is None)"
            ),
            Some(exe) => {
                let series = rss::rss_series();
                for system in SYSTEMS.iter().copied().filter(|s| want_system(s)) {
                    progress(&format!("{system}: rss_1m"));
                    let dir = root.join(format!("rss-{system}"));
                    let store = open_store(system, &dir, rss::RSS_TF, threads, cfg.chunk_rows)?;
                    let stored = store.store_series(rss::RSS_SYMBOL, series.clone());
                    store.close()?;
                    stored?;
                    let rep = rss::run_child(exe, system, &dir, &series)?;
                    let mut r = res("rss_1m", system, rep.seconds).with_rows(rep.rows);
                    r.rss_bytes = Some(rep.rss_bytes);
                    r.note = Some(format!(
                        "{} 1m bars of one series read into columns by a fresh process, with a {}-bar SMA and the total volume",
                        rss::RSS_BARS,
                        rss::SMA_PERIOD
                    ));
                    emit(&r);
                    remove_dir(&dir)?;
                }
            }
        }
    }

    temp.close().map_err(|e| io_err("remove", &parent, e))?;
    Ok(())
}

fn validate(cfg: &MarketConfig) -> Result<()> {
    for c in &cfg.cases {
        if !CASES.contains(&c.as_str()) {
            return Err(BenchError::InvalidArgument(format!(
                "unknown case {c:?}; expected one of {}",
                CASES.join(", ")
            )));
        }
    }
    for s in &cfg.systems {
        if !SYSTEMS.contains(&s.as_str()) && s != "json" {
            return Err(unknown_system(s));
        }
    }
    if cfg.symbols == 0 {
        return Err(BenchError::InvalidArgument(
            "symbols must be at least 1".into(),
        ));
    }
    if !(cfg.years > 0.0 && cfg.years.is_finite()) {
        return Err(BenchError::InvalidArgument("years must be positive".into()));
    }
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if cfg.agents == 0 || !positive(cfg.agent_seconds) || !positive(cfg.agent_rate) {
        return Err(BenchError::InvalidArgument(
            "agents, agent_seconds and agent_rate must be positive".into(),
        ));
    }
    if cfg.read_reps == 0 {
        return Err(BenchError::InvalidArgument(
            "read_reps must be at least 1".into(),
        ));
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", dir, e)),
    }
}

type ResFn<'a> = dyn Fn(&str, &str, f64) -> MarketResult + 'a;

/// load_all, disk_bytes, read_one, read_all and insert_10k on one open store. The data is
/// loaded (untimed when load_all is not selected) and checked before anything else runs.
#[allow(clippy::too_many_arguments)]
fn bars_cases(
    cfg: &MarketConfig,
    store: &dyn BarStore,
    data: &Dataset,
    threads: usize,
    want_case: &dyn Fn(&str) -> bool,
    progress: &dyn Fn(&str),
    res: &ResFn<'_>,
    emit: &mut dyn FnMut(&MarketResult),
) -> Result<()> {
    let system = store.system();
    let needs_bars = [
        "load_all",
        "disk_bytes",
        "read_one",
        "read_all",
        "insert_10k",
    ]
    .iter()
    .any(|c| want_case(c));
    if !needs_bars {
        return Ok(());
    }
    progress(&format!("{system}: load_all"));
    let items: Vec<(String, Bars)> = data
        .symbols
        .iter()
        .cloned()
        .zip(data.bars.iter().cloned())
        .collect();
    let t = Instant::now();
    parallel(store.load_threads(), items, |(sym, bars)| {
        store.store_series(&sym, bars)
    })?;
    let load_secs = t.elapsed().as_secs_f64();
    verify_all(
        "load_all",
        system,
        data,
        &read_all_once(store, &data.symbols, threads)?,
    )?;
    if want_case("load_all") {
        let mut r = res("load_all", system, load_secs).with_rows(data.total_rows());
        r.note = Some(format!(
            "one write per symbol from {} thread(s)",
            store.load_threads()
        ));
        emit(&r);
    }

    if want_case("disk_bytes") {
        progress(&format!("{system}: disk_bytes"));
        let t = Instant::now();
        let bytes = store.disk_bytes()?;
        let mut r = res("disk_bytes", system, t.elapsed().as_secs_f64());
        r.rows = Some(data.total_rows());
        r.bytes = Some(bytes);
        r.note = Some(format!(
            "{:.2} bytes per bar; seconds: settling the store before measuring",
            bytes as f64 / data.total_rows() as f64
        ));
        emit(&r);
    }

    if want_case("read_one") {
        progress(&format!("{system}: read_one"));
        let (sym, sum) = (&data.symbols[0], &data.sums[0]);
        let times = TimedReps::run(
            cfg.read_reps,
            || store.read(sym),
            |b| verify("read_one", system, sym, &b, sum),
        )?;
        let r = res("read_one", system, 0.0)
            .with_reps(&times)
            .with_rows(sum.rows);
        emit(&r);
    }

    if want_case("read_all") {
        progress(&format!("{system}: read_all"));
        let reps = cfg.read_reps.min(3);
        let times = TimedReps::run(
            reps,
            || read_all_once(store, &data.symbols, threads),
            |got| verify_all("read_all", system, data, &got),
        )?;
        let mut r = res("read_all", system, 0.0)
            .with_reps(&times)
            .with_rows(data.total_rows());
        r.note = Some(format!("{threads} reader threads"));
        emit(&r);
    }

    if want_case("insert_10k") {
        progress(&format!("{system}: insert_10k"));
        let sym = &data.symbols[0];
        let mut expected = data.bars[0].clone();
        let mut next = expected.ts.last().copied().unwrap_or(gen::DEFAULT_START_NS) + TF.nanos();
        let mut times = Vec::with_capacity(cfg.read_reps);
        // One warm-up batch, then the timed ones; every batch new bars after the end.
        for rep in 0..=cfg.read_reps {
            let batch = gen::generate(dataset::SEED + 1 + rep as u64, 0, TF, next, INSERT_ROWS);
            next += INSERT_ROWS as i64 * TF.nanos();
            expected.extend_from(&batch);
            let t = Instant::now();
            store.append(sym, batch)?;
            if rep > 0 {
                times.push(t.elapsed());
            }
        }
        verify(
            "insert_10k",
            system,
            sym,
            &store.read(sym)?,
            &Checksum::of(&expected),
        )?;
        let r = res("insert_10k", system, 0.0)
            .with_reps(&times)
            .with_rows(INSERT_ROWS as u64);
        emit(&r);
    }
    Ok(())
}

fn agents_case(
    cfg: &MarketConfig,
    store: &dyn BarStore,
    symbols: &[String],
    res: &ResFn<'_>,
) -> Result<MarketResult> {
    let system = store.system();
    let before = store.signal_count()?;
    let st = agents::run(
        store,
        cfg.agents,
        cfg.agent_rate,
        cfg.agent_seconds,
        symbols,
    )?;
    let stored = store.signal_count()? - before;
    if stored != st.ops {
        return Err(BenchError::Verify {
            case: "agents_p95".into(),
            detail: format!(
                "{system} acknowledged {} signals but holds {stored} new ones",
                st.ops
            ),
        });
    }
    let mut r = res("agents_p95", system, st.wall.as_secs_f64()).with_ops(st.ops);
    let us = |ns: u64| round(ns as f64 / 1000.0, 3);
    if !st.hist.is_empty() {
        r.p50_us = Some(us(st.hist.value_at_quantile(0.50)));
        r.p95_us = Some(us(st.hist.value_at_quantile(0.95)));
        r.p99_us = Some(us(st.hist.value_at_quantile(0.99)));
        r.max_us = Some(us(st.hist.max()));
    }
    r.errors = Some(st.errors);
    r.missed = Some(st.missed);
    let mut note = format!(
        "{} agents, {} signals/s scheduled for {} s; latency from the scheduled time",
        cfg.agents, cfg.agent_rate, cfg.agent_seconds
    );
    if let Some(e) = &st.first_error {
        note.push_str(&format!("; first error: {e}"));
    }
    r.note = Some(note);
    Ok(r)
}

/// Writes one CSV file per symbol under `dir`; returns (symbol, path, bytes).
fn export_csv(data: &Dataset, dir: &Path, threads: usize) -> Result<Vec<(String, PathBuf, u64)>> {
    std::fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, e))?;
    let files: Vec<(String, PathBuf)> = data
        .symbols
        .iter()
        .map(|s| (s.clone(), dir.join(format!("{s}.csv"))))
        .collect();
    parallel(threads, (0..files.len()).collect(), |i| {
        let path = &files[i].1;
        let f = std::fs::File::create(path).map_err(|e| io_err("create", path, e))?;
        let mut w = std::io::BufWriter::new(f);
        mcsv::write_csv(&data.bars[i], &mut w, &mcsv::CsvWriteOptions::default())
            .and_then(|()| std::io::Write::flush(&mut w))
            .map_err(|e| io_err("write", path, e))
    })?;
    files
        .into_iter()
        .map(|(s, p)| {
            let len = std::fs::metadata(&p)
                .map_err(|e| io_err("stat", &p, e))?
                .len();
            Ok((s, p, len))
        })
        .collect()
}

fn import_case(
    system: &str,
    data: &Dataset,
    files: &[(String, PathBuf, u64)],
    threads: usize,
    chunk_rows: usize,
    root: &Path,
    res: &ResFn<'_>,
) -> Result<MarketResult> {
    let dir = root.join(format!("import-{system}"));
    let store = open_store(system, &dir, TF, threads, chunk_rows)?;
    let run = || -> Result<f64> {
        let t = Instant::now();
        parallel(
            store.load_threads(),
            files.iter().collect(),
            |(sym, path, _)| {
                let bars = mcsv::read_csv(path, &mcsv::CsvOptions::default(), &mut |_, _| {})?;
                store.store_series(sym, bars)
            },
        )?;
        let secs = t.elapsed().as_secs_f64();
        verify_all(
            "import_csv",
            system,
            data,
            &read_all_once(&*store, &data.symbols, threads)?,
        )?;
        Ok(secs)
    };
    let r = run();
    let closed = store.close();
    let secs = r?;
    closed?;
    remove_dir(&dir)?;
    let mut r = res("import_csv", system, secs).with_rows(data.total_rows());
    r.bytes = Some(files.iter().map(|f| f.2).sum());
    r.note = Some(format!(
        "{} CSV files parsed with amdb_market::io::csv::read_csv and stored, {} thread(s)",
        files.len(),
        if system == "sqlite_plain" { 1 } else { threads }
    ));
    Ok(r)
}

/// One human-readable line.
pub fn format_human(r: &MarketResult) -> String {
    let mut s = format!("{:<16} {:<13} {:>11.6} s", r.case, r.system, r.seconds);
    if let Some(v) = r.rows_per_s {
        s.push_str(&format!(" {:>13.0} rows/s", v));
    }
    if let Some(v) = r.ops_per_s {
        s.push_str(&format!(" {:>10.0} ops/s", v));
    }
    if let (Some(p50), Some(p95)) = (r.p50_us, r.p95_us) {
        s.push_str(&format!("  p50 {p50:.1} us  p95 {p95:.1} us"));
    }
    if let Some(v) = r.p99_us.filter(|_| r.case == "agents_p95") {
        s.push_str(&format!("  p99 {v:.1} us"));
    }
    if let Some(v) = r.max_us.filter(|_| r.case == "agents_p95") {
        s.push_str(&format!("  max {v:.1} us"));
    }
    if let Some(v) = r.errors {
        s.push_str(&format!("  errors {v}"));
    }
    if let Some(v) = r.missed.filter(|&m| m > 0) {
        s.push_str(&format!("  missed {v}"));
    }
    if let Some(v) = r.bytes {
        s.push_str(&format!("  {} ({v} bytes)", human_bytes(v)));
    }
    if let Some(v) = r.rss_bytes {
        s.push_str(&format!("  rss {}", human_bytes(v)));
    }
    s
}

fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_medians() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&s, 0.5), 2.5);
        assert_eq!(quantile(&s, 0.95), 4.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), 2.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn rejects_unknown_names() {
        let cfg = MarketConfig {
            cases: vec!["read_one".into(), "bogus".into()],
            ..MarketConfig::default()
        };
        let e = run(&cfg, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("bogus") && e.contains("rss_1m"), "{e}");
        let cfg = MarketConfig {
            systems: vec!["mysql".into()],
            ..MarketConfig::default()
        };
        assert!(run(&cfg, &mut |_| {})
            .unwrap_err()
            .to_string()
            .contains("mysql"));
    }

    /// The child's work, in process, for every system: a small series stored under the
    /// child's symbol and timeframe reads back whole.
    #[test]
    fn rss_child_reads_every_system() {
        let dir = tempfile::tempdir().unwrap();
        let bars = gen::generate(1, 0, rss::RSS_TF, gen::DEFAULT_START_NS, 3_000);
        for system in SYSTEMS {
            let d = dir.path().join(system);
            let store = open_store(
                system,
                &d,
                rss::RSS_TF,
                2,
                amdb_market::store::DEFAULT_CHUNK_ROWS,
            )
            .unwrap();
            store.store_series(rss::RSS_SYMBOL, bars.clone()).unwrap();
            store.close().unwrap();
            let rep = rss_child(system, &d).unwrap();
            assert_eq!(rep.rows, 3_000, "{system}");
            assert_eq!(rep.checksum, Checksum::of(&bars).hex(), "{system}");
            assert!(rep.rss_bytes > 0 && rep.sma20_last > 0.0, "{system}");
        }
        assert!(rss_child("amdb", &dir.path().join("missing")).is_err());
    }
}
