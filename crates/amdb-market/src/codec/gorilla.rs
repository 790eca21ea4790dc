//! XOR ("Gorilla") float codec for columns that are not scaled decimals. It works on bit
//! patterns only, so every f64 — NaN payloads, signalling NaNs, ±0, subnormals, ±inf —
//! roundtrips exactly.
//!
//! Bit stream, least significant bit of each byte first, values written LSB first:
//!
//! ```text
//! 64 bits         bits of v[0]
//! per later value x = bits(v[k]) ^ bits(v[k-1]):
//!   '0'                         x == 0 (repeat)
//!   '1' '0' + len bits          x >> (64-lead-len), fits the previous (lead, len) window
//!   '1' '1' + 6b lead + 6b len-1 + len bits    new window: lead = leading zeros of x,
//!                               len = 64 - lead - trailing zeros
//! zero bits up to the next byte boundary; no bytes after that
//! ```
//!
//! The "fits the previous window" case exists because neighbouring values of a slowly
//! moving series differ in the same mantissa bits, saving the 12-bit window header.

use super::bitpack::load_padded;
use super::{data_err, CodecError, Problem};

struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    fill: u32,
}

impl BitWriter<'_> {
    /// Appends the low `n` bits of `v` (`n` <= 64, higher bits of `v` zero).
    fn write(&mut self, v: u64, n: u32) {
        if n == 0 {
            return;
        }
        // `fill` stays in 0..64, so the shift cannot overflow.
        self.acc |= v << self.fill;
        if self.fill + n >= 64 {
            self.out.extend_from_slice(&self.acc.to_le_bytes());
            self.acc = if self.fill == 0 {
                0
            } else {
                v >> (64 - self.fill)
            };
            self.fill = self.fill + n - 64;
        } else {
            self.fill += n;
        }
    }

    fn finish(self) {
        let n = self.fill.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..n]);
    }
}

struct BitReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn read(&mut self, n: u32) -> Result<u64, CodecError> {
        let n = n as usize;
        if self.pos + n > self.buf.len() * 8 {
            return Err(data_err(self.pos / 8, Problem::Truncated));
        }
        if n == 0 {
            return Ok(0);
        }
        let (byte, sh) = (self.pos / 8, self.pos % 8);
        let mut v = load_padded(self.buf, byte) >> sh;
        if sh + n > 64 {
            v |= u64::from(self.buf.get(byte + 8).copied().unwrap_or(0)) << (64 - sh);
        }
        self.pos += n;
        Ok(if n == 64 { v } else { v & ((1u64 << n) - 1) })
    }
}

/// Exact encoded size in bytes, for choosing between codecs without encoding twice.
pub fn gorilla_len(values: &[f64]) -> usize {
    let mut bits = 0usize;
    let mut prev_bits = 0u64;
    let (mut plead, mut plen) = (u32::MAX, 0u32);
    for (k, v) in values.iter().enumerate() {
        let b = v.to_bits();
        if k == 0 {
            bits += 64;
        } else {
            let x = b ^ prev_bits;
            bits += step(x, &mut plead, &mut plen).1 as usize;
        }
        prev_bits = b;
    }
    bits.div_ceil(8)
}

/// Chooses the encoding of one nonzero-or-zero XOR; returns (use_old_window, total bits).
#[inline]
fn step(x: u64, plead: &mut u32, plen: &mut u32) -> (bool, u32) {
    if x == 0 {
        return (false, 1);
    }
    let (lead, trail) = (x.leading_zeros(), x.trailing_zeros());
    if *plead != u32::MAX && lead >= *plead && trail >= 64 - *plead - *plen {
        (true, 2 + *plen)
    } else {
        *plead = lead;
        *plen = 64 - lead - trail;
        (false, 2 + 12 + *plen)
    }
}

pub fn encode_gorilla(values: &[f64], out: &mut Vec<u8>) {
    let mut w = BitWriter {
        out,
        acc: 0,
        fill: 0,
    };
    let mut prev = 0u64;
    let (mut plead, mut plen) = (u32::MAX, 0u32);
    for (k, v) in values.iter().enumerate() {
        let b = v.to_bits();
        if k == 0 {
            w.write(b, 64);
        } else {
            let x = b ^ prev;
            if x == 0 {
                w.write(0, 1);
            } else {
                let (reuse, _) = step(x, &mut plead, &mut plen);
                let shift = 64 - plead - plen;
                if reuse {
                    w.write(0b01, 2);
                } else {
                    w.write(0b11, 2);
                    w.write(u64::from(plead), 6);
                    w.write(u64::from(plen - 1), 6);
                }
                w.write(x >> shift, plen);
            }
        }
        prev = b;
    }
    w.finish();
}

pub fn decode_gorilla(data: &[u8], out: &mut [f64]) -> Result<(), CodecError> {
    let mut r = BitReader { buf: data, pos: 0 };
    let mut prev = 0u64;
    let mut window: Option<(u32, u32)> = None;
    for (k, o) in out.iter_mut().enumerate() {
        if k == 0 {
            prev = r.read(64)?;
        } else if r.read(1)? == 1 {
            let at = r.pos / 8;
            let (lead, len) = if r.read(1)? == 1 {
                let lead = r.read(6)? as u32;
                let len = r.read(6)? as u32 + 1;
                if lead + len > 64 {
                    return Err(data_err(at, Problem::BitWidth((lead + len) as u8)));
                }
                window = Some((lead, len));
                (lead, len)
            } else {
                window.ok_or(data_err(at, Problem::BitWidth(0)))?
            };
            prev ^= r.read(len)? << (64 - lead - len);
        }
        *o = f64::from_bits(prev);
    }
    // Canonical ending: padding bits zero and no whole bytes left over.
    let used = r.pos.div_ceil(8);
    let pad = (used * 8 - r.pos) as u32;
    if used < data.len() {
        return Err(data_err(
            used,
            Problem::Trailing((data.len() - used) as u64),
        ));
    }
    if r.read(pad)? != 0 {
        return Err(data_err(used.saturating_sub(1), Problem::Padding));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: &[f64]) {
        let mut buf = Vec::new();
        encode_gorilla(v, &mut buf);
        assert_eq!(buf.len(), gorilla_len(v));
        let mut out = vec![0.0; v.len()];
        decode_gorilla(&buf, &mut out).unwrap();
        let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn adversarial_bit_patterns_roundtrip() {
        roundtrip(&[]);
        roundtrip(&[
            f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
            f64::from_bits(0xfff8_dead_beef_0001), // negative quiet NaN with payload
            -0.0,
            0.0,
            f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1 + 0.2,
            0.1 + 0.2,
            f64::from_bits(u64::MAX),
            f64::from_bits(0x8000_0000_0000_0001),
        ]);
    }

    #[test]
    fn dangling_window_reuse_is_an_error() {
        // v[0] = 0, then '1' '0': reuse with no window yet.
        let mut buf = vec![0u8; 8];
        buf.push(0b01);
        let mut out = [0.0; 2];
        assert!(decode_gorilla(&buf, &mut out).is_err());
    }
}
