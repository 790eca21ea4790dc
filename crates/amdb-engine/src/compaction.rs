//! Leveled compaction on a background thread.
//!
//! Picking: each level gets a score — L0 by file count over `l0_compaction_trigger`, deeper
//! levels by bytes over their target (`max_bytes_for_level_base · multiplier^(n-1)`) — and
//! the highest score ≥ 1 across keyspaces is compacted. L0 compacts all its files with the
//! overlapping L1 files; a deeper level compacts one file (round robin) with the overlapping
//! files below it. A lone file with nothing below is just moved.
//!
//! Merging keeps, for each user key, every version a live snapshot can see, and drops the
//! rest. A tombstone is dropped once no snapshot needs it and no deeper level can hold the
//! key, which at the bottom level is always.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::db_inner::{DbInner, DbState, RunningCompaction};
use crate::error::Result;
use crate::filenames;
use crate::flush::{build_options, file_meta};
use crate::iterator::InternalIterator;
use crate::key::{self, SequenceNumber, ValueKind};
use crate::keyspace::KeyspaceState;
use crate::level_iter::LevelIter;
use crate::merging_iter::MergingIter;
use crate::table_builder::{BuiltTable, TableBuilder};
use crate::version::{table_iter, FileMeta, LevelsVersion};
use crate::version_edit::{VersionEdit, MAX_LEVELS};

pub(crate) struct Compaction {
    pub ks: Arc<KeyspaceState>,
    pub level: usize,
    pub output_level: usize,
    pub inputs: Vec<Arc<FileMeta>>,
    pub below: Vec<Arc<FileMeta>>,
    pub base: Arc<LevelsVersion>,
    pub smallest_snapshot: SequenceNumber,
}

impl Compaction {
    pub fn new(
        ks: Arc<KeyspaceState>,
        base: Arc<LevelsVersion>,
        level: usize,
        inputs: Vec<Arc<FileMeta>>,
        smallest_snapshot: SequenceNumber,
    ) -> Compaction {
        let (lo, hi) = user_range(&inputs);
        let below = base.overlapping(level + 1, Some(&lo), Some(&hi));
        let smallest_snapshot = horizon_for(&ks, smallest_snapshot);
        Compaction {
            ks,
            level,
            output_level: level + 1,
            inputs,
            below,
            base,
            smallest_snapshot,
        }
    }

    /// Rewrites all of `level` into itself, dropping what no reader needs: the last step of a
    /// manual compaction, for data already in the bottom level.
    pub fn in_place(
        ks: Arc<KeyspaceState>,
        base: Arc<LevelsVersion>,
        level: usize,
        smallest_snapshot: SequenceNumber,
    ) -> Compaction {
        let inputs = base.levels[level].clone();
        let smallest_snapshot = horizon_for(&ks, smallest_snapshot);
        Compaction {
            ks,
            level,
            output_level: level,
            inputs,
            below: Vec::new(),
            base,
            smallest_snapshot,
        }
    }

    pub fn running(&self) -> RunningCompaction {
        let all: Vec<Arc<FileMeta>> = self.inputs.iter().chain(&self.below).cloned().collect();
        let (lo, hi) = user_range(&all);
        RunningCompaction {
            keyspace: self.ks.id,
            level: self.level,
            output_level: self.output_level,
            lo,
            hi,
        }
    }

    fn is_trivial_move(&self, target_file_size: u64) -> bool {
        if self.inputs.len() != 1 || !self.below.is_empty() || self.output_level == self.level {
            return false;
        }
        if self.output_level + 1 >= MAX_LEVELS {
            return true;
        }
        let f = &self.inputs[0];
        let grandparents: u64 = self
            .base
            .overlapping(
                self.output_level + 1,
                Some(f.smallest_user_key()),
                Some(f.largest_user_key()),
            )
            .iter()
            .map(|g| g.size)
            .sum();
        grandparents <= 10 * target_file_size
    }
}

/// The user-key range covered by `files` (non-empty).
fn user_range(files: &[Arc<FileMeta>]) -> (Vec<u8>, Vec<u8>) {
    let lo = files
        .iter()
        .map(|f| f.smallest_user_key())
        .min()
        .unwrap_or_default()
        .to_vec();
    let hi = files
        .iter()
        .map(|f| f.largest_user_key())
        .max()
        .unwrap_or_default()
        .to_vec();
    (lo, hi)
}

pub(crate) fn max_bytes_for_level(db: &DbInner, level: usize) -> u64 {
    let mut b = db.opts.max_bytes_for_level_base;
    for _ in 1..level {
        b = b.saturating_mul(db.opts.level_size_multiplier);
    }
    b
}

pub(crate) fn compaction_loop(db: Arc<DbInner>) {
    loop {
        let c = {
            let mut st = db.state.lock();
            loop {
                if db.shutting_down.load(Ordering::Acquire) || db.check_bg_error().is_err() {
                    return;
                }
                if !db.opts.disable_auto_compaction
                    && !st.manual_compaction
                    && st.running_compaction.is_none()
                {
                    if let Some(c) = pick_compaction(&db, &mut st) {
                        st.running_compaction = Some(c.running());
                        break c;
                    }
                }
                db.wait_bg(&mut st);
            }
        };
        let result = run_compaction(&db, &c);
        {
            let mut st = db.state.lock();
            st.running_compaction = None;
            db.bg_cv.notify_all();
        }
        if let Err(e) = result {
            db.set_bg_error(e);
            return;
        }
    }
}

/// The sequence below which a compaction of `ks` may drop versions: none for a versioned
/// keyspace (as if a snapshot at sequence 0 were open forever), so it keeps every version
/// and every tombstone.
fn horizon_for(ks: &KeyspaceState, smallest_snapshot: SequenceNumber) -> SequenceNumber {
    if ks.options.versioned {
        0
    } else {
        smallest_snapshot
    }
}

/// Whether some level of some keyspace is over its limit, i.e. whether the background
/// thread would start a compaction now (the same scores `pick_compaction` uses).
pub(crate) fn compaction_needed(db: &DbInner, st: &DbState) -> bool {
    st.versions.keyspaces.values().any(|meta| {
        let v = &meta.version;
        v.levels[0].len() >= db.opts.l0_compaction_trigger
            || (1..MAX_LEVELS - 1)
                .any(|level| v.level_bytes(level) >= max_bytes_for_level(db, level))
    })
}

fn pick_compaction(db: &DbInner, st: &mut DbState) -> Option<Compaction> {
    let map = db.keyspaces.load();
    let mut best: Option<(f64, u32, usize)> = None;
    for (&id, meta) in &st.versions.keyspaces {
        let v = &meta.version;
        let mut consider = |score: f64, level: usize| {
            if score >= 1.0 && best.is_none_or(|b| score > b.0) {
                best = Some((score, id, level));
            }
        };
        consider(
            v.levels[0].len() as f64 / db.opts.l0_compaction_trigger as f64,
            0,
        );
        for level in 1..MAX_LEVELS - 1 {
            consider(
                v.level_bytes(level) as f64 / max_bytes_for_level(db, level) as f64,
                level,
            );
        }
    }
    let (_, id, level) = best?;
    let ks = map.get(id)?.clone();
    let base = st.versions.keyspaces[&id].version.clone();
    let inputs = if level == 0 {
        base.levels[0].clone()
    } else {
        let files = &base.levels[level];
        let pointer = st.compact_pointers.get(&(id, level));
        let pick = pointer
            .and_then(|p| files.iter().find(|f| key::compare(&f.largest, p).is_gt()))
            .unwrap_or(&files[0]);
        vec![pick.clone()]
    };
    let largest = inputs
        .iter()
        .map(|f| f.largest.clone())
        .max_by(|a, b| key::compare(a, b))?;
    st.compact_pointers.insert((id, level), largest);
    let horizon = db.snapshots.horizon(&db.visible_seq);
    Some(Compaction::new(ks, base, level, inputs, horizon))
}

/// Runs `c` and installs its result. Returns without installing anything if the database is
/// shutting down.
pub(crate) fn run_compaction(db: &DbInner, c: &Compaction) -> Result<()> {
    let ks = c.ks.id;
    if c.is_trivial_move(db.opts.target_file_size) {
        let f = &c.inputs[0];
        let edit = VersionEdit {
            deleted_files: vec![(ks, c.level, f.number)],
            new_files: vec![(ks, c.output_level, f.meta.clone())],
            ..Default::default()
        };
        let mut st = db.state.lock();
        db.log_edit(&mut st, edit, None)?;
        db.install_version(&st, &c.ks, None);
        db.counters.add(&db.counters.compactions, 1);
        db.counters.add(&db.counters.trivial_moves, 1);
        return Ok(());
    }

    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    if c.level == 0 {
        children.extend(c.inputs.iter().map(|f| table_iter(f, false)));
    } else {
        children.push(Box::new(LevelIter::new(c.inputs.clone(), false)));
    }
    if !c.below.is_empty() {
        children.push(Box::new(LevelIter::new(c.below.clone(), false)));
    }
    let mut it = MergingIter::new(children);
    it.seek_to_first();

    let mut out = Outputs::new(db, &c.ks);
    let result = merge(db, c, &mut it, &mut out);
    let dropped = match result {
        Ok(Some(d)) => d,
        Ok(None) => {
            out.abandon();
            return Ok(());
        }
        Err(e) => {
            out.abandon();
            return Err(e);
        }
    };
    let outputs = out.finish()?;
    if !outputs.is_empty() {
        filenames::sync_dir(&db.dir.join(filenames::SST_DIR))?;
    }

    let bytes_read: u64 = c.inputs.iter().chain(&c.below).map(|f| f.size).sum();
    let bytes_written: u64 = outputs.iter().map(|(_, t)| t.file_size).sum();
    let mut edit = VersionEdit::default();
    edit.deleted_files
        .extend(c.inputs.iter().map(|f| (ks, c.level, f.number)));
    edit.deleted_files
        .extend(c.below.iter().map(|f| (ks, c.output_level, f.number)));
    edit.new_files.extend(
        outputs
            .iter()
            .map(|(n, t)| (ks, c.output_level, file_meta(*n, t))),
    );
    let mut st = db.state.lock();
    // On failure the outputs stay: the edit naming them may be durable (see flush).
    db.log_edit(&mut st, edit, Some((ks, c.smallest_snapshot)))?;
    db.install_version(&st, &c.ks, None);
    let k = &db.counters;
    k.add(&k.compactions, 1);
    k.add(&k.compaction_bytes_read, bytes_read);
    k.add(&k.compaction_bytes_written, bytes_written);
    k.add(&k.compaction_entries_dropped, dropped);
    Ok(())
}

/// Streams the merged inputs into outputs; `Ok(None)` if interrupted by shutdown, else the
/// number of entries dropped.
fn merge(
    db: &DbInner,
    c: &Compaction,
    it: &mut MergingIter,
    out: &mut Outputs<'_>,
) -> Result<Option<u64>> {
    let mut current: Vec<u8> = Vec::new();
    let mut has_current = false;
    let mut last_seq_for_key = u64::MAX;
    let mut dropped = 0u64;
    let mut n = 0u64;
    while it.valid() {
        n += 1;
        if n.is_multiple_of(4096) && db.shutting_down.load(Ordering::Acquire) {
            return Ok(None);
        }
        let ik = it.key();
        let uk = key::user_key(ik);
        if !has_current || uk != current.as_slice() {
            // Outputs switch only between user keys, so no key spans two files of a level.
            out.maybe_finish_current(db.opts.target_file_size)?;
            current.clear();
            current.extend_from_slice(uk);
            has_current = true;
            last_seq_for_key = u64::MAX;
        }
        let seq = key::sequence(ik);
        let drop = if last_seq_for_key <= c.smallest_snapshot {
            // A newer version of this key is visible to every reader.
            true
        } else {
            key::kind(ik) == Some(ValueKind::Delete)
                && seq <= c.smallest_snapshot
                && c.base.is_base_level_for_key(c.output_level, uk)
        };
        last_seq_for_key = seq;
        if drop {
            dropped += 1;
        } else {
            out.add(ik, it.value())?;
        }
        it.next();
    }
    it.status()?;
    Ok(Some(dropped))
}

/// The output tables of one compaction.
struct Outputs<'a> {
    db: &'a DbInner,
    ks: &'a KeyspaceState,
    current: Option<(u64, TableBuilder)>,
    done: Vec<(u64, BuiltTable)>,
}

impl<'a> Outputs<'a> {
    fn new(db: &'a DbInner, ks: &'a KeyspaceState) -> Self {
        Outputs {
            db,
            ks,
            current: None,
            done: Vec::new(),
        }
    }

    fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        if self.current.is_none() {
            let number = self.db.state.lock().versions.new_file_number();
            let path = filenames::table_path(&self.db.dir, number);
            self.current = Some((number, TableBuilder::create(&path, build_options(self.ks))?));
        }
        self.current.as_mut().expect("just set").1.add(ikey, value)
    }

    fn maybe_finish_current(&mut self, target: u64) -> Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, b)| b.estimated_file_size() >= target)
        {
            let (n, b) = self.current.take().expect("checked");
            self.done.push((n, b.finish()?));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<(u64, BuiltTable)>> {
        if let Some((n, b)) = self.current.take() {
            match b.finish() {
                Ok(t) => self.done.push((n, t)),
                Err(e) => {
                    self.abandon();
                    return Err(e);
                }
            }
        }
        Ok(std::mem::take(&mut self.done))
    }

    fn abandon(&mut self) {
        if let Some((_, b)) = self.current.take() {
            b.abandon();
        }
        for (n, _) in self.done.drain(..) {
            let _ = std::fs::remove_file(filenames::table_path(&self.db.dir, n));
        }
    }
}
