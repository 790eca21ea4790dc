//! Pieces of the SSTable format shared by the builder and the reader (docs/formats.md,
//! "SSTable"): block handles, the block trailer, compression, properties and the footer.
//!
//! ```text
//! table   := data_block* filter_block? props_block index_block footer
//! block   := contents trailer
//! trailer := compression:u8 masked_crc32c:u32le        (CRC over contents ‖ compression)
//! footer  := filter:handle64 props:handle64 index:handle64 version:u32le crc:u32le magic:u64le
//! handle64:= offset:u64le size:u64le                   (size excludes the trailer)
//! ```

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::coding::{self, decode_fixed32, decode_fixed64, Decoder};
use crate::error::{Error, Result};

pub const BLOCK_TRAILER_LEN: usize = 5;
pub const FOOTER_LEN: usize = 64;
pub const TABLE_MAGIC: u64 = 0x3154_5353_4244_4d41; // "AMDBSST1" little-endian
pub const TABLE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    None,
    #[default]
    Lz4,
}

impl Compression {
    pub fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Lz4 => 1,
        }
    }
    pub fn from_code(c: u8) -> Option<Compression> {
        match c {
            0 => Some(Compression::None),
            1 => Some(Compression::Lz4),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    pub fn encode_varint(&self, dst: &mut Vec<u8>) {
        coding::put_varint64(dst, self.offset);
        coding::put_varint64(dst, self.size);
    }
    pub fn decode_varint(src: &[u8]) -> Option<BlockHandle> {
        let mut d = Decoder::new(src);
        Some(BlockHandle {
            offset: d.varint64()?,
            size: d.varint64()?,
        })
    }
}

/// Compresses `raw` if that saves at least an eighth; returns the stored contents and type.
/// LZ4 contents are `uncompressed_len:varint32 lz4_block`.
pub fn compress_block(raw: &[u8], compression: Compression, scratch: &mut Vec<u8>) -> Compression {
    scratch.clear();
    if compression == Compression::Lz4 {
        coding::put_varint32(scratch, raw.len() as u32);
        let header = scratch.len();
        scratch.resize(
            header + lz4_flex::block::get_maximum_output_size(raw.len()),
            0,
        );
        if let Ok(n) = lz4_flex::block::compress_into(raw, &mut scratch[header..]) {
            scratch.truncate(header + n);
            if scratch.len() < raw.len() - raw.len() / 8 {
                return Compression::Lz4;
            }
        }
    }
    scratch.clear();
    scratch.extend_from_slice(raw);
    Compression::None
}

pub fn block_trailer(contents: &[u8], compression: Compression) -> [u8; BLOCK_TRAILER_LEN] {
    let code = compression.code();
    let crc = crc32c::crc32c_append(crc32c::crc32c(contents), &[code]);
    let mut t = [0u8; BLOCK_TRAILER_LEN];
    t[0] = code;
    t[1..].copy_from_slice(&coding::mask_crc(crc).to_le_bytes());
    t
}

/// Reads, verifies and decompresses the block at `handle`.
pub fn read_block(
    file: &File,
    path: &Path,
    handle: BlockHandle,
    file_size: u64,
) -> Result<Vec<u8>> {
    let end = handle
        .offset
        .checked_add(handle.size)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_LEN as u64));
    match end {
        Some(e) if e <= file_size => {}
        _ => {
            return Err(Error::corruption(
                path,
                handle.offset,
                format!(
                    "block of {} bytes extends past end of file ({file_size} bytes)",
                    handle.size
                ),
            ))
        }
    }
    let mut buf = vec![0u8; handle.size as usize + BLOCK_TRAILER_LEN];
    file.read_exact_at(&mut buf, handle.offset)
        .map_err(|e| Error::io("read", path, e))?;
    let n = handle.size as usize;
    let code = buf[n];
    let stored = decode_fixed32(&buf[n + 1..]);
    let actual = coding::mask_crc(crc32c::crc32c(&buf[..n + 1]));
    if stored != actual {
        return Err(Error::corruption(
            path,
            handle.offset,
            "block checksum mismatch",
        ));
    }
    match Compression::from_code(code) {
        Some(Compression::None) => {
            buf.truncate(n);
            Ok(buf)
        }
        Some(Compression::Lz4) => {
            let mut d = Decoder::new(&buf[..n]);
            let raw_len = d
                .varint32()
                .ok_or_else(|| Error::corruption(path, handle.offset, "bad uncompressed length"))?
                as usize;
            // LZ4 expands at most about 255:1; a larger claim is damage, not a reason to
            // allocate gigabytes.
            if raw_len > d.remaining().len().saturating_mul(255) + 64 {
                return Err(Error::corruption(
                    path,
                    handle.offset,
                    format!("implausible uncompressed length {raw_len}"),
                ));
            }
            lz4_flex::block::decompress(d.remaining(), raw_len)
                .map_err(|e| Error::corruption(path, handle.offset, format!("lz4: {e}")))
        }
        None => Err(Error::corruption(
            path,
            handle.offset,
            format!("unknown compression type {code}"),
        )),
    }
}

/// Per-table statistics stored in the props block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableProperties {
    pub entries: u64,
    pub deletions: u64,
    pub raw_key_bytes: u64,
    pub raw_value_bytes: u64,
    pub data_blocks: u64,
    pub smallest_seq: u64,
    pub largest_seq: u64,
}

impl TableProperties {
    /// `count:varint32 field:varint64*`, fields in declaration order; readers ignore fields
    /// beyond those they know, so later versions can append.
    pub fn encode(&self) -> Vec<u8> {
        let fields = [
            self.entries,
            self.deletions,
            self.raw_key_bytes,
            self.raw_value_bytes,
            self.data_blocks,
            self.smallest_seq,
            self.largest_seq,
        ];
        let mut out = Vec::new();
        coding::put_varint32(&mut out, fields.len() as u32);
        for f in fields {
            coding::put_varint64(&mut out, f);
        }
        out
    }

    pub fn decode(src: &[u8]) -> Option<TableProperties> {
        let mut d = Decoder::new(src);
        let n = d.varint32()?;
        let mut f = [0u64; 7];
        if (n as usize) < f.len() {
            return None;
        }
        for slot in f.iter_mut() {
            *slot = d.varint64()?;
        }
        Some(TableProperties {
            entries: f[0],
            deletions: f[1],
            raw_key_bytes: f[2],
            raw_value_bytes: f[3],
            data_blocks: f[4],
            smallest_seq: f[5],
            largest_seq: f[6],
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Size 0 when the table has no filter.
    pub filter: BlockHandle,
    pub props: BlockHandle,
    pub index: BlockHandle,
}

impl Footer {
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut v = Vec::with_capacity(FOOTER_LEN);
        for h in [self.filter, self.props, self.index] {
            coding::put_fixed64(&mut v, h.offset);
            coding::put_fixed64(&mut v, h.size);
        }
        coding::put_fixed32(&mut v, TABLE_FORMAT_VERSION);
        let crc = coding::mask_crc(crc32c::crc32c(&v));
        coding::put_fixed32(&mut v, crc);
        coding::put_fixed64(&mut v, TABLE_MAGIC);
        v.try_into().expect("footer is 64 bytes")
    }

    /// Decodes and checks the footer; `Err` holds the reason for a corruption error.
    pub fn decode(b: &[u8]) -> std::result::Result<Footer, String> {
        if b.len() != FOOTER_LEN {
            return Err("footer has the wrong length".into());
        }
        if decode_fixed64(&b[56..]) != TABLE_MAGIC {
            return Err("bad table magic number (not an AmDb SSTable, or truncated)".into());
        }
        let stored = decode_fixed32(&b[52..]);
        if coding::mask_crc(crc32c::crc32c(&b[..52])) != stored {
            return Err("footer checksum mismatch".into());
        }
        let version = decode_fixed32(&b[48..]);
        if version != TABLE_FORMAT_VERSION {
            return Err(format!("unsupported table format version {version}"));
        }
        let h = |i: usize| BlockHandle {
            offset: decode_fixed64(&b[i * 16..]),
            size: decode_fixed64(&b[i * 16 + 8..]),
        };
        Ok(Footer {
            filter: h(0),
            props: h(1),
            index: h(2),
        })
    }
}
