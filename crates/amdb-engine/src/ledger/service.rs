//! The ledger at run time: the hashed chain and Merkle tree of a database, kept up to date
//! off the commit path.
//!
//! The commit leader stamps each batch with a transaction marker and, after the WAL write,
//! queues a copy of the group's entries here. The ledger thread hashes them
//! ([`hash_transactions`]), appends one record per transaction to `ledger/LEDGER` and extends
//! the in-memory tree. So the ledger may lag commits; [`Ledger::root`] says exactly which
//! transaction it covers.
//!
//! Why nothing is lost: a transaction not yet in the LEDGER file is still in a live WAL, and
//! recovery hashes every WAL transaction the file lacks before anything else happens. A WAL
//! file stops being live only through a flush's MANIFEST edit, and the flush first calls
//! [`Ledger::sync_through`] for every committed sequence.
//!
//! Invariants (under `state`): `tree` has one leaf per transaction `1..=tip.tx`, `index[i]`
//! describes transaction `i + 1`, and every queued job holds only transactions after `tip`.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::chain::{hash_transactions, ChainTip};
use super::merkle::{Hash, MerkleTree, ProofError};
use super::record::TxRecord;
use crate::batch::{BatchEntry, EntryIter};
use crate::error::{Error, Result};
use crate::log_format::{self, RECORD_HEADER_LEN};
use crate::log_reader::LogReader;
use crate::log_writer::LogWriter;

pub(crate) const LEDGER_DIR: &str = "ledger";
pub(crate) const LEDGER_FILE: &str = "LEDGER";
/// "LG2": the second hash layout (`docs/ledger.md`); `AMDB-LGR` files hold the first.
pub const LEDGER_MAGIC: [u8; 8] = *b"AMDB-LG2";
const LEDGER_MAGIC_V1: [u8; 8] = *b"AMDB-LGR";
/// The engine's keyspaces: transaction markers and audit records.
pub const LEDGER_KEYSPACE: &str = "__ledger";
pub const AUDIT_KEYSPACE: &str = "__audit";

/// How recovery reports a WAL record the LEDGER file cannot be continued with.
pub(crate) const CONTINUE_LEDGER: &str = "WAL record does not continue the ledger";
/// Queued bytes beyond which committers wait for the ledger thread (backpressure).
const QUEUE_LIMIT_BYTES: usize = 64 << 20;
/// Job buffers kept for reuse, and the largest kept (a huge group's is freed instead).
const SPARE_BUFFERS: usize = 8;
const SPARE_BUFFER_MAX: usize = 4 << 20;
/// Offset of a transaction recovered by a read-only open, which never writes the file.
const NOT_IN_FILE: u64 = u64::MAX;

pub(crate) fn ledger_path(db_dir: &Path) -> PathBuf {
    db_dir.join(LEDGER_DIR).join(LEDGER_FILE)
}

/// What the ledger covers: the first `tx` transactions, under `root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerRoot {
    /// Transactions covered, which is also the tree size.
    pub tx: u64,
    pub root: Hash,
    /// Commit time of transaction `tx` (ns since the Unix epoch); `None` when empty.
    pub time_ns: Option<i64>,
}

/// A committed group's entries, as the WAL record holds them.
pub(crate) struct Job {
    pub first_seq: u64,
    pub entries: Vec<u8>,
}

#[derive(Clone, Copy)]
struct TxIndex {
    marker_seq: u64,
    time_ns: i64,
    offset: u64,
}

struct State {
    queue: VecDeque<Job>,
    queued_bytes: usize,
    /// Emptied job buffers for the commit path to fill again: a group's copy then costs no
    /// allocation, and no buffer is freed by another thread than the one that made it.
    spare: Vec<Vec<u8>>,
    tip: ChainTip,
    tree: MerkleTree,
    index: Vec<TxIndex>,
    /// Transactions a read-only open recovered from the WAL.
    unfiled: BTreeMap<u64, TxRecord>,
    synced_tx: u64,
}

pub(crate) struct Ledger {
    pub ks: u32,
    pub audit_ks: u32,
    path: PathBuf,
    state: Mutex<State>,
    changed: Condvar,
    /// `None` when read-only. Held while hashing and appending, so jobs are done in order.
    writer: Mutex<Option<LogWriter>>,
    reader: File,
    failed: AtomicBool,
}

impl Ledger {
    /// Creates an empty `ledger/LEDGER` in a new database.
    pub fn create(db_dir: &Path) -> Result<()> {
        let dir = db_dir.join(LEDGER_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        LogWriter::create(&ledger_path(db_dir), LEDGER_MAGIC)?;
        crate::filenames::sync_dir(&dir)?;
        crate::filenames::sync_dir(db_dir)
    }

    /// Reads `ledger/LEDGER`, checking that each record follows the one before (number,
    /// previous hash, time, sequences), and rebuilds the tree. A writable open cuts a torn
    /// tail (the WAL still holds those transactions) and appends from there.
    pub fn load(db_dir: &Path, ks: u32, audit_ks: u32, writable: bool) -> Result<Ledger> {
        let path = ledger_path(db_dir);
        let mut reader = open_reader(&path)?;
        let mut tip = ChainTip::GENESIS;
        let mut tree = MerkleTree::new();
        let mut index = Vec::new();
        while let Some((offset, payload)) = reader.next_record()? {
            let bad = |reason: String| Error::corruption(&path, offset, reason);
            let r = TxRecord::decode(payload).map_err(&bad)?;
            let hash = tip.advance(&r).map_err(&bad)?;
            tree.push(hash);
            index.push(TxIndex {
                marker_seq: r.marker_seq,
                time_ns: r.time_ns,
                offset,
            });
        }
        let valid_len = match reader.torn_tail() {
            Some((at, _)) => *at,
            None => reader.bytes_read(),
        };
        let writer = if writable {
            Some(LogWriter::open_append(&path, valid_len)?)
        } else {
            None
        };
        let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        Ok(Ledger {
            ks,
            audit_ks,
            path,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued_bytes: 0,
                spare: Vec::new(),
                tip,
                tree,
                index,
                unfiled: BTreeMap::new(),
                synced_tx: tip.tx,
            }),
            changed: Condvar::new(),
            writer: Mutex::new(writer),
            reader: file,
            failed: AtomicBool::new(false),
        })
    }

    /// Recovery: hashes the transactions of one WAL record that the ledger lacks.
    pub fn recover(
        &self,
        wal: &Path,
        offset: u64,
        first_seq: u64,
        entries: &[BatchEntry<'_>],
    ) -> Result<()> {
        let seqs = (first_seq..).zip(entries.iter().copied());
        self.add(seqs).map_err(|e| match e {
            AddError::Chain(reason) => {
                Error::corruption(wal, offset, format!("{CONTINUE_LEDGER}: {reason}"))
            }
            AddError::Io(e) => e,
        })
    }

    /// An empty buffer for a [`Job`]'s entries, reused when one is spare.
    pub fn job_buffer(&self) -> Vec<u8> {
        self.state.lock().spare.pop().unwrap_or_default()
    }

    /// Queues a committed group for hashing. Waits while the queue is over its limit.
    /// Called by the commit leader after the group's WAL write, before it becomes visible.
    pub fn push(&self, job: Job) {
        let mut st = self.state.lock();
        while st.queued_bytes > QUEUE_LIMIT_BYTES && !self.failed.load(Ordering::Acquire) {
            self.changed.wait(&mut st);
        }
        if self.failed.load(Ordering::Acquire) {
            // The ledger stopped; the WAL keeps the group and the next open hashes it.
            return;
        }
        st.queued_bytes += job.entries.len();
        st.queue.push_back(job);
        self.changed.notify_all();
    }

    /// Hashes and appends every queued job, in order.
    pub fn process_pending(&self) -> Result<()> {
        let mut writer = self.writer.lock();
        if writer.is_none() {
            return Ok(());
        }
        loop {
            let job = {
                let mut st = self.state.lock();
                match st.queue.pop_front() {
                    Some(j) => {
                        st.queued_bytes -= j.entries.len();
                        self.changed.notify_all();
                        j
                    }
                    None => return Ok(()),
                }
            };
            let seqs = (job.first_seq..).zip(EntryIter::new(&job.entries));
            let added = self.add_locked(&mut writer, seqs);
            let mut buffer = job.entries;
            if buffer.capacity() <= SPARE_BUFFER_MAX {
                buffer.clear();
                let mut st = self.state.lock();
                if st.spare.len() < SPARE_BUFFERS {
                    st.spare.push(buffer);
                }
            }
            if let Err(e) = added {
                self.failed.store(true, Ordering::Release);
                self.changed.notify_all();
                return Err(match e {
                    AddError::Chain(reason) => Error::Background(format!(
                        "ledger: committed group is not a chain: {reason}"
                    )),
                    AddError::Io(e) => e,
                });
            }
        }
    }

    fn add<'a>(
        &self,
        entries: impl IntoIterator<Item = (u64, BatchEntry<'a>)>,
    ) -> std::result::Result<(), AddError> {
        let mut writer = self.writer.lock();
        self.add_locked(&mut writer, entries)
    }

    /// Hashes `entries` after the tip and records the new transactions: appended to the file
    /// when writable, kept in memory otherwise.
    fn add_locked<'a>(
        &self,
        writer: &mut Option<LogWriter>,
        entries: impl IntoIterator<Item = (u64, BatchEntry<'a>)>,
    ) -> std::result::Result<(), AddError> {
        // Only this function moves the tip, and it runs under `writer`: hashing outside
        // `state` cannot race another advance.
        let mut tip = self.state.lock().tip;
        let txs = hash_transactions(self.ks, entries, &mut tip).map_err(AddError::Chain)?;
        if txs.is_empty() {
            return Ok(());
        }
        let mut offsets = Vec::with_capacity(txs.len());
        let mut buf = Vec::new();
        for (r, _) in &txs {
            match writer.as_mut() {
                Some(w) => {
                    buf.clear();
                    r.encode(&mut buf);
                    offsets.push(w.len());
                    w.add_record(&[&buf]).map_err(AddError::Io)?;
                }
                None => offsets.push(NOT_IN_FILE),
            }
        }
        let mut st = self.state.lock();
        for ((r, hash), offset) in txs.into_iter().zip(offsets) {
            st.tree.push(hash);
            st.index.push(TxIndex {
                marker_seq: r.marker_seq,
                time_ns: r.time_ns,
                offset,
            });
            if offset == NOT_IN_FILE {
                st.unfiled.insert(r.tx, r);
            }
        }
        st.tip = tip;
        self.changed.notify_all();
        Ok(())
    }

    /// Makes every transaction up to and including the one holding `seq` durable in the
    /// LEDGER file. Called before a WAL that may hold them stops being replayed.
    pub fn sync_through(&self, seq: u64) -> Result<()> {
        // Every group at or below `seq` was queued before the caller read `seq`, so
        // processing the queue covers it.
        self.process_pending()?;
        debug_assert!(self.state.lock().tip.seq >= seq || self.root().tx == 0);
        if self.has_unsynced() {
            self.sync()?;
        }
        Ok(())
    }

    /// fdatasyncs the LEDGER file after processing everything queued.
    pub fn sync(&self) -> Result<()> {
        self.process_pending()?;
        let writer = self.writer.lock();
        if let Some(w) = writer.as_ref() {
            let tx = self.state.lock().tip.tx;
            w.sync()?;
            self.state.lock().synced_tx = tx;
        }
        Ok(())
    }

    /// Waits until there is queued work, `stop` is set, or `timeout` passes.
    pub fn wait_for_work(&self, stop: &AtomicBool, timeout: Duration) {
        let mut st = self.state.lock();
        if st.queue.is_empty() && !stop.load(Ordering::Acquire) {
            self.changed.wait_for(&mut st, timeout);
        }
    }

    pub fn wake(&self) {
        let _st = self.state.lock();
        self.changed.notify_all();
    }

    pub fn has_unsynced(&self) -> bool {
        let st = self.state.lock();
        st.synced_tx < st.tip.tx || !st.queue.is_empty()
    }

    // ---- reads ----

    pub fn root(&self) -> LedgerRoot {
        let st = self.state.lock();
        LedgerRoot {
            tx: st.tip.tx,
            root: st.tree.root(),
            time_ns: (st.tip.tx > 0).then_some(st.tip.time_ns),
        }
    }

    /// The root over the first `tx` transactions.
    pub fn root_at(&self, tx: u64) -> std::result::Result<LedgerRoot, ProofError> {
        let st = self.state.lock();
        let root = st.tree.root_at(tx)?;
        Ok(LedgerRoot {
            tx,
            root,
            time_ns: tx.checked_sub(1).map(|i| st.index[i as usize].time_ns),
        })
    }

    pub fn inclusion_path(
        &self,
        tx: u64,
        tree_size: u64,
    ) -> std::result::Result<Vec<Hash>, ProofError> {
        self.state
            .lock()
            .tree
            .inclusion_proof(tx.saturating_sub(1), tree_size)
    }

    pub fn consistency_path(
        &self,
        old: u64,
        new: u64,
    ) -> std::result::Result<Vec<Hash>, ProofError> {
        self.state.lock().tree.consistency_proof(old, new)
    }

    /// The transaction that wrote sequence `seq` and its time; `None` past the tip.
    pub fn tx_of_seq(&self, seq: u64) -> Option<(u64, i64)> {
        let st = self.state.lock();
        if seq > st.tip.seq {
            return None;
        }
        let i = st.index.partition_point(|t| t.marker_seq <= seq);
        (i > 0).then(|| (i as u64, st.index[i - 1].time_ns))
    }

    /// The last transaction committed at or before `time_ns`.
    pub fn tx_at_time(&self, time_ns: i64) -> Option<u64> {
        let st = self.state.lock();
        let i = st.index.partition_point(|t| t.time_ns <= time_ns);
        (i > 0).then_some(i as u64)
    }

    /// The highest sequence transaction `tx` used.
    pub fn last_seq_of(&self, tx: u64) -> Option<u64> {
        let st = self.state.lock();
        let i = tx.checked_sub(1)? as usize;
        if i >= st.index.len() {
            return None;
        }
        Some(match st.index.get(i + 1) {
            Some(next) => next.marker_seq - 1,
            None => st.tip.seq,
        })
    }

    /// Transaction `tx` as recorded.
    pub fn record(&self, tx: u64) -> Result<TxRecord> {
        let entry = {
            let st = self.state.lock();
            let i = tx.checked_sub(1).filter(|&i| i < st.index.len() as u64);
            let Some(i) = i else {
                return Err(Error::InvalidArgument(format!(
                    "transaction {tx} is not in the ledger (it holds 1..={})",
                    st.tip.tx
                )));
            };
            let e = st.index[i as usize];
            if e.offset == NOT_IN_FILE {
                return Ok(st.unfiled[&tx].clone());
            }
            e
        };
        let mut head = [0u8; RECORD_HEADER_LEN];
        let bad = |reason: &str| Error::corruption(&self.path, entry.offset, reason.to_string());
        self.reader
            .read_exact_at(&mut head, entry.offset)
            .map_err(|e| Error::io("read", &self.path, e))?;
        if !log_format::header_ok(&head) {
            return Err(bad("record header checksum mismatch"));
        }
        let mut payload = vec![0u8; log_format::header_len(&head)];
        self.reader
            .read_exact_at(&mut payload, entry.offset + RECORD_HEADER_LEN as u64)
            .map_err(|e| Error::io("read", &self.path, e))?;
        if !log_format::payload_ok(&head, &payload) {
            return Err(bad("record payload checksum mismatch"));
        }
        let r = TxRecord::decode(&payload).map_err(|e| bad(&e))?;
        if r.tx != tx {
            return Err(bad(&format!(
                "record holds transaction {} instead of {tx}",
                r.tx
            )));
        }
        Ok(r)
    }
}

/// Opens the LEDGER file for reading. A file of the first hash layout cannot be continued
/// (its hashes would not chain with new ones): that is said by name, not reported as a bad
/// magic number.
pub(crate) fn open_reader(path: &Path) -> Result<LogReader> {
    LogReader::open(path, LEDGER_MAGIC).map_err(|e| {
        let mut magic = [0u8; 8];
        let v1 = File::open(path).is_ok_and(|f| f.read_exact_at(&mut magic, 0).is_ok())
            && magic == LEDGER_MAGIC_V1;
        if !v1 {
            return e;
        }
        Error::corruption(
            path,
            0,
            "this ledger uses the first hash layout (AMDB-LGR), which this build no longer \
             reads; re-create the database with `amdb ledger init` and reload its data",
        )
    })
}

enum AddError {
    Chain(String),
    Io(Error),
}
