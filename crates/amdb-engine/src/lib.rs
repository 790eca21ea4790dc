//! AmDb's storage engine: a crash-safe log-structured merge tree.
//!
//! - Writes go through group commit: one WAL record and at most one fsync per group of
//!   concurrent batches, with `Sync`, `Periodic` or `Buffered` durability.
//! - Keyspaces are separate trees sharing one WAL and sequence, so batches across them are
//!   atomic and snapshots cover all of them.
//! - Memtables flush to SSTables (prefix-compressed blocks, LZ4, bloom filter, CRC per
//!   block); leveled compaction runs in the background, with backpressure instead of
//!   unbounded memory.
//! - Bulk ingest writes sorted input straight to tables and installs them atomically.
//!
//! File formats are specified in `docs/formats.md`; the commit protocol and why it is crash
//! safe in `docs/engine.md`.
//!
//! ```no_run
//! use amdb_engine::{Db, Options, WriteBatch};
//! let db = Db::open("/tmp/example-db", Options::default())?;
//! let ks = db.default_keyspace();
//! let bars = db.open_keyspace("bars", Default::default())?;
//! let mut batch = WriteBatch::new();
//! batch.put(&ks, b"a", b"1");
//! batch.put(&bars, b"b", b"2");
//! db.write(&batch)?; // both or neither
//! assert_eq!(db.get(&bars, b"b")?, Some(b"2".to_vec()));
//! # Ok::<(), amdb_engine::Error>(())
//! ```

mod arena;
mod batch;
mod block;
mod block_builder;
mod bloom;
mod cache;
mod coding;
mod compaction;
mod db;
mod db_inner;
mod db_iter;
mod error;
mod filenames;
mod flush;
mod history;
mod ingest;
mod iterator;
mod key;
mod keyspace;
pub mod ledger;
mod ledger_api;
mod level_iter;
mod lock;
mod log_format;
mod log_reader;
mod log_writer;
mod memtable;
mod merging_iter;
mod open;
mod options;
mod shards;
mod skiplist;
mod snapshot;
mod stats;
mod table;
mod table_builder;
mod table_format;
mod version;
mod version_edit;
mod version_set;
mod write;
mod write_queue;
mod writeback;

pub use batch::WriteBatch;
pub use db::Db;
pub use db_iter::{DbIterator, Entries};
pub use error::{Error, Result};
pub use history::{KeyVersion, TxStamp};
pub use ingest::IngestReport;
pub use key::SequenceNumber;
pub use keyspace::{Keyspace, DEFAULT_KEYSPACE};
pub use ledger_api::AsOf;
pub use options::{
    default_block_cache_bytes, physical_memory_bytes, Durability, KeyspaceOptions, Options,
    ReadOptions, WriteOptions,
};
pub use shards::{fnv1a64, ShardBatch, Shards, ShardsIter};
pub use snapshot::Snapshot;
pub use stats::{CounterSnapshot, KeyspaceStats, LevelStats, Stats};
pub use table_format::Compression;

/// File-level checks for tools and tests: format constants that `docs/formats.md` specifies.
pub mod format {
    pub use crate::log_format::{
        HEADER_LEN as LOG_HEADER_LEN, MANIFEST_MAGIC, RECORD_HEADER_LEN, WAL_MAGIC,
    };
    pub use crate::table_format::{FOOTER_LEN as TABLE_FOOTER_LEN, TABLE_MAGIC};
}
