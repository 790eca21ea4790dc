//! A sharded LRU cache of decompressed blocks, charged by block size. Keys are
//! (table file number, block offset). Sharding keeps lock hold times short under concurrency.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::block::Block;

const SHARDS: usize = 16;
const NIL: usize = usize::MAX;

pub type CacheKey = (u64, u64);

/// Multiply-shift hashing of the two-word key; the default SipHash costs more than a lookup.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

fn shard_of(key: &CacheKey) -> usize {
    let h = (key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ key.1).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    (h >> 59) as usize % SHARDS
}

struct Entry {
    key: CacheKey,
    block: Arc<Block>,
    charge: usize,
    prev: usize,
    next: usize,
}

struct Shard {
    map: HashMap<CacheKey, usize, BuildHasherDefault<KeyHasher>>,
    slots: Vec<Entry>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used: evicted first.
    tail: usize,
    usage: usize,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Shard {
        Shard {
            map: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            usage: 0,
            capacity,
        }
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.slots[i].prev, self.slots[i].next);
        if p == NIL {
            self.head = n;
        } else {
            self.slots[p].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.slots[n].prev = p;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.slots[i].prev = NIL;
        self.slots[i].next = self.head;
        if self.head != NIL {
            self.slots[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn get(&mut self, key: &CacheKey) -> Option<Arc<Block>> {
        let i = *self.map.get(key)?;
        self.unlink(i);
        self.push_front(i);
        Some(self.slots[i].block.clone())
    }

    fn insert(&mut self, key: CacheKey, block: Arc<Block>, charge: usize) {
        if let Some(&i) = self.map.get(&key) {
            self.unlink(i);
            self.usage -= self.slots[i].charge;
            self.map.remove(&key);
            self.free.push(i);
        }
        if charge > self.capacity {
            return;
        }
        while self.usage + charge > self.capacity && self.tail != NIL {
            let t = self.tail;
            self.unlink(t);
            self.usage -= self.slots[t].charge;
            let k = self.slots[t].key;
            self.map.remove(&k);
            // Drop the block reference now rather than when the slot is reused.
            self.slots[t].block = empty_block();
            self.free.push(t);
        }
        let entry = Entry {
            key,
            block,
            charge,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = entry;
                i
            }
            None => {
                self.slots.push(entry);
                self.slots.len() - 1
            }
        };
        self.push_front(i);
        self.map.insert(key, i);
        self.usage += charge;
    }
}

fn empty_block() -> Arc<Block> {
    thread_local! {
        static EMPTY: Arc<Block> = Arc::new(Block::new(vec![0, 0, 0, 0, 1, 0, 0, 0]).expect("valid empty block"));
    }
    EMPTY.with(|b| b.clone())
}

pub struct BlockCache {
    shards: Vec<Mutex<Shard>>,
    capacity: usize,
}

impl BlockCache {
    pub fn new(capacity_bytes: usize) -> BlockCache {
        let per = capacity_bytes.div_ceil(SHARDS);
        BlockCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new(per))).collect(),
            capacity: capacity_bytes,
        }
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<Block>> {
        self.shards[shard_of(key)].lock().get(key)
    }

    pub fn insert(&self, key: CacheKey, block: Arc<Block>) {
        let charge = block.size() + 64;
        self.shards[shard_of(&key)]
            .lock()
            .insert(key, block, charge);
    }

    pub fn usage(&self) -> usize {
        self.shards.iter().map(|s| s.lock().usage).sum()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: usize) -> Arc<Block> {
        let mut data = vec![0u8; n.max(8)];
        let len = data.len();
        data[len - 4..].copy_from_slice(&1u32.to_le_bytes());
        Arc::new(Block::new(data).unwrap())
    }

    #[test]
    fn evicts_least_recently_used_within_capacity() {
        let cache = BlockCache::new(SHARDS * 1000);
        // Keys that land in one shard.
        let keys: Vec<CacheKey> = (0..10_000u64)
            .map(|i| (1, i))
            .filter(|k| shard_of(k) == 0)
            .take(4)
            .collect();
        cache.insert(keys[0], block(300));
        cache.insert(keys[1], block(300));
        assert!(cache.get(&keys[0]).is_some()); // keys[1] is now LRU
        cache.insert(keys[2], block(300));
        assert!(cache.get(&keys[1]).is_none());
        assert!(cache.get(&keys[0]).is_some());
        assert!(cache.get(&keys[2]).is_some());
        assert!(cache.usage() <= 1000);
        cache.insert(keys[3], block(5000)); // larger than a shard: not cached
        assert!(cache.get(&keys[3]).is_none());
    }
}
