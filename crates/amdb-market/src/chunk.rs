//! Chunk: up to `MAX_ROWS` bars stored as six independently encoded columns behind a fixed
//! header, sealed by a CRC32C. Byte layout in docs/formats.md, section 11.4.
//!
//! Invariants a decoded chunk satisfies (checked, since input is untrusted): rows in
//! 1..=MAX_ROWS; timestamps strictly ascending and equal to the header's first/last ts at
//! the ends; the buffer is exactly one chunk; every column consumes exactly its bytes.
//! The CRC is checked before anything sized by the header is allocated, so random
//! corruption cannot make the decoder allocate; a forged chunk with a valid CRC can make
//! it allocate at most `rows * 48` bytes of output plus `COLUMN_BOUND(rows)` per
//! compressed column.

use crate::bar::Bars;
use crate::codec::{
    convert_decimal_in_place, decimal_ints_at, decimal_len, decimal_scale, decode_decimal_ints,
    decode_floats, decode_residual_ints, decode_timestamps_checked, encode_decimal_ints,
    encode_floats, encode_residual_ints, encode_timestamps, residual_len, CodecError, FloatCodec,
    Part, Problem,
};

pub const MAGIC: [u8; 4] = *b"AMCK";
pub const VERSION: u8 = 1;
/// Rows per chunk are capped so a header cannot ask for unbounded memory.
pub const MAX_ROWS: u32 = 1 << 20;
/// Codec id of the timestamp column (run-length deltas, codec/timestamps.rs).
pub const TS_CODEC: u8 = 16;
/// Directory flag: the column payload is an LZ4 block.
pub const FLAG_LZ4: u8 = 1;

const COLUMNS: usize = 6;
const DIR_AT: usize = 32;
const ENTRY_LEN: usize = 10;
/// Fixed header plus directory; column payloads start here.
pub const HEADER_LEN: usize = DIR_AT + COLUMNS * ENTRY_LEN;
const CRC_LEN: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkInfo {
    pub rows: u32,
    pub first_ts: i64,
    pub last_ts: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    codec: u8,
    flags: u8,
    stored: u32,
    raw: u32,
}

struct Header {
    info: ChunkInfo,
    dir: [Entry; COLUMNS],
}

/// Upper bound on any column's decoded byte length for `rows` rows: timestamps need at
/// most 8 + 20 bytes a row (two 10-byte varints per run), float codecs less.
fn column_bound(rows: u32) -> u64 {
    20 * u64::from(rows) + 64
}

/// `bars` is non-empty and strictly ascending in ts. Appends the encoded chunk to `out`.
///
/// Panics if `bars` is empty, has more than `MAX_ROWS` rows, columns of unequal length, or
/// timestamps that are not strictly ascending: those are caller bugs, and writing such a
/// chunk would only move the failure to read time.
pub fn encode_chunk(bars: &Bars, out: &mut Vec<u8>) {
    let n = bars.len();
    assert!(
        n > 0 && n <= MAX_ROWS as usize,
        "chunk needs 1..=MAX_ROWS rows, got {n}"
    );
    for len in [
        bars.open.len(),
        bars.high.len(),
        bars.low.len(),
        bars.close.len(),
        bars.volume.len(),
    ] {
        assert_eq!(len, n, "Bars columns differ in length");
    }
    assert!(
        bars.is_strictly_ascending(),
        "chunk timestamps must be strictly ascending"
    );

    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(COLUMNS as u8);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&[0; 4]); // total length, patched below
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&bars.ts[0].to_le_bytes());
    out.extend_from_slice(&bars.ts[n - 1].to_le_bytes());
    out.resize(start + HEADER_LEN, 0);

    let mut col = Vec::with_capacity(n * 2);
    let mut dir = [Entry::default(); COLUMNS];
    encode_timestamps(&bars.ts, &mut col);
    dir[0] = emit(out, TS_CODEC, &col);
    let prices = encode_prices(bars);
    for (k, (codec, bytes)) in prices.iter().enumerate() {
        dir[1 + k] = emit(out, *codec as u8, bytes);
    }
    col.clear();
    let codec = encode_floats(&bars.volume, &mut col);
    dir[5] = emit(out, codec as u8, &col);

    for (k, e) in dir.iter().enumerate() {
        let at = start + DIR_AT + k * ENTRY_LEN;
        out[at] = e.codec;
        out[at + 1] = e.flags;
        out[at + 2..at + 6].copy_from_slice(&e.stored.to_le_bytes());
        out[at + 6..at + 10].copy_from_slice(&e.raw.to_le_bytes());
    }
    let total = out.len() - start + CRC_LEN;
    let total = u32::try_from(total).expect("chunk larger than 4 GiB");
    out[start + 8..start + 12].copy_from_slice(&total.to_le_bytes());
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Appends one column payload, LZ4-compressed only if that saves at least 1/8: smaller
/// gains are not worth the decompression time on every read.
fn emit(out: &mut Vec<u8>, codec: u8, bytes: &[u8]) -> Entry {
    let raw = bytes.len() as u32;
    if bytes.len() >= 64 {
        let packed = lz4_flex::block::compress(bytes);
        if packed.len() <= bytes.len() - bytes.len() / 8 {
            out.extend_from_slice(&packed);
            return Entry {
                codec,
                flags: FLAG_LZ4,
                stored: packed.len() as u32,
                raw,
            };
        }
    }
    out.extend_from_slice(bytes);
    Entry {
        codec,
        flags: 0,
        stored: raw,
        raw,
    }
}

/// Encodes open, high, low, close. When all four are decimals of one scale, open is
/// stored against the previous close (usually equal: zero-width blocks), high above
/// max(open, close) and low below min(open, close) (small and non-negative) — each only
/// if that beats encoding the column on its own.
fn encode_prices(b: &Bars) -> [(FloatCodec, Vec<u8>); 4] {
    let cols = [&b.open, &b.high, &b.low, &b.close];
    let shared = cols
        .iter()
        .map(|c| decimal_scale(c))
        .try_fold(0u8, |acc, s| s.map(|s| acc.max(s)))
        .and_then(|s| {
            let ints: Option<Vec<Vec<i64>>> = cols.iter().map(|c| decimal_ints_at(c, s)).collect();
            Some((s, ints?))
        });
    let Some((scale, ints)) = shared else {
        return cols.map(|c| {
            let mut buf = Vec::new();
            let codec = encode_floats(c, &mut buf);
            (codec, buf)
        });
    };
    let (o, h, l, c) = (&ints[0], &ints[1], &ints[2], &ints[3]);
    let n = c.len();
    let ro: Vec<i64> = (0..n)
        .map(|i| o[i].wrapping_sub(c[i.saturating_sub(1)]))
        .collect();
    let rh: Vec<i64> = (0..n).map(|i| h[i].wrapping_sub(o[i].max(c[i]))).collect();
    let rl: Vec<i64> = (0..n).map(|i| o[i].min(c[i]).wrapping_sub(l[i])).collect();
    let pick = |plain: &[i64], resid: &[i64]| {
        let mut buf = Vec::new();
        if residual_len(resid) < decimal_len(plain) {
            encode_residual_ints(resid, scale, &mut buf);
            (FloatCodec::Residual, buf)
        } else {
            encode_decimal_ints(plain, scale, &mut buf);
            (FloatCodec::Decimal, buf)
        }
    };
    let mut close = Vec::new();
    encode_decimal_ints(c, scale, &mut close);
    [
        pick(o, &ro),
        pick(h, &rh),
        pick(l, &rl),
        (FloatCodec::Decimal, close),
    ]
}

fn header_err(offset: usize, problem: Problem) -> CodecError {
    CodecError::new(Part::Header, offset, problem)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

/// The length of the chunk starting at `buf[0]` (which may be followed by more bytes),
/// for walking concatenated chunks. Checks magic and version only.
pub fn chunk_len(buf: &[u8]) -> Result<usize, CodecError> {
    if buf.len() < 12 {
        return Err(header_err(buf.len(), Problem::Truncated));
    }
    check_magic_version(buf)?;
    Ok(le_u32(buf, 8) as usize)
}

fn check_magic_version(buf: &[u8]) -> Result<(), CodecError> {
    let magic = [buf[0], buf[1], buf[2], buf[3]];
    if magic != MAGIC {
        return Err(header_err(0, Problem::Magic(magic)));
    }
    if buf[4] != VERSION {
        return Err(header_err(4, Problem::Version(buf[4])));
    }
    Ok(())
}

fn parse_header(buf: &[u8]) -> Result<Header, CodecError> {
    if buf.len() < HEADER_LEN + CRC_LEN {
        return Err(header_err(buf.len(), Problem::Truncated));
    }
    check_magic_version(buf)?;
    if buf[5] != COLUMNS as u8 {
        return Err(header_err(5, Problem::Reserved(u32::from(buf[5]))));
    }
    if buf[6] != 0 || buf[7] != 0 {
        return Err(header_err(
            6,
            Problem::Reserved(u32::from(buf[6]) << 8 | u32::from(buf[7])),
        ));
    }
    let total = le_u32(buf, 8);
    if total as usize != buf.len() {
        return Err(header_err(
            8,
            Problem::Length {
                header: u64::from(total),
                actual: buf.len() as u64,
            },
        ));
    }
    let rows = le_u32(buf, 12);
    if rows == 0 || rows > MAX_ROWS {
        return Err(header_err(12, Problem::Rows(u64::from(rows))));
    }
    let (first_ts, last_ts) = (le_i64(buf, 16), le_i64(buf, 24));
    // Strictly ascending: n rows span at least n-1.
    let span = i128::from(last_ts) - i128::from(first_ts);
    if span < i128::from(rows - 1) || (rows == 1 && span != 0) {
        return Err(header_err(
            16,
            Problem::TsRange {
                first: first_ts,
                last: last_ts,
                rows,
            },
        ));
    }
    let mut dir = [Entry::default(); COLUMNS];
    let mut sum = 0u64;
    for (k, e) in dir.iter_mut().enumerate() {
        let at = DIR_AT + k * ENTRY_LEN;
        *e = Entry {
            codec: buf[at],
            flags: buf[at + 1],
            stored: le_u32(buf, at + 2),
            raw: le_u32(buf, at + 6),
        };
        let codec_ok = match k {
            0 => e.codec == TS_CODEC,
            1..=3 => FloatCodec::from_id(e.codec).is_some(),
            // Close anchors the residuals and volume has no partner: no residual codec.
            _ => FloatCodec::from_id(e.codec).is_some_and(|c| c != FloatCodec::Residual),
        };
        if !codec_ok {
            return Err(header_err(at, Problem::Codec(e.codec)));
        }
        match e.flags {
            0 if e.stored != e.raw => {
                return Err(header_err(
                    at + 2,
                    Problem::RawMismatch {
                        stored: e.stored,
                        raw: e.raw,
                    },
                ))
            }
            0 | FLAG_LZ4 => {}
            f => return Err(header_err(at + 1, Problem::ColumnFlags(f))),
        }
        let bound = column_bound(rows);
        if u64::from(e.raw) > bound {
            return Err(header_err(
                at + 6,
                Problem::RawLength {
                    raw: u64::from(e.raw),
                    bound,
                },
            ));
        }
        sum += u64::from(e.stored);
    }
    let payload = (buf.len() - HEADER_LEN - CRC_LEN) as u64;
    if sum != payload {
        return Err(header_err(DIR_AT, Problem::Directory { sum, payload }));
    }
    Ok(Header {
        info: ChunkInfo {
            rows,
            first_ts,
            last_ts,
        },
        dir,
    })
}

/// Reads only the header (cheap); validates magic/version/length.
pub fn chunk_info(buf: &[u8]) -> Result<ChunkInfo, CodecError> {
    parse_header(buf).map(|h| h.info)
}

/// Header plus CRC: after this, sizes from the header are trusted enough to allocate.
fn verify(buf: &[u8]) -> Result<Header, CodecError> {
    let h = parse_header(buf)?;
    let body = buf.len() - CRC_LEN;
    let stored = le_u32(buf, body);
    let computed = crc32c::crc32c(&buf[..body]);
    if stored != computed {
        return Err(CodecError::new(
            Part::Trailer,
            body,
            Problem::Checksum { stored, computed },
        ));
    }
    Ok(h)
}

/// Appends the chunk's rows to `out`. On error `out` is left as it was.
pub fn decode_chunk(buf: &[u8], out: &mut Bars) -> Result<ChunkInfo, CodecError> {
    let h = verify(buf)?;
    let n = h.info.rows as usize;
    let start = out.len();
    out.resize_zeroed(start + n);
    let res = decode_verified(
        &h,
        buf,
        &mut out.ts[start..],
        [
            &mut out.open[start..],
            &mut out.high[start..],
            &mut out.low[start..],
            &mut out.close[start..],
            &mut out.volume[start..],
        ],
    );
    if res.is_err() {
        out.truncate(start);
    }
    res.map(|()| h.info)
}

/// Decodes into caller-provided column slices, each exactly `rows` long (for parallel
/// decode of many chunks into one preallocated set of columns). On error the slices hold
/// unspecified values.
pub fn decode_chunk_into(
    buf: &[u8],
    ts: &mut [i64],
    open: &mut [f64],
    high: &mut [f64],
    low: &mut [f64],
    close: &mut [f64],
    volume: &mut [f64],
) -> Result<ChunkInfo, CodecError> {
    let h = verify(buf)?;
    let want = u64::from(h.info.rows);
    for got in [
        ts.len(),
        open.len(),
        high.len(),
        low.len(),
        close.len(),
        volume.len(),
    ] {
        if got as u64 != want {
            return Err(header_err(
                12,
                Problem::OutputRows {
                    got: got as u64,
                    want,
                },
            ));
        }
    }
    decode_verified(&h, buf, ts, [open, high, low, close, volume])?;
    Ok(h.info)
}

/// How a price/volume column was decoded in the first pass.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    /// Final values.
    Done,
    /// Decimal integers (as bit patterns) at this scale, not yet converted.
    Ints(u8),
    /// Residual integers at this scale, to be rebuilt from other columns first.
    Resid(u8),
}

fn decode_verified(
    h: &Header,
    buf: &[u8],
    ts: &mut [i64],
    cols: [&mut [f64]; 5],
) -> Result<(), CodecError> {
    let mut at = HEADER_LEN;
    let mut scratch = Vec::new();
    let mut stage = [Stage::Done; 5];
    let mut starts = [0usize; 6];
    for (k, e) in h.dir.iter().enumerate() {
        starts[k] = at;
        let stored = &buf[at..at + e.stored as usize];
        let lz4 = e.flags == FLAG_LZ4;
        let data = if lz4 {
            scratch.clear();
            scratch.resize(e.raw as usize, 0);
            match lz4_flex::block::decompress_into(stored, &mut scratch) {
                Ok(len) if len == scratch.len() => &scratch[..],
                _ => {
                    return Err(CodecError::new(
                        Part::Column {
                            index: k as u8,
                            decompressed: false,
                        },
                        at,
                        Problem::Lz4,
                    ))
                }
            }
        } else {
            stored
        };
        let in_col = |e: CodecError| e.in_column(k as u8, at, lz4);
        if k == 0 {
            let ascending = decode_timestamps_checked(data, ts).map_err(in_col)?;
            let problem = if !ascending {
                Some(Problem::NotAscending)
            } else if ts.first() != Some(&h.info.first_ts) || ts.last() != Some(&h.info.last_ts) {
                Some(Problem::TsMismatch)
            } else {
                None
            };
            if let Some(p) = problem {
                return Err(CodecError::new(
                    Part::Column {
                        index: 0,
                        decompressed: false,
                    },
                    at,
                    p,
                ));
            }
        } else {
            let out = &mut *cols[k - 1];
            // parse_header only admits known ids.
            let codec = FloatCodec::from_id(e.codec).unwrap_or(FloatCodec::Raw);
            stage[k - 1] = match codec {
                FloatCodec::Decimal => Stage::Ints(decode_decimal_ints(data, out).map_err(in_col)?),
                FloatCodec::Residual => {
                    Stage::Resid(decode_residual_ints(data, out).map_err(in_col)?)
                }
                _ => {
                    decode_floats(codec, data, out).map_err(in_col)?;
                    Stage::Done
                }
            };
        }
        at += e.stored as usize;
    }
    let [open, high, low, close, volume] = cols;
    let col_err = |k: usize, p: Problem| {
        CodecError::new(
            Part::Column {
                index: k as u8,
                decompressed: false,
            },
            starts[k],
            p,
        )
    };
    let scale_of = |s: Stage| match s {
        Stage::Ints(s) | Stage::Resid(s) => Some(s),
        Stage::Done => None,
    };
    // Residuals are rebuilt in integer space (bit patterns), before any conversion.
    if let Stage::Resid(s) = stage[0] {
        if stage[3] != Stage::Ints(s) {
            return Err(col_err(1, Problem::Residual));
        }
        let bits = |x: f64| x.to_bits() as i64;
        for i in 0..open.len() {
            let base = bits(close[i.saturating_sub(1)]);
            open[i] = f64::from_bits(bits(open[i]).wrapping_add(base) as u64);
        }
        stage[0] = Stage::Ints(s);
    }
    for (k, col, sign) in [(1usize, &mut *high, 1i64), (2, &mut *low, -1)] {
        let Stage::Resid(s) = stage[k] else { continue };
        if stage[0] != Stage::Ints(s) || stage[3] != Stage::Ints(s) {
            return Err(col_err(k + 1, Problem::Residual));
        }
        for ((x, &o), &c) in col.iter_mut().zip(&*open).zip(&*close) {
            let (o, c) = (o.to_bits() as i64, c.to_bits() as i64);
            let base = if sign > 0 { o.max(c) } else { o.min(c) };
            let r = x.to_bits() as i64;
            let v = if sign > 0 {
                base.wrapping_add(r)
            } else {
                base.wrapping_sub(r)
            };
            *x = f64::from_bits(v as u64);
        }
        stage[k] = Stage::Ints(s);
    }
    for (k, col) in [open, high, low, close, volume].into_iter().enumerate() {
        if let Some(s) = scale_of(stage[k]) {
            convert_decimal_in_place(col, s).map_err(|p| col_err(k + 1, p))?;
        }
    }
    Ok(())
}

/// Per-column codec ids and stored sizes, for tests, tools and size reports.
pub fn column_layout(buf: &[u8]) -> Result<[(u8, bool, u32); 6], CodecError> {
    let h = parse_header(buf)?;
    Ok(h.dir.map(|e| (e.codec, e.flags == FLAG_LZ4, e.stored)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bar::Bar;
    use proptest::prelude::*;

    /// Random-walk 15m bars, prices on a 0.01 grid, open = previous close.
    pub(crate) fn realistic(n: usize, seed: u64) -> Bars {
        let mut s = seed | 1;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut close = 10_000i64;
        let mut bars = Bars::with_capacity(n);
        for i in 0..n {
            let open = close;
            close = (open + (rnd() % 41) as i64 - 20).max(100);
            let high = open.max(close) + (rnd() % 15) as i64;
            let low = open.min(close) - (rnd() % 15) as i64;
            bars.push(Bar {
                ts: 1_577_836_800_000_000_000 + i as i64 * 900_000_000_000,
                open: open as f64 / 100.0,
                high: high as f64 / 100.0,
                low: low as f64 / 100.0,
                close: close as f64 / 100.0,
                volume: (rnd() % 5000) as f64,
            });
        }
        bars
    }

    fn bits(b: &Bars) -> Vec<[u64; 6]> {
        b.iter()
            .map(|x| {
                [
                    x.ts as u64,
                    x.open.to_bits(),
                    x.high.to_bits(),
                    x.low.to_bits(),
                    x.close.to_bits(),
                    x.volume.to_bits(),
                ]
            })
            .collect()
    }

    fn roundtrip(b: &Bars) -> Vec<u8> {
        let mut buf = vec![0xEE; 3]; // encode appends: keep a prefix to prove it
        encode_chunk(b, &mut buf);
        let buf = buf.split_off(3);
        let info = chunk_info(&buf).unwrap();
        assert_eq!(info.rows as usize, b.len());
        assert_eq!((info.first_ts, info.last_ts), (b.ts[0], b.ts[b.len() - 1]));
        assert_eq!(chunk_len(&buf), Ok(buf.len()));
        let mut out = Bars::new();
        assert_eq!(decode_chunk(&buf, &mut out), Ok(info));
        assert_eq!(bits(&out), bits(b));
        let n = b.len();
        let (mut t, mut o, mut h, mut l, mut c, mut v) = (
            vec![0; n],
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n],
        );
        assert_eq!(
            decode_chunk_into(&buf, &mut t, &mut o, &mut h, &mut l, &mut c, &mut v),
            Ok(info)
        );
        let into = Bars {
            ts: t,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        };
        assert_eq!(bits(&into), bits(b));
        buf
    }

    #[test]
    fn realistic_bars_use_decimal_and_residual_codecs() {
        for n in [1, 2, 127, 128, 129, 4096] {
            let b = realistic(n, 7);
            let buf = roundtrip(&b);
            let layout = column_layout(&buf).unwrap();
            let codecs: Vec<u8> = layout.iter().map(|c| c.0).collect();
            if n >= 128 {
                let (d, r) = (FloatCodec::Decimal as u8, FloatCodec::Residual as u8);
                assert_eq!(codecs, [TS_CODEC, r, r, r, d, d], "n={n}");
                assert!(
                    buf.len() < n * 4 + HEADER_LEN + 4,
                    "{} bytes for {n} bars",
                    buf.len()
                );
            }
        }
    }

    #[test]
    fn appending_decode_keeps_existing_rows() {
        let a = realistic(300, 1);
        let mut buf = Vec::new();
        encode_chunk(&a, &mut buf);
        let mut out = a.clone();
        decode_chunk(&buf, &mut out).unwrap();
        assert_eq!(out.len(), 600);
        assert_eq!(bits(&out.slice(300..600)), bits(&a));
        // A failing decode leaves `out` untouched.
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert!(decode_chunk(&buf, &mut out).is_err());
        assert_eq!(out.len(), 600);
    }

    #[test]
    fn adversarial_values_roundtrip() {
        let vals = [
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff8_0000_dead_beef),
            -0.0,
            0.0,
            f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1 + 0.2,
            1e15,
        ];
        let n = vals.len();
        let b = Bars {
            ts: vec![
                i64::MIN,
                -5,
                0,
                1,
                2,
                1 << 40,
                1 << 62,
                i64::MAX - 4,
                i64::MAX - 3,
                i64::MAX - 2,
                i64::MAX - 1,
                i64::MAX,
            ],
            open: vals.to_vec(),
            high: vals.iter().rev().copied().collect(),
            low: vals.iter().map(|v| -v).collect(),
            close: vec![1.25; n],
            volume: vals.iter().map(|v| v * 3.0).collect(),
        };
        roundtrip(&b);
        // Decimal prices with one -0.0 in high: high falls back, the rest stay decimal.
        let mut b = realistic(200, 3);
        b.high[5] = -0.0;
        roundtrip(&b);
    }

    #[test]
    fn errors_name_part_and_offset() {
        let b = realistic(500, 9);
        let mut buf = Vec::new();
        encode_chunk(&b, &mut buf);
        let mut bad = buf.clone();
        bad[4] = 9;
        assert_eq!(
            chunk_info(&bad).unwrap_err().to_string(),
            "chunk header at byte 4: unsupported format version 9"
        );
        let mut bad = buf.clone();
        bad[HEADER_LEN + 3] ^= 0x40;
        let e = decode_chunk(&bad, &mut Bars::new()).unwrap_err();
        assert_eq!(e.part, Part::Trailer);
        assert!(matches!(e.problem, Problem::Checksum { .. }));
        // Forge a bad bit width in the low column and fix up the CRC.
        let layout = column_layout(&buf).unwrap();
        let low_at = HEADER_LEN + layout[..3].iter().map(|c| c.2 as usize).sum::<usize>();
        assert!(!layout[3].1, "low column unexpectedly compressed");
        let mut bad = buf.clone();
        bad[low_at + 1] = 71; // scale byte, then the first block's width
        let body = bad.len() - 4;
        let crc = crc32c::crc32c(&bad[..body]);
        bad[body..].copy_from_slice(&crc.to_le_bytes());
        let e = decode_chunk(&bad, &mut Bars::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "chunk column 3 (low) at byte {}: bit width 71 out of range",
                low_at + 1
            )
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = realistic(300, 5);
        let mut buf = Vec::new();
        encode_chunk(&b, &mut buf);
        for len in 0..buf.len() {
            assert!(chunk_info(&buf[..len]).is_err());
            assert!(decode_chunk(&buf[..len], &mut Bars::new()).is_err());
        }
        buf.push(0);
        assert!(decode_chunk(&buf, &mut Bars::new()).is_err());
    }

    #[test]
    fn wrong_output_length_is_an_error() {
        let b = realistic(10, 5);
        let mut buf = Vec::new();
        encode_chunk(&b, &mut buf);
        let (mut t, mut f) = (vec![0; 10], vec![0.0; 10]);
        let mut short = vec![0.0; 9];
        let (mut f2, mut f3, mut f4) = (f.clone(), f.clone(), f.clone());
        let e = decode_chunk_into(&buf, &mut t, &mut f, &mut f2, &mut short, &mut f3, &mut f4);
        assert_eq!(
            e.unwrap_err().problem,
            Problem::OutputRows { got: 9, want: 10 }
        );
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            3 => (-10_000_000i64..10_000_000).prop_map(|i| i as f64 / 100.0),
            1 => any::<u64>().prop_map(f64::from_bits),
            1 => prop_oneof![Just(-0.0), Just(f64::NAN), Just(f64::INFINITY), Just(f64::from_bits(0x7ff0_0000_0000_0001))],
        ]
    }

    fn any_bars() -> impl Strategy<Value = Bars> {
        (1usize..300).prop_flat_map(|n| {
            (
                proptest::collection::btree_set(any::<i64>(), n),
                proptest::collection::vec(
                    (any_f64(), any_f64(), any_f64(), any_f64(), any_f64()),
                    n,
                ),
            )
                .prop_map(|(ts, v)| {
                    let mut b = Bars::new();
                    for (t, (o, h, l, c, vol)) in ts.into_iter().zip(v) {
                        b.push(Bar {
                            ts: t,
                            open: o,
                            high: h,
                            low: l,
                            close: c,
                            volume: vol,
                        });
                    }
                    b
                })
        })
    }

    proptest! {
        #[test]
        fn arbitrary_chunks_roundtrip(b in any_bars()) {
            roundtrip(&b);
        }

        #[test]
        fn realistic_chunks_roundtrip(n in 1usize..2000, seed in any::<u64>()) {
            roundtrip(&realistic(n, seed));
        }

        #[test]
        fn single_byte_corruption_is_detected(n in 1usize..600, seed in any::<u64>(), pos in any::<usize>(), x in 1u8..=255) {
            let mut buf = Vec::new();
            encode_chunk(&realistic(n, seed), &mut buf);
            let pos = pos % buf.len();
            buf[pos] ^= x;
            prop_assert!(decode_chunk(&buf, &mut Bars::new()).is_err());
        }

        /// Mutations with the CRC fixed up reach the column decoders: they may decode to
        /// other values or fail, but must not panic.
        #[test]
        fn forged_mutations_never_panic(
            n in 1usize..600,
            seed in any::<u64>(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<u16>(),
        ) {
            let mut buf = Vec::new();
            encode_chunk(&realistic(n, seed), &mut buf);
            for (pos, v) in edits {
                let pos = pos % buf.len();
                buf[pos] = v;
            }
            if cut % 4 == 0 {
                let keep = HEADER_LEN + 4 + (cut as usize % (buf.len() - HEADER_LEN - 4));
                buf.truncate(keep);
            }
            let body = buf.len() - 4;
            let crc = crc32c::crc32c(&buf[..body]);
            buf[body..].copy_from_slice(&crc.to_le_bytes());
            let mut out = Bars::new();
            match decode_chunk(&buf, &mut out) {
                Ok(info) => prop_assert_eq!(out.len(), info.rows as usize),
                Err(_) => prop_assert_eq!(out.len(), 0),
            }
        }

        #[test]
        fn random_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..400), valid_head in any::<bool>()) {
            if valid_head && data.len() >= 12 {
                data[..4].copy_from_slice(&MAGIC);
                data[4] = VERSION;
                data[5] = 6;
                let len = data.len() as u32;
                data[8..12].copy_from_slice(&len.to_le_bytes());
            }
            let _ = chunk_info(&data);
            let _ = decode_chunk(&data, &mut Bars::new());
        }
    }
}
