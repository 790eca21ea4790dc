//! The memtable: recent writes of one keyspace, in a skiplist of internal keys, until a flush
//! turns it into an SSTable. Sequence ranges of a keyspace's memtables never interleave: a
//! memtable is sealed (made immutable) before any later sequence is written to its successor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key::{self, SequenceNumber, ValueKind};
use crate::skiplist::{Cursor, Inserter, SkipList};

/// What a lookup found in one source (memtable or table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Value(Vec<u8>),
    Deleted,
}

pub struct MemTable {
    list: SkipList,
    /// The WAL file that was current when the first entry arrived; this memtable needs that
    /// WAL and every later one until it is flushed. `u64::MAX` while empty.
    first_wal: AtomicU64,
    largest_seq: AtomicU64,
}

impl Default for MemTable {
    fn default() -> Self {
        Self::new()
    }
}

impl MemTable {
    pub fn new() -> Self {
        MemTable {
            list: SkipList::new(),
            first_wal: AtomicU64::new(u64::MAX),
            largest_seq: AtomicU64::new(0),
        }
    }

    pub fn writer(&self, wal_number: u64) -> MemTableWriter<'_> {
        if self.first_wal.load(Ordering::Relaxed) == u64::MAX {
            self.first_wal.store(wal_number, Ordering::Relaxed);
        }
        MemTableWriter {
            mem: self,
            ins: self.list.inserter(),
        }
    }

    pub fn get(&self, user_key: &[u8], seq: SequenceNumber) -> Option<Lookup> {
        let target = key::lookup_key(user_key, seq);
        // SAFETY: `self` outlives this local cursor.
        let mut c = unsafe { Cursor::new(&self.list) };
        c.seek(&target);
        if !c.valid() || key::user_key(c.key()) != user_key {
            return None;
        }
        match key::kind(c.key()) {
            Some(ValueKind::Put) => Some(Lookup::Value(c.value().to_vec())),
            _ => Some(Lookup::Deleted),
        }
    }

    /// Whether any entry has a user key in `[smallest, largest]`.
    pub fn overlaps(&self, smallest: &[u8], largest: &[u8]) -> bool {
        let mut c = unsafe { Cursor::new(&self.list) };
        c.seek(&key::lookup_key(smallest, key::MAX_SEQUENCE));
        c.valid() && key::user_key(c.key()) <= largest
    }

    pub fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            // SAFETY: the iterator holds `_mem`, keeping the list alive.
            cursor: unsafe { Cursor::new(&self.list) },
            _mem: self.clone(),
        }
    }

    pub fn approximate_memory_usage(&self) -> usize {
        self.list.memory_usage()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn first_wal(&self) -> Option<u64> {
        match self.first_wal.load(Ordering::Relaxed) {
            u64::MAX => None,
            n => Some(n),
        }
    }

    pub fn largest_seq(&self) -> SequenceNumber {
        self.largest_seq.load(Ordering::Acquire)
    }
}

/// Exclusive write access to a memtable for one commit group.
pub struct MemTableWriter<'a> {
    mem: &'a MemTable,
    ins: Inserter<'a>,
}

impl MemTableWriter<'_> {
    pub fn add(&mut self, seq: SequenceNumber, kind: ValueKind, user_key: &[u8], value: &[u8]) {
        self.ins
            .insert_parts(user_key, key::pack_trailer(seq, kind), value);
        if seq > self.mem.largest_seq.load(Ordering::Relaxed) {
            self.mem.largest_seq.store(seq, Ordering::Release);
        }
    }
}

pub struct MemTableIter {
    cursor: Cursor,
    _mem: Arc<MemTable>,
}

impl InternalIterator for MemTableIter {
    fn valid(&self) -> bool {
        self.cursor.valid()
    }
    fn seek_to_first(&mut self) {
        self.cursor.seek_to_first()
    }
    fn seek_to_last(&mut self) {
        self.cursor.seek_to_last()
    }
    fn seek(&mut self, target: &[u8]) {
        self.cursor.seek(target)
    }
    fn next(&mut self) {
        self.cursor.next()
    }
    fn prev(&mut self) {
        self.cursor.prev()
    }
    fn key(&self) -> &[u8] {
        self.cursor.key()
    }
    fn value(&self) -> &[u8] {
        self.cursor.value()
    }
    fn status(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_sees_newest_visible_version() {
        let mem = MemTable::new();
        {
            let mut w = mem.writer(7);
            w.add(1, ValueKind::Put, b"k", b"v1");
            w.add(2, ValueKind::Put, b"k", b"v2");
            w.add(3, ValueKind::Delete, b"k", b"");
            w.add(4, ValueKind::Put, b"other", b"x");
        }
        assert_eq!(mem.get(b"k", 1), Some(Lookup::Value(b"v1".to_vec())));
        assert_eq!(mem.get(b"k", 2), Some(Lookup::Value(b"v2".to_vec())));
        assert_eq!(mem.get(b"k", 9), Some(Lookup::Deleted));
        assert_eq!(mem.get(b"k", 0), None);
        assert_eq!(mem.get(b"j", 9), None);
        assert_eq!(mem.first_wal(), Some(7));
        assert_eq!(mem.largest_seq(), 4);
        assert!(mem.overlaps(b"a", b"k"));
        assert!(!mem.overlaps(b"l", b"n"));
        assert!(mem.overlaps(b"l", b"p"));
    }
}
