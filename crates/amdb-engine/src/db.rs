//! `Db`: the public handle to an open database.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::batch::WriteBatch;
use crate::bloom;
use crate::compaction::{run_compaction, Compaction};
use crate::db_inner::{DbInner, KeyspaceMap};
use crate::db_iter::DbIterator;
use crate::error::{Error, Result};
use crate::ingest::IngestReport;
use crate::iterator::InternalIterator;
use crate::key::{self, SequenceNumber};
use crate::keyspace::{self, Keyspace, KeyspaceState, SuperVersion};
use crate::ledger::service::Ledger;
use crate::memtable::{Lookup, MemTable};
use crate::merging_iter::MergingIter;
use crate::options::{KeyspaceOptions, Options, ReadOptions, WriteOptions};
use crate::snapshot::Snapshot;
use crate::stats::{KeyspaceStats, LevelStats, Stats};
use crate::version::LevelsVersion;
use crate::version_edit::{NewKeyspace, VersionEdit, MAX_LEVELS};

/// An open database. Cheap to clone and safe to share between threads; the database closes
/// when the last clone is dropped (or on `close`).
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
    handle: Arc<Handle>,
}

/// Owns the background threads; shuts them down on drop.
struct Handle {
    inner: Arc<DbInner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl Handle {
    fn shutdown(&self) -> Result<()> {
        if self.inner.shutting_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        {
            let _st = self.inner.state.lock();
            self.inner.bg_cv.notify_all();
        }
        if let Some(l) = &self.inner.ledger {
            l.wake();
        }
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        // A clean close makes every acknowledged write durable, whatever the durability,
        // and leaves the WAL without its preallocated zeros.
        let mut commit = self.inner.commit.lock();
        if let Some(wal) = &mut commit.wal {
            wal.seal()?;
        }
        // And leaves nothing for the next open to rehash.
        if let (Some(l), false) = (&self.inner.ledger, self.inner.read_only) {
            l.sync()?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.inner.dir)
            .field("read_only", &self.inner.read_only)
            .finish()
    }
}

impl Db {
    /// Opens (creating if allowed) the database in `dir` for reading and writing. Only one
    /// process may do so at a time; others get [`Error::Locked`] naming the holder.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        let inner = Arc::new(crate::open::open_writable(dir.as_ref(), opts)?);
        let mut threads = Vec::new();
        let spawn = |name: &str, f: fn(Arc<DbInner>), db: Arc<DbInner>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || f(db))
                .map_err(|e| Error::io("spawn thread", dir.as_ref(), e))
        };
        threads.push(spawn(
            "amdb-flush",
            crate::flush::flush_loop,
            inner.clone(),
        )?);
        threads.push(spawn(
            "amdb-compact",
            crate::compaction::compaction_loop,
            inner.clone(),
        )?);
        threads.push(spawn("amdb-walsync", wal_sync_loop, inner.clone())?);
        if inner.ledger.is_some() {
            threads.push(spawn("amdb-ledger", ledger_loop, inner.clone())?);
        }
        Ok(Db {
            handle: Arc::new(Handle {
                inner: inner.clone(),
                threads: Mutex::new(threads),
            }),
            inner,
        })
    }

    /// Opens `dir` read-only, without the lock: works while another process writes. The view
    /// is everything that was durable when this call ran; it does not advance.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Db> {
        Self::open_read_only_with(dir, Options::default())
    }

    pub fn open_read_only_with(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        let inner = Arc::new(crate::open::open_read_only(dir.as_ref(), opts)?);
        Ok(Db {
            handle: Arc::new(Handle {
                inner: inner.clone(),
                threads: Mutex::new(Vec::new()),
            }),
            inner,
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// Closes the database: stops background work and syncs the WAL. Other clones of this
    /// handle get [`Error::Closed`] afterwards.
    pub fn close(self) -> Result<()> {
        self.handle.shutdown()
    }

    // ---- keyspaces ----

    pub fn default_keyspace(&self) -> Keyspace {
        self.keyspace(keyspace::DEFAULT_KEYSPACE)
            .expect("every database has the default keyspace")
    }

    /// An existing keyspace.
    pub fn keyspace(&self, name: &str) -> Result<Keyspace> {
        let map = self.inner.keyspaces.load();
        map.by_name
            .get(name)
            .and_then(|id| map.get(*id))
            .map(|s| Keyspace { state: s.clone() })
            .ok_or_else(|| Error::NoSuchKeyspace(name.to_string()))
    }

    /// The keyspace `name`, created with `opts` if it does not exist yet (an existing
    /// keyspace keeps the options it was created with).
    pub fn open_keyspace(&self, name: &str, opts: KeyspaceOptions) -> Result<Keyspace> {
        if let Ok(k) = self.keyspace(name) {
            return Ok(k);
        }
        keyspace::validate_name(name).map_err(Error::InvalidArgument)?;
        if name.starts_with("__") {
            return Err(Error::InvalidArgument(format!(
                "keyspace names starting with \"__\" are reserved for the engine: {name:?}"
            )));
        }
        self.inner.check_writable()?;
        let mut st = self.inner.state.lock();
        if let Ok(k) = self.keyspace(name) {
            return Ok(k);
        }
        let id = st.versions.keyspaces.keys().max().map_or(0, |m| m + 1);
        let edit = VersionEdit {
            new_keyspaces: vec![NewKeyspace {
                id,
                name: name.to_string(),
                options: opts.clone(),
            }],
            ..Default::default()
        };
        self.inner.log_edit(&mut st, edit, None)?;
        let state = Arc::new(KeyspaceState::new(
            id,
            name.to_string(),
            opts,
            Arc::new(LevelsVersion::default()),
            Arc::new(MemTable::new()),
        ));
        let mut map = KeyspaceMap::clone(&self.inner.keyspaces.load());
        map.insert(state.clone());
        self.inner.keyspaces.store(Arc::new(map));
        Ok(Keyspace { state })
    }

    /// All keyspaces, in id order.
    pub fn keyspaces(&self) -> Vec<Keyspace> {
        let map = self.inner.keyspaces.load();
        map.iter().map(|s| Keyspace { state: s.clone() }).collect()
    }

    // ---- writes ----

    pub fn put(&self, ks: &Keyspace, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let mut b = WriteBatch::with_capacity(key.len() + value.len() + 16);
        b.put(ks, key, value);
        self.write(&b)
    }

    pub fn delete(&self, ks: &Keyspace, key: impl AsRef<[u8]>) -> Result<()> {
        let mut b = WriteBatch::with_capacity(key.as_ref().len() + 8);
        b.delete(ks, key);
        self.write(&b)
    }

    /// Commits `batch` atomically with the database's durability.
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.inner.write(batch, &WriteOptions::default())
    }

    pub fn write_opt(&self, batch: &WriteBatch, opts: &WriteOptions) -> Result<()> {
        self.inner.write(batch, opts)
    }

    /// Loads sorted entries straight into tables; see [`IngestReport`].
    pub fn ingest<I, K, V>(&self, ks: &Keyspace, entries: I) -> Result<IngestReport>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.inner.ingest(ks, entries)
    }

    /// fdatasyncs the WAL now (useful with `Buffered` or `Periodic` durability).
    pub fn sync_wal(&self) -> Result<()> {
        self.inner.check_writable()?;
        let commit = self.inner.commit.lock();
        if let Some(w) = &commit.wal {
            w.sync()?;
            self.inner.counters.add(&self.inner.counters.wal_syncs, 1);
        }
        Ok(())
    }

    // ---- reads ----

    /// A consistent view across all keyspaces at the current sequence.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.snapshots.acquire(&self.inner.visible_seq)
    }

    /// The highest sequence visible to new reads.
    pub fn last_sequence(&self) -> SequenceNumber {
        self.inner.visible_seq.load(Ordering::Acquire)
    }

    /// The sequence and super-version a read uses. Without a snapshot, a read must not use a
    /// sequence below the version's gc horizon (a compaction may have dropped what it would
    /// need), so it retries with a fresh sequence; snapshots are always at or above it.
    /// The ledger, or an error saying the database has none.
    pub(crate) fn ledger(&self) -> Result<&Ledger> {
        self.inner.ledger.as_ref().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{} has no ledger (create the database with Options::ledger)",
                self.inner.dir.display()
            ))
        })
    }

    pub(crate) fn read_view(
        &self,
        ks: &Keyspace,
        snapshot: Option<&Snapshot>,
    ) -> Result<(SequenceNumber, Arc<SuperVersion>)> {
        if let Some(s) = snapshot {
            if !s.belongs_to(&self.inner.snapshots) {
                return Err(Error::InvalidArgument(
                    "snapshot belongs to another database".into(),
                ));
            }
        }
        loop {
            let seq = match snapshot {
                Some(s) => s.sequence(),
                None => self.inner.visible_seq.load(Ordering::Acquire),
            };
            let sv = ks.state.sv.load_full();
            if snapshot.is_none() && sv.version.gc_horizon > seq {
                continue;
            }
            return Ok((seq, sv));
        }
    }

    pub fn get(&self, ks: &Keyspace, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.get_opt(ks, key, &ReadOptions::default())
    }

    pub fn get_opt(
        &self,
        ks: &Keyspace,
        key: impl AsRef<[u8]>,
        opts: &ReadOptions<'_>,
    ) -> Result<Option<Vec<u8>>> {
        let (seq, sv) = self.read_view(ks, opts.snapshot)?;
        self.lookup(&sv, key.as_ref(), seq, opts.fill_cache)
    }

    /// Reads several keys at one sequence.
    pub fn multi_get<K: AsRef<[u8]>>(
        &self,
        ks: &Keyspace,
        keys: &[K],
    ) -> Result<Vec<Option<Vec<u8>>>> {
        self.multi_get_opt(ks, keys, &ReadOptions::default())
    }

    pub fn multi_get_opt<K: AsRef<[u8]>>(
        &self,
        ks: &Keyspace,
        keys: &[K],
        opts: &ReadOptions<'_>,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let (seq, sv) = self.read_view(ks, opts.snapshot)?;
        keys.iter()
            .map(|k| self.lookup(&sv, k.as_ref(), seq, opts.fill_cache))
            .collect()
    }

    pub(crate) fn lookup(
        &self,
        sv: &SuperVersion,
        user_key: &[u8],
        seq: SequenceNumber,
        fill_cache: bool,
    ) -> Result<Option<Vec<u8>>> {
        self.inner.counters.add(&self.inner.counters.gets, 1);
        let found = match sv.mem.get(user_key, seq) {
            Some(f) => Some(f),
            None => match sv.imms.iter().find_map(|m| m.get(user_key, seq)) {
                Some(f) => Some(f),
                None => {
                    let lookup = key::lookup_key(user_key, seq);
                    sv.version
                        .get(user_key, &lookup, bloom::key_hash(user_key), fill_cache)?
                }
            },
        };
        Ok(match found {
            Some(Lookup::Value(v)) => Some(v),
            Some(Lookup::Deleted) | None => None,
        })
    }

    /// A cursor over `ks` within the options' bounds, at their snapshot or now.
    pub fn iter(&self, ks: &Keyspace, opts: &ReadOptions<'_>) -> Result<DbIterator> {
        let (seq, sv) = self.read_view(ks, opts.snapshot)?;
        let merged = Self::merged(&sv, opts.fill_cache);
        self.inner.counters.add(&self.inner.counters.iterators, 1);
        Ok(DbIterator::new(
            merged,
            seq,
            opts.lower_bound.clone(),
            opts.upper_bound.clone(),
            sv,
        ))
    }

    /// Every internal entry of `ks` (all versions, tombstones included) merged in key
    /// order, and the sequence it should be read at. The iterator holds the super-version
    /// it reads.
    pub(crate) fn internal_iter(
        &self,
        ks: &Keyspace,
        opts: &ReadOptions<'_>,
    ) -> Result<(SequenceNumber, PinnedIter)> {
        let (seq, sv) = self.read_view(ks, opts.snapshot)?;
        let merged = Self::merged(&sv, opts.fill_cache);
        Ok((seq, PinnedIter { merged, _sv: sv }))
    }

    fn merged(sv: &SuperVersion, fill_cache: bool) -> MergingIter {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        children.push(Box::new(sv.mem.iter()));
        for m in &sv.imms {
            children.push(Box::new(m.iter()));
        }
        sv.version.add_iterators(&mut children, fill_cache);
        MergingIter::new(children)
    }

    // ---- maintenance ----

    /// Writes every memtable to tables and waits until done.
    pub fn flush(&self) -> Result<()> {
        let db = &self.inner;
        db.check_writable()?;
        let mut sealed = Vec::new();
        {
            let mut commit = db.commit.lock();
            let mut st = db.state.lock();
            for ks in self.keyspaces() {
                loop {
                    db.check_writable()?;
                    let sv = ks.state.sv.load_full();
                    if sv.mem.is_empty() {
                        break;
                    }
                    if sv.imms.len() >= db.opts.max_immutable_memtables {
                        db.wait_bg(&mut st);
                        continue;
                    }
                    sealed.push((ks.state.clone(), sv.mem.clone()));
                    db.seal_memtable(&mut commit, &mut st, &ks.state)?;
                    break;
                }
            }
        }
        let mut st = db.state.lock();
        loop {
            db.check_writable()?;
            let pending = sealed
                .iter()
                .any(|(ks, m)| ks.sv.load().imms.iter().any(|i| Arc::ptr_eq(i, m)));
            if !pending {
                return Ok(());
            }
            db.wait_bg(&mut st);
        }
    }

    /// Flushes every memtable, then waits until background compaction has nothing left to
    /// do (no level over its limit, none running), so that reads measured afterwards do
    /// not compete with leftover work. With auto-compaction off it only waits for a running
    /// manual compaction.
    pub fn wait_for_idle(&self) -> Result<()> {
        self.flush()?;
        let db = &self.inner;
        let mut st = db.state.lock();
        loop {
            db.check_writable()?;
            let pending =
                !db.opts.disable_auto_compaction && crate::compaction::compaction_needed(db, &st);
            if st.running_compaction.is_none() && !st.manual_compaction && !pending {
                return Ok(());
            }
            db.wait_bg(&mut st);
        }
    }

    /// Flushes, then compacts every keyspace down to one level, dropping every overwritten
    /// version and tombstone that no snapshot needs. Waits for completion.
    pub fn compact(&self) -> Result<()> {
        self.flush()?;
        let db = &self.inner;
        {
            let mut st = db.state.lock();
            while st.running_compaction.is_some() || st.manual_compaction {
                db.check_writable()?;
                db.wait_bg(&mut st);
            }
            st.manual_compaction = true;
        }
        let result = self.compact_all_keyspaces();
        let mut st = db.state.lock();
        st.manual_compaction = false;
        st.running_compaction = None;
        db.bg_cv.notify_all();
        result
    }

    fn compact_all_keyspaces(&self) -> Result<()> {
        let db = &self.inner;
        for ks in self.keyspaces() {
            let last = {
                let st = db.state.lock();
                st.versions.keyspaces[&ks.id()]
                    .version
                    .last_nonempty_level()
            };
            let Some(last) = last else { continue };
            // Push every level down into the deepest one holding data (at least L1)...
            let bottom = last.max(1);
            for level in 0..bottom {
                self.run_manual(&ks, |v, horizon| {
                    (!v.levels[level].is_empty()).then(|| {
                        Compaction::new(
                            ks.state.clone(),
                            v.clone(),
                            level,
                            v.levels[level].clone(),
                            horizon,
                        )
                    })
                })?;
            }
            // ...then rewrite that level, unless the step above just did.
            if last == bottom {
                self.run_manual(&ks, |v, horizon| {
                    (!v.levels[bottom].is_empty())
                        .then(|| Compaction::in_place(ks.state.clone(), v.clone(), bottom, horizon))
                })?;
            }
        }
        Ok(())
    }

    /// Runs the compaction `pick` builds from the keyspace's current version, if any.
    fn run_manual(
        &self,
        ks: &Keyspace,
        pick: impl FnOnce(&Arc<LevelsVersion>, SequenceNumber) -> Option<Compaction>,
    ) -> Result<()> {
        let db = &self.inner;
        if db.shutting_down.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let c = {
            let mut st = db.state.lock();
            let v = st.versions.keyspaces[&ks.id()].version.clone();
            let horizon = db.snapshots.horizon(&db.visible_seq);
            let Some(c) = pick(&v, horizon) else {
                return Ok(());
            };
            st.running_compaction = Some(c.running());
            c
        };
        let r = run_compaction(db, &c);
        db.state.lock().running_compaction = None;
        r
    }

    pub fn stats(&self) -> Stats {
        let db = &self.inner;
        let mut keyspaces: Vec<KeyspaceStats> = self
            .keyspaces()
            .iter()
            .map(|ks| {
                let sv = ks.state.sv.load();
                KeyspaceStats {
                    name: ks.name().to_string(),
                    id: ks.id(),
                    memtable_bytes: sv.mem.approximate_memory_usage()
                        + sv.imms
                            .iter()
                            .map(|m| m.approximate_memory_usage())
                            .sum::<usize>(),
                    immutable_memtables: sv.imms.len(),
                    levels: (0..MAX_LEVELS)
                        .map(|l| LevelStats {
                            level: l,
                            files: sv.version.levels[l].len(),
                            bytes: sv.version.level_bytes(l),
                        })
                        .collect(),
                }
            })
            .collect();
        keyspaces.sort_by_key(|k| k.id);
        Stats {
            counters: db.counters.snapshot(),
            last_sequence: self.last_sequence(),
            block_cache_capacity: db.cache.capacity(),
            block_cache_usage: db.cache.usage(),
            live_snapshots: db.snapshots.count(),
            keyspaces,
        }
    }
}

fn wal_sync_loop(db: Arc<DbInner>) {
    loop {
        // Re-read each round: a write may ask for a shorter interval at any time.
        let interval = Duration::from_millis(db.periodic_sync_ms.load(Ordering::Relaxed));
        let start = std::time::Instant::now();
        while start.elapsed() < interval {
            if db.shutting_down.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(interval.min(Duration::from_millis(5)));
        }
        if db.wal_dirty.swap(false, Ordering::AcqRel) {
            let file = db.wal_file.lock().clone();
            if let Some(f) = file {
                match f.sync_data() {
                    Ok(()) => db.counters.add(&db.counters.wal_syncs, 1),
                    Err(e) => {
                        db.set_bg_error(Error::io("fdatasync", db.dir.join("wal"), e));
                        return;
                    }
                }
            }
        }
    }
}

/// Hashes committed groups into the ledger as they arrive, and syncs the LEDGER file about
/// once a second: the WAL holds whatever it has not synced yet.
fn ledger_loop(db: Arc<DbInner>) {
    let Some(ledger) = &db.ledger else {
        return;
    };
    let mut last_sync = std::time::Instant::now();
    loop {
        ledger.wait_for_work(&db.shutting_down, Duration::from_millis(200));
        let stop = db.shutting_down.load(Ordering::Acquire);
        let mut result = ledger.process_pending();
        if result.is_ok() && ledger.has_unsynced() && last_sync.elapsed() >= Duration::from_secs(1)
        {
            result = ledger.sync();
            last_sync = std::time::Instant::now();
        }
        if let Err(e) = result {
            db.set_bg_error(e);
            return;
        }
        if stop {
            return;
        }
    }
}

/// A merged internal iterator and the super-version whose tables and memtables it reads.
pub(crate) struct PinnedIter {
    merged: MergingIter,
    _sv: Arc<SuperVersion>,
}

impl std::ops::Deref for PinnedIter {
    type Target = MergingIter;
    fn deref(&self) -> &MergingIter {
        &self.merged
    }
}

impl std::ops::DerefMut for PinnedIter {
    fn deref_mut(&mut self) -> &mut MergingIter {
        &mut self.merged
    }
}
