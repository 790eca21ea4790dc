//! LevelDB (crate `leveldb`, feature `leveldb`; its build compiles LevelDB with `cmake`) as
//! a [`Store`]: Snappy blocks (LevelDB's codec), the [`Budget`]'s write buffer and LRU
//! cache. The crate offers no bloom filter policy, so LevelDB reads without one.
//!
//! The crate shows neither flush nor compaction state, so [`Store::settle`] compacts the
//! whole key range: LevelDB's reads then run on a fully compacted tree, which can only
//! help it.

use std::path::Path;

use db_key::Key;
use leveldb::batch::{Batch as _, Writebatch};
use leveldb::database::cache::Cache;
use leveldb::database::Database;
use leveldb::iterator::{Iterable, LevelDBIterator};
use leveldb::kv::KV;
use leveldb::options::{Options, ReadOptions, WriteOptions};

use super::{peer_err, Batch, Budget, Engine, Store};
use crate::Result;

/// Raw bytes as the key type the `leveldb` crate is generic over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(Vec<u8>);

impl Key for Bytes {
    fn from_u8(key: &[u8]) -> Self {
        Bytes(key.to_vec())
    }
    fn as_slice<T, F: Fn(&[u8]) -> T>(&self, f: F) -> T {
        f(&self.0)
    }
}

pub struct LevelStore {
    db: Database<Bytes>,
}

fn err(e: impl std::fmt::Display) -> crate::BenchError {
    peer_err(Engine::LevelDb, e)
}

impl LevelStore {
    pub fn create(dir: &Path, budget: Budget) -> Result<LevelStore> {
        let mut opts = Options::new();
        opts.create_if_missing = true;
        opts.error_if_exists = true;
        opts.write_buffer_size = Some(budget.write_buffer);
        opts.cache = Some(Cache::new(budget.cache));
        opts.compression = leveldb_sys::Compression::Snappy;
        let db = Database::open(&dir.join("db"), opts).map_err(err)?;
        Ok(LevelStore { db })
    }
}

impl Store for LevelStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let mut b = Writebatch::new();
        for (k, v) in batch.iter() {
            b.put(Bytes(k.to_vec()), v);
        }
        let mut wo = WriteOptions::new();
        wo.sync = sync;
        self.db.write(wo, &b).map_err(err)
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        match self
            .db
            .get(ReadOptions::new(), Bytes(key.to_vec()))
            .map_err(err)?
        {
            Some(v) => {
                *out = v;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn scan(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let start = Bytes(from.to_vec());
        let it = self.db.iter(ReadOptions::new()).from(&start);
        for (k, v) in it {
            if to.is_some_and(|to| k.0.as_slice() >= to) {
                break;
            }
            if !visit(&k.0, &v) {
                break;
            }
        }
        Ok(())
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        // LevelDB has no table ingest; large batches are its fastest write path.
        let mut b = Writebatch::new();
        let mut n = 0;
        for (k, v) in pairs {
            b.put(Bytes(k), &v);
            n += 1;
            if n % 10_000 == 0 {
                self.db.write(WriteOptions::new(), &b).map_err(err)?;
                b = Writebatch::new();
            }
        }
        let mut wo = WriteOptions::new();
        wo.sync = true;
        self.db.write(wo, &b).map_err(err)
    }

    fn settle(&self) -> Result<()> {
        use leveldb::compaction::Compaction;
        self.db.compact(&Bytes(Vec::new()), &Bytes(vec![0xff; 32]));
        Ok(())
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
