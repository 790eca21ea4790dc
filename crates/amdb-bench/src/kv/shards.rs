//! AmDb's [`Shards`] as a [`Store`]: the key space split over N databases with their own
//! WALs (`amdb_2shards`, `amdb_4shards`), to measure how writes scale with shards. The
//! [`Budget`] is divided among the shards. A batch is atomic per shard only.

use std::cell::RefCell;
use std::path::Path;

use amdb_engine::{Durability, Options, ReadOptions, ShardBatch, Shards, WriteOptions};

use super::{Batch, Budget, Counters, Store};
use crate::Result;

pub struct ShardsStore {
    shards: Shards,
}

thread_local! {
    /// Each writer thread's reusable batch per shard count (a batch fits any set with the
    /// same count, since every shard's default keyspace has the same id).
    static BATCHES: RefCell<Vec<(usize, ShardBatch)>> = const { RefCell::new(Vec::new()) };
}

impl ShardsStore {
    pub fn create(dir: &Path, shards: usize, budget: Budget) -> Result<ShardsStore> {
        let opts = Options {
            create_if_missing: true,
            error_if_exists: true,
            durability: Durability::Buffered,
            write_buffer_size: budget.write_buffer,
            block_cache_bytes: budget.cache,
            ..Options::default()
        };
        Ok(ShardsStore {
            shards: Shards::open(dir, shards, opts)?,
        })
    }
}

impl Store for ShardsStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let wo = WriteOptions::durability(if sync {
            Durability::Sync
        } else {
            Durability::Buffered
        });
        let n = self.shards.len();
        BATCHES.with(|cell| {
            let mut cache = cell.borrow_mut();
            let i = match cache.iter().position(|(count, _)| *count == n) {
                Some(i) => i,
                None => {
                    cache.push((n, self.shards.batch()));
                    cache.len() - 1
                }
            };
            let b = &mut cache[i].1;
            b.clear();
            for (k, v) in batch.iter() {
                b.put(&self.shards, k, v);
            }
            self.shards.write(b, &wo)
        })?;
        Ok(())
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        match self.shards.get(key)? {
            Some(v) => {
                *out = v;
                Ok(true)
            }
            None => {
                out.clear();
                Ok(false)
            }
        }
    }

    fn scan(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let mut opts = ReadOptions::new().lower_bound(from.to_vec());
        if let Some(to) = to {
            opts = opts.upper_bound(to.to_vec());
        }
        let mut it = self.shards.iter(&opts)?;
        it.seek(from);
        while it.valid() {
            if !visit(it.key(), it.value()) {
                break;
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        self.shards.ingest(pairs)?;
        Ok(())
    }

    fn settle(&self) -> Result<()> {
        self.shards.wait_for_idle()?;
        Ok(())
    }

    fn counters(&self) -> Option<Counters> {
        let mut c = Counters::default();
        for db in self.shards.shards() {
            let s = db.stats().counters;
            c.stall_micros += s.stall_micros;
            c.flushes += s.flushes;
            c.compactions += s.compactions;
            c.wal_syncs += s.wal_syncs;
        }
        Some(c)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.shards.close()?;
        Ok(())
    }
}
