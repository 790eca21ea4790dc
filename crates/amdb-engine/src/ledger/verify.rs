//! Full verification of a ledger database from its files: recompute the chain and the tree
//! from `ledger/LEDGER`, compare with a trusted root if given, and check every entry the
//! tables and WALs still hold against the entry hash the ledger recorded for it.
//!
//! Checks, in the order they run (the first failure is reported, naming its transaction):
//! 1. `record-checksum`: every LEDGER record is intact (CRC) and decodes.
//! 2. `chain`: numbers count up by one, each previous hash is the previous transaction's
//!    hash, times never go backwards, sequences only increase.
//! 3. `entries-root`: each record's entries root is the root of its entry hashes.
//! 4. `trusted-root`: the root at the trusted size is the trusted root.
//! 5. `table-checksum`: every table block and WAL record the data is read from is intact.
//! 6. `marker`: each transaction's marker is in the data, at its sequence, with its time.
//! 7. `entry-hash`: every stored version hashes to the ledger's entry hash for its sequence.
//! 8. `not-in-ledger`: no stored version lies outside every transaction.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use super::chain::ChainTip;
use super::marker::Marker;
use super::merkle::{self, Hash};
use super::record::TxRecord;
use super::service::{ledger_path, open_reader, LedgerRoot, CONTINUE_LEDGER, LEDGER_KEYSPACE};
use super::tx::{entries_root, entry_hash, value_hash, Op};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{self, ValueKind};
use crate::options::ReadOptions;

/// Which check found a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    RecordChecksum,
    Chain,
    EntriesRoot,
    TrustedRoot,
    TableChecksum,
    Marker,
    EntryHash,
    NotInLedger,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::RecordChecksum => "record-checksum",
            Check::Chain => "chain",
            Check::EntriesRoot => "entries-root",
            Check::TrustedRoot => "trusted-root",
            Check::TableChecksum => "table-checksum",
            Check::Marker => "marker",
            Check::EntryHash => "entry-hash",
            Check::NotInLedger => "not-in-ledger",
        }
    }
}

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub check: Check,
    /// The first bad transaction, when one can be named.
    pub tx: Option<u64>,
    pub detail: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tx {
            Some(tx) => write!(f, "tx {tx}: {} (check {})", self.detail, self.check.name()),
            None => write!(f, "{} (check {})", self.detail, self.check.name()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The ledger as recomputed (file and WAL).
    pub root: LedgerRoot,
    /// Entry hashes in the ledger.
    pub entries: u64,
    /// Stored versions checked against them.
    pub versions_checked: u64,
    /// `None` when everything checked out.
    pub fault: Option<Fault>,
}

fn fault(check: Check, tx: Option<u64>, detail: impl Into<String>) -> Fault {
    Fault {
        check,
        tx,
        detail: detail.into(),
    }
}

/// Verifies the ledger database in `dir` (opened read-only; a writer may be running).
/// `trusted` is a root the caller kept, with the number of transactions it covers. `Err`
/// only when verification cannot run (no database, no ledger); what is found wrong is in
/// the report.
pub fn verify_ledger(dir: &Path, trusted: Option<(u64, Hash)>) -> Result<VerifyReport> {
    let path = ledger_path(dir);
    if !path.exists() {
        return Err(Error::InvalidArgument(format!(
            "{} has no ledger ({} does not exist)",
            dir.display(),
            path.display()
        )));
    }
    let empty = |fault| VerifyReport {
        root: LedgerRoot {
            tx: 0,
            root: merkle::empty_root(),
            time_ns: None,
        },
        entries: 0,
        versions_checked: 0,
        fault: Some(fault),
    };
    // 1-3: the file alone.
    let entries = match check_file(&path) {
        Ok(n) => n,
        Err(f) => return Ok(empty(f)),
    };
    let db = match Db::open_read_only(dir) {
        Ok(db) => db,
        Err(e) if e.is_corruption() => {
            // The WAL holds transactions the LEDGER file cannot be continued with: records
            // were removed from its end while later ones were still in the WAL.
            let check = match &e {
                Error::Corruption { reason, .. } if reason.contains(CONTINUE_LEDGER) => {
                    Check::NotInLedger
                }
                _ => Check::TableChecksum,
            };
            return Ok(empty(fault(check, None, e.to_string())));
        }
        Err(e) => return Err(e),
    };
    let root = db.ledger_root()?;
    let mut report = VerifyReport {
        root,
        entries,
        versions_checked: 0,
        fault: None,
    };
    // 4: the trusted root.
    if let Some((size, trusted_root)) = trusted {
        if size > root.tx {
            report.fault = Some(fault(
                Check::TrustedRoot,
                Some(root.tx + 1),
                format!(
                    "the ledger holds {} transactions but the trusted root covers {size}: \
                     transactions were removed",
                    root.tx
                ),
            ));
            return Ok(report);
        }
        let at = db.ledger_root_at(size)?;
        if at.root != trusted_root {
            report.fault = Some(fault(
                Check::TrustedRoot,
                None,
                format!(
                    "the root at transaction {size} is {}, not the trusted {}: history up to \
                     transaction {size} was rewritten",
                    merkle::to_hex(&at.root),
                    merkle::to_hex(&trusted_root)
                ),
            ));
            return Ok(report);
        }
    }
    // 5-8: the data against the ledger.
    match check_data(&db, root.tx) {
        Ok(n) => report.versions_checked = n,
        Err(Ok(f)) => report.fault = Some(f),
        Err(Err(e)) => return Err(e),
    }
    Ok(report)
}

/// Checks 1-3 over the LEDGER file; returns the number of entry hashes.
fn check_file(path: &Path) -> std::result::Result<u64, Fault> {
    let mut reader =
        open_reader(path).map_err(|e| fault(Check::RecordChecksum, None, e.to_string()))?;
    let mut tip = ChainTip::GENESIS;
    let mut entries = 0u64;
    loop {
        let next = tip.tx + 1;
        let (offset, payload) = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(fault(Check::RecordChecksum, Some(next), e.to_string())),
        };
        let r = TxRecord::decode(payload).map_err(|e| {
            fault(
                Check::RecordChecksum,
                Some(next),
                format!("record at offset {offset}: {e}"),
            )
        })?;
        tip.advance(&r)
            .map_err(|e| fault(Check::Chain, Some(next), e))?;
        if entries_root(&r.entry_hashes) != r.entries_root {
            return Err(fault(
                Check::EntriesRoot,
                Some(r.tx),
                "the entries root is not the root of the entry hashes",
            ));
        }
        entries += r.entry_hashes.len() as u64;
    }
    Ok(entries)
}

/// One stored version, hashed as the ledger hashes entries.
struct Stored {
    seq: u64,
    hash: Hash,
    keyspace: String,
    key: Vec<u8>,
}

type DataResult<T> = std::result::Result<T, std::result::Result<Fault, Error>>;

/// Checks 5-8: every stored version against the ledger's transactions 1..=`txs`.
fn check_data(db: &Db, txs: u64) -> DataResult<u64> {
    let ledger = db.ledger().map_err(Err)?;
    let mut stored = Vec::new();
    let mut markers: HashMap<u64, (u64, Marker)> = HashMap::new();
    for ks in db.keyspaces() {
        let is_marker = ks.name() == LEDGER_KEYSPACE;
        let (_, mut it) = db
            .internal_iter(&ks, &ReadOptions::default())
            .map_err(Err)?;
        it.seek_to_first();
        while it.valid() {
            let (user_key, seq) = (key::user_key(it.key()), key::sequence(it.key()));
            let op = match key::kind(it.key()) {
                Some(ValueKind::Put) => Op::Put,
                _ => Op::Delete,
            };
            if is_marker {
                match Marker::decode(user_key, it.value()) {
                    Some(m) => {
                        markers.insert(m.tx, (seq, m));
                    }
                    None => {
                        return Err(Ok(fault(
                            Check::Marker,
                            None,
                            format!("malformed marker at sequence {seq}"),
                        )))
                    }
                }
            } else {
                let value = if op == Op::Put { it.value() } else { &[][..] };
                stored.push(Stored {
                    seq,
                    hash: entry_hash(ks.id(), user_key, op, &value_hash(op, value)),
                    keyspace: ks.name().to_string(),
                    key: user_key.to_vec(),
                });
            }
            it.next();
        }
        if let Err(e) = it.status() {
            return Err(if e.is_corruption() {
                Ok(fault(Check::TableChecksum, None, e.to_string()))
            } else {
                Err(e)
            });
        }
    }
    stored.sort_unstable_by_key(|s| s.seq);
    let name = |s: &Stored| {
        format!(
            "{:?} in keyspace {:?}",
            String::from_utf8_lossy(&s.key),
            s.keyspace
        )
    };
    let mut next = stored.iter().peekable();
    for tx in 1..=txs {
        let r = ledger.record(tx).map_err(|e| {
            if e.is_corruption() {
                Ok(fault(Check::RecordChecksum, Some(tx), e.to_string()))
            } else {
                Err(e)
            }
        })?;
        match markers.get(&tx) {
            Some(&(seq, m))
                if seq == r.marker_seq
                    && m.time_ns == r.time_ns
                    && m.count as usize == r.entry_hashes.len() => {}
            Some(_) => {
                return Err(Ok(fault(
                    Check::Marker,
                    Some(tx),
                    "the marker in the data disagrees with the ledger's sequence, time or count",
                )))
            }
            None => {
                return Err(Ok(fault(
                    Check::Marker,
                    Some(tx),
                    "the transaction's marker is missing from the data",
                )))
            }
        }
        while let Some(s) = next.next_if(|s| s.seq <= r.last_seq()) {
            if s.seq <= r.marker_seq {
                return Err(Ok(fault(
                    Check::NotInLedger,
                    Some(tx),
                    format!(
                        "{} at sequence {} belongs to no transaction",
                        name(s),
                        s.seq
                    ),
                )));
            }
            let i = (s.seq - r.marker_seq - 1) as usize;
            if r.entry_hashes[i] != s.hash {
                return Err(Ok(fault(
                    Check::EntryHash,
                    Some(tx),
                    format!(
                        "the stored version of {} (sequence {}) does not match entry {i}",
                        name(s),
                        s.seq
                    ),
                )));
            }
        }
    }
    if let Some(extra) = markers.keys().filter(|&&tx| tx > txs).min() {
        return Err(Ok(fault(
            Check::NotInLedger,
            Some(*extra),
            format!("the data holds transaction {extra}'s marker; the ledger ends at {txs}"),
        )));
    }
    if let Some(s) = next.next() {
        return Err(Ok(fault(
            Check::NotInLedger,
            None,
            format!(
                "{} at sequence {} is not in the ledger, which ends at transaction {txs}",
                name(s),
                s.seq
            ),
        )));
    }
    Ok(stored.len() as u64)
}
