//! AmDb's engine as a [`Store`]: its default keyspace, LZ4 blocks, the memtable and block
//! cache sized by the [`Budget`].

use std::path::Path;

use amdb_engine::{Db, Durability, Keyspace, Options, ReadOptions, WriteBatch, WriteOptions};

use super::{Batch, Budget, Counters, Store};
use crate::Result;

pub struct AmdbStore {
    db: Db,
    ks: Keyspace,
    ledger: bool,
}

impl AmdbStore {
    /// A new database in `dir`; with `ledger`, every batch becomes a ledger transaction.
    pub fn create(dir: &Path, budget: Budget, ledger: bool) -> Result<AmdbStore> {
        let opts = Options {
            write_buffer_size: budget.write_buffer,
            block_cache_bytes: budget.cache,
            ledger,
            ..Options::default()
        };
        AmdbStore::create_with(dir, opts)
    }

    /// A new database in `dir` with exactly these options (durability is chosen per write).
    pub fn create_with(dir: &Path, opts: Options) -> Result<AmdbStore> {
        let db = Db::open(
            dir,
            Options {
                create_if_missing: true,
                error_if_exists: true,
                durability: Durability::Buffered,
                ..opts
            },
        )?;
        let ledger = db.options().ledger;
        let ks = db.default_keyspace();
        Ok(AmdbStore { db, ks, ledger })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

thread_local! {
    /// Each writer thread's reusable engine batch, so translating a [`Batch`] allocates
    /// nothing in steady state.
    static ENGINE_BATCH: std::cell::RefCell<WriteBatch> = std::cell::RefCell::new(WriteBatch::new());
}

impl Store for AmdbStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let wo = WriteOptions::durability(if sync {
            Durability::Sync
        } else {
            Durability::Buffered
        });
        ENGINE_BATCH.with(|b| {
            let mut b = b.borrow_mut();
            b.clear();
            for (k, v) in batch.iter() {
                b.put(&self.ks, k, v);
            }
            self.db.write_opt(&b, &wo)
        })?;
        Ok(())
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        match self.db.get(&self.ks, key)? {
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
        let mut it = self.db.iter(&self.ks, &opts)?;
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
        self.db.ingest(&self.ks, pairs)?;
        Ok(())
    }

    fn finish_writes(&self) -> Result<()> {
        if self.ledger {
            self.db.ledger_root()?;
        }
        Ok(())
    }

    fn settle(&self) -> Result<()> {
        self.finish_writes()?;
        self.db.wait_for_idle()?;
        Ok(())
    }

    fn counters(&self) -> Option<Counters> {
        let c = self.db.stats().counters;
        Some(Counters {
            stall_micros: c.stall_micros,
            flushes: c.flushes,
            compactions: c.compactions,
            wal_syncs: c.wal_syncs,
        })
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.db.close()?;
        Ok(())
    }
}
