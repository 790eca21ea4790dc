//! The `engine` suite: LevelDB `db_bench`-style workloads on `amdb-engine` and, with
//! `--vs`, on its peers ([`crate::kv`]) in the same run.
//!
//! Workloads run in the order given; each one runs on every engine in turn (AmDb first,
//! then the peers in the order given) before the next workload starts, so slow drift in
//! the machine's speed touches every engine alike:
//!
//! | workload     | what it times                                                           |
//! |--------------|-------------------------------------------------------------------------|
//! | `fillseq`    | fresh database; keys 0..num in order, one key per batch, unsynced       |
//! | `fillrandom` | fresh database; the keys 0..num in a random order (each key once), one key per batch, unsynced |
//! | `fillbatch`  | fresh database; keys in order, 1,000 entries per batch, unsynced        |
//! | `fillsync`   | fresh database; keys in order, one key per batch, synced (fdatasync per write, or one shared by a group commit); num/100 operations (see below) |
//! | `overwrite`  | the last filled database; random existing keys (with replacement), one per batch, unsynced |
//! | `readrandom` | the last filled database, settled; point gets of random existing keys; every one must be found |
//! | `seekrandom` | the last filled database, settled; seek to a random existing key and read the entry there |
//! | `readseq`    | the last filled database, settled; one full forward scan                |
//! | `mixed`      | the last filled database; each operation a get or an overwrite of a random existing key, half and half (4 threads unless `@T`) |
//! | `ingest`     | fresh database; 10 × num sorted entries by the engine's bulk path (AmDb and RocksDB write tables directly), durable at the end |
//!
//! A step `name@T` runs on T threads instead of `--threads` (`fillsync@64`: 64 concurrent
//! synced writers, which group commit must serve); `name:N` runs N operations; both may
//! be combined (`fillsync:20000@8`).
//!
//! "Unsynced" means in the engine's log, handed to the OS: it survives a crash of the
//! process, not of the machine (see [`crate::kv`] for how each peer is set up alike).
//! "Settled" means the engine's background flushes and compactions have finished
//! ([`crate::kv::Store::settle`], untimed). After each engine's timed step the engine is
//! settled too, untimed, so the next engine does not run beside its leftover work.
//!
//! With `--ledger`, AmDb's databases have a ledger and every fill row also times the
//! ledger catching up after its last write (see the end of this comment).
//!
//! `num` is the total number of operations, split evenly over the threads. `fillsync` runs
//! `num / 100` operations unless its count is given explicitly (`fillsync:N`, or `num` when
//! `fillsync` is the only step), so an explicit `num` for a whole list does not mean a
//! million fsyncs; `ingest` runs `10 × num` unless given. Reads with no filled database
//! yet fill one (keys 0..num, untimed) first. `fillrandom` writes every key exactly once
//! (RocksDB calls this `filluniquerandom`; LevelDB's `fillrandom` draws with replacement),
//! so later reads can require that every key they ask for exists.
//!
//! Keys are the index as 16 zero-padded decimal digits; values come from
//! [`ValueGenerator`] (half compressible). Each operation's latency goes into a nanosecond
//! HdrHistogram and is reported in microseconds as a float. As in `db_bench`, an operation's
//! latency is the time since the previous operation of the same thread finished, so it
//! includes making the key and value. For `fillbatch` and `ingest`, each entry is counted
//! as one operation whose latency is its batch's latency divided by the entries in it.
//!
//! With `options.ledger` (`amdb bench engine --ledger`) every AmDb database is created with
//! a ledger, so each committed batch becomes a hash-chained transaction that a background
//! thread hashes after the commit; results then name the system `amdb_ledger` instead of
//! `amdb`. Each fill thread ends its timed part by bringing the ledger up to date
//! ([`Db::ledger_root`], which hashes whatever is still queued in the calling thread), so
//! a fill's seconds and ops/s include all the hashing its writes caused, not only what the
//! background thread happened to finish in time. That catch-up is not an operation: it is
//! in `seconds`, `ops_per_s` and `cpu_seconds` but not in the latency percentiles. The
//! untimed fill before reads catches up too, so reads do not compete with leftover hashing;
//! `overwrite` does not wait for the ledger.
//!
//! [`Db::ledger_root`]: amdb_engine::Db::ledger_root

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use amdb_engine::Options;
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::kv::{self, AmdbStore, Batch, Budget, Engine, Store};
use crate::values::{format_key, key, ValueGenerator, KEY_LEN};
use crate::{BenchError, Result};

/// The workloads in `db_bench`'s default order for this suite, then the concurrent and
/// bulk ones.
pub const DEFAULT_WORKLOADS: &str =
    "fillseq,fillrandom,overwrite,readrandom,seekrandom,readseq,mixed,fillbatch,fillsync,fillsync@8,fillsync@64,ingest";

/// Entries per batch in `fillbatch` (and in the untimed fill that reads may need).
pub const FILLBATCH_ENTRIES: usize = 1000;

/// `fillsync` runs `num / FILLSYNC_DIVISOR` operations unless `num` was given explicitly.
pub const FILLSYNC_DIVISOR: u64 = 100;

/// `ingest` loads `num * INGEST_MULTIPLIER` entries unless its count is given.
pub const INGEST_MULTIPLIER: u64 = 10;

/// Threads of `mixed` unless its step says `@T`.
pub const MIXED_THREADS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    FillSeq,
    FillRandom,
    FillBatch,
    FillSync,
    Overwrite,
    ReadRandom,
    SeekRandom,
    ReadSeq,
    Mixed,
    Ingest,
}

impl Workload {
    pub const ALL: [Workload; 10] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::FillBatch,
        Workload::FillSync,
        Workload::Overwrite,
        Workload::ReadRandom,
        Workload::SeekRandom,
        Workload::ReadSeq,
        Workload::Mixed,
        Workload::Ingest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::FillBatch => "fillbatch",
            Workload::FillSync => "fillsync",
            Workload::Overwrite => "overwrite",
            Workload::ReadRandom => "readrandom",
            Workload::SeekRandom => "seekrandom",
            Workload::ReadSeq => "readseq",
            Workload::Mixed => "mixed",
            Workload::Ingest => "ingest",
        }
    }

    /// Whether the workload starts from a fresh, empty database.
    pub fn is_fill(self) -> bool {
        matches!(
            self,
            Workload::FillSeq
                | Workload::FillRandom
                | Workload::FillBatch
                | Workload::FillSync
                | Workload::Ingest
        )
    }

    /// Whether the workload only reads (and runs on a settled database).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Workload::ReadRandom | Workload::SeekRandom | Workload::ReadSeq
        )
    }

    /// Parses a comma-separated list such as `fillseq,readrandom,fillsync:5000@8`; a `:N`
    /// suffix sets that step's operation count, an `@T` suffix its threads.
    pub fn parse_list(list: &str) -> Result<Vec<Step>> {
        let positive = |item: &str, what: &str, n: &str| {
            n.trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    BenchError::InvalidArgument(format!(
                        "{item:?}: the {what} must be a positive integer"
                    ))
                })
        };
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (rest, threads) = match item.split_once('@') {
                Some((rest, t)) => (rest, Some(positive(item, "thread count after '@'", t)?)),
                None => (item, None),
            };
            let (name, ops) = match rest.split_once(':') {
                Some((name, n)) => (name.trim(), Some(positive(item, "count after ':'", n)?)),
                None => (rest.trim(), None),
            };
            out.push(Step {
                workload: name.parse()?,
                ops,
                threads: threads.map(|t| t as usize),
            });
        }
        if out.is_empty() {
            return Err(BenchError::InvalidArgument("no workloads given".into()));
        }
        Ok(out)
    }
}

/// One workload of a list, with its own operation count and threads if given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub workload: Workload,
    pub ops: Option<u64>,
    pub threads: Option<usize>,
}

impl Step {
    pub fn new(workload: Workload) -> Step {
        Step {
            workload,
            ops: None,
            threads: None,
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.workload)?;
        if let Some(n) = self.ops {
            write!(f, ":{n}")?;
        }
        if let Some(t) = self.threads {
            write!(f, "@{t}")?;
        }
        Ok(())
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
    /// the threads.
    pub num: u64,
    /// Whether `num` was chosen by the user. `fillsync` runs `num / 100` operations unless
    /// its step sets a count, or `num` is explicit and `fillsync` is the only step.
    pub num_explicit: bool,
    /// Threads of a step that does not say `@T` (`mixed` has its own default).
    pub threads: usize,
    pub value_size: usize,
    /// Where the databases go. `None`: a fresh directory under the system temp dir, removed
    /// afterwards. `Some(dir)`: one sub-directory per fill and engine
    /// (`<dir>/<n>-<workload>/<engine>`), kept.
    pub dir: Option<PathBuf>,
    /// Seed for random key orders and read keys.
    pub seed: u64,
    /// AmDb's options; durability is set per workload and the memtable and cache come from
    /// `budget`. `options.ledger` creates every AmDb database with a ledger and makes each
    /// timed fill include the ledger catching up.
    pub options: Options,
    /// The peers to run beside AmDb, in order ([`Engine::Amdb`] and
    /// [`Engine::AmdbLedger`] are ignored here: AmDb always runs first).
    pub peers: Vec<Engine>,
    /// Memory every engine may use.
    pub budget: Budget,
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
            peers: Vec::new(),
            budget: Budget::default(),
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
        match step.workload {
            Workload::FillSync if !num_is_for_it => (self.num / FILLSYNC_DIVISOR).max(1),
            Workload::Ingest if !num_is_for_it => self.num.saturating_mul(INGEST_MULTIPLIER),
            _ => self.num,
        }
    }

    /// Threads `step` runs on.
    pub fn threads_for(&self, step: Step) -> usize {
        match (step.threads, step.workload) {
            (Some(t), _) => t,
            (None, Workload::Mixed) => MIXED_THREADS,
            // One sorted stream: the bulk path is single-threaded in every engine.
            (None, Workload::Ingest) => 1,
            (None, _) => self.threads,
        }
    }

    /// The engines in the order each step runs them: AmDb (with or without its ledger),
    /// then the peers.
    pub fn engines(&self) -> Vec<Engine> {
        let ours = if self.options.ledger {
            Engine::AmdbLedger
        } else {
            Engine::Amdb
        };
        let mut out = vec![ours];
        for &p in &self.peers {
            if !matches!(p, Engine::Amdb | Engine::AmdbLedger) && !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// One workload's result on one engine; serializes to one JSON line of
/// `amdb bench engine --json`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineResult {
    /// Always `"engine"`.
    pub suite: &'static str,
    /// The workload name, with `@T` when it ran on other than `--threads` threads.
    pub case: String,
    /// The engine: `"amdb"`, `"amdb_ledger"` (AmDb with a ledger) or a peer's name.
    pub system: &'static str,
    pub ops: u64,
    pub seconds: f64,
    pub ops_per_s: f64,
    /// AmDb's ops/s in this workload divided by this engine's (AmDb / peer: above 1 means
    /// AmDb was faster); `None` on AmDb's own rows.
    pub amdb_ratio: Option<f64>,
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
    /// Peak resident set size of the process so far (all engines of the run share it).
    pub rss_bytes: u64,
    /// Size of the engine's files after the workload and its settling.
    pub disk_bytes: u64,
    pub threads: usize,
    pub key_size: usize,
    pub value_size: usize,
    /// Entries per write batch (0 for reads).
    pub batch_entries: usize,
    /// `"buffered"` or `"sync"` for writes, `""` for reads.
    pub durability: &'static str,
    /// Keys in the database when the workload ended.
    pub db_keys: u64,
    /// Engine counters during the workload (AmDb only; zero for peers): time writers were
    /// delayed or stopped by backpressure, memtable flushes, compactions and WAL fdatasyncs.
    pub stall_micros: u64,
    /// CPU time (user + system) of the benchmark's own threads, excluding the engine's
    /// background threads. Well below `seconds * threads` means the threads waited (I/O,
    /// stalls) or did not get a CPU (a busy machine).
    pub cpu_seconds: f64,
    pub flushes: u64,
    pub compactions: u64,
    pub wal_syncs: u64,
}

/// An engine's database filled by an earlier workload: keys `0..keys` exist.
struct Filled {
    store: Box<dyn Store>,
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

/// What one timed step needs to know.
struct Ctx<'a> {
    cfg: &'a EngineConfig,
    step: Step,
    threads: usize,
    values: &'a ValueGenerator,
}

/// Runs every workload of `cfg` in order, each on every engine, calling `on_result` as
/// each result arrives.
pub fn run(
    cfg: &EngineConfig,
    mut on_result: impl FnMut(&EngineResult),
) -> Result<Vec<EngineResult>> {
    if cfg.threads == 0 || cfg.workloads.iter().any(|s| s.threads == Some(0)) {
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
    let engines = cfg.engines();
    for e in &engines {
        if !e.is_available() {
            return Err(BenchError::InvalidArgument(format!(
                "{e} is not built into this binary; rebuild with --features {}",
                e.feature().unwrap_or("")
            )));
        }
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
    let mut filled: Vec<Option<Filled>> = engines.iter().map(|_| None).collect();
    let mut results = Vec::new();
    let outcome = (|| -> Result<()> {
        for (n, &step) in cfg.workloads.iter().enumerate() {
            let w = step.workload;
            let ctx = Ctx {
                cfg,
                step,
                threads: cfg.threads_for(step),
                values: &values,
            };
            let mut amdb_ops_per_s = None;
            for (e, slot) in engines.iter().zip(filled.iter_mut()) {
                if w.is_fill() || slot.is_none() {
                    if let Some(old) = slot.take() {
                        close(old, keep)?;
                    }
                    let dir = root.join(format!("{}-{}", n + 1, w.name())).join(e.name());
                    if dir.exists() {
                        return Err(BenchError::InvalidArgument(format!(
                            "{} already exists; give --dir an empty or new directory",
                            dir.display()
                        )));
                    }
                    let store = open(cfg, *e, &dir)?;
                    let mut f = Filled {
                        store,
                        dir,
                        keys: 0,
                    };
                    if !w.is_fill() {
                        // Reads and overwrites need data: keys 0..num, untimed.
                        let prefill = Ctx {
                            cfg,
                            step: Step::new(Workload::FillBatch),
                            threads: 1,
                            values: &values,
                        };
                        fill(&prefill, &f, cfg.num)?;
                        f.keys = cfg.num;
                        f.store.settle()?;
                    }
                    *slot = Some(f);
                }
                let f = slot.as_mut().expect("a database is open");
                if w.is_read() {
                    f.store.settle()?;
                }
                let before = f.store.counters().unwrap_or_default();
                let ops = cfg.ops_for(step);
                let (res, wall) = match w {
                    Workload::FillSeq
                    | Workload::FillRandom
                    | Workload::FillBatch
                    | Workload::FillSync => fill(&ctx, f, ops)?,
                    Workload::Ingest => ingest(&ctx, f, ops)?,
                    Workload::Overwrite => overwrite(&ctx, f, ops, 0)?,
                    Workload::Mixed => overwrite(&ctx, f, ops, 50)?,
                    Workload::ReadRandom => read_random(&ctx, f, ops)?,
                    Workload::SeekRandom => seek_random(&ctx, f, ops)?,
                    Workload::ReadSeq => read_seq(&ctx, f)?,
                };
                if w.is_fill() {
                    f.keys = ops;
                }
                let after = f.store.counters().unwrap_or_default();
                // Untimed: the next engine should not run beside this one's leftover work.
                f.store.settle()?;
                let mut r = summarize(&ctx, *e, res, wall, f.keys);
                r.disk_bytes = kv::disk_bytes(&f.dir);
                r.stall_micros = after.stall_micros - before.stall_micros;
                r.flushes = after.flushes - before.flushes;
                r.compactions = after.compactions - before.compactions;
                r.wal_syncs = after.wal_syncs - before.wal_syncs;
                match amdb_ops_per_s {
                    None => amdb_ops_per_s = Some(r.ops_per_s),
                    Some(ours) => r.amdb_ratio = Some(round(ours / r.ops_per_s.max(1e-9), 3)),
                }
                on_result(&r);
                results.push(r);
            }
        }
        Ok(())
    })();
    for f in filled.into_iter().flatten() {
        let closed = close(f, keep);
        if outcome.is_ok() {
            closed?;
        }
    }
    outcome.map(|()| results)
}

fn open(cfg: &EngineConfig, e: Engine, dir: &Path) -> Result<Box<dyn Store>> {
    match e {
        Engine::Amdb | Engine::AmdbLedger => {
            std::fs::create_dir_all(dir).map_err(|err| io_err("create directory", dir, err))?;
            let opts = Options {
                write_buffer_size: cfg.budget.write_buffer,
                block_cache_bytes: cfg.budget.cache,
                ledger: e == Engine::AmdbLedger,
                ..cfg.options.clone()
            };
            Ok(Box::new(AmdbStore::create_with(dir, opts)?))
        }
        peer => peer.create(dir, cfg.budget),
    }
}

fn close(f: Filled, keep: bool) -> Result<()> {
    f.store.close()?;
    if !keep {
        remove_dir(&f.dir)?;
    }
    Ok(())
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
/// Each thread then calls [`Store::finish_writes`] inside its timed part (not recorded as
/// an operation's latency), so work the writes owe (AmDb's ledger hashing) is paid for
/// within the wall time.
fn fill(ctx: &Ctx<'_>, f: &Filled, ops: u64) -> Result<(ThreadResult, Duration)> {
    let cfg = ctx.cfg;
    let w = ctx.step.workload;
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
    let sync = w == Workload::FillSync;
    run_threads(ctx.threads, ops, |t, range, hist| {
        let mut values = ctx.values.fork(t);
        let mut batch = Batch::with_capacity(per_batch, per_batch * (KEY_LEN + cfg.value_size));
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
                batch.put(&k, values.next_value(cfg.value_size));
            }
            f.store.write(&batch, sync)?;
            let now = Instant::now();
            let ns = (now - last).as_nanos() as u64;
            last = now;
            hist.saturating_record_n((ns / n).max(1), n);
            bytes += n * (KEY_LEN + cfg.value_size) as u64;
            i += n;
        }
        f.store.finish_writes()?;
        Ok((range.end - range.start, bytes))
    })
}

/// Times loading `ops` sorted entries through the engine's bulk path, durable at the end.
fn ingest(ctx: &Ctx<'_>, f: &Filled, ops: u64) -> Result<(ThreadResult, Duration)> {
    let cfg = ctx.cfg;
    run_threads(1, ops, |_, range, hist| {
        let mut values = ctx.values.fork(0);
        let start = Instant::now();
        let mut pairs = range
            .clone()
            .map(|i| (key(i).to_vec(), values.next_value(cfg.value_size).to_vec()));
        f.store.ingest_sorted(&mut pairs)?;
        f.store.finish_writes()?;
        let n = range.end - range.start;
        let ns = start.elapsed().as_nanos() as u64;
        hist.saturating_record_n((ns / n.max(1)).max(1), n);
        Ok((n, n * (KEY_LEN + cfg.value_size) as u64))
    })
}

/// Times one-key operations on random existing keys: `read_percent` % gets (every key
/// must be found), the rest overwrites.
fn overwrite(
    ctx: &Ctx<'_>,
    f: &Filled,
    ops: u64,
    read_percent: u32,
) -> Result<(ThreadResult, Duration)> {
    let cfg = ctx.cfg;
    let case = ctx.step.workload.name();
    run_threads(ctx.threads, ops, |t, range, hist| {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (t as u64 + 1).wrapping_mul(0x9e37));
        let mut values = ctx.values.fork(t + 1000);
        let mut batch = Batch::with_capacity(1, KEY_LEN + cfg.value_size);
        let mut k = [0u8; KEY_LEN];
        let mut got = Vec::new();
        let mut bytes = 0u64;
        let mut last = Instant::now();
        for _ in range.clone() {
            let index = rng.gen_range(0..f.keys);
            format_key(index, &mut k);
            if rng.gen_range(0..100) < read_percent {
                if !f.store.get(&k, &mut got)? {
                    return Err(BenchError::Verify {
                        case: case.into(),
                        detail: format!("key {index} was written but not found"),
                    });
                }
                bytes += (KEY_LEN + got.len()) as u64;
            } else {
                batch.clear();
                batch.put(&k, values.next_value(cfg.value_size));
                f.store.write(&batch, false)?;
                bytes += (KEY_LEN + cfg.value_size) as u64;
            }
            let now = Instant::now();
            hist.saturating_record(((now - last).as_nanos() as u64).max(1));
            last = now;
        }
        Ok((range.end - range.start, bytes))
    })
}

/// Times point gets of random existing keys; every key must be found with its full value.
fn read_random(ctx: &Ctx<'_>, f: &Filled, ops: u64) -> Result<(ThreadResult, Duration)> {
    let cfg = ctx.cfg;
    run_threads(ctx.threads, ops, |t, range, hist| {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (t as u64 + 7).wrapping_mul(0x51ed));
        let mut k = [0u8; KEY_LEN];
        let mut v = Vec::with_capacity(cfg.value_size);
        let mut bytes = 0u64;
        let mut last = Instant::now();
        for _ in range.clone() {
            let index = rng.gen_range(0..f.keys);
            format_key(index, &mut k);
            if !f.store.get(&k, &mut v)? {
                return Err(BenchError::Verify {
                    case: "readrandom".into(),
                    detail: format!("key {index} was written but not found"),
                });
            }
            if v.len() != cfg.value_size {
                return Err(BenchError::Verify {
                    case: "readrandom".into(),
                    detail: format!(
                        "key {} has a {}-byte value, expected {}",
                        index,
                        v.len(),
                        cfg.value_size
                    ),
                });
            }
            bytes += (KEY_LEN + v.len()) as u64;
            let now = Instant::now();
            hist.saturating_record(((now - last).as_nanos() as u64).max(1));
            last = now;
        }
        Ok((range.end - range.start, bytes))
    })
}

/// Times seeks to random existing keys, reading the entry found; it must be that key.
fn seek_random(ctx: &Ctx<'_>, f: &Filled, ops: u64) -> Result<(ThreadResult, Duration)> {
    let cfg = ctx.cfg;
    run_threads(ctx.threads, ops, |t, range, hist| {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (t as u64 + 11).wrapping_mul(0x7f4a));
        let mut k = [0u8; KEY_LEN];
        let mut bytes = 0u64;
        let mut last = Instant::now();
        for _ in range.clone() {
            let index = rng.gen_range(0..f.keys);
            format_key(index, &mut k);
            let mut found = false;
            f.store.scan(&k, None, &mut |key, value| {
                found = key == k;
                bytes += (key.len() + value.len()) as u64;
                false
            })?;
            if !found {
                return Err(BenchError::Verify {
                    case: "seekrandom".into(),
                    detail: format!("seek to key {index} did not land on it"),
                });
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
fn read_seq(ctx: &Ctx<'_>, f: &Filled) -> Result<(ThreadResult, Duration)> {
    let threads = ctx.threads;
    let total = f.keys;
    let (res, wall) = run_threads(threads, total, |_, range, hist| {
        let from = key(range.start);
        let to = (range.end < total).then(|| key(range.end));
        let mut ops = 0u64;
        let mut bytes = 0u64;
        let mut expect = range.start;
        let mut bad: Option<String> = None;
        let mut last = Instant::now();
        f.store
            .scan(&from, to.as_ref().map(|k| &k[..]), &mut |k, v| {
                if k != key(expect) {
                    bad = Some(format!(
                        "expected key {} at position {}, found {:?}",
                        expect,
                        expect - range.start,
                        String::from_utf8_lossy(k)
                    ));
                    return false;
                }
                bytes += (k.len() + v.len()) as u64;
                ops += 1;
                expect += 1;
                let now = Instant::now();
                hist.saturating_record(((now - last).as_nanos() as u64).max(1));
                last = now;
                true
            })?;
        if let Some(detail) = bad {
            return Err(BenchError::Verify {
                case: "readseq".into(),
                detail,
            });
        }
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
    ctx: &Ctx<'_>,
    engine: Engine,
    r: ThreadResult,
    wall: Duration,
    db_keys: u64,
) -> EngineResult {
    let cfg = ctx.cfg;
    let w = ctx.step.workload;
    let secs = wall.as_secs_f64().max(1e-9);
    let us = |q: f64| round(r.hist.value_at_quantile(q) as f64 / 1000.0, 3);
    let case = if ctx.threads != cfg.threads {
        format!("{}@{}", w.name(), ctx.threads)
    } else {
        w.name().to_string()
    };
    EngineResult {
        suite: "engine",
        case,
        system: engine.name(),
        ops: r.ops,
        seconds: round(secs, 6),
        ops_per_s: round(r.ops as f64 / secs, 1),
        amdb_ratio: None,
        micros_per_op: round(secs * 1e6 * ctx.threads as f64 / r.ops.max(1) as f64, 3),
        p50_us: us(0.50),
        p95_us: us(0.95),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: round(r.hist.max() as f64 / 1000.0, 3),
        bytes: r.bytes,
        mb_per_s: round(r.bytes as f64 / secs / 1048576.0, 2),
        rss_bytes: crate::sys::peak_rss_bytes(),
        disk_bytes: 0,
        threads: ctx.threads,
        key_size: KEY_LEN,
        value_size: cfg.value_size,
        batch_entries: match w {
            Workload::FillBatch => FILLBATCH_ENTRIES,
            Workload::Ingest => r.ops as usize,
            Workload::ReadRandom | Workload::SeekRandom | Workload::ReadSeq => 0,
            _ => 1,
        },
        durability: match w {
            Workload::FillSync | Workload::Ingest => "sync",
            Workload::ReadRandom | Workload::SeekRandom | Workload::ReadSeq => "",
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

/// One `db_bench`-style line: `fillseq  amdb   :    1.234 micros/op;   810372 ops/sec; ...`,
/// with AmDb's ratio on a peer's line.
pub fn format_human(r: &EngineResult) -> String {
    let ratio = r
        .amdb_ratio
        .map_or(String::new(), |x| format!("; amdb/{} {:.2}x", r.system, x));
    format!(
        "{:<12} {:<11}: {:>9.3} micros/op; {:>9.0} ops/sec; {:>8.1} MB/s; p50 {:>8.3} us; p99 {:>8.3} us; {} ops in {:.3} s (cpu {:.3} s){ratio}",
        r.case,
        r.system,
        r.micros_per_op,
        r.ops_per_s,
        r.mb_per_s,
        r.p50_us,
        r.p99_us,
        r.ops,
        r.seconds,
        r.cpu_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use amdb_engine::Db;

    fn small(workloads: &str, num: u64, threads: usize) -> EngineConfig {
        EngineConfig {
            workloads: Workload::parse_list(workloads).unwrap(),
            num,
            num_explicit: true,
            threads,
            budget: Budget {
                write_buffer: 1 << 20,
                cache: 1 << 20,
            },
            ..EngineConfig::default()
        }
    }

    #[test]
    fn parses_workload_lists() {
        let steps =
            Workload::parse_list("fillseq, readrandom,fillsync:500,fillsync@8,mixed:90@3").unwrap();
        let names: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "fillseq",
                "readrandom",
                "fillsync:500",
                "fillsync@8",
                "mixed:90@3"
            ]
        );
        assert_eq!(steps[2].ops, Some(500));
        assert_eq!((steps[3].ops, steps[3].threads), (None, Some(8)));
        assert_eq!((steps[4].ops, steps[4].threads), (Some(90), Some(3)));
        assert!(Workload::parse_list("fillsync:0").is_err());
        assert!(Workload::parse_list("fillsync:x").is_err());
        assert!(Workload::parse_list("fillsync@0").is_err());
        let e = Workload::parse_list("fillseq,bogus")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus") && e.contains("readseq"), "{e}");
        assert!(Workload::parse_list(" , ").is_err());
        assert_eq!(Workload::parse_list(DEFAULT_WORKLOADS).unwrap().len(), 12);
    }

    #[test]
    fn split_is_even_and_complete() {
        let r = split(10, 3);
        assert_eq!(r, vec![0..4, 4..7, 7..10]);
        assert_eq!(split(2, 4).iter().map(|r| r.end - r.start).sum::<u64>(), 2);
    }

    #[test]
    fn default_counts_and_threads() {
        let mut c = EngineConfig::default();
        let steps = c.workloads.clone();
        let find = |name: &str| {
            steps
                .iter()
                .copied()
                .find(|s| s.to_string() == name)
                .unwrap()
        };
        let sync = find("fillsync");
        assert_eq!(c.ops_for(sync), 10_000);
        assert_eq!(c.ops_for(steps[0]), 1_000_000);
        assert_eq!(c.ops_for(find("ingest")), 10_000_000);
        assert_eq!(c.threads_for(find("mixed")), MIXED_THREADS);
        assert_eq!(c.threads_for(find("fillsync@64")), 64);
        assert_eq!(c.threads_for(sync), 1);
        // An explicit --num for a whole list still spares fillsync a million fsyncs...
        c.num_explicit = true;
        assert_eq!(c.ops_for(sync), 10_000);
        // ...but applies when fillsync runs alone, and a step's own count always wins.
        c.workloads = vec![sync];
        assert_eq!(c.ops_for(sync), 1_000_000);
        let own = Step {
            ops: Some(77),
            ..Step::new(Workload::FillSync)
        };
        assert_eq!(c.ops_for(own), 77);
    }

    #[test]
    fn every_workload_runs_and_verifies() {
        // fillsync runs 3000/100 synced writes, ingest 10 x 3000 entries.
        let cfg = EngineConfig {
            num_explicit: false,
            ..small(DEFAULT_WORKLOADS, 3000, 1)
        };
        let mut seen = Vec::new();
        let results = run(&cfg, |r| seen.push(r.case.clone())).unwrap();
        assert_eq!(
            seen,
            [
                "fillseq",
                "fillrandom",
                "overwrite",
                "readrandom",
                "seekrandom",
                "readseq",
                "mixed@4",
                "fillbatch",
                "fillsync",
                "fillsync@8",
                "fillsync@64",
                "ingest"
            ]
        );
        for r in &results {
            let ops = match r.case.as_str() {
                "fillsync" | "fillsync@8" | "fillsync@64" => 30,
                "ingest" => 30_000,
                _ => 3000,
            };
            assert_eq!(r.ops, ops, "{r:?}");
            assert_eq!(r.system, "amdb");
            assert_eq!(r.amdb_ratio, None);
            assert!(r.seconds > 0.0 && r.ops_per_s > 0.0, "{r:?}");
            assert!(r.p50_us <= r.p95_us && r.p95_us <= r.p99_us, "{r:?}");
            assert_eq!(r.bytes, ops * 116, "{r:?}");
            assert!(r.rss_bytes > 0 && r.disk_bytes > 0, "{r:?}");
            let line = serde_json::to_string(r).unwrap();
            assert!(line.contains("\"suite\":\"engine\""), "{line}");
            assert!(!format_human(r).is_empty());
        }
        let threads = |case: &str| results.iter().find(|r| r.case == case).unwrap().threads;
        assert_eq!(threads("fillsync@64"), 64);
        assert_eq!(threads("mixed@4"), 4);
    }

    #[test]
    fn peers_run_every_workload_with_ratios() {
        let mut cfg = small(
            "fillrandom,readrandom,seekrandom,readseq,mixed,fillbatch,fillsync:20@4,ingest:5000",
            2000,
            2,
        );
        cfg.peers = vec![Engine::Sqlite, Engine::AmdbShards4, Engine::Amdb];
        assert_eq!(
            cfg.engines(),
            [Engine::Amdb, Engine::Sqlite, Engine::AmdbShards4]
        );
        let results = run(&cfg, |_| {}).unwrap();
        assert_eq!(results.len(), 8 * 3);
        for step in results.chunks(3) {
            let ours = &step[0];
            assert_eq!(ours.system, "amdb");
            for (peer, name) in step[1..].iter().zip(["sqlite", "amdb_4shards"]) {
                assert_eq!(peer.system, name);
                assert_eq!(ours.case, peer.case);
                assert_eq!(ours.ops, peer.ops, "{peer:?}");
                assert_eq!(ours.bytes, peer.bytes, "{peer:?}");
                let want = ours.ops_per_s / peer.ops_per_s;
                let got = peer.amdb_ratio.unwrap();
                assert!((got - want).abs() <= 0.001 + want * 1e-3, "{got} vs {want}");
            }
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
            let db = Db::open(dir.path().join(sub).join("amdb_ledger"), opts).unwrap();
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
        assert!(dir.path().join("1-fillseq/amdb/CURRENT").exists());
        let e = run(&cfg, |_| {}).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}
