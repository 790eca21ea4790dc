//! Writes an SSTable from entries in internal-key order: data blocks of about `block_size`
//! bytes, one bloom filter over the table's user keys, a properties block, an index block with
//! the last key of each data block, and the footer. The file is fdatasynced before `finish`
//! returns; callers sync the `sst/` directory before a MANIFEST edit names the file, so an
//! edit never points at data or a directory entry still in the page cache.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::block_builder::BlockBuilder;
use crate::bloom;
use crate::error::{Error, Result};
use crate::key::{self, ValueKind};
use crate::table_format::{
    block_trailer, compress_block, BlockHandle, Compression, Footer, TableProperties,
};
use crate::writeback::Writeback;

#[derive(Debug, Clone, Copy)]
pub struct TableBuildOptions {
    pub block_size: usize,
    pub restart_interval: usize,
    pub compression: Compression,
    /// 0 disables the filter.
    pub bloom_bits_per_key: u32,
}

/// What a finished table holds; becomes a `FileMeta` in the MANIFEST.
#[derive(Debug, Clone)]
pub struct BuiltTable {
    pub file_size: u64,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    pub props: TableProperties,
}

pub struct TableBuilder {
    out: BufWriter<File>,
    path: PathBuf,
    offset: u64,
    opts: TableBuildOptions,
    data: BlockBuilder,
    index: BlockBuilder,
    hashes: Vec<u64>,
    last_user_key: Vec<u8>,
    props: TableProperties,
    smallest: Vec<u8>,
    scratch: Vec<u8>,
    handle_buf: Vec<u8>,
    writeback: Writeback,
}

impl TableBuilder {
    pub fn create(path: &Path, opts: TableBuildOptions) -> Result<TableBuilder> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("create", path, e))?;
        Ok(TableBuilder {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            offset: 0,
            opts,
            data: BlockBuilder::new(opts.restart_interval),
            index: BlockBuilder::new(1),
            hashes: Vec::new(),
            last_user_key: Vec::new(),
            props: TableProperties {
                smallest_seq: u64::MAX,
                ..Default::default()
            },
            smallest: Vec::new(),
            scratch: Vec::new(),
            handle_buf: Vec::new(),
            writeback: Writeback::new(0),
        })
    }

    /// Adds an entry; internal keys must strictly increase.
    pub fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        debug_assert!(
            self.props.entries == 0
                || key::compare(self.data_last_key_or_index(), ikey) == std::cmp::Ordering::Less
        );
        if self.props.entries == 0 {
            self.smallest = ikey.to_vec();
        }
        let user_key = key::user_key(ikey);
        if self.opts.bloom_bits_per_key > 0
            && (self.props.entries == 0 || user_key != self.last_user_key.as_slice())
        {
            self.hashes.push(bloom::key_hash(user_key));
        }
        self.last_user_key.clear();
        self.last_user_key.extend_from_slice(user_key);
        let seq = key::sequence(ikey);
        self.props.smallest_seq = self.props.smallest_seq.min(seq);
        self.props.largest_seq = self.props.largest_seq.max(seq);
        self.props.entries += 1;
        if key::kind(ikey) == Some(ValueKind::Delete) {
            self.props.deletions += 1;
        }
        self.props.raw_key_bytes += ikey.len() as u64;
        self.props.raw_value_bytes += value.len() as u64;

        self.data.add(ikey, value);
        if self.data.estimated_size() >= self.opts.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    fn data_last_key_or_index(&self) -> &[u8] {
        if self.data.is_empty() {
            self.index.last_key()
        } else {
            self.data.last_key()
        }
    }

    fn flush_data_block(&mut self) -> Result<()> {
        if self.data.is_empty() {
            return Ok(());
        }
        let last_key = self.data.last_key().to_vec();
        let raw = self.data.finish();
        let handle = self.write_block(&raw, self.opts.compression)?;
        self.handle_buf.clear();
        handle.encode_varint(&mut self.handle_buf);
        let hb = std::mem::take(&mut self.handle_buf);
        self.index.add(&last_key, &hb);
        self.handle_buf = hb;
        self.props.data_blocks += 1;
        Ok(())
    }

    fn write_block(&mut self, raw: &[u8], compression: Compression) -> Result<BlockHandle> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let used = compress_block(raw, compression, &mut scratch);
        let trailer = block_trailer(&scratch, used);
        let handle = BlockHandle {
            offset: self.offset,
            size: scratch.len() as u64,
        };
        let r = self
            .out
            .write_all(&scratch)
            .and_then(|_| self.out.write_all(&trailer));
        self.scratch = scratch;
        r.map_err(|e| Error::io("write", &self.path, e))?;
        self.offset += handle.size + trailer.len() as u64;
        let on_disk = self.offset - self.out.buffer().len() as u64;
        self.writeback.advance(self.out.get_ref(), on_disk);
        Ok(handle)
    }

    /// Bytes written so far plus the pending block: what the file would be about now.
    pub fn estimated_file_size(&self) -> u64 {
        self.offset + self.data.estimated_size() as u64
    }

    /// Writes filter, properties, index and footer, then fsyncs the file.
    pub fn finish(mut self) -> Result<BuiltTable> {
        self.flush_data_block()?;
        let filter = if self.opts.bloom_bits_per_key > 0 {
            let f = bloom::build(&self.hashes, self.opts.bloom_bits_per_key);
            self.write_block(&f, Compression::None)?
        } else {
            BlockHandle::default()
        };
        if self.props.entries == 0 {
            self.props.smallest_seq = 0;
        }
        let props_raw = self.props.encode();
        let props = self.write_block(&props_raw, Compression::None)?;
        let index_raw = self.index.finish();
        let largest = last_index_key(&index_raw);
        let index = self.write_block(&index_raw, Compression::None)?;
        let footer = Footer {
            filter,
            props,
            index,
        }
        .encode();
        self.out
            .write_all(&footer)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.offset += footer.len() as u64;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io("write", &self.path, e.into_error()))?;
        // fdatasync covers the contents and the length; the directory entry is made durable
        // by the caller (one directory sync per flush, compaction or ingest).
        file.sync_data()
            .map_err(|e| Error::io("fdatasync", &self.path, e))?;
        Ok(BuiltTable {
            file_size: self.offset,
            smallest: self.smallest,
            largest: largest.unwrap_or_default(),
            props: self.props,
        })
    }

    /// Removes the partly written file (used when a flush or compaction fails).
    pub fn abandon(self) {
        let path = self.path.clone();
        drop(self);
        let _ = std::fs::remove_file(path);
    }
}

/// The last key of the finished index block, which is the table's largest internal key.
fn last_index_key(index_raw: &[u8]) -> Option<Vec<u8>> {
    use crate::block::{Block, BlockIter, BlockOrigin};
    use crate::iterator::InternalIterator;
    let block = std::sync::Arc::new(Block::new(index_raw.to_vec()).ok()?);
    let mut it = BlockIter::new(
        block,
        BlockOrigin {
            path: std::sync::Arc::new(PathBuf::new()),
            offset: 0,
        },
        None,
    );
    it.seek_to_last();
    it.valid().then(|| it.key().to_vec())
}
