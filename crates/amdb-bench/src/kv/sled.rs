//! sled (feature `sled`) as a [`Store`]: the default tree, the [`Budget`]'s cache. sled
//! buffers writes in memory and flushes them every 500 ms (its default), so an unsynced
//! write may be lost by a process crash; a synced write calls `flush` after the batch.

use std::path::Path;

use super::{peer_err, Batch, Budget, Engine, Store};
use crate::Result;

pub struct SledStore {
    db: sled::Db,
}

fn err(e: impl std::fmt::Display) -> crate::BenchError {
    peer_err(Engine::Sled, e)
}

impl SledStore {
    pub fn create(dir: &Path, budget: Budget) -> Result<SledStore> {
        let db = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity((budget.cache + budget.write_buffer) as u64)
            .open()
            .map_err(err)?;
        Ok(SledStore { db })
    }
}

impl Store for SledStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let mut b = sled::Batch::default();
        for (k, v) in batch.iter() {
            b.insert(k, v);
        }
        self.db.apply_batch(b).map_err(err)?;
        if sync {
            self.db.flush().map_err(err)?;
        }
        Ok(())
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        match self.db.get(key).map_err(err)? {
            Some(v) => {
                out.extend_from_slice(&v);
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
        let iter = match to {
            Some(to) => self.db.range(from..to),
            None => self.db.range(from..),
        };
        for item in iter {
            let (k, v) = item.map_err(err)?;
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        let mut b = sled::Batch::default();
        let mut n = 0;
        for (k, v) in pairs {
            b.insert(k, v);
            n += 1;
            if n % 10_000 == 0 {
                self.db.apply_batch(std::mem::take(&mut b)).map_err(err)?;
            }
        }
        self.db.apply_batch(b).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(())
    }

    fn settle(&self) -> Result<()> {
        self.db.flush().map_err(err)?;
        Ok(())
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.db.flush().map_err(err)?;
        Ok(())
    }
}
