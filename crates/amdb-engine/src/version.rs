//! The file set of one keyspace at a point in time (`LevelsVersion`), and the live metadata of
//! each table (`FileMeta`).
//!
//! Invariants:
//! - L0 files may overlap; they are ordered newest first (by largest sequence), and for any
//!   user key present in two L0 files the earlier file holds the newer version.
//! - In L1 and deeper, files are ordered by key and their user-key ranges are disjoint; a
//!   user key never spans two files of one level.
//! - Any version of a key in level n is newer than every version of it in level n+1.
//! - A table file is deleted only when no version references it any more: `FileMeta` removes
//!   the file on drop once a compaction has marked it obsolete.

use std::cmp::Ordering;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use crate::cache::BlockCache;
use crate::error::Result;
use crate::filenames;
use crate::iterator::InternalIterator;
use crate::key::{self, SequenceNumber};
use crate::level_iter::LevelIter;
use crate::memtable::Lookup;
use crate::stats::Counters;
use crate::table::Table;
use crate::version_edit::{FileMetaData, MAX_LEVELS};

/// What every table of a database needs to open and to delete itself.
pub(crate) struct TableContext {
    pub dir: PathBuf,
    pub cache: Arc<BlockCache>,
    pub counters: Arc<Counters>,
    /// False for read-only opens, which never delete anything.
    pub delete_obsolete: bool,
}

pub(crate) struct FileMeta {
    pub meta: FileMetaData,
    table: OnceLock<Arc<Table>>,
    obsolete: AtomicBool,
    ctx: Arc<TableContext>,
}

impl Deref for FileMeta {
    type Target = FileMetaData;
    fn deref(&self) -> &FileMetaData {
        &self.meta
    }
}

impl std::fmt::Debug for FileMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}({}B)", self.number, self.size)
    }
}

impl FileMeta {
    pub fn new(meta: FileMetaData, ctx: Arc<TableContext>) -> Arc<FileMeta> {
        Arc::new(FileMeta {
            meta,
            table: OnceLock::new(),
            obsolete: AtomicBool::new(false),
            ctx,
        })
    }

    /// The open table, opened on first use.
    pub fn table(&self) -> Result<&Arc<Table>> {
        if let Some(t) = self.table.get() {
            return Ok(t);
        }
        let t = Table::open(
            filenames::table_path(&self.ctx.dir, self.number),
            self.number,
            Some(self.size),
            self.global_seq,
            self.ctx.cache.clone(),
            self.ctx.counters.clone(),
        )?;
        // A concurrent opener may have won; either table is equivalent.
        let _ = self.table.set(Arc::new(t));
        Ok(self.table.get().expect("just set"))
    }

    pub fn smallest_user_key(&self) -> &[u8] {
        key::user_key(&self.smallest)
    }

    pub fn largest_user_key(&self) -> &[u8] {
        key::user_key(&self.largest)
    }

    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, AtomicOrdering::Release);
    }

    /// Whether the user-key range `[lo, hi]` (either end open when `None`) meets this file.
    pub fn overlaps(&self, lo: Option<&[u8]>, hi: Option<&[u8]>) -> bool {
        let before = hi.is_some_and(|h| h < self.smallest_user_key());
        let after = lo.is_some_and(|l| l > self.largest_user_key());
        !before && !after
    }
}

impl Drop for FileMeta {
    fn drop(&mut self) {
        if self.obsolete.load(AtomicOrdering::Acquire) && self.ctx.delete_obsolete {
            // Close the descriptor before unlinking.
            drop(self.table.take());
            let _ = std::fs::remove_file(filenames::table_path(&self.ctx.dir, self.number));
        }
    }
}

#[derive(Clone)]
pub(crate) struct LevelsVersion {
    pub levels: Vec<Vec<Arc<FileMeta>>>,
    /// The largest snapshot horizon any compaction behind this version used: versions older
    /// than it may have been dropped, so a reader must not read below it without a snapshot.
    pub gc_horizon: SequenceNumber,
}

impl Default for LevelsVersion {
    fn default() -> Self {
        LevelsVersion {
            levels: vec![Vec::new(); MAX_LEVELS],
            gc_horizon: 0,
        }
    }
}

impl LevelsVersion {
    /// Restores the ordering invariants after files were added.
    pub fn sort(&mut self) {
        self.levels[0].sort_by(|a, b| {
            b.largest_seq
                .cmp(&a.largest_seq)
                .then(b.number.cmp(&a.number))
        });
        for level in &mut self.levels[1..] {
            level.sort_by(|a, b| key::compare(&a.smallest, &b.smallest));
        }
    }

    /// Checks that L1+ files are disjoint by user key; returns the first offending pair.
    pub fn check_disjoint(&self) -> std::result::Result<(), String> {
        for (n, level) in self.levels.iter().enumerate().skip(1) {
            for w in level.windows(2) {
                if w[0].largest_user_key() >= w[1].smallest_user_key() {
                    return Err(format!(
                        "level {n}: tables {} and {} overlap",
                        w[0].number, w[1].number
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|f| f.size).sum()
    }

    /// Deepest level holding any file, if any.
    pub fn last_nonempty_level(&self) -> Option<usize> {
        (0..MAX_LEVELS).rev().find(|&l| !self.levels[l].is_empty())
    }

    /// Files of `level` whose user-key range meets `[lo, hi]`.
    pub fn overlapping(
        &self,
        level: usize,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Vec<Arc<FileMeta>> {
        self.levels[level]
            .iter()
            .filter(|f| f.overlaps(lo, hi))
            .cloned()
            .collect()
    }

    pub fn overlaps_level(&self, level: usize, lo: &[u8], hi: &[u8]) -> bool {
        self.levels[level]
            .iter()
            .any(|f| f.overlaps(Some(lo), Some(hi)))
    }

    /// Whether no level deeper than `level` can hold `user_key` (so a tombstone for it at
    /// `level` shadows nothing and can be dropped).
    pub fn is_base_level_for_key(&self, level: usize, user_key: &[u8]) -> bool {
        for files in &self.levels[level + 1..] {
            let i = files.partition_point(|f| f.largest_user_key() < user_key);
            if i < files.len() && files[i].smallest_user_key() <= user_key {
                return false;
            }
        }
        true
    }

    /// Newest version of `user_key` visible at the sequence inside `lookup`.
    pub fn get(
        &self,
        user_key: &[u8],
        lookup: &[u8],
        hash: u64,
        fill_cache: bool,
    ) -> Result<Option<Lookup>> {
        for f in &self.levels[0] {
            if f.smallest_user_key() <= user_key && user_key <= f.largest_user_key() {
                if let Some(found) = f.table()?.get(lookup, user_key, hash, fill_cache)? {
                    return Ok(Some(found));
                }
            }
        }
        for files in &self.levels[1..] {
            let i = files.partition_point(|f| key::compare(&f.largest, lookup) == Ordering::Less);
            if i < files.len() && files[i].smallest_user_key() <= user_key {
                if let Some(found) = files[i].table()?.get(lookup, user_key, hash, fill_cache)? {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }

    /// One iterator per L0 file and one concatenating iterator per deeper level.
    pub fn add_iterators(&self, out: &mut Vec<Box<dyn InternalIterator>>, fill_cache: bool) {
        for f in &self.levels[0] {
            out.push(table_iter(f, fill_cache));
        }
        for files in &self.levels[1..] {
            if !files.is_empty() {
                out.push(Box::new(LevelIter::new(files.clone(), fill_cache)));
            }
        }
    }
}

/// An iterator over one table, or one that reports why the table could not be opened.
pub(crate) fn table_iter(f: &Arc<FileMeta>, fill_cache: bool) -> Box<dyn InternalIterator> {
    match f.table() {
        Ok(t) => Box::new(t.iter(fill_cache)),
        Err(e) => Box::new(crate::iterator::EmptyIterator::with_error(e)),
    }
}
