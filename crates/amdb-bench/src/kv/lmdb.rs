//! LMDB through heed (feature `lmdb`) as a [`Store`]: one unnamed database of raw bytes in
//! a memory map sized for the data. LMDB has one writer at a time and no cache of its own
//! (the OS page cache is its cache, so the [`Budget`] does not apply). The environment is
//! opened with `NO_SYNC`: an unsynced commit is written to the map (survives a process
//! crash); a synced write forces a sync after its commit.

use std::path::Path;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions};

use super::{peer_err, Batch, Budget, Engine, Store};
use crate::Result;

pub struct LmdbStore {
    env: Env,
    db: Database<Bytes, Bytes>,
}

fn err(e: impl std::fmt::Display) -> crate::BenchError {
    peer_err(Engine::Lmdb, e)
}

/// Address space reserved for the map; pages are only used as data arrives.
const MAP_SIZE: usize = 64 << 30;

impl LmdbStore {
    pub fn create(dir: &Path, _budget: Budget) -> Result<LmdbStore> {
        let path = dir.join("db");
        std::fs::create_dir_all(&path).map_err(err)?;
        let mut opts = EnvOpenOptions::new();
        opts.map_size(MAP_SIZE).max_dbs(1);
        // SAFETY: NO_SYNC only changes when LMDB syncs; we sync explicitly where a
        // workload asks for durability.
        unsafe {
            opts.flags(EnvFlags::NO_SYNC);
        }
        // SAFETY: this process opens the environment once and no other process uses it.
        let env = unsafe { opts.open(&path) }.map_err(err)?;
        let mut wtxn = env.write_txn().map_err(err)?;
        let db: Database<Bytes, Bytes> = env.create_database(&mut wtxn, None).map_err(err)?;
        wtxn.commit().map_err(err)?;
        Ok(LmdbStore { env, db })
    }
}

impl Store for LmdbStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let mut wtxn = self.env.write_txn().map_err(err)?;
        for (k, v) in batch.iter() {
            self.db.put(&mut wtxn, k, v).map_err(err)?;
        }
        wtxn.commit().map_err(err)?;
        if sync {
            self.env.force_sync().map_err(err)?;
        }
        Ok(())
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        let rtxn = self.env.read_txn().map_err(err)?;
        match self.db.get(&rtxn, key).map_err(err)? {
            Some(v) => {
                out.extend_from_slice(v);
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
        let rtxn = self.env.read_txn().map_err(err)?;
        let bounds = (
            std::ops::Bound::Included(from),
            to.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
        );
        for item in self.db.range(&rtxn, &bounds).map_err(err)? {
            let (k, v) = item.map_err(err)?;
            if !visit(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        // LMDB's bulk path: appending sorted keys in big write transactions.
        let mut pairs = pairs.peekable();
        while pairs.peek().is_some() {
            let mut wtxn = self.env.write_txn().map_err(err)?;
            for (k, v) in pairs.by_ref().take(100_000) {
                self.db
                    .put_with_flags(&mut wtxn, heed::PutFlags::APPEND, &k, &v)
                    .map_err(err)?;
            }
            wtxn.commit().map_err(err)?;
        }
        self.env.force_sync().map_err(err)
    }

    fn settle(&self) -> Result<()> {
        self.env.force_sync().map_err(err)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.env.force_sync().map_err(err)
    }
}
