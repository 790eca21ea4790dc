//! Fixed-width bit packing of unsigned integers.
//!
//! Layout: value k of a run occupies bits [k*w, (k+1)*w) of a little-endian bit stream
//! (bit 0 is the least significant bit of byte 0). A run of n values takes exactly
//! ceil(n*w/8) bytes, so a full block of `BLOCK` = 128 values takes 16*w bytes and every
//! block starts byte-aligned. Widths are 0..=64; width 0 stores nothing (all zeros).

/// Values per block. 128 keeps per-block headers under 2% at 8-bit widths while letting a
/// single outlier widen only 128 values.
pub const BLOCK: usize = 128;

/// Bits needed for `max` (0 for 0).
#[inline]
pub fn width(max: u64) -> u32 {
    64 - max.leading_zeros()
}

#[inline]
pub fn packed_len(n: usize, w: u32) -> usize {
    (n * w as usize).div_ceil(8)
}

/// Appends `vals` packed at width `w`. Every value must be below 2^w.
pub fn pack(vals: &[u64], w: u32, out: &mut Vec<u8>) {
    debug_assert!(w <= 64);
    if w == 0 {
        return;
    }
    // `fill` stays in 0..64, so `v << fill` never overflows the shift.
    let mut acc = 0u64;
    let mut fill = 0u32;
    for &v in vals {
        debug_assert!(w == 64 || v >> w == 0);
        acc |= v << fill;
        if fill + w >= 64 {
            out.extend_from_slice(&acc.to_le_bytes());
            acc = if fill == 0 { 0 } else { v >> (64 - fill) };
            fill = fill + w - 64;
        } else {
            fill += w;
        }
    }
    out.extend_from_slice(&acc.to_le_bytes()[..fill.div_ceil(8) as usize]);
}

/// Loads 8 bytes at `at` little-endian, zero-filling past the end of `src`.
#[inline]
pub(crate) fn load_padded(src: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = src.get(at..) {
        let n = s.len().min(8);
        a[..n].copy_from_slice(&s[..n]);
    }
    u64::from_le_bytes(a)
}

/// Unpacks `out.len()` values of width `w` from the front of `src`. The caller has checked
/// `w <= 64` and `src.len() >= packed_len(out.len(), w)`; bytes after that are ignored
/// (but may be read: the fast path loads 8 bytes at a time).
pub fn unpack(src: &[u8], w: u32, out: &mut [u64]) {
    debug_assert!(w <= 64 && src.len() >= packed_len(out.len(), w));
    if let Ok(block) = <&mut [u64; BLOCK]>::try_from(&mut *out) {
        // The fast path reads a whole u64 at the byte holding each value's first bit, so
        // it needs width <= 57 (shift <= 7 plus w bits fit in 64) and 8 bytes of slack.
        if w <= 56 && src.len() >= 16 * w as usize + 8 {
            unpack_block(src, w, block);
            return;
        }
    }
    unpack_generic(src, w, out);
}

fn unpack_generic(src: &[u8], w: u32, out: &mut [u64]) {
    if w == 0 {
        out.fill(0);
        return;
    }
    let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
    let w = w as usize;
    for (k, o) in out.iter_mut().enumerate() {
        let bit = k * w;
        let (byte, sh) = (bit / 8, (bit % 8) as u32);
        let mut v = load_padded(src, byte) >> sh;
        if sh as usize + w > 64 {
            v |= u64::from(src.get(byte + 8).copied().unwrap_or(0)) << (64 - sh);
        }
        *o = v & mask;
    }
}

/// One monomorphic loop per width. Every 8 values span exactly W bytes, so within a group
/// of 8 the byte offsets and shifts are constants: LLVM unrolls the inner loop into plain
/// load/shift/and, without variable shifts or bounds checks.
#[inline(always)]
fn unpack_w<const W: usize>(src: &[u8], out: &mut [u64; BLOCK]) {
    let src = &src[..16 * W + 8];
    let mask = (1u64 << W) - 1;
    for (g, group) in out.chunks_exact_mut(8).enumerate() {
        let base = g * W;
        for (j, o) in group.iter_mut().enumerate() {
            let bit = j * W;
            let at = base + bit / 8;
            let mut a = [0u8; 8];
            a.copy_from_slice(&src[at..at + 8]);
            *o = (u64::from_le_bytes(a) >> (bit % 8)) & mask;
        }
    }
}

macro_rules! dispatch {
    ($w:expr, $src:expr, $out:expr; $($n:literal)*) => {
        match $w {
            0 => $out.fill(0),
            $($n => unpack_w::<$n>($src, $out),)*
            _ => unpack_generic($src, $w, $out),
        }
    };
}

fn unpack_block(src: &[u8], w: u32, out: &mut [u64; BLOCK]) {
    dispatch!(w, src, out;
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28
        29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(vals: &[u64], w: u32, slack: usize) {
        let mut buf = Vec::new();
        pack(vals, w, &mut buf);
        assert_eq!(buf.len(), packed_len(vals.len(), w));
        buf.resize(buf.len() + slack, 0xAA);
        let mut out = vec![7u64; vals.len()];
        unpack(&buf, w, &mut out);
        assert_eq!(out, vals, "w={w} slack={slack}");
    }

    #[test]
    fn every_width_roundtrips_full_and_partial_blocks() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for w in 0..=64u32 {
            let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
            for n in [0, 1, 7, 63, 127, 128] {
                let vals: Vec<u64> = (0..n)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed & mask
                    })
                    .collect();
                // Slack 0 forces the generic path, 8 enables the fast one.
                roundtrip(&vals, w, 0);
                roundtrip(&vals, w, 8);
                let all_ones = vec![mask; n];
                roundtrip(&all_ones, w, 8);
            }
        }
    }

    #[test]
    fn width_is_bit_length() {
        assert_eq!(width(0), 0);
        assert_eq!(width(1), 1);
        assert_eq!(width(255), 8);
        assert_eq!(width(256), 9);
        assert_eq!(width(u64::MAX), 64);
    }
}
