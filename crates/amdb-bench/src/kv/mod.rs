//! The key-value stores the engine suite measures: AmDb and its peers, behind one small
//! trait so every workload runs the same code against each.
//!
//! Peers are compiled only with their cargo feature (`rocksdb`, `leveldb`, `fjall`, `redb`,
//! `sled`, `lmdb`; `peers` turns on all of them), so the default build and CI do not pay
//! for them. SQLite is always there: the workspace links it anyway.
//!
//! What "the same" means for every store (docs/bench-engine.md says it for users):
//!
//! - keys and values are the same bytes, written in the same batches;
//! - `sync = false`: the write is in the store's log (or its OS buffers) when `write`
//!   returns, and survives a crash of the process but not of the machine; `sync = true`:
//!   it is on disk (fdatasync or the store's equivalent) before `write` returns;
//! - each store gets the same memory budget: `Budget::write_buffer` for its memtable (or
//!   its nearest knob) and `Budget::cache` for its block/page cache;
//! - compression where the store has it: LZ4 for AmDb and RocksDB, Snappy for LevelDB
//!   (its only codec), LZ4 for fjall; redb, sled, LMDB and SQLite do not compress.

use std::path::Path;

use crate::Result;

mod amdb;
mod shards;
mod sqlite;

#[cfg(feature = "fjall")]
mod fjall;
#[cfg(feature = "leveldb")]
mod leveldb;
#[cfg(feature = "lmdb")]
mod lmdb;
#[cfg(feature = "redb")]
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
#[cfg(feature = "sled")]
mod sled;

pub use amdb::AmdbStore;

/// Memory each store may use, so no store wins by using more.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bytes of unflushed writes (memtable, write buffer).
    pub write_buffer: usize,
    /// Bytes of cached blocks or pages.
    pub cache: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            write_buffer: 64 << 20,
            cache: 256 << 20,
        }
    }
}

/// A batch of puts, laid out flat so filling it allocates nothing after the first use.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    bytes: Vec<u8>,
    /// `(key end, value end)` offsets into `bytes`; a pair starts where the previous ended.
    ends: Vec<(usize, usize)>,
}

impl Batch {
    pub fn with_capacity(entries: usize, bytes: usize) -> Batch {
        Batch {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(entries),
        }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(key);
        let k = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((k, self.bytes.len()));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The pairs in the order they were put.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(k, v)| {
            let pair = (&self.bytes[start..k], &self.bytes[k..v]);
            start = v;
            pair
        })
    }
}

/// Engine counters a store may report for a workload (AmDb's; peers report none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub stall_micros: u64,
    pub flushes: u64,
    pub compactions: u64,
    pub wal_syncs: u64,
}

/// One open store. Every method may be called from several threads at once.
pub trait Store: Send + Sync {
    /// Writes the batch atomically; durable before returning when `sync`.
    fn write(&self, batch: &Batch, sync: bool) -> Result<()>;

    /// Copies the value of `key` into `out` (cleared first); false when absent.
    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool>;

    /// Visits the pairs with `from <= key < to` (no upper end when `to` is `None`) in key
    /// order until `visit` returns false.
    fn scan(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()>;

    /// Loads pairs in ascending key order into an empty store by its fastest path (AmDb
    /// and RocksDB write tables directly; the others take large batches). Durable when it
    /// returns.
    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()>;

    /// Ends a timed write phase: work the writes owe that runs after them (AmDb's ledger
    /// hashing) is done when this returns. Timed as part of the write workload.
    fn finish_writes(&self) -> Result<()> {
        Ok(())
    }

    /// Waits until background work (flushes, compactions) is done, so a following read
    /// workload does not compete with it. Not timed.
    fn settle(&self) -> Result<()>;

    /// The store's counters so far, if it has any.
    fn counters(&self) -> Option<Counters> {
        None
    }

    /// Closes the store, flushing whatever it keeps in memory.
    fn close(self: Box<Self>) -> Result<()>;
}

/// A store the suite can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    Amdb,
    /// AmDb with a ledger (every batch a hash-chained transaction).
    AmdbLedger,
    /// AmDb's key space split over 2 or 4 shards ([`amdb_engine::Shards`]).
    AmdbShards2,
    AmdbShards4,
    Sqlite,
    RocksDb,
    LevelDb,
    Fjall,
    Redb,
    Sled,
    Lmdb,
}

impl Engine {
    pub const ALL: [Engine; 11] = [
        Engine::Amdb,
        Engine::AmdbLedger,
        Engine::AmdbShards2,
        Engine::AmdbShards4,
        Engine::Sqlite,
        Engine::RocksDb,
        Engine::LevelDb,
        Engine::Fjall,
        Engine::Redb,
        Engine::Sled,
        Engine::Lmdb,
    ];

    /// The name results carry in their `system` field and `--vs` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Amdb => "amdb",
            Engine::AmdbLedger => "amdb_ledger",
            Engine::AmdbShards2 => "amdb_2shards",
            Engine::AmdbShards4 => "amdb_4shards",
            Engine::Sqlite => "sqlite",
            Engine::RocksDb => "rocksdb",
            Engine::LevelDb => "leveldb",
            Engine::Fjall => "fjall",
            Engine::Redb => "redb",
            Engine::Sled => "sled",
            Engine::Lmdb => "lmdb",
        }
    }

    /// The cargo feature that compiles the engine in, `None` when it always is.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Engine::Amdb
            | Engine::AmdbLedger
            | Engine::AmdbShards2
            | Engine::AmdbShards4
            | Engine::Sqlite => None,
            Engine::RocksDb => Some("rocksdb"),
            Engine::LevelDb => Some("leveldb"),
            Engine::Fjall => Some("fjall"),
            Engine::Redb => Some("redb"),
            Engine::Sled => Some("sled"),
            Engine::Lmdb => Some("lmdb"),
        }
    }

    /// Whether this binary was built with the engine.
    pub fn is_available(self) -> bool {
        match self {
            Engine::Amdb
            | Engine::AmdbLedger
            | Engine::AmdbShards2
            | Engine::AmdbShards4
            | Engine::Sqlite => true,
            Engine::RocksDb => cfg!(feature = "rocksdb"),
            Engine::LevelDb => cfg!(feature = "leveldb"),
            Engine::Fjall => cfg!(feature = "fjall"),
            Engine::Redb => cfg!(feature = "redb"),
            Engine::Sled => cfg!(feature = "sled"),
            Engine::Lmdb => cfg!(feature = "lmdb"),
        }
    }

    /// Parses `--vs rocksdb,leveldb`; every name must be known and built in.
    pub fn parse_list(list: &str) -> Result<Vec<Engine>> {
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let e: Engine = name.parse()?;
            if !e.is_available() {
                return Err(crate::BenchError::InvalidArgument(format!(
                    "{name} is not built into this binary; rebuild with `cargo build --release -p amdb --features {}`",
                    e.feature().unwrap_or("")
                )));
            }
            if !out.contains(&e) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Opens a new, empty store in `dir` (which must not exist yet).
    pub fn create(self, dir: &Path, budget: Budget) -> Result<Box<dyn Store>> {
        std::fs::create_dir_all(dir).map_err(|e| crate::BenchError::Io {
            op: "create directory",
            path: dir.to_path_buf(),
            source: e,
        })?;
        match self {
            Engine::Amdb => Ok(Box::new(AmdbStore::create(dir, budget, false)?)),
            Engine::AmdbLedger => Ok(Box::new(AmdbStore::create(dir, budget, true)?)),
            Engine::AmdbShards2 => Ok(Box::new(shards::ShardsStore::create(dir, 2, budget)?)),
            Engine::AmdbShards4 => Ok(Box::new(shards::ShardsStore::create(dir, 4, budget)?)),
            Engine::Sqlite => Ok(Box::new(sqlite::SqliteStore::create(dir, budget)?)),
            #[cfg(feature = "rocksdb")]
            Engine::RocksDb => Ok(Box::new(rocksdb::RocksStore::create(dir, budget)?)),
            #[cfg(feature = "leveldb")]
            Engine::LevelDb => Ok(Box::new(leveldb::LevelStore::create(dir, budget)?)),
            #[cfg(feature = "fjall")]
            Engine::Fjall => Ok(Box::new(fjall::FjallStore::create(dir, budget)?)),
            #[cfg(feature = "redb")]
            Engine::Redb => Ok(Box::new(redb::RedbStore::create(dir, budget)?)),
            #[cfg(feature = "sled")]
            Engine::Sled => Ok(Box::new(sled::SledStore::create(dir, budget)?)),
            #[cfg(feature = "lmdb")]
            Engine::Lmdb => Ok(Box::new(lmdb::LmdbStore::create(dir, budget)?)),
            #[allow(unreachable_patterns)]
            other => Err(crate::BenchError::InvalidArgument(format!(
                "{} is not built into this binary",
                other.name()
            ))),
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = crate::BenchError;
    fn from_str(s: &str) -> Result<Engine> {
        Engine::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
                crate::BenchError::InvalidArgument(format!(
                    "unknown engine {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A peer's error as a [`crate::BenchError`].
#[allow(dead_code)] // used only by the feature-gated peers
pub(crate) fn peer_err(engine: Engine, e: impl std::fmt::Display) -> crate::BenchError {
    crate::BenchError::Peer {
        engine: engine.name(),
        message: e.to_string(),
    }
}

/// Total size of the files under `dir`, for the space comparison.
pub fn disk_bytes(dir: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keeps_pairs_in_order() {
        let mut b = Batch::default();
        b.put(b"k1", b"value-one");
        b.put(b"key2", b"");
        b.put(b"", b"v3");
        let pairs: Vec<_> = b.iter().collect();
        assert_eq!(
            pairs,
            [
                (&b"k1"[..], &b"value-one"[..]),
                (&b"key2"[..], &b""[..]),
                (&b""[..], &b"v3"[..])
            ]
        );
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.iter().count(), 0);
    }

    #[test]
    fn engine_names_round_trip_and_unbuilt_peers_are_refused() {
        for e in Engine::ALL {
            assert_eq!(e.name().parse::<Engine>().unwrap(), e);
        }
        assert!("mysql".parse::<Engine>().is_err());
        assert_eq!(
            Engine::parse_list("sqlite, amdb,sqlite").unwrap(),
            [Engine::Sqlite, Engine::Amdb]
        );
        for e in Engine::ALL.into_iter().filter(|e| !e.is_available()) {
            let err = Engine::parse_list(e.name()).unwrap_err().to_string();
            assert!(err.contains("--features"), "{err}");
        }
    }
}
