//! The ledger through `Db`: roots, proofs, reads as of a transaction or time, and the audit
//! trail. The ledger may lag commits by a few milliseconds; every call here first brings it
//! up to the transactions committed so far, so a proof can be had for a write that just
//! returned.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::keyspace::Keyspace;
use crate::ledger::audit::{self, AuditRecord};
use crate::ledger::merkle::MerkleTree;
use crate::ledger::proof::{ConsistencyProof, EntryProof};
use crate::ledger::service::{LedgerRoot, AUDIT_KEYSPACE};
use crate::ledger::tx::{entry_hash, value_hash, Op};
use crate::ledger::TxRecord;
use crate::options::ReadOptions;

/// A point in a ledger database's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Just after transaction `n` committed.
    Tx(u64),
    /// The last transaction committed at or before this time (ns since the Unix epoch).
    Time(i64),
}

impl Db {
    pub fn has_ledger(&self) -> bool {
        self.ledger().is_ok()
    }

    /// The ledger's root over every transaction committed so far.
    pub fn ledger_root(&self) -> Result<LedgerRoot> {
        let l = self.ledger()?;
        l.process_pending()?;
        Ok(l.root())
    }

    /// As [`Db::ledger_root`], and the LEDGER file is synced through it.
    pub fn ledger_sync(&self) -> Result<LedgerRoot> {
        let l = self.ledger()?;
        if !self.is_read_only() {
            l.sync()?;
        }
        Ok(l.root())
    }

    /// The root as it was when the ledger held `tx` transactions.
    pub fn ledger_root_at(&self, tx: u64) -> Result<LedgerRoot> {
        let l = self.ledger()?;
        l.process_pending()?;
        l.root_at(tx)
            .map_err(|e| Error::InvalidArgument(format!("no root at transaction {tx}: {e}")))
    }

    /// Transaction `tx` as the ledger recorded it.
    pub fn ledger_record(&self, tx: u64) -> Result<TxRecord> {
        let l = self.ledger()?;
        l.process_pending()?;
        l.record(tx)
    }

    /// Proof that the ledger at `new` transactions extends the ledger at `old`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof> {
        let l = self.ledger()?;
        l.process_pending()?;
        let bad =
            |e| Error::InvalidArgument(format!("no consistency proof from {old} to {new}: {e}"));
        Ok(ConsistencyProof {
            old_size: old,
            old_root: l.root_at(old).map_err(bad)?.root,
            new_size: new,
            new_root: l.root_at(new).map_err(bad)?.root,
            path: l.consistency_path(old, new).map_err(bad)?,
        })
    }

    /// Proof of the version of `key` current just after transaction `at_tx` (default: the
    /// newest), against the root of the first `tree_size` transactions (default: all, and
    /// never fewer than `at_tx`).
    ///
    /// Fails if the data holding that version no longer matches the ledger's entry hash, and
    /// if the version is gone: only versioned keyspaces keep superseded versions.
    pub fn entry_proof(
        &self,
        ks: &Keyspace,
        key: impl AsRef<[u8]>,
        at_tx: Option<u64>,
        tree_size: Option<u64>,
    ) -> Result<EntryProof> {
        let key = key.as_ref();
        let l = self.ledger()?;
        l.process_pending()?;
        let tip = l.root().tx;
        let tree_size = tree_size.unwrap_or(tip);
        let at_tx = at_tx.unwrap_or(tree_size);
        if at_tx == 0 || at_tx > tree_size || tree_size > tip {
            return Err(Error::InvalidArgument(format!(
                "need 1 <= tx ({at_tx}) <= tree size ({tree_size}) <= transactions ({tip})"
            )));
        }
        let bound = l.last_seq_of(at_tx).expect("at_tx <= tip");
        let version = self
            .history(ks, key)?
            .into_iter()
            .find(|v| v.sequence <= bound)
            .ok_or_else(|| {
                let why = if ks.options().versioned {
                    "no version was written by then"
                } else {
                    "no version was written by then, or compaction dropped it (the keyspace \
                     is not versioned)"
                };
                Error::InvalidArgument(format!(
                    "key {:?} in keyspace {:?} has no version at transaction {at_tx}: {why}",
                    String::from_utf8_lossy(key),
                    ks.name()
                ))
            })?;
        let (tx, _) = l.tx_of_seq(version.sequence).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "sequence {} is not covered by the ledger",
                version.sequence
            ))
        })?;
        let record = l.record(tx)?;
        let index = version.sequence - record.marker_seq - 1;
        let (op, value) = match version.value {
            Some(v) => (Op::Put, v),
            None => (Op::Delete, Vec::new()),
        };
        let stored = record.entry_hashes.get(index as usize).copied();
        if stored != Some(entry_hash(ks.id(), key, op, &value_hash(op, &value))) {
            return Err(Error::Background(format!(
                "tampering: the stored version of {:?} (sequence {}) does not match entry {index} \
                 of transaction {tx} in the ledger",
                String::from_utf8_lossy(key),
                version.sequence
            )));
        }
        let count = record.entry_hashes.len() as u64;
        let batch = MerkleTree::from_leaves(record.entry_hashes.iter().copied());
        let bad = |e| Error::InvalidArgument(format!("no proof for transaction {tx}: {e}"));
        Ok(EntryProof {
            keyspace: ks.id(),
            key: key.to_vec(),
            op,
            value,
            tx,
            time_ns: record.time_ns,
            prev: record.prev,
            entry_index: index,
            entry_count: count,
            entry_path: batch.inclusion_proof(index, count).map_err(bad)?,
            tree_size,
            tx_path: l.inclusion_path(tx, tree_size).map_err(bad)?,
        })
    }

    /// The value of `key` at a point in history, in a versioned keyspace of a ledger
    /// database. `None` if the key had no value then (or the point precedes transaction 1).
    pub fn get_as_of(
        &self,
        ks: &Keyspace,
        key: impl AsRef<[u8]>,
        at: AsOf,
    ) -> Result<Option<Vec<u8>>> {
        let l = self.ledger()?;
        l.process_pending()?;
        let tx = match at {
            AsOf::Tx(tx) => tx,
            AsOf::Time(t) => match l.tx_at_time(t) {
                Some(tx) => tx,
                None => return Ok(None),
            },
        };
        if tx == 0 {
            return Ok(None);
        }
        let seq = l.last_seq_of(tx).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "transaction {tx} has not happened (the last is {})",
                l.root().tx
            ))
        })?;
        self.get_at(ks, key, seq)
    }

    /// Audit records committed in `[from_ns, to_ns)` (either bound may be open), oldest
    /// first.
    pub fn audit_trail(
        &self,
        from_ns: Option<i64>,
        to_ns: Option<i64>,
    ) -> Result<Vec<AuditRecord>> {
        self.ledger()?;
        let ks = self.keyspace(AUDIT_KEYSPACE)?;
        let opts = ReadOptions {
            lower_bound: from_ns.map(|t| audit::time_key(t).to_vec()),
            upper_bound: to_ns.map(|t| audit::time_key(t).to_vec()),
            ..ReadOptions::default()
        };
        let mut out = Vec::new();
        let mut it = self.iter(&ks, &opts)?;
        it.seek_to_first();
        while it.valid() {
            let r = audit::decode(it.key(), it.value()).ok_or_else(|| {
                Error::Background(format!("malformed audit record at key {:02x?}", it.key()))
            })?;
            out.push(r);
            it.next();
        }
        it.status()?;
        Ok(out)
    }
}
