//! Reads a block built by `BlockBuilder` and iterates it in both directions.

use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;

use crate::coding::{decode_fixed32, get_varint32};
use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key;

/// A block's contents with its restart array located. Immutable and shared through the cache.
pub struct Block {
    data: Vec<u8>,
    restarts_offset: usize,
    num_restarts: usize,
}

impl Block {
    /// Validates the restart array; `Err` carries a reason for a corruption error.
    pub fn new(data: Vec<u8>) -> std::result::Result<Block, &'static str> {
        if data.len() < 4 {
            return Err("block too short for its restart count");
        }
        let num_restarts = decode_fixed32(&data[data.len() - 4..]) as usize;
        let array = num_restarts
            .checked_mul(4)
            .and_then(|n| n.checked_add(4))
            .ok_or("restart count overflows")?;
        if num_restarts == 0 || array > data.len() {
            return Err("restart array does not fit the block");
        }
        Ok(Block {
            restarts_offset: data.len() - array,
            num_restarts,
            data,
        })
    }

    pub fn size(&self) -> usize {
        self.data.len()
    }

    fn restart_point(&self, i: usize) -> usize {
        decode_fixed32(&self.data[self.restarts_offset + i * 4..]) as usize
    }
}

/// Where a block came from, so decode errors can name file and offset.
#[derive(Clone)]
pub struct BlockOrigin {
    pub path: Arc<PathBuf>,
    pub offset: u64,
}

/// Bidirectional iterator over one block. Keys are internal keys unless `internal == false`
/// (not used yet); comparisons use `key::compare`.
pub struct BlockIter {
    block: Arc<Block>,
    origin: BlockOrigin,
    /// Offset of the current entry; `restarts_offset` when invalid.
    current: usize,
    next_offset: usize,
    restart_index: usize,
    key: Vec<u8>,
    value: (usize, usize),
    /// For ingested tables: every key reads back with this sequence.
    global_seq: Option<u64>,
    patched: Vec<u8>,
    err: Option<String>,
}

struct EntryHeader {
    shared: usize,
    unshared: usize,
    value_len: usize,
    header_len: usize,
}

impl BlockIter {
    pub fn new(block: Arc<Block>, origin: BlockOrigin, global_seq: Option<u64>) -> BlockIter {
        let end = block.restarts_offset;
        BlockIter {
            block,
            origin,
            current: end,
            next_offset: end,
            restart_index: 0,
            key: Vec::new(),
            value: (0, 0),
            global_seq,
            patched: Vec::new(),
            err: None,
        }
    }

    fn decode_header(&self, at: usize) -> Option<EntryHeader> {
        let limit = self.block.restarts_offset;
        let d = self.block.data.get(at..limit)?;
        let (shared, n1) = get_varint32(d)?;
        let (unshared, n2) = get_varint32(&d[n1..])?;
        let (value_len, n3) = get_varint32(&d[n1 + n2..])?;
        let h = EntryHeader {
            shared: shared as usize,
            unshared: unshared as usize,
            value_len: value_len as usize,
            header_len: n1 + n2 + n3,
        };
        if h.header_len + h.unshared + h.value_len > d.len() {
            return None;
        }
        Some(h)
    }

    fn corrupt(&mut self, what: &str) {
        self.err = Some(format!("{what} at entry offset {}", self.current));
        self.current = self.block.restarts_offset;
        self.next_offset = self.block.restarts_offset;
    }

    /// Decodes the entry at `next_offset`, building on the current key. False at the end.
    fn parse_next(&mut self) -> bool {
        self.current = self.next_offset;
        if self.current >= self.block.restarts_offset {
            self.current = self.block.restarts_offset;
            self.restart_index = self.block.num_restarts;
            return false;
        }
        let Some(h) = self.decode_header(self.current) else {
            self.corrupt("bad block entry");
            return false;
        };
        if h.shared > self.key.len() {
            self.corrupt("bad shared key length");
            return false;
        }
        let kstart = self.current + h.header_len;
        self.key.truncate(h.shared);
        self.key
            .extend_from_slice(&self.block.data[kstart..kstart + h.unshared]);
        if !key::is_valid(&self.key) {
            self.corrupt("malformed internal key");
            return false;
        }
        let vstart = kstart + h.unshared;
        self.value = (vstart, vstart + h.value_len);
        self.next_offset = vstart + h.value_len;
        while self.restart_index + 1 < self.block.num_restarts
            && self.block.restart_point(self.restart_index + 1) < self.current
        {
            self.restart_index += 1;
        }
        if let Some(seq) = self.global_seq {
            self.patched.clear();
            self.patched.extend_from_slice(&self.key);
            key::set_sequence(&mut self.patched, seq);
        }
        true
    }

    fn seek_to_restart(&mut self, index: usize) {
        self.key.clear();
        self.restart_index = index;
        self.next_offset = self.block.restart_point(index);
    }

    /// The full key stored at restart `index` (restart entries share nothing).
    fn restart_key(&self, index: usize) -> Option<&[u8]> {
        let at = self.block.restart_point(index);
        let h = self.decode_header(at)?;
        if h.shared != 0 {
            return None;
        }
        let s = at + h.header_len;
        Some(&self.block.data[s..s + h.unshared])
    }

    fn compare_patched(&self, stored: &[u8], target: &[u8]) -> Ordering {
        match self.global_seq {
            None => key::compare(stored, target),
            Some(seq) => {
                let mut k = stored.to_vec();
                key::set_sequence(&mut k, seq);
                key::compare(&k, target)
            }
        }
    }
}

impl InternalIterator for BlockIter {
    fn valid(&self) -> bool {
        self.current < self.block.restarts_offset
    }

    fn seek_to_first(&mut self) {
        self.seek_to_restart(0);
        self.parse_next();
    }

    fn seek_to_last(&mut self) {
        self.seek_to_restart(self.block.num_restarts - 1);
        while self.parse_next() && self.next_offset < self.block.restarts_offset {}
    }

    fn seek(&mut self, target: &[u8]) {
        // Binary search for the last restart whose key is < target.
        let (mut left, mut right) = (0usize, self.block.num_restarts - 1);
        while left < right {
            let mid = (left + right).div_ceil(2);
            let Some(k) = self.restart_key(mid) else {
                self.corrupt("bad restart entry");
                return;
            };
            if k.len() < 8 {
                self.corrupt("internal key shorter than its trailer");
                return;
            }
            if self.compare_patched(k, target) == Ordering::Less {
                left = mid;
            } else {
                right = mid - 1;
            }
        }
        self.seek_to_restart(left);
        while self.parse_next() {
            if key::compare(self.key(), target) != Ordering::Less {
                return;
            }
        }
    }

    fn next(&mut self) {
        debug_assert!(self.valid());
        self.parse_next();
    }

    fn prev(&mut self) {
        debug_assert!(self.valid());
        let original = self.current;
        while self.block.restart_point(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.current = self.block.restarts_offset;
                self.next_offset = self.block.restarts_offset;
                self.restart_index = self.block.num_restarts;
                return;
            }
            self.restart_index -= 1;
        }
        let start = self.restart_index;
        self.seek_to_restart(start);
        while self.parse_next() && self.next_offset < original {}
    }

    fn key(&self) -> &[u8] {
        if self.global_seq.is_some() {
            &self.patched
        } else {
            &self.key
        }
    }

    fn value(&self) -> &[u8] {
        &self.block.data[self.value.0..self.value.1]
    }

    fn status(&self) -> Result<()> {
        match &self.err {
            None => Ok(()),
            Some(reason) => Err(Error::corruption(
                self.origin.path.as_ref().clone(),
                self.origin.offset,
                reason.clone(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_builder::BlockBuilder;
    use crate::key::{make_internal_key, ValueKind};

    fn build(n: usize, interval: usize) -> (Arc<Block>, Vec<Vec<u8>>) {
        let mut b = BlockBuilder::new(interval);
        let mut keys = vec![];
        for i in 0..n {
            let k = make_internal_key(format!("key{:04}", i * 3).as_bytes(), 9, ValueKind::Put);
            b.add(&k, format!("v{i}").as_bytes());
            keys.push(k);
        }
        (Arc::new(Block::new(b.finish()).unwrap()), keys)
    }

    fn origin() -> BlockOrigin {
        BlockOrigin {
            path: Arc::new(PathBuf::from("t.sst")),
            offset: 0,
        }
    }

    #[test]
    fn forward_backward_and_seek() {
        for interval in [1, 3, 16] {
            let (block, keys) = build(100, interval);
            let mut it = BlockIter::new(block, origin(), None);
            it.seek_to_first();
            for k in &keys {
                assert_eq!(it.key(), &k[..]);
                it.next();
            }
            assert!(!it.valid());
            it.seek_to_last();
            for k in keys.iter().rev() {
                assert_eq!(it.key(), &k[..]);
                it.prev();
            }
            assert!(!it.valid());
            // Seek between keys lands on the next one.
            it.seek(&make_internal_key(b"key0100", 9, ValueKind::Put));
            assert_eq!(crate::key::user_key(it.key()), b"key0102");
            it.seek(&make_internal_key(b"zzz", 9, ValueKind::Put));
            assert!(!it.valid());
            it.status().unwrap();
        }
    }

    #[test]
    fn global_sequence_is_applied() {
        let (block, _) = build(10, 4);
        let mut it = BlockIter::new(block, origin(), Some(500));
        it.seek(&crate::key::lookup_key(b"key0003", 600));
        assert_eq!(crate::key::user_key(it.key()), b"key0003");
        assert_eq!(crate::key::sequence(it.key()), 500);
        // A snapshot older than the ingest does not see the entry.
        it.seek(&crate::key::lookup_key(b"key0003", 400));
        assert_eq!(crate::key::user_key(it.key()), b"key0006");
    }

    #[test]
    fn garbage_block_is_rejected() {
        assert!(Block::new(vec![1, 2]).is_err());
        assert!(Block::new(vec![0, 0, 0, 0]).is_err());
        assert!(Block::new(vec![255, 0, 0, 0]).is_err());
    }
}
