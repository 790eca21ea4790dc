//! Opens an SSTable and serves point lookups and iteration. The index and filter stay in
//! memory for the table's lifetime; data blocks go through the shared block cache.

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

pub struct Table {
    file: File,
    path: Arc<PathBuf>,
    number: u64,
    file_size: u64,
    index: Arc<Block>,
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

        let index_raw = read_block(&file, &path, footer.index, actual)?;
        let index =
            Block::new(index_raw).map_err(|r| Error::corruption(&path, footer.index.offset, r))?;
        let filter = if footer.filter.size > 0 {
            let raw = read_block(&file, &path, footer.filter, actual)?;
            Some(BloomFilter::new(raw).ok_or_else(|| {
                Error::corruption(&path, footer.filter.offset, "malformed bloom filter")
            })?)
        } else {
            None
        };
        // Properties are validated at open so a damaged table fails early, not mid-query.
        let props_raw = read_block(&file, &path, footer.props, actual)?;
        TableProperties::decode(&props_raw).ok_or_else(|| {
            Error::corruption(&path, footer.props.offset, "malformed properties block")
        })?;
        Ok(Table {
            file,
            path: Arc::new(path),
            number,
            file_size: actual,
            index: Arc::new(index),
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

    fn index_iter(&self) -> BlockIter {
        BlockIter::new(
            self.index.clone(),
            self.origin(self.file_size - FOOTER_LEN as u64),
            self.global_seq,
        )
    }

    fn data_block(&self, handle: BlockHandle) -> Result<Arc<Block>> {
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
        self.cache.insert(key, block.clone());
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
    pub fn get(&self, lookup: &[u8], user_key: &[u8], hash: u64) -> Result<Option<Lookup>> {
        if !self.may_contain(hash) {
            return Ok(None);
        }
        let mut idx = self.index_iter();
        idx.seek(lookup);
        if !idx.valid() {
            idx.status()?;
            return Ok(None);
        }
        let handle = self.decode_handle(idx.value())?;
        let block = self.data_block(handle)?;
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
            Some(ValueKind::Delete) => Lookup::Deleted,
            None => {
                return Err(Error::corruption(
                    self.path.as_ref(),
                    handle.offset,
                    "entry with unknown value kind",
                ))
            }
        }))
    }

    fn decode_handle(&self, v: &[u8]) -> Result<BlockHandle> {
        BlockHandle::decode_varint(v).ok_or_else(|| {
            Error::corruption(
                self.path.as_ref(),
                self.file_size - FOOTER_LEN as u64,
                "bad block handle in index",
            )
        })
    }

    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter {
            index: self.index_iter(),
            data: None,
            data_offset: u64::MAX,
            table: self.clone(),
            err: None,
        }
    }
}

/// Two-level iterator: the index picks a data block, the block iterator walks it.
pub struct TableIter {
    table: Arc<Table>,
    index: BlockIter,
    data: Option<BlockIter>,
    data_offset: u64,
    err: Option<Error>,
}

impl TableIter {
    fn load_data_block(&mut self) {
        if !self.index.valid() {
            self.data = None;
            return;
        }
        let handle = match self.table.decode_handle(self.index.value()) {
            Ok(h) => h,
            Err(e) => return self.fail(e),
        };
        if self.data.is_some() && self.data_offset == handle.offset {
            return;
        }
        match self.table.data_block(handle) {
            Ok(block) => {
                self.data = Some(BlockIter::new(
                    block,
                    self.table.origin(handle.offset),
                    self.table.global_seq,
                ));
                self.data_offset = handle.offset;
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: Error) {
        if self.err.is_none() {
            self.err = Some(e);
        }
        self.data = None;
    }

    fn data_valid(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.valid())
    }

    fn check_data_error(&mut self) -> bool {
        if let Some(d) = &self.data {
            if let Err(e) = d.status() {
                self.fail(e);
                return true;
            }
        }
        false
    }

    fn skip_empty_forward(&mut self) {
        while !self.data_valid() {
            if self.err.is_some() || self.check_data_error() || !self.index.valid() {
                self.data = None;
                return;
            }
            self.index.next();
            self.load_data_block();
            if let Some(d) = &mut self.data {
                d.seek_to_first();
            }
        }
    }

    fn skip_empty_backward(&mut self) {
        while !self.data_valid() {
            if self.err.is_some() || self.check_data_error() || !self.index.valid() {
                self.data = None;
                return;
            }
            self.index.prev();
            self.load_data_block();
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
        self.index.seek_to_first();
        self.load_data_block();
        if let Some(d) = &mut self.data {
            d.seek_to_first();
        }
        self.skip_empty_forward();
    }

    fn seek_to_last(&mut self) {
        self.err = None;
        self.index.seek_to_last();
        self.load_data_block();
        if let Some(d) = &mut self.data {
            d.seek_to_last();
        }
        self.skip_empty_backward();
    }

    fn seek(&mut self, target: &[u8]) {
        self.err = None;
        self.index.seek(target);
        self.load_data_block();
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
        self.index.status()?;
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
                    )
                    .unwrap();
                assert_eq!(old, None);
            }
            let mut it = t.iter();
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
        let mut it = t.iter();
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
