//! Turns committed entries into hashed transactions: splits them at their markers, hashes
//! every entry, and links each transaction to the one before. The commit path (through the
//! ledger thread) and recovery (from the WAL) both use this, so a transaction is hashed the
//! same way whichever of them sees it first.

use super::marker::Marker;
use super::merkle::Hash;
use super::record::TxRecord;
use super::tx::{entries_root, entry_hash, value_hash, GENESIS};
use crate::batch::BatchEntry;

/// The newest transaction hashed: what the next one must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChainTip {
    /// 0 before the first transaction.
    pub tx: u64,
    pub hash: Hash,
    pub time_ns: i64,
    /// The highest sequence covered (the last transaction's last entry).
    pub seq: u64,
}

impl ChainTip {
    pub const GENESIS: ChainTip = ChainTip {
        tx: 0,
        hash: GENESIS,
        time_ns: i64::MIN,
        seq: 0,
    };

    /// Moves the tip to record `r` if `r` may follow it, and returns `r`'s hash. `Err` says
    /// which link is broken: the number, the previous hash, the time or the sequences.
    pub fn advance(&mut self, r: &TxRecord) -> Result<Hash, String> {
        if r.tx != self.tx + 1 {
            return Err(format!(
                "transaction {} follows transaction {} (numbers must count up by one)",
                r.tx, self.tx
            ));
        }
        if r.prev != self.hash {
            return Err(format!(
                "transaction {}: previous hash does not match transaction {}'s hash",
                r.tx, self.tx
            ));
        }
        if r.time_ns < self.time_ns {
            return Err(format!(
                "transaction {} is timed before transaction {}",
                r.tx, self.tx
            ));
        }
        if r.marker_seq <= self.seq && self.tx > 0 {
            return Err(format!(
                "transaction {} starts at sequence {}, not after transaction {}'s last ({})",
                r.tx, r.marker_seq, self.tx, self.seq
            ));
        }
        let hash = r.header().hash();
        *self = ChainTip {
            tx: r.tx,
            hash,
            time_ns: r.time_ns,
            seq: r.last_seq(),
        };
        Ok(hash)
    }
}

/// One transaction in the making.
struct Open {
    marker: Marker,
    marker_seq: u64,
    hashes: Vec<Hash>,
    /// Already in the ledger (recovery replays WAL records the ledger has): skip it.
    known: bool,
}

/// Hashes the transactions in `entries` (`(sequence, entry)` in commit order) that follow
/// `tip`, advancing `tip`. Transactions at or below `tip.tx` are skipped: the ledger already
/// has them. `Err` describes the first inconsistency: entries before any marker, a gap or
/// repeat in transaction numbers, time going backwards, or a count that disagrees.
pub(crate) fn hash_transactions<'a>(
    ledger_ks: u32,
    entries: impl IntoIterator<Item = (u64, BatchEntry<'a>)>,
    tip: &mut ChainTip,
) -> Result<Vec<(TxRecord, Hash)>, String> {
    let mut out = Vec::new();
    let mut open: Option<Open> = None;
    for (seq, e) in entries {
        if e.keyspace == ledger_ks {
            if let Some(o) = open.take() {
                close(o, tip, &mut out)?;
            }
            let marker = Marker::decode(e.key, e.value)
                .ok_or_else(|| format!("malformed transaction marker at sequence {seq}"))?;
            let known = marker.tx <= tip.tx;
            if !known && marker.tx != tip.tx + 1 {
                return Err(format!(
                    "transaction {} at sequence {seq} does not follow transaction {}",
                    marker.tx, tip.tx
                ));
            }
            open = Some(Open {
                marker,
                marker_seq: seq,
                hashes: Vec::with_capacity(marker.count as usize),
                known,
            });
            continue;
        }
        let o = open
            .as_mut()
            .ok_or_else(|| format!("entry at sequence {seq} belongs to no transaction"))?;
        if !o.known {
            o.hashes.push(entry_hash(
                e.keyspace,
                e.key,
                e.kind,
                &value_hash(e.kind, e.value),
            ));
        }
    }
    if let Some(o) = open {
        close(o, tip, &mut out)?;
    }
    Ok(out)
}

fn close(o: Open, tip: &mut ChainTip, out: &mut Vec<(TxRecord, Hash)>) -> Result<(), String> {
    if o.known {
        return Ok(());
    }
    let tx = o.marker.tx;
    if o.hashes.len() != o.marker.count as usize {
        return Err(format!(
            "transaction {tx} declares {} entries but has {}",
            o.marker.count,
            o.hashes.len()
        ));
    }
    let record = TxRecord {
        tx,
        time_ns: o.marker.time_ns,
        marker_seq: o.marker_seq,
        prev: tip.hash,
        entries_root: entries_root(&o.hashes),
        entry_hashes: o.hashes,
    };
    let hash = tip.advance(&record)?;
    out.push((record, hash));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ValueKind;

    const LEDGER: u32 = 7;

    fn marker(tx: u64, time_ns: i64, count: u32) -> ([u8; 8], [u8; 12]) {
        let m = Marker { tx, time_ns, count };
        (m.key(), m.value())
    }

    fn put<'a>(key: &'a [u8], value: &'a [u8]) -> BatchEntry<'a> {
        BatchEntry {
            kind: ValueKind::Put,
            keyspace: 0,
            key,
            value,
        }
    }

    fn mark(m: &([u8; 8], [u8; 12])) -> BatchEntry<'_> {
        BatchEntry {
            kind: ValueKind::Put,
            keyspace: LEDGER,
            key: &m.0,
            value: &m.1,
        }
    }

    #[test]
    fn splits_at_markers_links_and_skips_known_transactions() {
        let (m1, m2) = (marker(1, 10, 2), marker(2, 10, 1));
        let entries = vec![
            (1, mark(&m1)),
            (2, put(b"a", b"1")),
            (3, put(b"b", b"2")),
            (4, mark(&m2)),
            (5, put(b"a", b"3")),
        ];
        let mut tip = ChainTip::GENESIS;
        let txs = hash_transactions(LEDGER, entries.clone(), &mut tip).unwrap();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].0.entry_hashes.len(), 2);
        assert_eq!(txs[1].0.prev, txs[0].1);
        assert_eq!(txs[1].0.marker_seq, 4);
        assert_eq!((tip.tx, tip.hash, tip.seq), (2, txs[1].1, 5));

        // Replaying the same entries after the ledger has them adds nothing.
        let again = hash_transactions(LEDGER, entries.clone(), &mut tip).unwrap();
        assert!(again.is_empty());

        // After only tx 1, the replay hashes tx 2 exactly as before.
        let mut tip1 = ChainTip::GENESIS;
        hash_transactions(LEDGER, entries[..3].to_vec(), &mut tip1).unwrap();
        let rest = hash_transactions(LEDGER, entries, &mut tip1).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1, txs[1].1);
    }

    #[test]
    fn inconsistencies_are_errors() {
        let m1 = marker(1, 10, 1);
        let mut tip = ChainTip::GENESIS;
        let orphan = vec![(1, put(b"a", b"1"))];
        assert!(hash_transactions(LEDGER, orphan, &mut tip).is_err());
        let gap = marker(2, 10, 0);
        assert!(hash_transactions(LEDGER, vec![(1, mark(&gap))], &mut tip).is_err());
        let short = vec![(1, mark(&m1))];
        assert!(hash_transactions(LEDGER, short, &mut tip).is_err());
        let mut late = ChainTip {
            time_ns: 11,
            ..ChainTip::GENESIS
        };
        let timed = vec![(1, mark(&m1)), (2, put(b"a", b"1"))];
        assert!(hash_transactions(LEDGER, timed, &mut late).is_err());
    }
}
