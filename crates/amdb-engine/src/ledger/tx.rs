//! A transaction's hashes: each entry's, the batch's Merkle root, and the chain link.
//!
//! The exact byte strings hashed are specified in `docs/ledger.md` ("What is hashed"); this
//! file is their only implementation, shared by the engine (which writes them) and the
//! verifiers (which recompute them from a proof). Every variable-length field is preceded by
//! its length, and each kind of hash has its own BLAKE3 derive-key context
//! ([`domain`](super::domain)), so two different entries or transactions never hash the
//! same bytes in the same domain.

use super::domain;
use super::merkle::{self, Hash};

/// The previous hash of transaction 1.
pub const GENESIS: Hash = [0; 32];

/// What an entry did to its key: the engine's own kinds, numbered as in the WAL
/// (`docs/formats.md` §6), so an entry is hashed with the byte it is stored with.
pub use crate::key::ValueKind as Op;

/// BLAKE3 of a put's value (plain hash mode, what `b3sum` prints); 32 zero bytes for a
/// delete (which has none).
pub fn value_hash(op: Op, value: &[u8]) -> Hash {
    match op {
        Op::Put => *blake3::hash(value).as_bytes(),
        Op::Delete => [0; 32],
    }
}

/// The hash of one entry: keyspace id, key, operation and the value's hash. It is also the
/// entry's leaf in its transaction's entries tree.
pub fn entry_hash(keyspace: u32, key: &[u8], op: Op, value_hash: &Hash) -> Hash {
    // Short keys (the usual case) are laid out on the stack: no allocation per entry.
    let mut stack = [0u8; 256];
    let mut heap = Vec::new();
    let len = entry_input_len(key);
    let input = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap[..]
    };
    write_entry_input(keyspace, key, op, value_hash, input);
    domain::ENTRY.hash(input)
}

/// The length of the bytes an entry hash covers.
pub(crate) fn entry_input_len(key: &[u8]) -> usize {
    4 + 4 + key.len() + 1 + 32
}

/// Writes the bytes an entry hash covers into `out`, which is [`entry_input_len`] long:
/// keyspace (u32 LE), key length (u32 LE), key, operation byte, value hash.
pub(crate) fn write_entry_input(
    keyspace: u32,
    key: &[u8],
    op: Op,
    value_hash: &Hash,
    out: &mut [u8],
) {
    out[..4].copy_from_slice(&keyspace.to_le_bytes());
    out[4..8].copy_from_slice(&(key.len() as u32).to_le_bytes());
    out[8..8 + key.len()].copy_from_slice(key);
    out[8 + key.len()] = op as u8;
    out[9 + key.len()..].copy_from_slice(value_hash);
}

/// The Merkle root over a batch's entry hashes, in batch order.
pub fn entries_root(entry_hashes: &[Hash]) -> Hash {
    merkle::MerkleTree::from_leaves(entry_hashes.iter().copied()).root()
}

/// What a transaction's hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxHeader {
    /// Counts from 1 without gaps.
    pub tx: u64,
    /// Commit time, nanoseconds since the Unix epoch; never before the previous tx's.
    pub time_ns: i64,
    /// The previous transaction's hash ([`GENESIS`] for tx 1).
    pub prev: Hash,
    pub entries_root: Hash,
}

impl TxHeader {
    /// The chain link: this hash is the transaction's leaf in the ledger's tree and the
    /// `prev` of the next transaction.
    pub fn hash(&self) -> Hash {
        let mut input = [0u8; 80];
        input[..8].copy_from_slice(&self.tx.to_le_bytes());
        input[8..16].copy_from_slice(&self.time_ns.to_le_bytes());
        input[16..48].copy_from_slice(&self.prev);
        input[48..].copy_from_slice(&self.entries_root);
        domain::TX.hash(&input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(ks: u32, key: &[u8], value: &[u8]) -> Hash {
        entry_hash(ks, key, Op::Put, &value_hash(Op::Put, value))
    }

    #[test]
    fn every_field_of_an_entry_counts() {
        let base = put(1, b"key", b"value");
        assert_ne!(base, put(2, b"key", b"value"), "keyspace");
        assert_ne!(base, put(1, b"kez", b"value"), "key");
        assert_ne!(base, put(1, b"key", b"valuf"), "value");
        let deleted = entry_hash(1, b"key", Op::Delete, &value_hash(Op::Delete, b""));
        assert_ne!(deleted, put(1, b"key", b""), "a delete is not an empty put");
        // The key's length is framed: moving a byte between key and value changes it.
        assert_ne!(put(1, b"ke", b"yvalue"), base);
    }

    /// The documented definition, spelled out: `blake3::derive_key` of the fields in order.
    fn entry_hash_streamed(keyspace: u32, key: &[u8], op: Op, value_hash: &Hash) -> Hash {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&keyspace.to_le_bytes());
        bytes.extend_from_slice(&(key.len() as u32).to_le_bytes());
        bytes.extend_from_slice(key);
        bytes.push(op as u8);
        bytes.extend_from_slice(value_hash);
        blake3::derive_key("amdb 2026-11-22 ledger v2 entry", &bytes)
    }

    #[test]
    fn the_tx_hash_hashes_the_documented_bytes() {
        let h = TxHeader {
            tx: 7,
            time_ns: -3,
            prev: [1; 32],
            entries_root: [2; 32],
        };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&7u64.to_le_bytes());
        bytes.extend_from_slice(&(-3i64).to_le_bytes());
        bytes.extend_from_slice(&[1; 32]);
        bytes.extend_from_slice(&[2; 32]);
        let expected = blake3::derive_key("amdb 2026-11-22 ledger v2 transaction", &bytes);
        assert_eq!(h.hash(), expected);
    }

    #[test]
    fn the_entry_hash_hashes_the_documented_bytes() {
        for key_len in [0usize, 1, 16, 200, 206, 207, 300] {
            let key: Vec<u8> = (0..key_len).map(|i| i as u8).collect();
            let vh = value_hash(Op::Put, b"v");
            assert_eq!(
                entry_hash(9, &key, Op::Put, &vh),
                entry_hash_streamed(9, &key, Op::Put, &vh),
                "key of {key_len} bytes"
            );
        }
    }

    #[test]
    fn every_field_of_a_transaction_counts() {
        let h = TxHeader {
            tx: 7,
            time_ns: 1_700_000_000_000_000_000,
            prev: [3; 32],
            entries_root: [4; 32],
        };
        let base = h.hash();
        assert_ne!(base, TxHeader { tx: 8, ..h }.hash());
        assert_ne!(
            base,
            TxHeader {
                time_ns: h.time_ns + 1,
                ..h
            }
            .hash()
        );
        assert_ne!(base, TxHeader { prev: [5; 32], ..h }.hash());
        assert_ne!(
            base,
            TxHeader {
                entries_root: [5; 32],
                ..h
            }
            .hash()
        );
    }

    #[test]
    fn the_batch_root_depends_on_order_and_content() {
        let (a, b, c) = (put(0, b"a", b"1"), put(0, b"b", b"2"), put(0, b"c", b"3"));
        let root = entries_root(&[a, b, c]);
        assert_ne!(root, entries_root(&[b, a, c]));
        assert_ne!(root, entries_root(&[a, b]));
        assert_eq!(root, entries_root(&[a, b, c]));
    }
}
