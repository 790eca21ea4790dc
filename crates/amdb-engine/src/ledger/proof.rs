//! Proofs as a verifier receives them. Checking one needs the proof and a trusted root (with
//! the tree size it was taken at), nothing else: no database, no files.
//!
//! An [`EntryProof`] says "in transaction `tx`, entry `entry_index` set `key` in `keyspace`
//! to `value`". The verifier recomputes, bottom up:
//! 1. the entry hash from keyspace, key, operation and value;
//! 2. the batch's entries root, from the entry hash and `entry_path`;
//! 3. the transaction hash, from tx, time, previous hash and that entries root;
//! 4. the ledger root, from the transaction hash and `tx_path` — and compares it with the
//!    trusted root. Any changed byte in steps 1–3 changes the root.

use super::merkle::{self, verify_consistency, verify_inclusion, Hash, ProofError};
use super::tx::{entry_hash, value_hash, Op, TxHeader};

/// Proof that one entry was written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProof {
    pub keyspace: u32,
    pub key: Vec<u8>,
    pub op: Op,
    /// The value written; empty for a delete.
    pub value: Vec<u8>,
    pub tx: u64,
    pub time_ns: i64,
    /// The previous transaction's hash, which the transaction hash covers.
    pub prev: Hash,
    /// The entry's position among the transaction's hashed entries.
    pub entry_index: u64,
    pub entry_count: u64,
    /// Audit path of the entry in the transaction's entries tree.
    pub entry_path: Vec<Hash>,
    /// Size of the ledger tree the proof is for: the trusted root must be of this size.
    pub tree_size: u64,
    /// Audit path of the transaction in the ledger tree.
    pub tx_path: Vec<Hash>,
}

impl EntryProof {
    /// The transaction hash this proof claims, recomputed from its entry upwards.
    pub fn tx_hash(&self) -> Result<Hash, ProofError> {
        // A delete's hash ignores the value; a proof must not seem to vouch for one.
        if self.op == Op::Delete && !self.value.is_empty() {
            return Err(ProofError::Malformed("a delete has no value"));
        }
        let entry = entry_hash(
            self.keyspace,
            &self.key,
            self.op,
            &value_hash(self.op, &self.value),
        );
        let entries_root = merkle::root_from_inclusion(
            &entry,
            self.entry_index,
            self.entry_count,
            &self.entry_path,
        )?;
        Ok(TxHeader {
            tx: self.tx,
            time_ns: self.time_ns,
            prev: self.prev,
            entries_root,
        }
        .hash())
    }

    /// Checks the proof against `root`, the trusted root of a tree of `tree_size`
    /// transactions.
    pub fn verify(&self, root: &Hash) -> Result<(), ProofError> {
        let index = self.tx.checked_sub(1).ok_or(ProofError::IndexOutOfRange {
            index: u64::MAX,
            tree_size: self.tree_size,
        })?;
        let leaf = self.tx_hash()?;
        verify_inclusion(&leaf, index, self.tree_size, &self.tx_path, root)
    }
}

/// Proof that the ledger of `new_size` transactions extends the one of `old_size`: nothing
/// in the first `old_size` was changed, removed or reordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub old_root: Hash,
    pub new_size: u64,
    pub new_root: Hash,
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks that both roots follow from the path. The verifier must also know one of the
    /// roots to be genuine (see [`ConsistencyProof::verify_from`]).
    pub fn verify(&self) -> Result<(), ProofError> {
        verify_consistency(
            self.old_size,
            self.new_size,
            &self.old_root,
            &self.new_root,
            &self.path,
        )
    }

    /// Checks the proof and that its old root is `trusted`, a root of `old_size` the
    /// verifier kept: then the new root is a genuine extension of it.
    pub fn verify_from(&self, trusted: &Hash) -> Result<(), ProofError> {
        if &self.old_root != trusted {
            return Err(ProofError::RootMismatch {
                tree_size: self.old_size,
                expected: *trusted,
                computed: self.old_root,
            });
        }
        self.verify()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::merkle::MerkleTree;
    use crate::ledger::tx::entries_root;

    /// A ledger of `n` transactions of three entries each; returns the proof for entry
    /// `entry` of transaction `tx` and the root.
    fn ledger_with_proof(n: u64, tx: u64, entry: u64) -> (EntryProof, Hash) {
        let mut tree = MerkleTree::new();
        let mut prev = super::super::tx::GENESIS;
        let mut wanted = None;
        for t in 1..=n {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..3)
                .map(|i| {
                    (
                        format!("k{i}").into_bytes(),
                        format!("v{t}.{i}").into_bytes(),
                    )
                })
                .collect();
            let hashes: Vec<Hash> = entries
                .iter()
                .map(|(k, v)| entry_hash(1, k, Op::Put, &value_hash(Op::Put, v)))
                .collect();
            let header = TxHeader {
                tx: t,
                time_ns: t as i64 * 1000,
                prev,
                entries_root: entries_root(&hashes),
            };
            if t == tx {
                let batch = MerkleTree::from_leaves(hashes.iter().copied());
                let (k, v) = entries[entry as usize].clone();
                wanted = Some(EntryProof {
                    keyspace: 1,
                    key: k,
                    op: Op::Put,
                    value: v,
                    tx: t,
                    time_ns: header.time_ns,
                    prev,
                    entry_index: entry,
                    entry_count: 3,
                    entry_path: batch.inclusion_proof(entry, 3).unwrap(),
                    tree_size: n,
                    tx_path: Vec::new(),
                });
            }
            prev = header.hash();
            tree.push(prev);
        }
        let mut p = wanted.unwrap();
        p.tx_path = tree.inclusion_proof(tx - 1, n).unwrap();
        (p, tree.root())
    }

    #[test]
    fn a_genuine_proof_verifies_and_any_change_fails() {
        let (p, root) = ledger_with_proof(9, 5, 1);
        p.verify(&root).unwrap();
        let variants: Vec<(&str, EntryProof)> = vec![
            (
                "value",
                EntryProof {
                    value: b"forged".to_vec(),
                    ..p.clone()
                },
            ),
            (
                "key",
                EntryProof {
                    key: b"k2".to_vec(),
                    ..p.clone()
                },
            ),
            (
                "keyspace",
                EntryProof {
                    keyspace: 2,
                    ..p.clone()
                },
            ),
            (
                "op",
                EntryProof {
                    op: Op::Delete,
                    ..p.clone()
                },
            ),
            (
                "time",
                EntryProof {
                    time_ns: p.time_ns + 1,
                    ..p.clone()
                },
            ),
            ("tx", EntryProof { tx: 6, ..p.clone() }),
            (
                "prev",
                EntryProof {
                    prev: [9; 32],
                    ..p.clone()
                },
            ),
            (
                "entry index",
                EntryProof {
                    entry_index: 0,
                    ..p.clone()
                },
            ),
            ("tx 0", EntryProof { tx: 0, ..p.clone() }),
        ];
        for (what, forged) in variants {
            assert!(
                forged.verify(&root).is_err(),
                "changed {what} still verifies"
            );
        }
        assert!(p.verify(&[0; 32]).is_err());
    }

    #[test]
    fn consistency_needs_the_trusted_old_root() {
        let mut tree = MerkleTree::new();
        for i in 0..10u8 {
            tree.push(*blake3::hash(&[i]).as_bytes());
        }
        let p = ConsistencyProof {
            old_size: 4,
            old_root: tree.root_at(4).unwrap(),
            new_size: 10,
            new_root: tree.root(),
            path: tree.consistency_proof(4, 10).unwrap(),
        };
        p.verify_from(&tree.root_at(4).unwrap()).unwrap();
        assert!(p.verify_from(&tree.root_at(3).unwrap()).is_err());
        let forged = ConsistencyProof {
            new_root: [1; 32],
            ..p
        };
        assert!(forged.verify().is_err());
    }
}
