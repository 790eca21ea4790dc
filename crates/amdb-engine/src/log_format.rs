//! Record framing shared by the WAL and the MANIFEST (docs/formats.md, "Record log").
//!
//! ```text
//! file   := header record*
//! header := magic[8] version:u32le flags:u32le          (16 bytes)
//! record := masked_crc32c:u32le length:u32le payload[length]
//! ```
//! The CRC covers the four length bytes and the payload, so a damaged length is detected too.
//! A record is never split: one write of one record is all-or-nothing once its CRC checks.

pub const HEADER_LEN: usize = 16;
pub const RECORD_HEADER_LEN: usize = 8;
pub const VERSION: u32 = 1;

pub const WAL_MAGIC: [u8; 8] = *b"AMDB-WAL";
pub const MANIFEST_MAGIC: [u8; 8] = *b"AMDB-MAN";

pub fn file_header(magic: [u8; 8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&magic);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// CRC over the length field and payload parts, masked.
pub fn record_crc(len: u32, parts: &[&[u8]]) -> u32 {
    let mut crc = crc32c::crc32c(&len.to_le_bytes());
    for p in parts {
        crc = crc32c::crc32c_append(crc, p);
    }
    crate::coding::mask_crc(crc)
}
