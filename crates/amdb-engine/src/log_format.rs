//! Record framing shared by the WAL and the MANIFEST (docs/formats.md, "Record log").
//!
//! ```text
//! file   := header record*
//! header := magic[8] version:u32le flags:u32le                       (16 bytes)
//! record := payload_crc:u32le length:u32le header_crc:u32le payload[length]
//! ```
//! `payload_crc` is the masked CRC32C of the payload; `header_crc` the masked CRC32C of the
//! first eight header bytes. The separate header CRC lets a reader trust a record's length
//! before the payload is complete, which is what tells a torn write (intact header, record
//! running past the end of the file) from damage. A record is never split: one write of one
//! record is all-or-nothing once both CRCs check.

use crate::coding::{decode_fixed32, mask_crc};

pub const HEADER_LEN: usize = 16;
pub const RECORD_HEADER_LEN: usize = 12;
pub const VERSION: u32 = 2;

pub const WAL_MAGIC: [u8; 8] = *b"AMDB-WAL";
pub const MANIFEST_MAGIC: [u8; 8] = *b"AMDB-MAN";

pub fn file_header(magic: [u8; 8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&magic);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// The 12-byte header of a record with `payload` split into `parts`.
pub fn record_header(parts: &[&[u8]]) -> [u8; RECORD_HEADER_LEN] {
    let mut crc = 0;
    let mut len = 0usize;
    for p in parts {
        crc = crc32c::crc32c_append(crc, p);
        len += p.len();
    }
    let mut h = [0u8; RECORD_HEADER_LEN];
    h[..4].copy_from_slice(&mask_crc(crc).to_le_bytes());
    h[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    let hcrc = mask_crc(crc32c::crc32c(&h[..8]));
    h[8..12].copy_from_slice(&hcrc.to_le_bytes());
    h
}

/// Whether the 12 bytes at the start of `h` are an intact record header.
pub fn header_ok(h: &[u8]) -> bool {
    h.len() >= RECORD_HEADER_LEN && mask_crc(crc32c::crc32c(&h[..8])) == decode_fixed32(&h[8..12])
}

/// The payload length in an intact header.
pub fn header_len(h: &[u8]) -> usize {
    decode_fixed32(&h[4..8]) as usize
}

/// Whether `payload` matches the payload CRC in header `h`.
pub fn payload_ok(h: &[u8], payload: &[u8]) -> bool {
    mask_crc(crc32c::crc32c(payload)) == decode_fixed32(&h[..4])
}
