//! Systems `sqlite_tuned` and `sqlite_plain`: the same schema in SQLite (rusqlite, bundled)
//! as the team ran it before AmDb, and as a naive user would.
//!
//! - `sqlite_tuned` is the predecessor's configuration: `journal_mode=WAL`,
//!   `synchronous=NORMAL` (in WAL mode a commit is not fsynced: it survives a process crash,
//!   not power loss; checkpoints sync), `mmap_size` 256 MB, `cache_size` 25% of RAM clamped to
//!   64–512 MB, and a single writer queue: every write is a job sent over a channel to one
//!   writer thread that owns the only writing connection and runs the jobs one after another,
//!   each in its own transaction; the caller waits for the acknowledgement. So writers never
//!   see "database is locked".
//! - `sqlite_plain` has SQLite's defaults: rollback journal, `synchronous=FULL`, and every
//!   writing thread opens its own connection with `busy_timeout` 0, so a writer that finds the
//!   database locked gets `SQLITE_BUSY` at once. The benchmark counts those errors; it does not
//!   retry them.
//!
//! Readers (both) take a connection from a small pool (one per reading thread).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use amdb_market::events::{encode_payload, Signal};
use amdb_market::Bars;
use rusqlite::{params, Connection, OpenFlags};

use super::{dir_bytes, BarStore, SignalWriter};
use crate::{BenchError, Result};

/// The database file inside a system's directory.
pub const DB_FILE: &str = "bars.db";

/// `WITHOUT ROWID` with the primary key `(symbol, ts)` makes the table itself a B-tree
/// clustered by symbol and time: a symbol's range is one contiguous scan in time order, and
/// there is no second index to maintain on insert (a rowid table would need an index on
/// `(symbol, ts)` beside it, written twice and read with a lookup per row). It is the best
/// layout SQLite offers for "one series, whole range" and the one a careful user picks.
/// Inserts use `INSERT OR REPLACE`, the same upsert (last write wins) as amdb's.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bars(
    symbol TEXT NOT NULL,
    ts INTEGER NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY(symbol, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signals(ts INTEGER, agent TEXT, symbol TEXT, payload BLOB);
";

const INSERT_BAR: &str = "INSERT OR REPLACE INTO bars VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const INSERT_SIGNAL: &str = "INSERT INTO signals VALUES (?1, ?2, ?3, ?4)";
const SELECT_SERIES: &str =
    "SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = ?1 ORDER BY ts";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Tuned,
    Plain,
}

impl Flavor {
    pub fn system(self) -> &'static str {
        match self {
            Flavor::Tuned => "sqlite_tuned",
            Flavor::Plain => "sqlite_plain",
        }
    }
}

/// `cache_size` of the tuned configuration: 25% of RAM, at least 64 MB, at most 512 MB.
pub fn tuned_cache_bytes() -> u64 {
    let ram = amdb_engine::physical_memory_bytes().unwrap_or(4 << 30);
    (ram / 4).clamp(64 << 20, 512 << 20)
}

/// Opens a connection of `flavor` to `path` with its settings applied.
fn connect(path: &Path, flavor: Flavor, create: bool) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    match flavor {
        Flavor::Tuned => {
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(rusqlite::Error::InvalidParameterName(format!(
                    "journal_mode=WAL was refused (got {mode})"
                )));
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "mmap_size", 256i64 << 20)?;
            // Negative: the size in KiB rather than in pages.
            conn.pragma_update(None, "cache_size", -((tuned_cache_bytes() / 1024) as i64))?;
        }
        Flavor::Plain => {
            // rusqlite sets a 5 s busy timeout on open; SQLite itself (and a naive user)
            // has none.
            conn.busy_timeout(Duration::ZERO)?;
        }
    }
    Ok(conn)
}

fn insert_bars(conn: &mut Connection, symbol: &str, bars: &Bars) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare_cached(INSERT_BAR)?;
        for i in 0..bars.len() {
            st.execute(params![
                symbol,
                bars.ts[i],
                bars.open[i],
                bars.high[i],
                bars.low[i],
                bars.close[i],
                bars.volume[i]
            ])?;
        }
    }
    tx.commit()
}

fn insert_signal(
    conn: &Connection,
    ts: i64,
    agent: &str,
    symbol: &str,
    payload: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_SIGNAL)?
        .execute(params![ts, agent, symbol, payload])?;
    Ok(())
}

type Job = Box<dyn FnOnce(&mut Connection) -> rusqlite::Result<()> + Send>;

/// One writer thread fed by a channel; callers block until their job has run.
struct WriteQueue {
    tx: Option<mpsc::Sender<(Job, mpsc::SyncSender<rusqlite::Result<()>>)>>,
    thread: Option<JoinHandle<()>>,
}

impl WriteQueue {
    fn start(mut conn: Connection) -> Result<WriteQueue> {
        let (tx, rx) = mpsc::channel::<(Job, mpsc::SyncSender<rusqlite::Result<()>>)>();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for (job, ack) in rx {
                    let _ = ack.send(job(&mut conn));
                }
            })
            .map_err(|e| BenchError::Io {
                op: "spawn the writer thread for",
                path: PathBuf::from(DB_FILE),
                source: e,
            })?;
        Ok(WriteQueue {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    fn exec(&self, job: Job) -> Result<()> {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let gone = || BenchError::InvalidArgument("the sqlite writer thread has stopped".into());
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send((job, ack_tx))
            .map_err(|_| gone())?;
        Ok(ack_rx.recv().map_err(|_| gone())??)
    }

    fn stop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WriteQueue {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Writer {
    Queue(WriteQueue),
    Direct(Mutex<Connection>),
    ReadOnly,
}

pub struct SqliteStore {
    flavor: Flavor,
    dir: PathBuf,
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    threads: usize,
}

impl SqliteStore {
    /// The database `dir/bars.db`, created with the schema if missing.
    pub fn open(dir: &Path, flavor: Flavor, threads: usize) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| super::io_err("create directory", dir, e))?;
        let path = dir.join(DB_FILE);
        let conn = connect(&path, flavor, true)?;
        conn.execute_batch(SCHEMA)?;
        let writer = match flavor {
            Flavor::Tuned => Writer::Queue(WriteQueue::start(conn)?),
            Flavor::Plain => Writer::Direct(Mutex::new(conn)),
        };
        Ok(SqliteStore {
            flavor,
            dir: dir.to_path_buf(),
            path,
            writer,
            readers: Mutex::new(Vec::new()),
            threads,
        })
    }

    /// An existing database, for reading only.
    pub fn open_for_reading(dir: &Path, flavor: Flavor) -> Result<SqliteStore> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(BenchError::InvalidArgument(format!(
                "no SQLite database at {}",
                path.display()
            )));
        }
        Ok(SqliteStore {
            flavor,
            dir: dir.to_path_buf(),
            path,
            writer: Writer::ReadOnly,
            readers: Mutex::new(Vec::new()),
            threads: 1,
        })
    }

    fn write(
        &self,
        job: impl FnOnce(&mut Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<()> {
        match &self.writer {
            Writer::Queue(q) => q.exec(Box::new(job)),
            Writer::Direct(c) => {
                let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
                Ok(job(&mut c)?)
            }
            Writer::ReadOnly => Err(BenchError::InvalidArgument(format!(
                "{} is open for reading only",
                self.path.display()
            ))),
        }
    }
}

impl BarStore for SqliteStore {
    fn system(&self) -> &'static str {
        self.flavor.system()
    }

    /// Tuned: every core parses and queues, the one writer thread inserts. Plain: one thread,
    /// since a second connection writing at the same time would only get `SQLITE_BUSY`.
    fn load_threads(&self) -> usize {
        match self.flavor {
            Flavor::Tuned => self.threads,
            Flavor::Plain => 1,
        }
    }

    fn store_series(&self, symbol: &str, bars: Bars) -> Result<()> {
        let symbol = symbol.to_string();
        self.write(move |c| insert_bars(c, &symbol, &bars))
    }

    fn read(&self, symbol: &str) -> Result<Bars> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.path, self.flavor, false)?,
        };
        let mut bars = Bars::new();
        {
            let mut st = conn.prepare_cached(SELECT_SERIES)?;
            let mut rows = st.query([symbol])?;
            while let Some(r) = rows.next()? {
                bars.ts.push(r.get(0)?);
                bars.open.push(r.get(1)?);
                bars.high.push(r.get(2)?);
                bars.low.push(r.get(3)?);
                bars.close.push(r.get(4)?);
                bars.volume.push(r.get(5)?);
            }
        }
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        Ok(bars)
    }

    fn append(&self, symbol: &str, bars: Bars) -> Result<()> {
        self.store_series(symbol, bars)
    }

    fn disk_bytes(&self) -> Result<u64> {
        if self.flavor == Flavor::Tuned {
            // Move the WAL into the database file and truncate it.
            self.write(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))?;
        }
        // The database and its WAL or journal; `-shm` is an index of the WAL kept in shared
        // memory, not data.
        dir_bytes(&self.dir, &|name| !name.ends_with("-shm"))
    }

    fn signal_writer(&self) -> Result<Box<dyn SignalWriter + '_>> {
        Ok(match &self.writer {
            Writer::Queue(q) => Box::new(QueuedSignals { queue: q }),
            // Each agent thread its own connection, as a naive multi-threaded program has.
            _ => Box::new(OwnConnectionSignals {
                conn: connect(&self.path, self.flavor, false)?,
            }),
        })
    }

    fn signal_count(&self) -> Result<u64> {
        let conn = connect(&self.path, self.flavor, false)?;
        let n: i64 = conn.query_row("SELECT count(*) FROM signals", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn close(self: Box<Self>) -> Result<()> {
        let SqliteStore {
            writer, readers, ..
        } = *self;
        drop(readers);
        match writer {
            Writer::Queue(mut q) => q.stop(),
            Writer::Direct(c) => {
                let c = c.into_inner().unwrap_or_else(|p| p.into_inner());
                c.close().map_err(|(_, e)| e)?;
            }
            Writer::ReadOnly => {}
        }
        Ok(())
    }
}

struct QueuedSignals<'a> {
    queue: &'a WriteQueue,
}

impl SignalWriter for QueuedSignals<'_> {
    fn put(&mut self, ts: i64, agent: &str, symbol: &str, signal: &Signal) -> Result<()> {
        let payload = encode_payload(signal)?;
        let (agent, symbol) = (agent.to_string(), symbol.to_string());
        self.queue.exec(Box::new(move |c| {
            insert_signal(c, ts, &agent, &symbol, &payload)
        }))
    }
}

struct OwnConnectionSignals {
    conn: Connection,
}

impl SignalWriter for OwnConnectionSignals {
    fn put(&mut self, ts: i64, agent: &str, symbol: &str, signal: &Signal) -> Result<()> {
        let payload = encode_payload(signal)?;
        Ok(insert_signal(&self.conn, ts, agent, symbol, &payload)?)
    }
}
