//! redb (feature `redb`) as a [`Store`]: one `&[u8] → &[u8]` table, the [`Budget`]'s cache.
//! redb is a copy-on-write B-tree with one writer at a time. It has no "in the OS buffers"
//! level: an unsynced write is committed with `Durability::None` (a crash may roll back to
//! the last synced commit, which is weaker than the others' unsynced writes), a synced one
//! with `Durability::Immediate`.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use super::{peer_err, Batch, Budget, Engine, Store};
use crate::Result;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

pub struct RedbStore {
    db: Database,
}

fn err(e: impl std::fmt::Display) -> crate::BenchError {
    peer_err(Engine::Redb, e)
}

impl RedbStore {
    pub fn create(dir: &Path, budget: Budget) -> Result<RedbStore> {
        let db = Database::builder()
            .set_cache_size(budget.cache + budget.write_buffer)
            .create(dir.join("kv.redb"))
            .map_err(err)?;
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(TABLE).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(RedbStore { db })
    }

    fn commit(
        &self,
        sync: bool,
        fill: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>) -> Result<()>,
    ) -> Result<()> {
        let mut tx = self.db.begin_write().map_err(err)?;
        tx.set_durability(if sync {
            Durability::Immediate
        } else {
            Durability::None
        })
        .map_err(err)?;
        {
            let mut t = tx.open_table(TABLE).map_err(err)?;
            fill(&mut t)?;
        }
        tx.commit().map_err(err)
    }
}

impl Store for RedbStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        self.commit(sync, |t| {
            for (k, v) in batch.iter() {
                t.insert(k, v).map_err(err)?;
            }
            Ok(())
        })
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(TABLE).map_err(err)?;
        match t.get(key).map_err(err)? {
            Some(v) => {
                out.extend_from_slice(v.value());
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
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(TABLE).map_err(err)?;
        let range = match to {
            Some(to) => t.range::<&[u8]>(from..to),
            None => t.range::<&[u8]>(from..),
        }
        .map_err(err)?;
        for item in range {
            let (k, v) = item.map_err(err)?;
            if !visit(k.value(), v.value()) {
                break;
            }
        }
        Ok(())
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        // One transaction per 100,000 entries: redb's fast path is a big write transaction.
        let mut pairs = pairs.peekable();
        while pairs.peek().is_some() {
            self.commit(false, |t| {
                for (k, v) in pairs.by_ref().take(100_000) {
                    t.insert(k.as_slice(), v.as_slice()).map_err(err)?;
                }
                Ok(())
            })?;
        }
        self.commit(true, |_| Ok(()))
    }

    fn settle(&self) -> Result<()> {
        // Make every commit durable; redb has no background work to wait for.
        self.commit(true, |_| Ok(()))
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.commit(true, |_| Ok(()))
    }
}
