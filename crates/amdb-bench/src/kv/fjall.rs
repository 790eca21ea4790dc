//! fjall (feature `fjall`) as a [`Store`]: one partition with LZ4 blocks, the [`Budget`]'s
//! cache and write buffer. Each batch is committed with `PersistMode::Buffer` (the journal is
//! handed to the OS: survives a process crash, like the others' unsynced writes) or
//! `PersistMode::SyncData` when synced.

use std::path::Path;

use fjall::{
    CompressionType, Config, Keyspace, PartitionCreateOptions, PartitionHandle, PersistMode,
};

use super::{peer_err, Batch, Budget, Engine, Store};
use crate::Result;

pub struct FjallStore {
    keyspace: Keyspace,
    part: PartitionHandle,
}

fn err(e: impl std::fmt::Display) -> crate::BenchError {
    peer_err(Engine::Fjall, e)
}

impl FjallStore {
    pub fn create(dir: &Path, budget: Budget) -> Result<FjallStore> {
        let keyspace = Config::new(dir.join("db"))
            .cache_size(budget.cache as u64)
            .max_write_buffer_size(budget.write_buffer as u64)
            .open()
            .map_err(err)?;
        let part = keyspace
            .open_partition(
                "kv",
                PartitionCreateOptions::default()
                    .compression(CompressionType::Lz4)
                    .max_memtable_size(budget.write_buffer.min(u32::MAX as usize) as u32),
            )
            .map_err(err)?;
        Ok(FjallStore { keyspace, part })
    }
}

impl Store for FjallStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let mut b = self.keyspace.batch().durability(Some(if sync {
            PersistMode::SyncData
        } else {
            PersistMode::Buffer
        }));
        for (k, v) in batch.iter() {
            b.insert(&self.part, k, v);
        }
        b.commit().map_err(err)
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        match self.part.get(key).map_err(err)? {
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
        let iter: Box<dyn Iterator<Item = _>> = match to {
            Some(to) => Box::new(self.part.range(from.to_vec()..to.to_vec())),
            None => Box::new(self.part.range(from.to_vec()..)),
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
        // fjall 2 has no table ingest for a live partition; large batches are its fast path.
        let mut b = self.keyspace.batch();
        let mut n = 0;
        for (k, v) in pairs {
            b.insert(&self.part, k, v);
            n += 1;
            if n % 10_000 == 0 {
                b.commit().map_err(err)?;
                b = self.keyspace.batch();
            }
        }
        b.commit().map_err(err)?;
        self.keyspace.persist(PersistMode::SyncAll).map_err(err)
    }

    fn settle(&self) -> Result<()> {
        // fjall exposes no "compactions pending" state; rotating and flushing the memtable
        // is what it offers.
        self.part.rotate_memtable_and_wait().map_err(err)?;
        Ok(())
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.keyspace.persist(PersistMode::SyncAll).map_err(err)
    }
}
