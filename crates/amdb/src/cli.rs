//! The command line, as clap derive structs. Every command and flag carries its help.

use std::path::PathBuf;
use std::time::Duration;

use amdb_engine::Durability;
use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Examples:
  amdb demo                             generate 64 symbols x 4 years of 15m bars, read, verify
  amdb gen bars --symbols 8 --years 1   synthetic bars into ./amdb-data
  amdb import bars AAPL_1d.csv          import a file (symbol and timeframe from its name)
  amdb symbols                          list stored series
  amdb bars SYM000 15m --from 2024-01-01 --to 2024-01-02
  amdb bars SYM000 15m --format parquet -o sym000.parquet
  amdb bars versions SYM000 15m         list versions; read one with --as-of N
  amdb resample SYM000 15m 1h --tail 3  pandas-style OHLCV resampling
  amdb events put signals --agent a1 --symbol SYM000 --field side=buy
  amdb kv put AAPL:last 189.91          raw key-value access to the engine
  amdb ledger init                      a new database whose every write is provable
  amdb ledger proof AAPL:last > p.json  prove a key's value; check it with `ledger verify-proof`
  amdb audit --from 2024-01-02          who wrote what, when, in a ledger database
  amdb tune postgres --budget 20        tune a throwaway PostgreSQL for pgbench
  amdb bench market --json              market-data benchmark against SQLite and Parquet

Exit status: 0 success, 1 key not found (kv get, kv history), 3 verification failed
(ledger verify, ledger verify-proof), 2 any other error.";

/// AmDb: a data engine for algorithmic-trading systems.
///
/// An embedded store in a directory (`--data`, default ./amdb-data): no server to start. It
/// holds OHLCV series in compressed columnar chunks with versions, event tables for agents'
/// signals and orders, and raw keys; with a ledger, every write is provable. Only one
/// process may write a directory at a time; reading commands (`bars`, `symbols`, `export`,
/// `events list`, `kv get/scan/stats/history`, `ledger root/proof/consistency/verify`,
/// `audit`) open it read-only and work while another process writes.
#[derive(Debug, Parser)]
#[command(name = "amdb", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database directory; created on the first write.
    #[arg(
        long,
        global = true,
        env = "AMDB_DATA",
        hide_env_values = true,
        default_value = "./amdb-data",
        value_name = "DIR"
    )]
    pub data: PathBuf,

    /// When writes are acknowledged: `sync` (fdatasync before returning; survives power
    /// loss), `periodic` or `periodic:MS` (fdatasync in the background every MS
    /// milliseconds, default 100; power loss may lose the last interval) or `buffered`
    /// (handed to the OS; survives a crash of amdb, not of the machine). Does not apply to
    /// `bench`, whose workloads set their own.
    #[arg(
        long,
        global = true,
        default_value = "sync",
        value_name = "MODE",
        value_parser = parse_durability
    )]
    pub durability: Durability,
}

/// Parses `sync`, `buffered`, `periodic` or `periodic:MS`.
pub fn parse_durability(s: &str) -> Result<Durability, String> {
    match s {
        "sync" => Ok(Durability::Sync),
        "buffered" => Ok(Durability::Buffered),
        "periodic" => Ok(Durability::Periodic(Duration::from_millis(100))),
        _ => match s.strip_prefix("periodic:") {
            Some(ms) => match ms.trim_end_matches("ms").parse::<u64>() {
                Ok(ms) if ms > 0 => Ok(Durability::Periodic(Duration::from_millis(ms))),
                _ => Err(format!(
                    "{ms:?} is not a positive number of milliseconds (e.g. periodic:250)"
                )),
            },
            None => Err("expected sync, periodic, periodic:MS or buffered".to_string()),
        },
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// AmDb's main job, end to end: generate years of bars for many symbols into the store,
    /// read them back (one, all, an older version), resample, upsert a durable batch, let
    /// concurrent agents write signals, round-trip CSV; verify everything and print speeds.
    Demo(crate::demo::DemoArgs),

    /// Generate deterministic synthetic data into the store.
    Gen(crate::gen::GenArgs),

    /// Import bars from CSV, Parquet, Arrow IPC, JSON lines or SQLite files.
    Import(crate::import::ImportArgs),

    /// Print a series (any time range, any version) or list its gaps and versions.
    Bars(crate::bars::BarsArgs),

    /// Export series to CSV, Parquet, Arrow IPC or JSON lines files.
    Export(crate::export::ExportArgs),

    /// Resample a series to a coarser timeframe (pandas semantics, no look-ahead).
    Resample(crate::resample_cmd::ResampleArgs),

    /// List the stored series.
    Symbols(crate::symbols::SymbolsArgs),

    /// Append and list events: signals, signal_log, orders, fills, positions.
    Events(crate::events::EventsArgs),

    /// Compute indicators (TA-Lib's numbers) over a stored series or a file.
    Ta(Box<crate::ta_cmd::TaArgs>),

    /// Backtest a strategy or a parameter grid over stored series or a file; write a report
    /// (text, JSON, PNG charts, HTML).
    Backtest(Box<crate::backtest_cmd::BacktestArgs>),

    /// Read and write keys and values in a keyspace.
    Kv(KvArgs),

    /// The tamper-evident ledger: create a ledger database, print its root, prove entries
    /// and consistency, verify proofs offline and the whole database.
    Ledger(crate::ledger_cmd::LedgerArgs),

    /// List the audit trail of a ledger database: who wrote what, when, and why.
    Audit(crate::ledger_cmd::AuditArgs),

    /// Tune PostgreSQL's configuration for a workload with DDPG, Bayesian optimisation or
    /// random search, compare it with the default and PGTune's, and show stored runs.
    Tune(crate::tune_cmd::TuneArgs),

    /// Benchmark suites; each prints a human table or, with --json, one JSON object a line.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct KvArgs {
    /// Keyspace to use. Writes create it if missing; reading a missing keyspace is an error.
    /// Default: `default` (for `kv stats`: all keyspaces).
    #[arg(long, short = 'k', global = true, value_name = "NAME")]
    pub keyspace: Option<String>,

    #[command(subcommand)]
    pub command: KvCommand,
}

#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Store VALUE under KEY (both UTF-8 text).
    ///
    /// In a database with a ledger (`amdb ledger init`) the put is one transaction with an
    /// audit record: --who, --what and --correlation-id, or their defaults.
    Put {
        /// The key, as UTF-8 text.
        key: String,
        /// The value, as UTF-8 text.
        value: String,
        #[command(flatten)]
        audit: AuditOpts,
    },

    /// Print the value of KEY followed by a newline, byte for byte (no escaping).
    ///
    /// Exits with status 1 and a message on stderr if the key does not exist.
    Get {
        /// The key, as UTF-8 text.
        key: String,
    },

    /// Delete KEY. Deleting a key that does not exist is not an error.
    ///
    /// In a database with a ledger the delete is one transaction with an audit record.
    Del {
        /// The key, as UTF-8 text.
        key: String,
        #[command(flatten)]
        audit: AuditOpts,
    },

    /// List the versions of KEY the keyspace still holds, newest first.
    ///
    /// One version a line: `TX<TAB>TIME<TAB>SEQUENCE<TAB>VALUE`. TX and TIME are the
    /// transaction that wrote the version and its commit time (RFC 3339, UTC) in a database
    /// with a ledger, `-` otherwise; SEQUENCE is the engine's sequence number; VALUE is
    /// escaped as `kv scan` prints it, or `<deleted>` for a delete. Exits with status 1 if
    /// the keyspace holds no version of KEY.
    ///
    /// Only a versioned keyspace keeps every version; elsewhere compaction drops superseded
    /// versions, and the list shows those that happen to remain.
    History {
        /// The key, as UTF-8 text.
        key: String,
        /// One JSON object a line: tx, time_ns, time (null without a ledger), sequence, op
        /// (put or delete), value (hex) and value_utf8 (when the value is valid UTF-8).
        #[arg(long)]
        json: bool,
    },

    /// Print entries in key order, one `key<TAB>value` a line.
    ///
    /// Keys and values are printed escaped so every entry stays on one line whatever bytes it
    /// holds: valid UTF-8 text as is, backslash as `\\`, tab, newline and carriage return as
    /// `\t`, `\n`, `\r`, and other control characters and bytes that are not valid UTF-8 as
    /// `\xNN`. `kv load --escaped` reads this format back.
    ///
    /// Bounds combine: with --prefix and --from/--to, only keys inside all of them are listed.
    Scan {
        /// Only keys starting with P.
        #[arg(long, value_name = "P")]
        prefix: Option<String>,
        /// Only keys >= K (inclusive).
        #[arg(long, value_name = "K")]
        from: Option<String>,
        /// Only keys < K (exclusive).
        #[arg(long, value_name = "K")]
        to: Option<String>,
        /// Print at most N entries.
        #[arg(long, short = 'n', value_name = "N")]
        limit: Option<u64>,
        /// Descending key order (with --limit: the last N keys).
        #[arg(long, short = 'r')]
        reverse: bool,
    },

    /// Load `key<TAB>value` lines from FILE (or `-` for standard input).
    ///
    /// Each line is split at its first TAB (the value may contain more TABs); a trailing
    /// `\r\n` or `\n` ends the line and is not stored. Lines are written in atomic batches of
    /// about 4 MiB. Every line of a batch is checked before the batch is written, so a line
    /// without a TAB stops the load with an error naming FILE:LINE and nothing of its batch
    /// is stored (earlier batches are, and the message says how many entries). A progress bar
    /// is shown on stderr when it is a terminal. Prints entries, seconds and entries/s.
    Load {
        /// File of `key<TAB>value` lines, or `-` for standard input.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
        /// Interpret the escapes that `kv scan` prints (`\\`, `\t`, `\n`, `\r`, `\xNN`), so
        /// `kv scan > dump.tsv` then `kv load --escaped dump.tsv` copies binary data exactly.
        #[arg(long)]
        escaped: bool,
        #[command(flatten)]
        audit: AuditOpts,
    },

    /// Show engine statistics: counters, per-keyspace memtables and levels, block cache.
    ///
    /// The database is opened read-only, so this works while another process writes. The
    /// engine keeps counters in memory only, so they describe this process's work (opening
    /// and recovery); levels, files and bytes describe the directory.
    Stats {
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },

    /// The engine on its own: load synthetic entries into keyspace `demo`, read them back,
    /// verify and report speeds.
    ///
    /// Writes N entries (16-byte keys 0000000000000000.., 100-byte values derived from the
    /// key) with large write batches into keyspace `demo` of the --data directory, then reads
    /// a random sample back with point gets and scans the whole loaded key range, checking
    /// every value. Prints entries/s for the load, gets/s and scanned entries/s, and a summary
    /// of the engine's counters and levels. Safe to rerun on the same directory: the same
    /// keys get the same values again.
    Demo(DemoArgs),
}

/// The audit record of a kv write. A database with a ledger records one for every write,
/// in the same transaction; elsewhere these options are an error.
#[derive(Debug, Clone, Default, Args)]
pub struct AuditOpts {
    /// Who makes the write (default: $USER, or `unknown`). Needs a database with a ledger
    /// (`amdb ledger init`).
    #[arg(long, value_name = "NAME")]
    pub who: Option<String>,
    /// What the write is for (default: the command, e.g. `kv put KEY`, `kv load FILE`).
    #[arg(long, value_name = "TEXT")]
    pub what: Option<String>,
    /// Ties the write to a request, an order or log lines (default: empty).
    #[arg(long, value_name = "ID")]
    pub correlation_id: Option<String>,
}

impl AuditOpts {
    pub fn any_given(&self) -> bool {
        self.who.is_some() || self.what.is_some() || self.correlation_id.is_some()
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of entries to load.
    #[arg(long, short = 'n', default_value_t = 1_000_000, value_name = "N")]
    pub entries: u64,

    /// Entries per write batch (each batch is one atomic, synced write).
    #[arg(long, default_value_t = 25_000, value_name = "N")]
    pub batch: u64,

    /// Number of random point gets to verify (at most N).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub gets: u64,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub suite: BenchSuite,
}

#[derive(Debug, Subcommand)]
pub enum BenchSuite {
    /// db_bench-style storage engine workloads.
    ///
    /// Runs the workloads in order on one database, like LevelDB's `db_bench --benchmarks`.
    /// Keys are the operation index as 16 zero-padded digits; values are 100 bytes by default
    /// and half compressible (db_bench's generator with compression ratio 0.5).
    ///
    ///   fillseq     fresh database; keys in order, one per batch, buffered (no fsync)
    ///   fillrandom  fresh database; every key once in random order, one per batch, buffered
    ///   fillbatch   fresh database; keys in order, 1,000 per batch, buffered
    ///   fillsync    fresh database; keys in order, one per batch, fdatasync per write;
    ///               runs NUM/100 operations unless given its own count (see --workload)
    ///   overwrite   last filled database; random existing keys, one per batch, buffered
    ///   readrandom  last filled database; point gets of random existing keys (all must be found)
    ///   readseq     last filled database; one full forward scan (every key checked)
    ///
    /// Reads and overwrite with no filled database yet fill NUM keys first, untimed.
    /// Latencies come from a nanosecond HdrHistogram and are reported in microseconds; an
    /// operation's latency is the time since the same thread's previous operation ended.
    #[command(verbatim_doc_comment)]
    Engine(EngineArgs),

    /// Market-data workloads against SQLite (tuned and plain) and Parquet, in one run.
    ///
    /// Dataset: SYMBOLS x YEARS of 15m bars from `amdb gen` (default 64 x 4 = 140,256 bars
    /// each). Cases (each checked against the generated data):
    ///
    ///   load_all         store the whole dataset
    ///   disk_bytes       bytes on disk after the load (amdb: after flush and compaction)
    ///   read_one         one symbol's whole range into columns (median of --reps)
    ///   read_all         every symbol into columns (median of up to 3)
    ///   insert_10k       a durable batch of 10,000 new bars (median of --reps)
    ///   agents_p95       16 agents writing signals durably at 5,000/s in total; latency from
    ///                    the scheduled send time, errors counted ("database is locked")
    ///   import_csv       the dataset exported to CSV, parsed and stored
    ///   serialize_1mb    1 MB of signal records to MessagePack (json for contrast)
    ///   deserialize_1mb  and back
    ///   rss_1m           peak resident memory of a fresh process reading 1,000,000 bars
    ///
    /// sqlite_tuned is the predecessor's setup: WAL, synchronous=NORMAL (commits are not
    /// fsynced), mmap 256 MB, cache 25% of RAM within 64-512 MB, one writer thread fed by a
    /// queue. sqlite_plain is SQLite's defaults (rollback journal, synchronous=FULL, a
    /// connection per thread, no busy timeout). parquet is one zstd file per symbol.
    #[command(verbatim_doc_comment)]
    Market(MarketBenchArgs),
    /// Indicators and backtests against TA-Lib, Polars and vectorbt.
    ///
    /// Dataset: SYMBOLS x YEARS of 15m bars and one 1,000,000-row series of 1m bars from
    /// `amdb gen`. Cases:
    ///
    ///   rsi_1000      RSI(14) over 1,000 closes, per call
    ///   frame_1m      EMA7, EMA25, RSI14, volume ratio(20), volatility(20) over 1,000,000
    ///                 rows on one thread
    ///   backtest_one  EMA-cross 7/25 over one symbol (140,256 bars), 0.1% fees, filled
    ///                 at the signal bar's close with all cash, as vectorbt does
    ///   grid_64x100   the same over fast=5..14 x slow=20..29 on every symbol, all cores
    ///
    /// The peers run in the same invocation from bench/peers/ta_peers.py with the Python of
    /// bench/peers/.venv (create it once with bench/peers/setup.sh); their lines carry
    /// amdb_speedup (peer seconds / amdb seconds) and agrees_with_amdb where results are
    /// comparable.
    #[command(verbatim_doc_comment)]
    Ta(TaBenchArgs),
}

#[derive(Debug, Args)]
pub struct TaBenchArgs {
    /// Symbols in the grid case.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub symbols: usize,
    /// Years of 15m bars per symbol.
    #[arg(long, default_value_t = 4.0, value_name = "Y")]
    pub years: f64,
    /// Rows of the frame_1m case.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub frame_rows: usize,
    /// Comma-separated cases to run (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub cases: Vec<String>,
    /// Repetitions of the timed cases (the grid runs at most 3).
    #[arg(long, default_value_t = 21, value_name = "N")]
    pub reps: usize,
    /// Run the Python peers: auto (if bench/peers/.venv exists), require, off.
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub peers: String,
    /// Python for the peers (default bench/peers/.venv/bin/python).
    #[arg(long, value_name = "PATH")]
    pub peers_python: Option<PathBuf>,
    /// The peers' script (default bench/peers/ta_peers.py).
    #[arg(long, value_name = "PATH")]
    pub peers_script: Option<PathBuf>,
    /// Symbols vectorbt runs the grid on; its time is scaled to all symbols.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub peer_grid_symbols: usize,
    /// One JSON object per (case, system), one a line.
    #[arg(long)]
    pub json: bool,
    /// Parent directory of the peers' temporary Parquet files (default $TMPDIR).
    #[arg(long, value_name = "D")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MarketBenchArgs {
    /// Symbols in the dataset.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub symbols: usize,
    /// Years of 15m bars per symbol.
    #[arg(long, default_value_t = 4.0, value_name = "Y")]
    pub years: f64,
    /// Comma-separated cases to run (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub cases: Vec<String>,
    /// Comma-separated systems: amdb, sqlite_tuned, sqlite_plain, parquet, json (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub systems: Vec<String>,
    /// Repetitions of read_one and insert_10k.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub reps: usize,
    /// Seconds the agents write in agents_p95.
    #[arg(long, default_value_t = 5.0, value_name = "S")]
    pub agent_seconds: f64,
    /// Concurrent agents in agents_p95.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub agents: usize,
    /// Signals per second of all agents together in agents_p95.
    #[arg(long, default_value_t = 5_000.0, value_name = "R")]
    pub agent_rate: f64,
    /// One JSON object per (case, system), one a line.
    #[arg(long)]
    pub json: bool,
    /// Parent directory of the benchmark's temporary directory (default $TMPDIR).
    #[arg(long, value_name = "D")]
    pub dir: Option<PathBuf>,
    /// Rows per chunk of the amdb store (to compare chunk sizes).
    #[arg(long, default_value_t = amdb_market::store::DEFAULT_CHUNK_ROWS, value_name = "N")]
    pub chunk_rows: usize,
    /// Internal: run as the rss_1m child process for SYSTEM on --dir.
    #[arg(long, hide = true, value_name = "SYSTEM")]
    pub rss_child: Option<String>,
}

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Comma-separated workloads, run in order (fillseq, fillrandom, fillbatch, fillsync,
    /// overwrite, readrandom, seekrandom, readseq, mixed, ingest). `NAME:N` gives one
    /// workload its own operation count and `NAME@T` its own threads, e.g.
    /// `fillseq,fillsync:20000@64`. mixed (half gets, half overwrites) runs on 4 threads
    /// and ingest loads 10 x NUM sorted entries unless told otherwise.
    #[arg(
        long,
        visible_alias = "benchmarks",
        value_name = "LIST",
        default_value = amdb_bench::engine::DEFAULT_WORKLOADS
    )]
    pub workload: String,

    /// Total operations per workload, split evenly over --threads (not per thread, unlike
    /// db_bench). Default 1000000. fillsync runs NUM/100 (db_bench uses NUM/1000; /100 gives a
    /// meaningful sample) unless its count is given explicitly: `fillsync:N` in --workload,
    /// or --num when fillsync is the only workload.
    #[arg(long, value_name = "N")]
    pub num: Option<u64>,

    /// Threads issuing operations concurrently (writes share group commit).
    #[arg(long, default_value_t = 1, value_name = "T")]
    pub threads: usize,

    /// Value size in bytes.
    #[arg(long, default_value_t = 100, value_name = "B")]
    pub value_size: usize,

    /// Print one JSON object per workload, one a line, instead of the table. Fields: suite,
    /// case, system, ops, seconds, ops_per_s, micros_per_op, p50_us, p95_us, p99_us,
    /// p999_us, max_us, bytes, mb_per_s, rss_bytes (peak), threads, key_size, value_size,
    /// batch_entries, durability, db_keys, and engine counters during the workload:
    /// stall_micros, flushes, compactions, wal_syncs; cpu_seconds (CPU time of the
    /// benchmark threads, to tell a busy machine from a slow engine).
    #[arg(long)]
    pub json: bool,

    /// Directory for the databases (one sub-directory per fill, kept afterwards). Default: a
    /// fresh directory under the system temp dir ($TMPDIR), removed afterwards.
    #[arg(long, value_name = "D")]
    pub dir: Option<PathBuf>,

    /// Seed for random key orders.
    #[arg(long, default_value_t = 301, value_name = "S")]
    pub seed: u64,

    /// Create the databases with a ledger (every batch a hash-chained transaction), to
    /// measure its cost; results then name the system `amdb_ledger`. Timed fills include
    /// the ledger catching up with the last write.
    #[arg(long)]
    pub ledger: bool,

    /// Peer engines to run every workload on after AmDb, in this order, with the same keys,
    /// values, batches, durability and memory budget: sqlite and AmDb split over shards
    /// (amdb_2shards, amdb_4shards: one WAL per shard, batches atomic per shard) are always
    /// built; rocksdb, leveldb, fjall, redb, sled and lmdb when amdb is built with their
    /// cargo features (`--features peers` for all; see BENCHMARKS.md). Each peer's line
    /// shows AmDb's ops/s divided by the peer's.
    #[arg(long, value_name = "LIST")]
    pub vs: Option<String>,

    /// Memtable (write buffer) budget of every engine, e.g. 64MiB.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub write_buffer: u64,

    /// Block/page cache budget of every engine, e.g. 256MiB.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub cache: u64,
}

/// `16GiB`, `512MiB`, `16G`, or bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 16GiB"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" | "kB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        "T" | "TB" | "TiB" => 1 << 40,
        other => {
            return Err(format!(
                "{s:?}: unknown unit {other:?} (use KiB, MiB, GiB or TiB)"
            ))
        }
    };
    Ok(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("16G"), Ok(16 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_durability() {
        assert_eq!(parse_durability("sync"), Ok(Durability::Sync));
        assert_eq!(parse_durability("buffered"), Ok(Durability::Buffered));
        assert_eq!(
            parse_durability("periodic:250"),
            Ok(Durability::Periodic(Duration::from_millis(250)))
        );
        assert!(parse_durability("periodic:0").is_err());
        assert!(parse_durability("fast").is_err());
    }
}
