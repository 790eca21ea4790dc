//! RocksDB (crate `rocksdb`, feature `rocksdb`) as a [`Store`]: LZ4 blocks, a 10-bit bloom
//! filter, the [`Budget`]'s write buffer and LRU block cache, background jobs for the cores.
//! Bulk ingest writes one SST with `SstFileWriter` and ingests it, RocksDB's own fast path.

use std::path::{Path, PathBuf};

use rocksdb::{
    BlockBasedOptions, Cache, DBCompressionType, IngestExternalFileOptions, Options, ReadOptions,
    SstFileWriter, WriteBatch, WriteOptions, DB,
};

use super::{peer_err, Batch, Budget, Engine, Store};
use crate::Result;

pub struct RocksStore {
    db: DB,
    opts: Options,
    dir: PathBuf,
}

fn err(e: rocksdb::Error) -> crate::BenchError {
    peer_err(Engine::RocksDb, e)
}

impl RocksStore {
    pub fn create(dir: &Path, budget: Budget) -> Result<RocksStore> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_error_if_exists(true);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as i32;
        opts.increase_parallelism(cores);
        opts.set_max_background_jobs(cores.max(2));
        opts.set_write_buffer_size(budget.write_buffer);
        opts.set_compression_type(DBCompressionType::Lz4);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&Cache::new_lru_cache(budget.cache));
        table.set_bloom_filter(10.0, false);
        table.set_cache_index_and_filter_blocks(false);
        opts.set_block_based_table_factory(&table);
        let path = dir.join("db");
        let db = DB::open(&opts, &path).map_err(err)?;
        Ok(RocksStore {
            db,
            opts,
            dir: dir.to_path_buf(),
        })
    }

    fn int_property(&self, name: &str) -> u64 {
        self.db.property_int_value(name).ok().flatten().unwrap_or(0)
    }
}

impl Store for RocksStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let mut b = WriteBatch::default();
        for (k, v) in batch.iter() {
            b.put(k, v);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(b, &wo).map_err(err)
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        match self.db.get_pinned(key).map_err(err)? {
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
        let mut ro = ReadOptions::default();
        if let Some(to) = to {
            ro.set_iterate_upper_bound(to.to_vec());
        }
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek(from);
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !visit(k, v) {
                break;
            }
            it.next();
        }
        it.status().map_err(err)
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        let file = self.dir.join("ingest.sst");
        let mut w = SstFileWriter::create(&self.opts);
        w.open(&file).map_err(err)?;
        for (k, v) in pairs {
            w.put(k, v).map_err(err)?;
        }
        w.finish().map_err(err)?;
        let mut io = IngestExternalFileOptions::default();
        io.set_move_files(true);
        self.db
            .ingest_external_file_opts(&io, vec![file])
            .map_err(err)
    }

    fn settle(&self) -> Result<()> {
        self.db.flush().map_err(err)?;
        loop {
            let busy = self.int_property("rocksdb.num-running-compactions")
                + self.int_property("rocksdb.num-running-flushes")
                + self.int_property("rocksdb.compaction-pending")
                + self.int_property("rocksdb.mem-table-flush-pending");
            if busy == 0 {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.db.flush().map_err(err)?;
        drop(self);
        Ok(())
    }
}
