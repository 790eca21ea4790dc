//! Frame-of-reference bit-packed blocks of i64: the integer back end of the decimal codec.
//!
//! For each block of up to `BLOCK` values (the last one may be short; the count comes
//! from the caller, never from the data):
//!
//! ```text
//! u8       width w (0..=64) of (v - min) as u64
//! uvarint  zigzag(min)
//! bytes    ceil(len*w/8) bytes: the offsets v - min, bit-packed
//! ```
//!
//! Subtracting the block minimum (wrapping) makes every offset non-negative, so signed data
//! needs no zigzag per value, and a block's width depends only on its own spread.

use super::bitpack::{self, packed_len, BLOCK};
use super::varint::{put_uvarint, uvarint_len, zigzag};
use super::{Problem, Reader};
use crate::codec::CodecError;

#[inline]
fn frame(block: &[i64]) -> (i64, u32) {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for &v in block {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    // hi >= lo, so the wrapping difference is the true spread and fits in u64.
    (lo, bitpack::width(hi.wrapping_sub(lo) as u64))
}

/// Exact encoded size of `vals`, without encoding (the encoder compares candidates).
pub fn blocks_len(vals: &[i64]) -> usize {
    vals.chunks(BLOCK)
        .map(|b| {
            let (min, w) = frame(b);
            1 + uvarint_len(zigzag(min)) + packed_len(b.len(), w)
        })
        .sum()
}

pub fn encode_blocks(vals: &[i64], out: &mut Vec<u8>) {
    let mut offs = [0u64; BLOCK];
    for b in vals.chunks(BLOCK) {
        let (min, w) = frame(b);
        out.push(w as u8);
        put_uvarint(out, zigzag(min));
        for (o, &v) in offs.iter_mut().zip(b) {
            *o = v.wrapping_sub(min) as u64;
        }
        bitpack::pack(&offs[..b.len()], w, out);
    }
}

/// Decodes `n` values, handing each block to `sink(first_row, values)` while it is still
/// in L1, so callers can fuse prefix sums or conversions into the same pass.
#[inline]
pub fn decode_blocks<F: FnMut(usize, &[i64])>(
    r: &mut Reader,
    n: usize,
    mut sink: F,
) -> Result<(), CodecError> {
    let mut offs = [0u64; BLOCK];
    let mut vals = [0i64; BLOCK];
    let mut start = 0;
    while start < n {
        let len = (n - start).min(BLOCK);
        let at = r.pos();
        let w = r.u8()?;
        if w > 64 {
            return Err(super::data_err(at, Problem::BitWidth(w)));
        }
        let min = r.ivarint()?;
        let bytes = packed_len(len, u32::from(w));
        if bytes > r.remaining() {
            return Err(r.err(Problem::Truncated));
        }
        // Hand over the whole tail so the unpacker may read ahead (it ignores the excess).
        bitpack::unpack(r.rest(), u32::from(w), &mut offs[..len]);
        r.bytes(bytes)?;
        for (v, &o) in vals.iter_mut().zip(&offs[..len]) {
            *v = (o as i64).wrapping_add(min);
        }
        sink(start, &vals[..len]);
        start += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(vals: &[i64]) {
        let mut buf = Vec::new();
        encode_blocks(vals, &mut buf);
        assert_eq!(buf.len(), blocks_len(vals));
        let mut out = vec![0i64; vals.len()];
        let mut r = Reader::new(&buf);
        decode_blocks(&mut r, vals.len(), |s, b| {
            out[s..s + b.len()].copy_from_slice(b)
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(out, vals);
    }

    #[test]
    fn extremes_roundtrip() {
        roundtrip(&[]);
        roundtrip(&[i64::MIN, i64::MAX, 0, -1, 1]);
        roundtrip(&(0..1000).map(|i| i * 7 - 3000).collect::<Vec<_>>());
        roundtrip(&[5; 300]);
    }

    #[test]
    fn oversized_width_is_reported_with_its_offset() {
        let err = decode_blocks(&mut Reader::new(&[71, 0]), 1, |_, _| {}).unwrap_err();
        assert_eq!(err.problem, Problem::BitWidth(71));
        assert_eq!(err.offset, 0);
    }
}
