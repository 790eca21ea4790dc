//! Audit records: who made a write, what it was for, and the request it belonged to.
//!
//! A batch carries at most one [`AuditInfo`]; the commit leader turns it into an entry of the
//! `__audit` keyspace inside the same transaction (so in the same WAL record, and hashed by
//! the ledger like any entry): the data and its audit record are committed together or not
//! at all, and neither can be changed afterwards without the ledger noticing.
//!
//! ```text
//! key   := time:u64be tx:u64be      (time = commit ns since the epoch, sign bit flipped,
//!                                    so keys sort by time, then by transaction)
//! value := who:lenprefixed what:lenprefixed correlation_id:lenprefixed
//! ```

use crate::coding::{self, Decoder};

/// Who made a write, what it was for, and the request it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditInfo {
    pub who: String,
    pub what: String,
    /// Ties the write to a request, log lines or an order; may be empty.
    pub correlation_id: String,
}

/// One committed audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub tx: u64,
    /// Commit time, ns since the Unix epoch.
    pub time_ns: i64,
    pub info: AuditInfo,
}

pub(crate) const KEY_LEN: usize = 16;

/// The key of the audit record of `tx`, committed at `time_ns`.
pub(crate) fn key(time_ns: i64, tx: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&time_key(time_ns));
    k[8..].copy_from_slice(&tx.to_be_bytes());
    k
}

/// The first 8 bytes of every key at `time_ns`: seeking here finds the first record at or
/// after that time.
pub(crate) fn time_key(time_ns: i64) -> [u8; 8] {
    ((time_ns as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn encode_value(info: &AuditInfo) -> Vec<u8> {
    let mut v =
        Vec::with_capacity(info.who.len() + info.what.len() + info.correlation_id.len() + 6);
    coding::put_length_prefixed(&mut v, info.who.as_bytes());
    coding::put_length_prefixed(&mut v, info.what.as_bytes());
    coding::put_length_prefixed(&mut v, info.correlation_id.as_bytes());
    v
}

/// `None` if either part is malformed.
pub(crate) fn decode(key: &[u8], value: &[u8]) -> Option<AuditRecord> {
    if key.len() != KEY_LEN {
        return None;
    }
    let time = u64::from_be_bytes(key[..8].try_into().ok()?) ^ (1 << 63);
    let tx = u64::from_be_bytes(key[8..].try_into().ok()?);
    let mut d = Decoder::new(value);
    let mut text = || String::from_utf8(d.length_prefixed()?.to_vec()).ok();
    let info = AuditInfo {
        who: text()?,
        what: text()?,
        correlation_id: text()?,
    };
    Some(AuditRecord {
        tx,
        time_ns: time as i64,
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_by_time() {
        let info = AuditInfo {
            who: "alice".into(),
            what: "fix fill 17".into(),
            correlation_id: "req-9".into(),
        };
        let k = key(1_700_000_000_000_000_000, 42);
        let r = decode(&k, &encode_value(&info)).unwrap();
        assert_eq!(
            (r.tx, r.time_ns, r.info),
            (42, 1_700_000_000_000_000_000, info)
        );
        assert!(key(-1, 9) < key(0, 1));
        assert!(key(5, 1) < key(5, 2));
        assert!(key(5, 2) < key(6, 1));
        assert!(decode(&k[1..], b"").is_none());
    }
}
