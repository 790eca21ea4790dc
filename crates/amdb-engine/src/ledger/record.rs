//! A record of the `ledger/LEDGER` file: one transaction, as hashed (docs/formats.md §13).
//!
//! ```text
//! payload := tx:u64le time_ns:i64le marker_seq:u64le count:u32le
//!            prev[32] entries_root[32] entry_hash[32]*count
//! ```
//! `marker_seq` is the sequence of the transaction's marker; entry `i` was written at
//! `marker_seq + 1 + i`. The transaction's own hash is not stored: it is recomputed from the
//! header fields, so a record cannot claim a hash its fields do not have.

use super::merkle::Hash;
use super::tx::TxHeader;

const FIXED_LEN: usize = 8 + 8 + 8 + 4 + 32 + 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    pub tx: u64,
    pub time_ns: i64,
    pub marker_seq: u64,
    pub prev: Hash,
    pub entries_root: Hash,
    pub entry_hashes: Vec<Hash>,
}

impl TxRecord {
    pub fn header(&self) -> TxHeader {
        TxHeader {
            tx: self.tx,
            time_ns: self.time_ns,
            prev: self.prev,
            entries_root: self.entries_root,
        }
    }

    /// The sequence of entry `i`.
    pub fn entry_seq(&self, i: usize) -> u64 {
        self.marker_seq + 1 + i as u64
    }

    /// The highest sequence the transaction used (its marker's if it has no entries).
    pub fn last_seq(&self) -> u64 {
        self.marker_seq + self.entry_hashes.len() as u64
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(FIXED_LEN + 32 * self.entry_hashes.len());
        out.extend_from_slice(&self.tx.to_le_bytes());
        out.extend_from_slice(&self.time_ns.to_le_bytes());
        out.extend_from_slice(&self.marker_seq.to_le_bytes());
        out.extend_from_slice(&(self.entry_hashes.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.prev);
        out.extend_from_slice(&self.entries_root);
        for h in &self.entry_hashes {
            out.extend_from_slice(h);
        }
    }

    /// Decodes a payload; `Err` says what is wrong with it.
    pub fn decode(p: &[u8]) -> Result<TxRecord, String> {
        if p.len() < FIXED_LEN {
            return Err(format!(
                "record of {} bytes is shorter than the {FIXED_LEN}-byte header",
                p.len()
            ));
        }
        let u64_at = |at: usize| u64::from_le_bytes(p[at..at + 8].try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(p[24..28].try_into().expect("4 bytes")) as usize;
        let hashes = &p[FIXED_LEN..];
        if hashes.len() != count * 32 {
            return Err(format!(
                "record says {count} entries but holds {} bytes of entry hashes",
                hashes.len()
            ));
        }
        let hash_at = |at: usize| -> Hash { p[at..at + 32].try_into().expect("32 bytes") };
        Ok(TxRecord {
            tx: u64_at(0),
            time_ns: u64_at(8) as i64,
            marker_seq: u64_at(16),
            prev: hash_at(28),
            entries_root: hash_at(60),
            entry_hashes: hashes
                .chunks_exact(32)
                .map(|c| c.try_into().expect("32 bytes"))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_the_count() {
        let r = TxRecord {
            tx: 9,
            time_ns: 1_700_000_000_000_000_000,
            marker_seq: 41,
            prev: [1; 32],
            entries_root: [2; 32],
            entry_hashes: vec![[3; 32], [4; 32]],
        };
        let mut buf = Vec::new();
        r.encode(&mut buf);
        assert_eq!(TxRecord::decode(&buf), Ok(r.clone()));
        assert_eq!(r.entry_seq(1), 43);
        assert_eq!(r.last_seq(), 43);
        assert!(TxRecord::decode(&buf[..buf.len() - 1]).is_err());
        assert!(TxRecord::decode(&buf[..20]).is_err());
    }
}
