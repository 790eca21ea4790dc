//! The `engine` suite: LevelDB `db_bench`-style workloads on `amdb-engine`.
//!
//! Workloads run in the order given, on one database, the way `db_bench --benchmarks=...`
//! does:
//!
//! | workload     | what it times                                                           |
//! |--------------|-------------------------------------------------------------------------|
//! | `fillseq`    | fresh database; keys 0..num in order, one key per batch, `Buffered`     |
//! | `fillrandom` | fresh database; the keys 0..num in a random order (each key once), one key per batch, `Buffered` |
//! | `fillbatch`  | fresh database; keys in order, 1,000 entries per batch, `Buffered`      |
//! | `fillsync`   | fresh database; keys in order, one key per batch, `Sync` (fdatasync per write); num/100 operations (see below) |
//! | `overwrite`  | the last filled database; random existing keys (with replacement), one per batch, `Buffered` |
//! | `readrandom` | the last filled database; point gets of random existing keys; every one must be found |
//! | `readseq`    | the last filled database; one full forward scan                         |
//!
//! With `--ledger`, every fill* row also times the ledger catching up after its last write
//! (see the end of this comment).
//!
//! `num` is the total number of operations, split evenly over the threads; a step written
//! `name:N` runs N operations instead. `fillsync` runs `num / 100` operations unless its
//! count is given explicitly (`fillsync:N`, or `num` when `fillsync` is the only step), so an
//! explicit `num` for a whole list does not mean a million fsyncs. Reads with no
//! filled database yet fill one (keys 0..num, untimed) first. `fillrandom` writes every key
//! exactly once (RocksDB calls this `filluniquerandom`; LevelDB's `fillrandom` draws with
//! replacement), so later reads can require that every key they ask for exists.
//!
//! Keys are the index as 16 zero-padded decimal digits; values come from
//! [`ValueGenerator`] (half compressible). Each operation's latency goes into a nanosecond
//! HdrHistogram and is reported in microseconds as a float. As in `db_bench`, an operation's
//! latency is the time since the previous operation of the same thread finished, so it
//! includes making the key and value. For `fillbatch`, each entry is counted as one operation
//! whose latency is its batch's latency divided by the entries in the batch.
//!
//! With `options.ledger` (`amdb bench engine --ledger`) every database is created with a
//! ledger, so each committed batch becomes a hash-chained transaction that a background
//! thread hashes after the commit; results then name the system `amdb_ledger` instead of
//! `amdb`. Each fill thread ends its timed part by bringing the ledger up to date
//! ([`Db::ledger_root`], which hashes whatever is still queued in the calling thread), so
//! a fill's seconds and ops/s include all the hashing its writes caused, not only what the
//! background thread happened to finish in time. That catch-up is not an operation: it is
//! in `seconds`, `ops_per_s` and `cpu_seconds` but not in the latency percentiles. The
//! untimed fill before reads catches up too, so reads do not compete with leftover hashing;
//! `overwrite` does not wait for the ledger.

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use amdb_engine::{Db, Durability, Keyspace, Options, ReadOptions, WriteBatch, WriteOptions};
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::values::{format_key, key, ValueGenerator, KEY_LEN};
use crate::{BenchError, Result};

/// The workloads in `db_bench`'s default order for this suite.
pub const DEFAULT_WORKLOADS: &str =
    "fillseq,fillrandom,overwrite,readrandom,readseq,fillbatch,fillsync";

/// Entries per batch in `fillbatch` (and in the untimed fill that reads may need).
pub const FILLBATCH_ENTRIES: usize = 1000;

/// `fillsync` runs `num / FILLSYNC_DIVISOR` operations unless `num` was given explicitly.
pub const FILLSYNC_DIVISOR: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    FillSeq,
    FillRandom,
    FillBatch,
    FillSync,
    Overwrite,
    ReadRandom,
    ReadSeq,
}

impl Workload {
    pub const ALL: [Workload; 7] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::FillBatch,
        Workload::FillSync,
        Workload::Overwrite,
        Workload::ReadRandom,
        Workload::ReadSeq,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::FillBatch => "fillbatch",
            Workload::FillSync => "fillsync",
            Workload::Overwrite => "overwrite",
            Workload::ReadRandom => "readrandom",
            Workload::ReadSeq => "readseq",
        }
    }

    /// Whether the workload starts from a fresh, empty database.
    pub fn is_fill(self) -> bool {
        matches!(
            self,
            Workload::FillSeq | Workload::FillRandom | Workload::FillBatch | Workload::FillSync
        )
    }

    pub fn is_read(self) -> bool {
        matches!(self, Workload::ReadRandom | Workload::ReadSeq)
    }

    /// Parses a comma-separated list such as `fillseq,readrandom,fillsync:5000`; a `:N`
    /// suffix sets that step's operation count.
    pub fn parse_list(list: &str) -> Result<Vec<Step>> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, ops) = match item.split_once(':') {
                Some((name, n)) => {
                    let ops = n
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| {
                            BenchError::InvalidArgument(format!(
                                "{item:?}: the count after ':' must be a positive integer"
                            ))
                        })?;
                    (name.trim(), Some(ops))
                }
                None => (item, None),
            };
            out.push(Step {
                workload: name.parse()?,
                ops,
            });
        }
        if out.is_empty() {
            return Err(BenchError::InvalidArgument("no workload given".to_string()));
        }
        Ok(out)
    }
}

/// One entry of the workload list: a workload and, if given, its own operation count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub workload: Workload,
    pub ops: Option<u64>,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ops {
            Some(n) => write!(f, "{}:{n}", self.workload),
            None => write!(f, "{}", self.workload),
        }
    }
}

impl std::str::FromStr for Workload {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Self> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
                BenchError::InvalidArgument(format!(
                    "unknown workload {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub workloads: Vec<Step>,
    /// Total operations per workload (unless its step sets its own), split evenly over
    /// `threads`.
    pub num: u64,
    /// Whether `num` was chosen by the user. `fillsync` runs `num / 100` operations unless
    /// its step sets a count, or `num` is explicit and `fillsync` is the only step.
    pub num_explicit: bool,
    pub threads: usize,
    pub value_size: usize,
    /// Where the databases go. `None`: a fresh directory under the system temp dir, removed
    /// afterwards. `Some(dir)`: one sub-directory per fill (`<dir>/<n>-<workload>`), kept.
    pub dir: Option<PathBuf>,
    /// Seed for random key orders and read keys.
    pub seed: u64,
    /// Engine options; durability is set per workload. `options.ledger` creates every
    /// database with a ledger and makes each timed fill include the ledger catching up.
    pub options: Options,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workloads: Workload::parse_list(DEFAULT_WORKLOADS).expect("default list parses"),
            num: 1_000_000,
            num_explicit: false,
            threads: 1,
            value_size: 100,
            dir: None,
            seed: 301,
            options: Options::default(),
        }
    }
}

impl EngineConfig {
    /// Operations `step` runs under this configuration.
    pub fn ops_for(&self, step: Step) -> u64 {
        if let Some(n) = step.ops {
            return n;
        }
        let num_is_for_it = self.num_explicit && self.workloads.len() == 1;
        if step.workload == Workload::FillSync && !num_is_for_it {
            (self.num / FILLSYNC_DIVISOR).max(1)
        } else {
            self.num
        }
    }
}

/// One workload's result; serializes to one JSON line of `amdb bench engine --json`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineResult {
    /// Always `"engine"`.
    pub suite: &'static str,
    /// The workload name.
    pub case: String,
    /// `"amdb"`, or `"amdb_ledger"` when the databases have a ledger (`options.ledger`);
    /// peer engines will report their own name.
    pub system: &'static str,
    pub ops: u64,
    pub seconds: f64,
    pub ops_per_s: f64,
    /// Mean latency per operation in microseconds (`seconds * threads / ops`, like db_bench).
    pub micros_per_op: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// User bytes (keys plus values) written or read.
    pub bytes: u64,
    /// `bytes` per second in MiB (2^20 bytes), as db_bench prints "MB/s".
    pub mb_per_s: f64,
    /// Peak resident set size of the process so far.
    pub rss_bytes: u64,
    pub threads: usize,
    pub key_size: usize,
    pub value_size: usize,
    /// Entries per write batch (0 for reads).
    pub batch_entries: usize,
    /// `"buffered"` or `"sync"` for writes, `""` for reads.
    pub durability: &'static str,
    /// Keys in the database when the workload ended.
    pub db_keys: u64,
    /// Engine counters during the workload: time writers were delayed or stopped by
    /// backpressure, memtable flushes, compactions and WAL fdatasyncs.
    pub stall_micros: u64,
    /// CPU time (user + system) of the benchmark's own threads, excluding the engine's
    /// background threads. Well below `seconds * threads` means the threads waited (I/O,
    /// stalls) or did not get a CPU (a busy machine).
    pub cpu_seconds: f64,
    pub flushes: u64,
    pub compactions: u64,
    pub wal_syncs: u64,
}

/// A database filled by an earlier workload: keys `0..keys` exist.
struct Filled {
    db: Db,
    ks: Keyspace,
    dir: PathBuf,
    keys: u64,
}

/// What one thread measured.
struct ThreadResult {
    hist: Histogram<u64>,
    ops: u64,
    bytes: u64,
    /// CPU time (user and system) the benchmark threads used.
    cpu: Duration,
}

/// Runs every workload of `cfg` in order, calling `on_result` as each one finishes.
pub fn run(
    cfg: &EngineConfig,
    mut on_result: impl FnMut(&EngineResult),
) -> Result<Vec<EngineResult>> {
    if cfg.threads == 0 {
        return Err(BenchError::InvalidArgument(
            "threads must be at least 1".into(),
        ));
    }
    if cfg.num == 0 {
        return Err(BenchError::InvalidArgument("num must be at least 1".into()));
    }
    if cfg.value_size > cfg.options.max_batch_bytes / 2 {
        return Err(BenchError::InvalidArgument(format!(
            "value size {} is too large for the engine's {}-byte batch limit",
            cfg.value_size, cfg.options.max_batch_bytes
        )));
    }
    let temp;
    let root: PathBuf = match &cfg.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| io_err("create directory", d, e))?;
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("amdb-bench-")
                .tempdir()
                .map_err(|e| io_err("create temp dir in", &std::env::temp_dir(), e))?;
            temp.path().to_path_buf()
        }
    };
    let keep = cfg.dir.is_some();
    let values = ValueGenerator::new(cfg.value_size);
    let mut filled: Option<Filled> = None;
    let mut results = Vec::new();
    for (n, &step) in cfg.workloads.iter().enumerate() {
        let w = step.workload;
        let ops = cfg.ops_for(step);
        if w.is_fill() || filled.is_none() {
            if let Some(old) = filled.take() {
                old.db.close()?;
                if !keep {
                    remove_dir(&old.dir)?;
                }
            }
            let dir = root.join(format!("{}-{}", n + 1, w.name()));
            if dir.exists() {
                return Err(BenchError::InvalidArgument(format!(
                    "{} already exists; give --dir an empty or new directory",
                    dir.display()
                )));
            }
            let db = Db::open(
                &dir,
                Options {
                    create_if_missing: true,
                    error_if_exists: true,
                    durability: Durability::Buffered,
                    ..cfg.options.clone()
                },
            )?;
            let ks = db.default_keyspace();
            let mut f = Filled {
                db,
                ks,
                dir,
                keys: 0,
            };
            if !w.is_fill() {
                // Reads and overwrites need data: fill keys 0..num, untimed.
                fill(cfg, &f, Workload::FillBatch, cfg.num, &values)?;
                f.keys = cfg.num;
            }
            filled = Some(f);
        }
        let f = filled.as_mut().expect("a database is open");
        let before = f.db.stats().counters;
        let (res, wall) = match w {
            Workload::FillSeq | Workload::FillRandom | Workload::FillBatch | Workload::FillSync => {
                let r = fill(cfg, f, w, ops, &values)?;
                f.keys = ops;
                r
            }
            Workload::Overwrite => overwrite(cfg, f, ops, &values)?,
            Workload::ReadRandom => read_random(cfg, f, ops)?,
            Workload::ReadSeq => read_seq(cfg, f)?,
        };
        let after = f.db.stats().counters;
        let mut r = summarize(cfg, w, res, wall, f.keys);
        r.stall_micros = after.stall_micros - before.stall_micros;
        r.flushes = after.flushes - before.flushes;
        r.compactions = after.compactions - before.compactions;
        r.wal_syncs = after.wal_syncs - before.wal_syncs;
        on_result(&r);
        results.push(r);
    }
    if let Some(f) = filled.take() {
        f.db.close()?;
        if !keep {
            remove_dir(&f.dir)?;
        }
    }
    Ok(results)
}

fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> BenchError {
    BenchError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(|e| io_err("remove", dir, e))
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns to 1 hour at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// Splits `total` into `parts` contiguous ranges whose sizes differ by at most one.
fn split(total: u64, parts: usize) -> Vec<std::ops::Range<u64>> {
    let parts = parts as u64;
    let base = total / parts;
    let extra = total % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + u64::from(i < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// Runs `body(thread_index, range, hist)` on `threads` threads released together; returns
/// the merged results and the wall time from the first thread's start to the last thread's
/// end (each thread reads the clock itself, so a descheduled coordinator cannot skew it).
fn run_threads<F>(threads: usize, total: u64, body: F) -> Result<(ThreadResult, Duration)>
where
    F: Fn(usize, std::ops::Range<u64>, &mut Histogram<u64>) -> Result<(u64, u64)> + Sync,
{
    let ranges = split(total, threads);
    let barrier = Barrier::new(threads);
    let outs: Vec<Result<(ThreadResult, Instant, Instant)>> = std::thread::scope(|s| {
        let handles: Vec<_> = ranges
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let body = &body;
                let barrier = &barrier;
                s.spawn(move || {
                    let mut hist = new_histogram();
                    barrier.wait();
                    let start = Instant::now();
                    let cpu_start = crate::sys::thread_cpu_time();
                    let (ops, bytes) = body(i, r, &mut hist)?;
                    let cpu = crate::sys::thread_cpu_time().saturating_sub(cpu_start);
                    let end = Instant::now();
                    Ok((
                        ThreadResult {
                            hist,
                            ops,
                            bytes,
                            cpu,
                        },
                        start,
                        end,
                    ))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .collect()
    });
    let mut merged = ThreadResult {
        hist: new_histogram(),
        ops: 0,
        bytes: 0,
        cpu: Duration::ZERO,
    };
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for o in outs {
        let (o, start, end) = o?;
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end, |l| l.max(end)));
        merged
            .hist
            .add(&o.hist)
            .expect("histograms with equal bounds merge");
        merged.ops += o.ops;
        merged.bytes += o.bytes;
        merged.cpu += o.cpu;
    }
    let wall = match (first, last) {
        (Some(f), Some(l)) => l - f,
        _ => Duration::ZERO,
    };
    Ok((merged, wall))
}

/// Times writes of `ops` keys (each key index once) in the workload's order and batching.
/// With a ledger, each thread then brings the ledger up to date inside its timed part (not
/// recorded as an operation's latency), so every write's hashing is paid for within the
/// wall time: the thread that ends last has waited for every transaction committed before.
fn fill(
    cfg: &EngineConfig,
    f: &Filled,
    w: Workload,
    ops: u64,
    values: &ValueGenerator,
) -> Result<(ThreadResult, Duration)> {
    let order: Option<Vec<u64>> = (w == Workload::FillRandom).then(|| {
        let mut v: Vec<u64> = (0..ops).collect();
        v.shuffle(&mut SmallRng::seed_from_u64(cfg.seed));
        v
    });
    let per_batch = if w == Workload::FillBatch {
        FILLBATCH_ENTRIES
    } else {
        1
    };
    let wo = WriteOptions::durability(if w == Workload::FillSync {
        Durability::Sync
    } else {
        Durability::Buffered
    });
    run_threads(cfg.threads, ops, |t, range, hist| {
        let mut values = values.fork(t);
        let mut batch = WriteBatch::with_capacity(per_batch * (KEY_LEN + cfg.value_size + 8));
        let mut k = [0u8; KEY_LEN];
        let mut bytes = 0;
        let mut last = Instant::now();
        let mut i = range.start;
        while i < range.end {
            let n = (per_batch as u64).min(range.end - i);
            batch.clear();
            for j in i..i + n {
                let index = order.as_ref().map_or(j, |o| o[j as usize]);
                format_key(index, &mut k);
                batch.put(&f.ks, k, values.next_value(cfg.value_size));
            }
            f.db.write_opt(&batch, &wo)?;
            let now = Instant::now();
            let ns = (now - last).as_nanos() as u64;
            last = now;
            hist.saturating_record_n((ns / n).max(1), n);
            bytes += n * (KEY_LEN + cfg.value_size) as u64;
            i += n;
        }
        if cfg.options.ledger {
            f.db.ledger_root()?;
        }
        Ok((range.end - range.start, bytes))
    })
}

/// Times one-key writes of random existing keys.
fn overwrite(
    cfg: &EngineConfig,
    f: &Filled,
    ops: u64,
    values: &ValueGenerator,
) -> Result<(ThreadResult, Duration)> {
    let wo = WriteOptions::durability(Durability::Buffered);
    run_threads(cfg.threads, ops, |t, range, hist| {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (t as u64 + 1).wrapping_mul(0x9e37));
        let mut values = values.fork(t + 1000);
        let mut batch = WriteBatch::with_capacity(KEY_LEN + cfg.value_size + 8);
        let mut k = [0u8; KEY_LEN];
        let mut last = Instant::now();
        for _ in range.clone() {
            format_key(rng.gen_range(0..f.keys), &mut k);
            batch.clear();
            batch.put(&f.ks, k, values.next_value(cfg.value_size));
            f.db.write_opt(&batch, &wo)?;
            let now = Instant::now();
            hist.saturating_record(((now - last).as_nanos() as u64).max(1));
            last = now;
        }
        let ops = range.end - range.start;
        Ok((ops, ops * (KEY_LEN + cfg.value_size) as u64))
    })
}

/// Times point gets of random existing keys; every key must be found.
fn read_random(cfg: &EngineConfig, f: &Filled, ops: u64) -> Result<(ThreadResult, Duration)> {
    run_threads(cfg.threads, ops, |t, range, hist| {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (t as u64 + 7).wrapping_mul(0x51ed));
        let mut k = [0u8; KEY_LEN];
        let mut bytes = 0u64;
        let mut last = Instant::now();
        for _ in range.clone() {
            let index = rng.gen_range(0..f.keys);
            format_key(index, &mut k);
            match f.db.get(&f.ks, k)? {
                Some(v) if v.len() == cfg.value_size => bytes += (KEY_LEN + v.len()) as u64,
                Some(v) => {
                    return Err(BenchError::Verify {
                        case: "readrandom".into(),
                        detail: format!(
                            "key {} has a {}-byte value, expected {}",
                            index,
                            v.len(),
                            cfg.value_size
                        ),
                    })
                }
                None => {
                    return Err(BenchError::Verify {
                        case: "readrandom".into(),
                        detail: format!("key {index} was written but not found"),
                    })
                }
            }
            let now = Instant::now();
            hist.saturating_record(((now - last).as_nanos() as u64).max(1));
            last = now;
        }
        Ok((range.end - range.start, bytes))
    })
}

/// Times one full forward scan (split into one key range per thread); every key must be
/// seen, in order.
fn read_seq(cfg: &EngineConfig, f: &Filled) -> Result<(ThreadResult, Duration)> {
    let threads = cfg.threads;
    let total = f.keys;
    let (res, wall) = run_threads(threads, total, |_, range, hist| {
        let mut opts = ReadOptions::new();
        if threads > 1 {
            opts = opts.lower_bound(key(range.start).to_vec());
            if range.end < total {
                opts = opts.upper_bound(key(range.end).to_vec());
            }
        }
        let mut it = f.db.iter(&f.ks, &opts)?;
        let mut ops = 0u64;
        let mut bytes = 0u64;
        let mut expect = range.start;
        let mut last = Instant::now();
        it.seek_to_first();
        while it.valid() {
            let (key_bytes, value) = (it.key(), it.value());
            if key_bytes != key(expect) {
                return Err(BenchError::Verify {
                    case: "readseq".into(),
                    detail: format!(
                        "expected key {} at position {}, found {:?}",
                        expect,
                        expect - range.start,
                        String::from_utf8_lossy(key_bytes)
                    ),
                });
            }
            bytes += (key_bytes.len() + value.len()) as u64;
            ops += 1;
            expect += 1;
            it.next();
            let now = Instant::now();
            hist.saturating_record(((now - last).as_nanos() as u64).max(1));
            last = now;
        }
        it.status()?;
        Ok((ops, bytes))
    })?;
    if res.ops != total {
        return Err(BenchError::Verify {
            case: "readseq".into(),
            detail: format!("scan saw {} keys, the database holds {}", res.ops, total),
        });
    }
    Ok((res, wall))
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

fn summarize(
    cfg: &EngineConfig,
    w: Workload,
    r: ThreadResult,
    wall: Duration,
    db_keys: u64,
) -> EngineResult {
    let secs = wall.as_secs_f64().max(1e-9);
    let us = |q: f64| round(r.hist.value_at_quantile(q) as f64 / 1000.0, 3);
    EngineResult {
        suite: "engine",
        case: w.name().to_string(),
        system: if cfg.options.ledger {
            "amdb_ledger"
        } else {
            "amdb"
        },
        ops: r.ops,
        seconds: round(secs, 6),
        ops_per_s: round(r.ops as f64 / secs, 1),
        micros_per_op: round(secs * 1e6 * cfg.threads as f64 / r.ops.max(1) as f64, 3),
        p50_us: us(0.50),
        p95_us: us(0.95),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: round(r.hist.max() as f64 / 1000.0, 3),
        bytes: r.bytes,
        mb_per_s: round(r.bytes as f64 / secs / 1048576.0, 2),
        rss_bytes: crate::sys::peak_rss_bytes(),
        threads: cfg.threads,
        key_size: KEY_LEN,
        value_size: cfg.value_size,
        batch_entries: match w {
            Workload::FillBatch => FILLBATCH_ENTRIES,
            Workload::ReadRandom | Workload::ReadSeq => 0,
            _ => 1,
        },
        durability: match w {
            Workload::FillSync => "sync",
            Workload::ReadRandom | Workload::ReadSeq => "",
            _ => "buffered",
        },
        db_keys,
        stall_micros: 0,
        cpu_seconds: round(r.cpu.as_secs_f64(), 6),
        flushes: 0,
        compactions: 0,
        wal_syncs: 0,
    }
}

/// One `db_bench`-style line: `fillseq      :    1.234 micros/op;   810372 ops/sec;  ...`.
pub fn format_human(r: &EngineResult) -> String {
    format!(
        "{:<10} : {:>9.3} micros/op; {:>9.0} ops/sec; {:>8.1} MB/s; p50 {:>8.3} us; p95 {:>8.3} us; p99 {:>8.3} us; {} ops in {:.3} s (cpu {:.3} s)",
        r.case,
        r.micros_per_op,
        r.ops_per_s,
        r.mb_per_s,
        r.p50_us,
        r.p95_us,
        r.p99_us,
        r.ops,
        r.seconds,
        r.cpu_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(workloads: &str, num: u64, threads: usize) -> EngineConfig {
        EngineConfig {
            workloads: Workload::parse_list(workloads).unwrap(),
            num,
            num_explicit: true,
            threads,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn parses_workload_lists() {
        let steps = Workload::parse_list("fillseq, readrandom,fillsync:500").unwrap();
        let names: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["fillseq", "readrandom", "fillsync:500"]);
        assert_eq!(steps[2].ops, Some(500));
        assert!(Workload::parse_list("fillsync:0").is_err());
        assert!(Workload::parse_list("fillsync:x").is_err());
        let e = Workload::parse_list("fillseq,bogus")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus") && e.contains("readseq"), "{e}");
        assert!(Workload::parse_list(" , ").is_err());
        assert_eq!(Workload::parse_list(DEFAULT_WORKLOADS).unwrap().len(), 7);
    }

    #[test]
    fn split_is_even_and_complete() {
        let r = split(10, 3);
        assert_eq!(r, vec![0..4, 4..7, 7..10]);
        assert_eq!(split(2, 4).iter().map(|r| r.end - r.start).sum::<u64>(), 2);
    }

    #[test]
    fn fillsync_defaults_to_a_hundredth() {
        let mut c = EngineConfig::default();
        let steps = c.workloads.clone();
        let sync = steps
            .iter()
            .copied()
            .find(|s| s.workload == Workload::FillSync)
            .unwrap();
        assert_eq!(c.ops_for(sync), 10_000);
        assert_eq!(c.ops_for(steps[0]), 1_000_000);
        // An explicit --num for a whole list still spares fillsync a million fsyncs...
        c.num_explicit = true;
        assert_eq!(c.ops_for(sync), 10_000);
        // ...but applies when fillsync runs alone, and a step's own count always wins.
        c.workloads = vec![sync];
        assert_eq!(c.ops_for(sync), 1_000_000);
        let own = Step {
            workload: Workload::FillSync,
            ops: Some(77),
        };
        assert_eq!(c.ops_for(own), 77);
    }

    #[test]
    fn every_workload_runs_and_verifies() {
        // fillsync runs 3000/100 synced writes, keeping the test fast.
        let cfg = small(DEFAULT_WORKLOADS, 3000, 1);
        let mut seen = Vec::new();
        let results = run(&cfg, |r| seen.push(r.case.clone())).unwrap();
        assert_eq!(seen.len(), 7);
        for r in &results {
            let ops = if r.case == "fillsync" { 30 } else { 3000 };
            assert_eq!(r.ops, ops, "{r:?}");
            assert!(r.seconds > 0.0 && r.ops_per_s > 0.0, "{r:?}");
            assert!(r.p50_us <= r.p95_us && r.p95_us <= r.p99_us, "{r:?}");
            assert_eq!(r.bytes, ops * 116, "{r:?}");
            assert!(r.rss_bytes > 0);
            let line = serde_json::to_string(r).unwrap();
            assert!(line.contains("\"suite\":\"engine\""), "{line}");
            assert!(!format_human(r).is_empty());
        }
    }

    #[test]
    fn reads_first_fill_and_threads_split_work() {
        let cfg = small("readseq,readrandom,overwrite", 1001, 3);
        let results = run(&cfg, |_| {}).unwrap();
        assert_eq!(results[0].ops, 1001);
        assert_eq!(results[1].ops, 1001);
        assert_eq!(results[2].db_keys, 1001);
    }

    #[test]
    fn ledger_fills_are_named_and_covered() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = small("readrandom:100,fillbatch:2000,fillsync:50", 1000, 1);
        cfg.dir = Some(dir.path().to_path_buf());
        cfg.options.ledger = true;
        let results = run(&cfg, |_| {}).unwrap();
        assert!(
            results.iter().all(|r| r.system == "amdb_ledger"),
            "{results:?}"
        );
        assert_eq!(
            results.iter().map(|r| r.ops).collect::<Vec<_>>(),
            [100, 2000, 50]
        );
        // One transaction per batch: the untimed fill before readrandom (one batch of
        // 1,000), two batches of 1,000, and 50 single writes.
        for (sub, batches, keys) in [
            ("1-readrandom", 1, 1000),
            ("2-fillbatch", 2, 2000),
            ("3-fillsync", 50, 50),
        ] {
            let opts = Options {
                create_if_missing: false,
                ..Options::default()
            };
            let db = Db::open(dir.path().join(sub), opts).unwrap();
            assert!(db.has_ledger(), "{sub}");
            assert_eq!(db.ledger_root().unwrap().tx, batches, "{sub}");
            let ks = db.default_keyspace();
            assert!(db.get(&ks, key(keys - 1)).unwrap().is_some(), "{sub}");
            db.close().unwrap();
        }
        cfg.options.ledger = false;
        cfg.dir = None;
        let off = run(&cfg, |_| {}).unwrap();
        assert!(off.iter().all(|r| r.system == "amdb"), "{off:?}");
    }

    #[test]
    fn kept_dir_refuses_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = small("fillseq", 10, 1);
        cfg.dir = Some(dir.path().to_path_buf());
        run(&cfg, |_| {}).unwrap();
        assert!(dir.path().join("1-fillseq").join("CURRENT").exists());
        let e = run(&cfg, |_| {}).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}
