//! Key layouts of the market keyspaces (specified in docs/formats.md, "Market data keys").
//!
//! Integers are big-endian so that byte order is numeric order; timestamps are stored with
//! the sign bit flipped so that negative (pre-1970) times sort before positive ones.

use crate::timeframe::Timeframe;

/// Keyspace of the series registry: `symbol 0x00 timeframe_ns(u64 BE)` → series id.
pub const SERIES_KS: &str = "market.series";
/// Keyspace of series versions: `series_id(u32 BE) version(u64 BE)` → version record.
pub const VERSIONS_KS: &str = "market.versions";
/// Keyspace of immutable chunks: `series_id(u32 BE) first_ts(i64, flipped BE) chunk_id(u64
/// BE)` → encoded chunk.
pub const CHUNKS_KS: &str = "market.chunks";
/// Keyspace of counters: `next_series_id`, `event_seq_lease`.
pub const META_KS: &str = "market.meta";
/// Keyspace of event tables and their indexes.
pub const EVENTS_KS: &str = "market.events";

pub const NEXT_SERIES_ID: &[u8] = b"next_series_id";
pub const EVENT_SEQ_LEASE: &[u8] = b"event_seq_lease";

/// Order-preserving encoding of a signed timestamp.
pub fn ts_bytes(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn ts_from_bytes(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

pub fn series_key(symbol: &str, tf: Timeframe) -> Vec<u8> {
    let mut k = Vec::with_capacity(symbol.len() + 9);
    k.extend_from_slice(symbol.as_bytes());
    k.push(0);
    k.extend_from_slice(&(tf.nanos() as u64).to_be_bytes());
    k
}

/// Splits a series registry key back into symbol and timeframe.
pub fn parse_series_key(k: &[u8]) -> Option<(String, Timeframe)> {
    if k.len() < 10 || k[k.len() - 9] != 0 {
        return None;
    }
    let (sym, rest) = k.split_at(k.len() - 9);
    let nanos = u64::from_be_bytes(rest[1..].try_into().ok()?) as i64;
    Some((
        String::from_utf8(sym.to_vec()).ok()?,
        Timeframe::from_nanos(nanos)?,
    ))
}

pub fn version_prefix(series: u32) -> [u8; 4] {
    series.to_be_bytes()
}

pub fn version_key(series: u32, version: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&series.to_be_bytes());
    k[4..].copy_from_slice(&version.to_be_bytes());
    k
}

pub fn version_from_key(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.get(4..12)?.try_into().ok()?))
}

pub fn chunk_key(series: u32, first_ts: i64, chunk_id: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..4].copy_from_slice(&series.to_be_bytes());
    k[4..12].copy_from_slice(&ts_bytes(first_ts));
    k[12..].copy_from_slice(&chunk_id.to_be_bytes());
    k
}

/// (first_ts, chunk_id) of a chunk key; `None` unless it is 20 bytes.
pub fn parse_chunk_key(k: &[u8]) -> Option<(i64, u64)> {
    if k.len() != 20 {
        return None;
    }
    Some((
        ts_from_bytes(k[4..12].try_into().ok()?),
        u64::from_be_bytes(k[12..20].try_into().ok()?),
    ))
}

/// Symbols name series in keys, so they must be non-empty, without NUL, and short.
pub fn validate_symbol(symbol: &str) -> Result<(), String> {
    if symbol.is_empty() || symbol.len() > 256 || symbol.contains('\0') {
        return Err(format!(
            "invalid symbol {symbol:?}: must be 1 to 256 bytes without NUL"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_bytes_sort_like_numbers() {
        let ts = [i64::MIN, -5, -1, 0, 1, 5, i64::MAX];
        for w in ts.windows(2) {
            assert!(ts_bytes(w[0]) < ts_bytes(w[1]));
        }
        for t in ts {
            assert_eq!(ts_from_bytes(ts_bytes(t)), t);
        }
    }

    #[test]
    fn series_keys_round_trip() {
        let k = series_key("BTC/USDT", Timeframe::M15);
        assert_eq!(
            parse_series_key(&k),
            Some(("BTC/USDT".into(), Timeframe::M15))
        );
    }
}
