//! Scaled-decimal float codec: a column whose every value is exactly the double nearest to
//! i / 10^s for small integers i is stored as those integers.
//!
//! Decoder formula (the definition; the encoder runs it to verify every value bit for bit):
//!
//! ```text
//! value = (i as f64) / 10^s     for s > 0, correctly rounded IEEE division
//! value =  i as f64             for s = 0
//! ```
//!
//! with |i| < 2^51 required (checked by the decoder). The bound lets i <-> f64 conversion
//! use the 1.5*2^52 "magic number" trick, which is exact in that range and vectorises with
//! plain SSE2 (x86-64 has no packed i64->f64 conversion below AVX-512). Since the encoder
//! accepts a scale only if the decode formula reproduces `to_bits()` exactly, -0.0, NaN,
//! infinities and non-decimal values simply make the column fall back to another codec.
//!
//! Column layouts (n rows from the chunk header):
//!
//! ```text
//! Decimal:  u8 scale, u8 mode
//!           mode 0 (plain): blocks of the n integers
//!           mode 1 (delta): uvarint zigzag(i[0]), then blocks of the n-1 deltas i[k]-i[k-1]
//! Residual: u8 scale, blocks of the n residual integers (meaning set by the chunk, see
//!           chunk.rs: open vs previous close, high above max(open, close), low below
//!           min(open, close))
//! ```

use super::blocks::{blocks_len, decode_blocks, encode_blocks};
use super::varint::{put_uvarint, uvarint_len, zigzag};
use super::{data_err, CodecError, Problem, Reader};

/// Largest decimal scale tried: 9 covers every exchange tick size in practice while
/// keeping |i| < 2^51 for prices up to ~2 million.
pub const MAX_SCALE: u8 = 9;

const POW10: [f64; MAX_SCALE as usize + 1] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const LIMIT: i64 = 1 << 51;
/// 1.5 * 2^52: adding it to |x| < 2^51 leaves x's integer part in the low mantissa bits.
const MAGIC: f64 = 6_755_399_441_055_744.0;
const MAGIC_BITS: u64 = 0x4338_0000_0000_0000;

/// Exact for -2^51 <= i < 2^51.
#[inline(always)]
fn int_to_f64(i: i64) -> f64 {
    f64::from_bits(MAGIC_BITS.wrapping_add(i as u64)) - MAGIC
}

#[inline(always)]
fn decode_one(i: i64, scale: u8) -> f64 {
    let f = int_to_f64(i);
    if scale == 0 {
        f
    } else {
        f / POW10[scale as usize]
    }
}

/// The integer that represents `v` at `scale`, if the decoder reproduces `v` bit for bit.
#[inline]
fn to_int(v: f64, scale: u8) -> Option<i64> {
    let x = v * POW10[scale as usize];
    // Also rejects NaN. Below 2^51 - 1 the magic addition rounds x to an integer.
    if x.is_nan() || x.abs() >= (LIMIT - 1) as f64 {
        return None;
    }
    let i = ((x + MAGIC).to_bits() as i64).wrapping_sub(MAGIC_BITS as i64);
    (decode_one(i, scale).to_bits() == v.to_bits()).then_some(i)
}

/// The smallest scale at which every value is representable, or None.
///
/// A value exact at scale s is also exact at s+1 (same real number i/10^s = 10i/10^(s+1)),
/// so one pass that raises the scale on each failure suffices; `decimal_ints_at` re-checks
/// every value, so a violation of that argument can only cost compression, never data.
pub(crate) fn decimal_scale(values: &[f64]) -> Option<u8> {
    let mut s = 0u8;
    for &v in values {
        while to_int(v, s).is_none() {
            s += 1;
            if s > MAX_SCALE {
                return None;
            }
        }
    }
    Some(s)
}

/// The integers for `values` at `scale`, or None if any value is not exact there.
pub(crate) fn decimal_ints_at(values: &[f64], scale: u8) -> Option<Vec<i64>> {
    if scale > MAX_SCALE {
        return None;
    }
    values.iter().map(|&v| to_int(v, scale)).collect()
}

fn deltas(ints: &[i64]) -> Vec<i64> {
    ints.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect()
}

/// Encoded size of the better integer mode, including the 2-byte header.
fn best_mode(ints: &[i64]) -> (u8, usize, Vec<i64>) {
    let plain = blocks_len(ints);
    let d = deltas(ints);
    let delta = ints.first().map_or(0, |&f| uvarint_len(zigzag(f))) + blocks_len(&d);
    if delta < plain {
        (1, 2 + delta, d)
    } else {
        (0, 2 + plain, d)
    }
}

pub(crate) fn decimal_len(ints: &[i64]) -> usize {
    best_mode(ints).1
}

pub(crate) fn encode_decimal_ints(ints: &[i64], scale: u8, out: &mut Vec<u8>) {
    let (mode, _, d) = best_mode(ints);
    out.push(scale);
    out.push(mode);
    if mode == 1 {
        if let Some(&first) = ints.first() {
            put_uvarint(out, zigzag(first));
        }
        encode_blocks(&d, out);
    } else {
        encode_blocks(ints, out);
    }
}

pub(crate) fn residual_len(ints: &[i64]) -> usize {
    1 + blocks_len(ints)
}

pub(crate) fn encode_residual_ints(ints: &[i64], scale: u8, out: &mut Vec<u8>) {
    out.push(scale);
    encode_blocks(ints, out);
}

fn read_scale(r: &mut Reader) -> Result<u8, CodecError> {
    let at = r.pos();
    let s = r.u8()?;
    if s > MAX_SCALE {
        return Err(data_err(at, Problem::Scale(s)));
    }
    Ok(s)
}

/// Decodes a Decimal column's integers into `out` as raw bit patterns (`f64::from_bits(i
/// as u64)`): the chunk decoder reuses the output columns as integer scratch so residual
/// columns can be rebuilt without extra buffers. Returns the scale.
pub(crate) fn decode_decimal_ints(data: &[u8], out: &mut [f64]) -> Result<u8, CodecError> {
    let mut r = Reader::new(data);
    let scale = read_scale(&mut r)?;
    let at = r.pos();
    match r.u8()? {
        0 => decode_blocks(&mut r, out.len(), |s, b| {
            for (o, &v) in out[s..s + b.len()].iter_mut().zip(b) {
                *o = f64::from_bits(v as u64);
            }
        })?,
        1 => {
            let Some((first, rest)) = out.split_first_mut() else {
                return Err(r.err(Problem::Trailing(r.remaining() as u64)));
            };
            let mut acc = r.ivarint()?;
            *first = f64::from_bits(acc as u64);
            decode_blocks(&mut r, rest.len(), |s, b| {
                for (o, &d) in rest[s..s + b.len()].iter_mut().zip(b) {
                    acc = acc.wrapping_add(d);
                    *o = f64::from_bits(acc as u64);
                }
            })?;
        }
        m => return Err(data_err(at, Problem::Mode(m))),
    }
    r.finish()?;
    Ok(scale)
}

pub(crate) fn decode_residual_ints(data: &[u8], out: &mut [f64]) -> Result<u8, CodecError> {
    let mut r = Reader::new(data);
    let scale = read_scale(&mut r)?;
    decode_blocks(&mut r, out.len(), |s, b| {
        for (o, &v) in out[s..s + b.len()].iter_mut().zip(b) {
            *o = f64::from_bits(v as u64);
        }
    })?;
    r.finish()?;
    Ok(scale)
}

/// Turns integer bit patterns into values in place. Fails (after the pass; the check is
/// folded into the loop so it stays vectorisable) if any integer is outside ±2^51.
pub(crate) fn convert_decimal_in_place(col: &mut [f64], scale: u8) -> Result<(), Problem> {
    let mut bad = 0u64;
    if scale == 0 {
        for x in col.iter_mut() {
            let i = x.to_bits() as i64;
            bad |= (i.wrapping_add(LIMIT) as u64) >> 52;
            *x = int_to_f64(i);
        }
    } else {
        let p = POW10[(scale as usize).min(MAX_SCALE as usize)];
        for x in col.iter_mut() {
            let i = x.to_bits() as i64;
            bad |= (i.wrapping_add(LIMIT) as u64) >> 52;
            *x = int_to_f64(i) / p;
        }
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(Problem::DecimalRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimal_prices_get_scale_two() {
        let v = [100.37, 99.99, 0.29, 0.3, 101.1, 1e6 + 0.01];
        assert_eq!(decimal_scale(&v), Some(2));
        assert_eq!(decimal_scale(&[1.0, 2.0, 1e15]), Some(0));
        assert_eq!(decimal_scale(&[0.123456789]), Some(9));
    }

    #[test]
    fn non_decimals_are_refused() {
        for v in [
            -0.0,
            f64::NAN,
            f64::INFINITY,
            0.1 + 0.2,
            1e300,
            f64::MIN_POSITIVE,
            1e-10,
        ] {
            assert_eq!(decimal_scale(&[v]), None, "{v:?}");
        }
        // 2^51 itself is out of range.
        assert_eq!(decimal_scale(&[(1u64 << 51) as f64]), None);
        assert_eq!(decimal_scale(&[-((1u64 << 51) as f64) + 2.0]), Some(0));
    }

    #[test]
    fn out_of_range_integers_are_errors() {
        let mut col = [f64::from_bits(1u64 << 51)];
        assert_eq!(
            convert_decimal_in_place(&mut col, 2),
            Err(Problem::DecimalRange)
        );
        let mut col = [f64::from_bits((-(1i64 << 51)) as u64)];
        assert_eq!(convert_decimal_in_place(&mut col, 0), Ok(()));
        assert_eq!(col[0], -((1u64 << 51) as f64));
    }
}
