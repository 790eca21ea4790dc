//! Database, keyspace, write and read options. Defaults are sized from the machine where that
//! matters (the block cache) and otherwise follow what LevelDB and RocksDB users expect.

use std::time::Duration;

use crate::snapshot::Snapshot;
use crate::table_format::Compression;

/// When a write is acknowledged relative to reaching stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fdatasync before acknowledging: survives power loss. The default.
    Sync,
    /// Handed to the OS before acknowledging and fdatasynced in the background at this
    /// interval: survives a process crash; power loss may lose the last interval.
    Periodic(Duration),
    /// Handed to the OS before acknowledging, synced only when a WAL file is closed: survives
    /// a process crash, not power loss.
    Buffered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceOptions {
    pub compression: Compression,
    /// Bloom filter bits per key; 0 disables filters. 10 gives about 1% false positives.
    pub bloom_bits_per_key: u32,
    /// Target uncompressed size of data blocks.
    pub block_size: usize,
    /// Keep every version of every key: compaction never drops a superseded version or a
    /// tombstone, so [`Db::history`](crate::Db::history) lists all of them and
    /// [`Db::get_at`](crate::Db::get_at) reads any past sequence. Costs the space of every
    /// version. Fixed when the keyspace is created.
    pub versioned: bool,
}

impl Default for KeyspaceOptions {
    fn default() -> Self {
        KeyspaceOptions {
            compression: Compression::Lz4,
            bloom_bits_per_key: 10,
            block_size: 4096,
            versioned: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub create_if_missing: bool,
    pub error_if_exists: bool,
    /// Default durability of writes; `WriteOptions` can override per write.
    pub durability: Durability,
    /// Memtable size at which it is sealed and flushed.
    pub write_buffer_size: usize,
    /// Sealed memtables allowed per keyspace before writers wait for a flush.
    pub max_immutable_memtables: usize,
    /// Block cache capacity in bytes.
    pub block_cache_bytes: usize,
    /// Largest accepted write batch (encoded bytes). Larger batches are refused, never split.
    pub max_batch_bytes: usize,
    /// L0 file count that triggers a compaction.
    pub l0_compaction_trigger: usize,
    /// L0 file count at which each write is delayed by 1 ms.
    pub l0_slowdown_trigger: usize,
    /// L0 file count at which writes wait for compaction (when the memtable is full).
    pub l0_stop_trigger: usize,
    /// Size at which compaction and ingest outputs are split into a new file.
    pub target_file_size: u64,
    /// Target size of L1; each deeper level is `level_size_multiplier` times larger.
    pub max_bytes_for_level_base: u64,
    pub level_size_multiplier: u64,
    /// When sealed WAL files exceed this, keyspaces pinning the oldest one are flushed.
    pub max_total_wal_bytes: u64,
    /// Turns off background compaction (manual `compact()` still works). For tests and bulk
    /// loads that compact once at the end.
    pub disable_auto_compaction: bool,
    /// Options of the `default` keyspace when the database is created.
    pub default_keyspace: KeyspaceOptions,
    /// Create the database with a ledger (docs/ledger.md): every batch becomes a numbered,
    /// timed transaction, hash-chained and in a Merkle tree, and batches may carry audit
    /// records. Only takes effect when the database is created; a database that has a
    /// ledger keeps it whatever this says.
    pub ledger: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            error_if_exists: false,
            durability: Durability::Sync,
            write_buffer_size: 64 << 20,
            max_immutable_memtables: 2,
            block_cache_bytes: default_block_cache_bytes(),
            max_batch_bytes: 64 << 20,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 12,
            l0_stop_trigger: 20,
            target_file_size: 64 << 20,
            max_bytes_for_level_base: 256 << 20,
            level_size_multiplier: 10,
            max_total_wal_bytes: 512 << 20,
            disable_auto_compaction: false,
            default_keyspace: KeyspaceOptions::default(),
            ledger: false,
        }
    }
}

impl Options {
    /// Checks option values that would otherwise fail obscurely later.
    pub fn validate(&self) -> Result<(), String> {
        if self.write_buffer_size < 64 << 10 {
            return Err(format!(
                "write_buffer_size {} is below the 64 KiB minimum",
                self.write_buffer_size
            ));
        }
        if self.max_batch_bytes == 0 || self.max_batch_bytes > 1 << 30 {
            return Err(format!(
                "max_batch_bytes {} must be between 1 byte and 1 GiB",
                self.max_batch_bytes
            ));
        }
        if self.max_immutable_memtables == 0 {
            return Err("max_immutable_memtables must be at least 1".into());
        }
        if !(self.l0_compaction_trigger <= self.l0_slowdown_trigger
            && self.l0_slowdown_trigger <= self.l0_stop_trigger)
        {
            return Err("L0 triggers must satisfy compaction <= slowdown <= stop".into());
        }
        if self.level_size_multiplier < 2 {
            return Err("level_size_multiplier must be at least 2".into());
        }
        if self.default_keyspace.block_size < 256 {
            return Err("block_size must be at least 256 bytes".into());
        }
        if let Durability::Periodic(d) = self.durability {
            if d.is_zero() {
                return Err("periodic durability needs a non-zero interval".into());
            }
        }
        Ok(())
    }
}

/// Physical memory in bytes, if the OS says.
pub fn physical_memory_bytes() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| pages as u64 * page as u64)
}

/// 1/32 of RAM, between 16 MiB and 1 GiB (768 MiB on a 24 GiB machine).
pub fn default_block_cache_bytes() -> usize {
    let ram = physical_memory_bytes().unwrap_or(4 << 30);
    (ram / 32).clamp(16 << 20, 1 << 30) as usize
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Overrides the database's durability for this write.
    pub durability: Option<Durability>,
}

impl WriteOptions {
    pub fn durability(d: Durability) -> Self {
        WriteOptions {
            durability: Some(d),
        }
    }
}

/// Options for reads and iterators. Bounds are user keys: lower inclusive, upper exclusive.
#[derive(Debug, Clone)]
pub struct ReadOptions<'a> {
    pub snapshot: Option<&'a Snapshot>,
    pub lower_bound: Option<Vec<u8>>,
    pub upper_bound: Option<Vec<u8>>,
    /// Whether point reads put the blocks they load from tables into the block cache
    /// (default true). Bulk reads of large values turn it off so they neither evict hot
    /// blocks nor hold memory the caller has already copied the values into. Iterators
    /// always use the cache.
    pub fill_cache: bool,
}

impl Default for ReadOptions<'_> {
    fn default() -> Self {
        ReadOptions {
            snapshot: None,
            lower_bound: None,
            upper_bound: None,
            fill_cache: true,
        }
    }
}

impl<'a> ReadOptions<'a> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn fill_cache(mut self, fill: bool) -> Self {
        self.fill_cache = fill;
        self
    }
    pub fn snapshot(mut self, s: &'a Snapshot) -> Self {
        self.snapshot = Some(s);
        self
    }
    pub fn lower_bound(mut self, k: impl Into<Vec<u8>>) -> Self {
        self.lower_bound = Some(k.into());
        self
    }
    pub fn upper_bound(mut self, k: impl Into<Vec<u8>>) -> Self {
        self.upper_bound = Some(k.into());
        self
    }
    /// Restricts iteration to keys starting with `prefix`.
    pub fn prefix(mut self, prefix: &[u8]) -> Self {
        self.lower_bound = Some(prefix.to_vec());
        self.upper_bound = crate::key::prefix_successor(prefix);
        self
    }
}
