//! Shared state of an open database and the locks that guard it.
//!
//! Lock order (never acquire against it): `commit` → `state`. The write queue's mutex is
//! never held while acquiring either. Background threads take only `state`.
//! - `commit`: held by the write-group leader for a whole group commit (WAL append, sync,
//!   memtable inserts, publishing the sequence), by memtable rotation, and by ingest's
//!   install, so sequence assignment is totally ordered.
//! - `state`: the version set (MANIFEST), super-version swaps, background bookkeeping.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::cache::BlockCache;
use crate::error::{Error, Result};
use crate::filenames;
use crate::key::SequenceNumber;
use crate::keyspace::{KeyspaceState, SuperVersion};
use crate::ledger::service::Ledger;
use crate::lock::DirLock;
use crate::log_format::WAL_MAGIC;
use crate::log_writer::LogWriter;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::snapshot::SnapshotList;
use crate::stats::Counters;
use crate::version_edit::VersionEdit;
use crate::version_set::VersionSet;
use crate::write_queue::WriteQueue;

/// Keyspaces by id (ids are small and dense: the write path indexes a vector) and name.
#[derive(Clone, Default)]
pub(crate) struct KeyspaceMap {
    by_id: Vec<Option<Arc<KeyspaceState>>>,
    pub by_name: HashMap<String, u32>,
}

impl KeyspaceMap {
    pub fn get(&self, id: u32) -> Option<&Arc<KeyspaceState>> {
        self.by_id.get(id as usize)?.as_ref()
    }

    pub fn insert(&mut self, ks: Arc<KeyspaceState>) {
        let i = ks.id as usize;
        if self.by_id.len() <= i {
            self.by_id.resize(i + 1, None);
        }
        self.by_name.insert(ks.name.clone(), ks.id);
        self.by_id[i] = Some(ks);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<KeyspaceState>> {
        self.by_id.iter().flatten()
    }
}

pub(crate) struct CommitState {
    /// `None` when opened read-only.
    pub wal: Option<LogWriter>,
    pub wal_number: u64,
    /// Highest sequence assigned; equals `visible_seq` between groups.
    pub last_seq: SequenceNumber,
    /// The last transaction number and time given out (with a ledger).
    pub ledger_tx: u64,
    pub ledger_time_ns: i64,
}

/// A compaction in flight: flushes and ingests must not place files into its levels within
/// its key range, since its outputs are not in the version yet.
#[derive(Clone)]
pub(crate) struct RunningCompaction {
    pub keyspace: u32,
    pub level: usize,
    pub output_level: usize,
    pub lo: Vec<u8>,
    pub hi: Vec<u8>,
}

impl RunningCompaction {
    pub fn blocks(&self, keyspace: u32, level: usize, lo: &[u8], hi: &[u8]) -> bool {
        self.keyspace == keyspace
            && (level == self.level || level == self.output_level)
            && !(hi < self.lo.as_slice() || lo > self.hi.as_slice())
    }
}

pub(crate) struct DbState {
    pub versions: VersionSet,
    pub running_compaction: Option<RunningCompaction>,
    /// A manual compaction owns the compactor while set.
    pub manual_compaction: bool,
    /// Sealed WAL files still needed, with their sizes.
    pub sealed_wals: BTreeMap<u64, u64>,
    /// Round-robin position per (keyspace, level) for picking the next file to compact.
    pub compact_pointers: HashMap<(u32, usize), Vec<u8>>,
}

impl DbState {
    pub fn new(versions: VersionSet) -> DbState {
        DbState {
            versions,
            running_compaction: None,
            manual_compaction: false,
            sealed_wals: BTreeMap::new(),
            compact_pointers: HashMap::new(),
        }
    }
}

pub(crate) struct DbInner {
    pub dir: PathBuf,
    pub opts: Options,
    pub read_only: bool,
    pub counters: Arc<Counters>,
    pub cache: Arc<BlockCache>,
    pub queue: WriteQueue,
    pub commit: Mutex<CommitState>,
    pub state: Mutex<DbState>,
    /// Signalled whenever background work is queued or finishes, and on shutdown.
    pub bg_cv: Condvar,
    pub visible_seq: AtomicU64,
    pub keyspaces: ArcSwap<KeyspaceMap>,
    pub snapshots: Arc<SnapshotList>,
    pub shutting_down: AtomicBool,
    bg_error: Mutex<Option<Error>>,
    has_bg_error: AtomicBool,
    /// The current WAL file, for the periodic syncer; set when `wal_dirty`.
    pub wal_file: Mutex<Option<Arc<File>>>,
    pub wal_dirty: AtomicBool,
    /// How often the background syncer fdatasyncs a dirty WAL: the database's `Periodic`
    /// interval (100 ms otherwise), lowered by any write asking for a shorter one.
    pub periodic_sync_ms: AtomicU64,
    /// The WAL file number being written; changes only under `commit` and `state`.
    pub current_wal: AtomicU64,
    /// Present when the database was created with a ledger.
    pub ledger: Option<Ledger>,
    pub _lock: Option<DirLock>,
}

impl DbInner {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dir: PathBuf,
        opts: Options,
        read_only: bool,
        counters: Arc<Counters>,
        cache: Arc<BlockCache>,
        commit: CommitState,
        state: DbState,
        keyspaces: KeyspaceMap,
        ledger: Option<Ledger>,
        lock: Option<DirLock>,
    ) -> DbInner {
        let wal_file = commit.wal.as_ref().map(|w| w.file_handle());
        DbInner {
            dir,
            read_only,
            counters,
            cache,
            queue: WriteQueue::default(),
            visible_seq: AtomicU64::new(commit.last_seq),
            current_wal: AtomicU64::new(commit.wal_number),
            commit: Mutex::new(commit),
            state: Mutex::new(state),
            bg_cv: Condvar::new(),
            keyspaces: ArcSwap::from_pointee(keyspaces),
            snapshots: Arc::new(SnapshotList::default()),
            shutting_down: AtomicBool::new(false),
            bg_error: Mutex::new(None),
            has_bg_error: AtomicBool::new(false),
            wal_file: Mutex::new(wal_file),
            wal_dirty: AtomicBool::new(false),
            periodic_sync_ms: AtomicU64::new(match opts.durability {
                crate::options::Durability::Periodic(d) => (d.as_millis() as u64).max(1),
                _ => 100,
            }),
            ledger,
            _lock: lock,
            opts,
        }
    }

    pub fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.check_bg_error()
    }

    pub fn check_bg_error(&self) -> Result<()> {
        if self.has_bg_error.load(Ordering::Acquire) {
            if let Some(e) = self.bg_error.lock().as_ref() {
                return Err(Error::Background(e.to_string()));
            }
        }
        Ok(())
    }

    /// Records the first background failure; later writes are refused until reopen.
    /// Caller must not hold `state`.
    pub fn set_bg_error(&self, e: Error) {
        // Taking `state` orders the wake-up after any waiter's check of the error.
        let _st = self.state.lock();
        self.set_bg_error_locked(e);
    }

    /// As `set_bg_error`, for callers holding `state`.
    pub fn set_bg_error_locked(&self, e: Error) {
        let mut slot = self.bg_error.lock();
        if slot.is_none() {
            *slot = Some(e);
            self.has_bg_error.store(true, Ordering::Release);
        }
        drop(slot);
        self.bg_cv.notify_all();
    }

    /// Seals `ks`'s memtable: starts a new WAL file (syncing the old one, so only the newest
    /// WAL can ever have a torn tail), makes the memtable immutable and wakes the flusher.
    /// Caller holds `commit` and `state`; does nothing for an empty memtable.
    ///
    /// Sealed WALs pile up while some keyspace's memtable holds data from the oldest of them;
    /// a rarely written keyspace would keep them forever. So when sealed WALs exceed
    /// `max_total_wal_bytes`, every keyspace pinning the oldest one is sealed too.
    pub fn seal_memtable(
        &self,
        commit: &mut CommitState,
        st: &mut DbState,
        ks: &KeyspaceState,
    ) -> Result<()> {
        self.seal_one(commit, st, ks)?;
        let total: u64 = st.sealed_wals.values().sum();
        let Some(&oldest) = st.sealed_wals.keys().next() else {
            return Ok(());
        };
        if total <= self.opts.max_total_wal_bytes {
            return Ok(());
        }
        let map = self.keyspaces.load();
        for other in map.iter() {
            let sv = other.sv.load();
            let pins = sv.mem.first_wal().is_some_and(|w| w <= oldest);
            if pins && sv.imms.len() < self.opts.max_immutable_memtables {
                drop(sv);
                self.seal_one(commit, st, other)?;
            }
        }
        Ok(())
    }

    fn seal_one(
        &self,
        commit: &mut CommitState,
        st: &mut DbState,
        ks: &KeyspaceState,
    ) -> Result<()> {
        let sv = ks.sv.load_full();
        if sv.mem.is_empty() {
            return Ok(());
        }
        if commit.wal.as_ref().is_some_and(|w| !w.is_empty()) {
            let mut old = commit.wal.take().expect("checked");
            let synced = old.seal();
            let number = st.versions.new_file_number();
            let path = filenames::wal_path(&self.dir, number);
            let created = synced
                .and_then(|_| LogWriter::create_preallocated(&path, WAL_MAGIC))
                .and_then(|w| {
                    filenames::sync_dir(&self.dir.join(filenames::WAL_DIR))?;
                    Ok(w)
                });
            match created {
                Ok(new) => {
                    st.sealed_wals.insert(commit.wal_number, old.len());
                    *self.wal_file.lock() = Some(new.file_handle());
                    commit.wal = Some(new);
                    commit.wal_number = number;
                    self.current_wal.store(number, Ordering::Release);
                }
                Err(e) => {
                    commit.wal = Some(old);
                    self.set_bg_error_locked(e.duplicate());
                    return Err(e);
                }
            }
        }
        let mut imms = Vec::with_capacity(sv.imms.len() + 1);
        imms.push(sv.mem.clone());
        imms.extend(sv.imms.iter().cloned());
        ks.sv.store(Arc::new(SuperVersion {
            mem: Arc::new(MemTable::new()),
            imms,
            version: sv.version.clone(),
        }));
        self.bg_cv.notify_all();
        Ok(())
    }

    /// Publishes a new version for `ks` (after a flush, compaction or ingest), keeping its
    /// current memtables. `drop_imm` removes a memtable that was just flushed. Caller holds
    /// `state`.
    pub fn install_version(
        &self,
        st: &DbState,
        ks: &KeyspaceState,
        drop_imm: Option<&Arc<MemTable>>,
    ) {
        let sv = ks.sv.load_full();
        let version = st
            .versions
            .keyspaces
            .get(&ks.id)
            .map(|m| m.version.clone())
            .unwrap_or_else(|| sv.version.clone());
        let imms = sv
            .imms
            .iter()
            .filter(|m| drop_imm.is_none_or(|d| !Arc::ptr_eq(m, d)))
            .cloned()
            .collect();
        ks.sv.store(Arc::new(SuperVersion {
            mem: sv.mem.clone(),
            imms,
            version,
        }));
    }

    /// The oldest WAL still holding unflushed data: the first WAL of the oldest non-empty
    /// memtable of any keyspace, or the current WAL. Caller holds `state`.
    pub fn min_needed_wal(&self, current_wal: u64, excluding: Option<&Arc<MemTable>>) -> u64 {
        let mut min = current_wal;
        for ks in self.keyspaces.load().iter() {
            let sv = ks.sv.load();
            let mems = std::iter::once(&sv.mem).chain(sv.imms.iter());
            for m in mems {
                if excluding.is_some_and(|e| Arc::ptr_eq(e, m)) {
                    continue;
                }
                if let Some(w) = m.first_wal() {
                    min = min.min(w);
                }
            }
        }
        min
    }

    /// Deletes sealed WAL files below `min_wal` (already recorded in the MANIFEST).
    pub fn delete_obsolete_wals(&self, st: &mut DbState, min_wal: u64) {
        let obsolete: Vec<u64> = st.sealed_wals.range(..min_wal).map(|(&n, _)| n).collect();
        for n in obsolete {
            st.sealed_wals.remove(&n);
            let _ = std::fs::remove_file(filenames::wal_path(&self.dir, n));
        }
    }

    /// Logs and applies a MANIFEST edit; any failure stops writes (`set_bg_error`), since
    /// the MANIFEST may now end in a partial record. Caller holds `state`.
    pub fn log_edit(
        &self,
        st: &mut DbState,
        edit: VersionEdit,
        horizon: Option<(u32, SequenceNumber)>,
    ) -> Result<Vec<u32>> {
        let result = st.versions.log_and_apply(edit, horizon);
        match &result {
            Err(e) => self.set_bg_error_locked(e.duplicate()),
            Ok(_) => {
                if let Some(reason) = st.versions.poisoned_reason() {
                    self.set_bg_error_locked(Error::Background(reason.to_string()));
                }
            }
        }
        result
    }

    pub fn wait_bg(&self, st: &mut MutexGuard<'_, DbState>) {
        self.bg_cv.wait(st);
    }
}
