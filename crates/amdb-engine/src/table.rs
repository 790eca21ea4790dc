//! Opens an SSTable and serves point lookups and iteration. The index (parsed into flat
//! arrays at open) and the filter stay in memory for the table's lifetime; data blocks go
//! through the shared block cache.

use std::cmp::Ordering;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use crate::block::{Block, BlockIter, BlockOrigin};
use crate::bloom::BloomFilter;
use crate::cache::BlockCache;
use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{self, ValueKind};
use crate::memtable::Lookup;
use crate::stats::Counters;
use crate::table_format::{read_block, BlockHandle, Footer, TableProperties, FOOTER_LEN};

/// The index block decoded once: the last internal key of each data block (with the global
/// sequence applied for ingested tables) and the block's handle. Lookups binary-search it
/// without decoding anything.
struct Index {
    keys: Vec<u8>,
    /// `keys[ends[i-1]..ends[i]]` is entry i's key.
    ends: Vec<usize>,
    handles: Vec<BlockHandle>,
}

impl Index {
    fn parse(block: Block, origin: BlockOrigin, global_seq: Option<u64>) -> Result<Index> {
        let mut it = BlockIter::new(Arc::new(block), origin.clone(), global_seq);
        let mut index = Index {
            keys: Vec::new(),
            ends: Vec::new(),
            handles: Vec::new(),
        };
        it.seek_to_first();
        while it.valid() {
            let handle = BlockHandle::decode_varint(it.value()).ok_or_else(|| {
                Error::corruption(
                    origin.path.as_ref().clone(),
                    origin.offset,
                    "bad block handle in index",
                )
            })?;
            if let Some(prev) = index.len().checked_sub(1) {
                if key::compare(index.key(prev), it.key()) != Ordering::Less {
                    return Err(Error::corruption(
                        origin.path.as_ref().clone(),
                        origin.offset,
                        "index keys out of order",
                    ));
                }
            }
            index.keys.extend_from_slice(it.key());
            index.ends.push(index.keys.len());
            index.handles.push(handle);
            it.next();
        }
        it.status()?;
        Ok(index)
    }

    fn len(&self) -> usize {
        self.handles.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.keys[start..self.ends[i]]
    }

    /// The first block whose last key is >= `target`: the only block that can hold the first
    /// entry >= `target`. `len()` if there is none.
    fn find(&self, target: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key::compare(self.key(mid), target) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

pub struct Table {
    file: File,
    path: Arc<PathBuf>,
    number: u64,
    file_size: u64,
    index: Index,
    filter: Option<BloomFilter>,
    global_seq: Option<u64>,
    cache: Arc<BlockCache>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("size", &self.file_size)
            .finish()
    }
}

impl Table {
    /// Opens and verifies footer, index, filter and properties. `expected_size` is what the
    /// MANIFEST recorded; a shorter file is reported as truncated.
    pub fn open(
        path: PathBuf,
        number: u64,
        expected_size: Option<u64>,
        global_seq: Option<u64>,
        cache: Arc<BlockCache>,
        counters: Arc<Counters>,
    ) -> Result<Table> {
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingFile {
                path: path.clone(),
                reason: "table listed in the MANIFEST does not exist".into(),
            },
            _ => Error::io("open", &path, e),
        })?;
        let actual = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, e))?
            .len();
        if let Some(expected) = expected_size {
            if actual != expected {
                return Err(Error::corruption(
                    &path,
                    actual.min(expected),
                    format!("table is {actual} bytes but the MANIFEST records {expected} (truncated or overwritten)"),
                ));
            }
        }
        if actual < FOOTER_LEN as u64 {
            return Err(Error::corruption(
                &path,
                0,
                format!("table of {actual} bytes is too short for a footer"),
            ));
        }
        let footer_at = actual - FOOTER_LEN as u64;
        let mut fb = [0u8; FOOTER_LEN];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut fb, footer_at)
            .map_err(|e| Error::io("read", &path, e))?;
        let footer = Footer::decode(&fb).map_err(|r| Error::corruption(&path, footer_at, r))?;

        let path = Arc::new(path);
        let index_raw = read_block(&file, &path, footer.index, actual)?;
        let index_block = Block::new(index_raw)
            .map_err(|r| Error::corruption(path.as_ref(), footer.index.offset, r))?;
        let index = Index::parse(
            index_block,
            BlockOrigin {
                path: path.clone(),
                offset: footer.index.offset,
            },
            global_seq,
        )?;
        let filter = if footer.filter.size > 0 {
            let raw = read_block(&file, &path, footer.filter, actual)?;
            Some(BloomFilter::new(raw).ok_or_else(|| {
                Error::corruption(
                    path.as_ref(),
                    footer.filter.offset,
                    "malformed bloom filter",
                )
            })?)
        } else {
            None
        };
        // Properties are validated at open so a damaged table fails early, not mid-query.
        let props_raw = read_block(&file, &path, footer.props, actual)?;
        TableProperties::decode(&props_raw).ok_or_else(|| {
            Error::corruption(
                path.as_ref(),
                footer.props.offset,
                "malformed properties block",
            )
        })?;
        Ok(Table {
            file,
            path,
            number,
            file_size: actual,
            index,
            filter,
            global_seq,
            cache,
            counters,
        })
    }

    fn origin(&self, offset: u64) -> BlockOrigin {
        BlockOrigin {
            path: self.path.clone(),
            offset,
        }
    }

    /// The data block at `handle`, from the cache or the file; a block read from the file is
    /// cached only with `fill_cache` (bulk reads skip it so they do not evict hot blocks).
    fn data_block(&self, handle: BlockHandle, fill_cache: bool) -> Result<Arc<Block>> {
        let key = (self.number, handle.offset);
        if let Some(b) = self.cache.get(&key) {
            self.counters.add(&self.counters.block_cache_hits, 1);
            return Ok(b);
        }
        self.counters.add(&self.counters.block_cache_misses, 1);
        let raw = read_block(&self.file, &self.path, handle, self.file_size)?;
        let block = Arc::new(
            Block::new(raw).map_err(|r| Error::corruption(self.path.as_ref(), handle.offset, r))?,
        );
        if fill_cache {
            self.cache.insert(key, block.clone());
        }
        Ok(block)
    }

    /// Whether the filter allows `hash` (always true without a filter).
    pub fn may_contain(&self, hash: u64) -> bool {
        match &self.filter {
            None => true,
            Some(f) => {
                self.counters.add(&self.counters.bloom_checked, 1);
                let may = f.may_contain(hash);
                if !may {
                    self.counters.add(&self.counters.bloom_useful, 1);
                }
                may
            }
        }
    }

    /// Newest version of `user_key` visible at the sequence inside `lookup` (an internal key).
    pub fn get(
        &self,
        lookup: &[u8],
        user_key: &[u8],
        hash: u64,
        fill_cache: bool,
    ) -> Result<Option<Lookup>> {
        if !self.may_contain(hash) {
            return Ok(None);
        }
        let i = self.index.find(lookup);
        if i == self.index.len() {
            return Ok(None);
        }
        let handle = self.index.handles[i];
        let block = self.data_block(handle, fill_cache)?;
        let mut it = BlockIter::new(block, self.origin(handle.offset), self.global_seq);
        it.seek(lookup);
        if !it.valid() {
            it.status()?;
            return Ok(None);
        }
        if key::user_key(it.key()) != user_key {
            return Ok(None);
        }
        Ok(Some(match key::kind(it.key()) {
            Some(ValueKind::Put) => Lookup::Value(it.value().to_vec()),
            _ => Lookup::Deleted,
        }))
    }

    /// An iterator over the table; blocks it reads from the file enter the block cache only
    /// with `fill_cache` (compaction reads every block once and passes false, so it does
    /// not evict what readers use, nor grow the cache while writes are all that runs).
    pub fn iter(self: &Arc<Self>, fill_cache: bool) -> TableIter {
        TableIter {
            pos: self.index.len(),
            data: None,
            table: self.clone(),
            err: None,
            fill_cache,
        }
    }
}

/// Two-level iterator: a position in the index picks a data block, a block iterator walks it.
pub struct TableIter {
    table: Arc<Table>,
    /// Index position of `data`; `index.len()` when there is none.
    pos: usize,
    data: Option<BlockIter>,
    err: Option<Error>,
    fill_cache: bool,
}

impl TableIter {
    /// Loads the data block at index position `pos` (or clears it past either end).
    fn load(&mut self, pos: usize) {
        let n = self.table.index.len();
        if pos >= n {
            self.pos = n;
            self.data = None;
            return;
        }
        if self.pos == pos && self.data.is_some() {
            return;
        }
        let handle = self.table.index.handles[pos];
        match self.table.data_block(handle, self.fill_cache) {
            Ok(block) => {
                self.data = Some(BlockIter::new(
                    block,
                    self.table.origin(handle.offset),
                    self.table.global_seq,
                ));
                self.pos = pos;
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: Error) {
        if self.err.is_none() {
            self.err = Some(e);
        }
        self.data = None;
        self.pos = self.table.index.len();
    }

    fn data_valid(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.valid())
    }

    /// True (and recorded) if the current block failed to decode.
    fn data_failed(&mut self) -> bool {
        if let Some(Err(e)) = self.data.as_ref().map(|d| d.status()) {
            self.fail(e);
            return true;
        }
        false
    }

    fn skip_empty_forward(&mut self) {
        while !self.data_valid() {
            if self.err.is_some() || self.data_failed() || self.data.is_none() {
                self.data = None;
                return;
            }
            let next = self.pos + 1;
            self.load(next);
            if let Some(d) = &mut self.data {
                d.seek_to_first();
            }
        }
    }

    fn skip_empty_backward(&mut self) {
        while !self.data_valid() {
            if self.err.is_some() || self.data_failed() || self.data.is_none() || self.pos == 0 {
                self.data = None;
                self.pos = self.table.index.len();
                return;
            }
            let prev = self.pos - 1;
            self.load(prev);
            if let Some(d) = &mut self.data {
                d.seek_to_last();
            }
        }
    }
}

impl InternalIterator for TableIter {
    fn valid(&self) -> bool {
        self.err.is_none() && self.data_valid()
    }

    fn seek_to_first(&mut self) {
        self.err = None;
        self.load(0);
        if let Some(d) = &mut self.data {
            d.seek_to_first();
        }
        self.skip_empty_forward();
    }

    fn seek_to_last(&mut self) {
        self.err = None;
        let n = self.table.index.len();
        self.load(n.saturating_sub(1));
        if let Some(d) = &mut self.data {
            d.seek_to_last();
        }
        self.skip_empty_backward();
    }

    fn seek(&mut self, target: &[u8]) {
        self.err = None;
        let pos = self.table.index.find(target);
        self.load(pos);
        if let Some(d) = &mut self.data {
            d.seek(target);
        }
        self.skip_empty_forward();
    }

    fn next(&mut self) {
        if let Some(d) = &mut self.data {
            d.next();
        }
        self.skip_empty_forward();
    }

    fn prev(&mut self) {
        if let Some(d) = &mut self.data {
            d.prev();
        }
        self.skip_empty_backward();
    }

    fn key(&self) -> &[u8] {
        self.data.as_ref().expect("valid iterator").key()
    }

    fn value(&self) -> &[u8] {
        self.data.as_ref().expect("valid iterator").value()
    }

    fn status(&self) -> Result<()> {
        if let Some(e) = &self.err {
            return Err(e.duplicate());
        }
        if let Some(d) = &self.data {
            d.status()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{lookup_key, make_internal_key};
    use crate::table_builder::{TableBuildOptions, TableBuilder};
    use crate::table_format::Compression;
    use std::path::Path;

    fn build(dir: &Path, n: u32, compression: Compression) -> (PathBuf, u64) {
        let path = dir.join("000001.sst");
        let mut b = TableBuilder::create(
            &path,
            TableBuildOptions {
                block_size: 512,
                restart_interval: 16,
                compression,
                bloom_bits_per_key: 10,
            },
        )
        .unwrap();
        for i in 0..n {
            let k = make_internal_key(
                format!("key{i:06}").as_bytes(),
                100 + i as u64,
                if i % 10 == 9 {
                    ValueKind::Delete
                } else {
                    ValueKind::Put
                },
            );
            b.add(&k, format!("value{i}-{}", "x".repeat(50)).as_bytes())
                .unwrap();
        }
        let built = b.finish().unwrap();
        assert_eq!(built.props.entries, n as u64);
        assert_eq!(
            key::user_key(&built.largest),
            format!("key{:06}", n - 1).as_bytes()
        );
        (path, built.file_size)
    }

    fn open(path: PathBuf, size: u64) -> Result<Arc<Table>> {
        Table::open(
            path,
            1,
            Some(size),
            None,
            Arc::new(BlockCache::new(1 << 20)),
            Arc::new(Counters::default()),
        )
        .map(Arc::new)
    }

    #[test]
    fn get_and_iterate_compressed_and_plain() {
        for c in [Compression::Lz4, Compression::None] {
            let dir = tempfile::tempdir().unwrap();
            let (path, size) = build(dir.path(), 2000, c);
            let t = open(path, size).unwrap();
            for i in [0u32, 1, 999, 1999] {
                let uk = format!("key{i:06}");
                let got = t
                    .get(
                        &lookup_key(uk.as_bytes(), u64::MAX >> 8),
                        uk.as_bytes(),
                        crate::bloom::key_hash(uk.as_bytes()),
                        true,
                    )
                    .unwrap();
                let expect = if i % 10 == 9 {
                    Some(Lookup::Deleted)
                } else {
                    Some(Lookup::Value(
                        format!("value{i}-{}", "x".repeat(50)).into_bytes(),
                    ))
                };
                assert_eq!(got, expect);
                // Invisible to an older snapshot.
                let old = t
                    .get(
                        &lookup_key(uk.as_bytes(), 99),
                        uk.as_bytes(),
                        crate::bloom::key_hash(uk.as_bytes()),
                        true,
                    )
                    .unwrap();
                assert_eq!(old, None);
            }
            let mut it = t.iter(true);
            it.seek_to_first();
            let mut n = 0;
            while it.valid() {
                n += 1;
                it.next();
            }
            assert_eq!(n, 2000);
            it.seek_to_last();
            let mut m = 0;
            while it.valid() {
                m += 1;
                it.prev();
            }
            assert_eq!(m, 2000);
            it.status().unwrap();
        }
    }

    #[test]
    fn flipped_byte_in_a_data_block_names_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (path, size) = build(dir.path(), 2000, Compression::Lz4);
        let mut data = std::fs::read(&path).unwrap();
        data[700] ^= 0x01;
        std::fs::write(&path, &data).unwrap();
        let t = open(path.clone(), size).unwrap();
        let mut it = t.iter(true);
        it.seek_to_first();
        while it.valid() {
            it.next();
        }
        match it.status() {
            Err(Error::Corruption {
                path: p,
                offset,
                reason,
            }) => {
                assert_eq!(p, path);
                assert!(offset <= 700, "offset {offset}");
                assert!(reason.contains("checksum"), "{reason}");
            }
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn truncated_table_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (path, size) = build(dir.path(), 100, Compression::Lz4);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(size - 10).unwrap();
        match open(path.clone(), size) {
            Err(Error::Corruption {
                path: p, reason, ..
            }) => {
                assert_eq!(p, path);
                assert!(reason.contains("truncated"), "{reason}");
            }
            other => panic!("expected corruption, got {other:?}"),
        }
        // Without the MANIFEST's size, the footer check catches it.
        assert!(matches!(
            Table::open(
                path,
                1,
                None,
                None,
                Arc::new(BlockCache::new(1024)),
                Arc::new(Counters::default())
            ),
            Err(Error::Corruption { .. })
        ));
    }
}
