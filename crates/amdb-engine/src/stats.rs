//! Counters for everything an operator needs to see: write and WAL traffic, group commit,
//! flushes, compactions, stalls, cache and bloom effectiveness. Read through `Db::stats()`.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// Live counters, updated with relaxed atomics on the hot paths.
        #[derive(Default)]
        pub(crate) struct Counters {
            $( pub $name: AtomicU64, )*
        }

        /// A point-in-time copy of the counters.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct CounterSnapshot {
            $( $(#[$doc])* pub $name: u64, )*
        }

        impl Counters {
            pub fn snapshot(&self) -> CounterSnapshot {
                CounterSnapshot { $( $name: self.$name.load(Ordering::Relaxed), )* }
            }
        }

        impl CounterSnapshot {
            /// `(name, value)` pairs in declaration order, for printing and metrics export.
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($name), self.$name), )* ]
            }
        }
    };
}

counters! {
    /// Write batches committed.
    batches_written,
    /// Entries (puts and deletes) committed.
    entries_written,
    /// User key and value bytes committed.
    user_bytes_written,
    /// WAL records written; one per commit group.
    wal_records,
    /// Bytes appended to WAL files, including framing.
    wal_bytes,
    /// fdatasync calls on the WAL.
    wal_syncs,
    /// Batches that were committed as followers of another writer's group.
    group_followers,
    /// Largest commit group seen, in batches.
    group_max_batches,
    /// Memtable flushes to SSTables.
    flushes,
    /// Bytes written by flushes.
    flush_bytes,
    /// Compactions run (including trivial moves).
    compactions,
    /// Compactions that only moved a file to the next level.
    trivial_moves,
    /// Bytes read by compactions.
    compaction_bytes_read,
    /// Bytes written by compactions.
    compaction_bytes_written,
    /// Entries dropped by compactions (shadowed versions and obsolete tombstones).
    compaction_entries_dropped,
    /// Writes delayed by 1 ms because L0 was filling up.
    stall_slowdowns,
    /// Writes that waited for a flush or an L0 compaction to finish.
    stall_stops,
    /// Total time writers spent delayed or waiting, in microseconds.
    stall_micros,
    /// Block cache lookups that found the block.
    block_cache_hits,
    /// Block cache lookups that read the block from disk.
    block_cache_misses,
    /// Bloom filter probes.
    bloom_checked,
    /// Bloom filter probes that ruled out a table (a data block read avoided).
    bloom_useful,
    /// Point lookups (get and each key of multi_get).
    gets,
    /// Iterators created.
    iterators,
    /// Bulk ingests completed.
    ingests,
    /// Entries added by bulk ingest.
    ingest_entries,
    /// Torn WAL tails truncated during recovery.
    wal_torn_tails,
}

impl Counters {
    pub fn add(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// One level of one keyspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    pub level: usize,
    pub files: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct KeyspaceStats {
    pub name: String,
    pub id: u32,
    pub memtable_bytes: usize,
    pub immutable_memtables: usize,
    pub levels: Vec<LevelStats>,
}

/// What `Db::stats()` returns.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub counters: CounterSnapshot,
    pub last_sequence: u64,
    pub block_cache_capacity: usize,
    pub block_cache_usage: usize,
    pub live_snapshots: usize,
    pub keyspaces: Vec<KeyspaceStats>,
}

impl Stats {
    /// Average batches per WAL record; 1.0 means no grouping happened.
    pub fn average_group_size(&self) -> f64 {
        if self.counters.wal_records == 0 {
            0.0
        } else {
            self.counters.batches_written as f64 / self.counters.wal_records as f64
        }
    }
}
