//! Turns committed entries into hashed transactions: splits them at their markers, hashes
//! every entry, and links each transaction to the one before. The commit path (through the
//! ledger thread) and recovery (from the WAL) both use this, so a transaction is hashed the
//! same way whichever of them sees it first.

use super::domain;
use super::lanes::{self, Mode};
use super::marker::Marker;
use super::merkle::{self, Hash};
use super::record::TxRecord;
use super::tx::{entry_input_len, write_entry_input, Op, GENESIS};
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

/// A transaction found in the entries, not yet hashed.
struct Found {
    marker: Marker,
    marker_seq: u64,
    /// Its entries' range in the flat list of new transactions' entries.
    start: usize,
}

/// Hashes the transactions in `entries` (`(sequence, entry)` in commit order) that follow
/// `tip`, advancing `tip`. Transactions at or below `tip.tx` are skipped: the ledger already
/// has them. `Err` describes the first inconsistency: entries before any marker, a gap or
/// repeat in transaction numbers, time going backwards, or a count that disagrees.
///
/// All the new transactions' hashes are computed together, each step (values, entries,
/// leaves, each tree level) as one run through [`lanes`](super::lanes): a group of many
/// small transactions costs about as much as one transaction of as many entries.
pub(crate) fn hash_transactions<'a>(
    ledger_ks: u32,
    entries: impl IntoIterator<Item = (u64, BatchEntry<'a>)>,
    tip: &mut ChainTip,
) -> Result<Vec<(TxRecord, Hash)>, String> {
    let mut found: Vec<Found> = Vec::new();
    let mut flat: Vec<BatchEntry<'a>> = Vec::new();
    // `Some(is_new)` once a marker has been seen.
    let mut in_tx: Option<bool> = None;
    for (seq, e) in entries {
        if e.keyspace == ledger_ks {
            check_count(found.last(), in_tx, flat.len())?;
            let marker = Marker::decode(e.key, e.value)
                .ok_or_else(|| format!("malformed transaction marker at sequence {seq}"))?;
            let next = tip.tx + 1 + found.len() as u64;
            let is_new = marker.tx > tip.tx;
            if is_new && marker.tx != next {
                return Err(format!(
                    "transaction {} at sequence {seq} does not follow transaction {}",
                    marker.tx,
                    next - 1
                ));
            }
            if is_new {
                found.push(Found {
                    marker,
                    marker_seq: seq,
                    start: flat.len(),
                });
            }
            in_tx = Some(is_new);
            continue;
        }
        match in_tx {
            None => return Err(format!("entry at sequence {seq} belongs to no transaction")),
            Some(true) => flat.push(e),
            Some(false) => {}
        }
    }
    check_count(found.last(), in_tx, flat.len())?;

    let entry_hashes = hash_entries(&flat);
    let ends = found.iter().skip(1).map(|f| f.start).chain([flat.len()]);
    let per_tx: Vec<&[Hash]> = found
        .iter()
        .zip(ends)
        .map(|(f, end)| &entry_hashes[f.start..end])
        .collect();
    let roots = merkle::roots_of_many(&per_tx);
    let mut out = Vec::with_capacity(found.len());
    for ((f, hashes), entries_root) in found.iter().zip(per_tx).zip(roots) {
        let record = TxRecord {
            tx: f.marker.tx,
            time_ns: f.marker.time_ns,
            marker_seq: f.marker_seq,
            prev: tip.hash,
            entries_root,
            entry_hashes: hashes.to_vec(),
        };
        let hash = tip.advance(&record)?;
        out.push((record, hash));
    }
    Ok(out)
}

/// Checks that the new transaction just ended (`last`, if `in_tx` says the open one is new)
/// has the entries its marker counts; `len` is the flat list's length.
fn check_count(last: Option<&Found>, in_tx: Option<bool>, len: usize) -> Result<(), String> {
    if let (Some(f), Some(true)) = (last, in_tx) {
        let n = len - f.start;
        if n != f.marker.count as usize {
            return Err(format!(
                "transaction {} declares {} entries but has {n}",
                f.marker.tx, f.marker.count
            ));
        }
    }
    Ok(())
}

/// [`entry_hash`](super::tx::entry_hash) of every entry, computed in SIMD lanes: the values'
/// hashes first, then the entries'.
fn hash_entries(entries: &[BatchEntry<'_>]) -> Vec<Hash> {
    let mut value_hashes = vec![[0u8; 32]; entries.len()];
    lanes::hash_many(Mode::Hash, |i| entries[i].value, &mut value_hashes);
    for (vh, e) in value_hashes.iter_mut().zip(entries) {
        // A delete has no value; its value hash is all zeros (`tx::value_hash`).
        if e.kind == Op::Delete {
            *vh = [0; 32];
        }
    }

    let mut bounds = Vec::with_capacity(entries.len() + 1);
    bounds.push(0);
    for e in entries {
        bounds.push(bounds.last().unwrap() + entry_input_len(e.key));
    }
    let mut inputs = vec![0u8; *bounds.last().unwrap()];
    for (i, (e, vh)) in entries.iter().zip(&value_hashes).enumerate() {
        let input = &mut inputs[bounds[i]..bounds[i + 1]];
        write_entry_input(e.keyspace, e.key, e.kind, vh, input);
    }
    let mut hashes = vec![[0u8; 32]; entries.len()];
    let entry = Mode::DeriveKey(&domain::ENTRY);
    lanes::hash_many(entry, |i| &inputs[bounds[i]..bounds[i + 1]], &mut hashes);
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ValueKind;
    use crate::ledger::tx::{entries_root, entry_hash, value_hash};

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
    fn hashes_are_the_documented_ones() {
        // Transactions of many sizes, puts and deletes, hashed together in lanes, give what
        // the one-at-a-time definitions in `tx` give.
        let keys: Vec<Vec<u8>> = (0..300u32)
            .map(|i| i.to_be_bytes().repeat(1 + i as usize % 9))
            .collect();
        let values: Vec<Vec<u8>> = (0..300u32)
            .map(|i| vec![i as u8; i as usize % 150])
            .collect();
        let sizes = [1usize, 0, 2, 17, 100, 3, 160, 1];
        let markers: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(t, &n)| marker(t as u64 + 1, 5, n as u32))
            .collect();
        let mut entries = Vec::new();
        let mut expected = Vec::new();
        let mut next = 0;
        for (m, &n) in markers.iter().zip(&sizes) {
            entries.push((entries.len() as u64 + 1, mark(m)));
            let mut hashes = Vec::new();
            for _ in 0..n {
                let (key, value) = (&keys[next], &values[next]);
                let kind = if next % 7 == 3 {
                    ValueKind::Delete
                } else {
                    ValueKind::Put
                };
                let value: &[u8] = if kind == ValueKind::Delete {
                    b""
                } else {
                    value
                };
                entries.push((
                    entries.len() as u64 + 1,
                    BatchEntry {
                        kind,
                        keyspace: 2,
                        key,
                        value,
                    },
                ));
                hashes.push(entry_hash(2, key, kind, &value_hash(kind, value)));
                next += 1;
            }
            expected.push((entries_root(&hashes), hashes));
        }
        let mut tip = ChainTip::GENESIS;
        let txs = hash_transactions(LEDGER, entries, &mut tip).unwrap();
        assert_eq!(txs.len(), sizes.len());
        for ((record, _), (root, hashes)) in txs.iter().zip(&expected) {
            assert_eq!(&record.entry_hashes, hashes, "tx {}", record.tx);
            assert_eq!(&record.entries_root, root, "tx {}", record.tx);
        }
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
