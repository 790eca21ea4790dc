//! Turns sealed memtables into SSTables on a background thread, oldest first per keyspace.
//!
//! A flush writes and fsyncs the table, then records in one MANIFEST edit: the new file, the
//! keyspace's flushed sequence (the memtable's largest), and the new minimum WAL number. Only
//! after that edit is synced are WAL files below the minimum deleted.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::db_inner::{DbInner, DbState};
use crate::error::Result;
use crate::filenames;
use crate::iterator::InternalIterator;
use crate::key;
use crate::keyspace::KeyspaceState;
use crate::memtable::MemTable;
use crate::table_builder::{BuiltTable, TableBuildOptions, TableBuilder};
use crate::version::LevelsVersion;
use crate::version_edit::{FileMetaData, VersionEdit, MAX_LEVELS};

/// Flushed tables may skip L0 and go as deep as this when nothing overlaps, which keeps
/// sequential loads from ever being compacted.
const MAX_FLUSH_LEVEL: usize = 2;

struct FlushJob {
    ks: Arc<KeyspaceState>,
    imm: Arc<MemTable>,
    number: u64,
}

pub(crate) fn flush_loop(db: Arc<DbInner>) {
    loop {
        let job = {
            let mut st = db.state.lock();
            loop {
                if db.shutting_down.load(Ordering::Acquire) || db.check_bg_error().is_err() {
                    return;
                }
                if let Some(job) = pick_flush(&db, &mut st) {
                    break job;
                }
                db.wait_bg(&mut st);
            }
        };
        if let Err(e) = run_flush(&db, &job) {
            db.set_bg_error(e);
            return;
        }
    }
}

/// The oldest sealed memtable of any keyspace.
fn pick_flush(db: &DbInner, st: &mut DbState) -> Option<FlushJob> {
    let map = db.keyspaces.load();
    let mut best: Option<(u64, Arc<KeyspaceState>, Arc<MemTable>)> = None;
    for ks in map.iter() {
        let sv = ks.sv.load();
        if let Some(oldest) = sv.imms.last() {
            let age = oldest.first_wal().unwrap_or(u64::MAX);
            if best.as_ref().is_none_or(|b| age < b.0) {
                best = Some((age, ks.clone(), oldest.clone()));
            }
        }
    }
    best.map(|(_, ks, imm)| FlushJob {
        ks,
        imm,
        number: st.versions.new_file_number(),
    })
}

pub(crate) fn build_options(ks: &KeyspaceState) -> TableBuildOptions {
    table_options(&ks.options)
}

pub(crate) fn table_options(o: &crate::options::KeyspaceOptions) -> TableBuildOptions {
    TableBuildOptions {
        block_size: o.block_size,
        restart_interval: 16,
        compression: o.compression,
        bloom_bits_per_key: o.bloom_bits_per_key,
    }
}

/// Writes every entry of `iter` (already positioned) into table `number` under `dir`.
pub(crate) fn write_table(
    dir: &std::path::Path,
    opts: TableBuildOptions,
    number: u64,
    iter: &mut dyn InternalIterator,
) -> Result<BuiltTable> {
    let path = filenames::table_path(dir, number);
    let mut b = TableBuilder::create(&path, opts)?;
    while iter.valid() {
        if let Err(e) = b.add(iter.key(), iter.value()) {
            b.abandon();
            return Err(e);
        }
        iter.next();
    }
    if let Err(e) = iter.status() {
        b.abandon();
        return Err(e);
    }
    b.finish()
}

pub(crate) fn file_meta(number: u64, t: &BuiltTable) -> FileMetaData {
    FileMetaData {
        number,
        size: t.file_size,
        smallest: t.smallest.clone(),
        largest: t.largest.clone(),
        smallest_seq: t.props.smallest_seq,
        largest_seq: t.props.largest_seq,
        entries: t.props.entries,
        global_seq: None,
    }
}

fn run_flush(db: &DbInner, job: &FlushJob) -> Result<()> {
    let mut it = job.imm.iter();
    it.seek_to_first();
    let built = write_table(&db.dir, build_options(&job.ks), job.number, &mut it)?;
    let bytes = built.file_size;
    filenames::sync_dir(&db.dir.join(filenames::SST_DIR))?;

    let mut st = db.state.lock();
    let version = st.versions.keyspaces[&job.ks.id].version.clone();
    let level = pick_level_for_new_table(
        &st,
        &version,
        job.ks.id,
        key::user_key(&built.smallest),
        key::user_key(&built.largest),
        db.opts.target_file_size,
    );
    // WALs this edit retires must not hold transactions the LEDGER file lacks. Every
    // sequence in a sealed WAL is visible already (sealing waits for the commit lock).
    if let Some(l) = &db.ledger {
        l.sync_through(db.visible_seq.load(Ordering::Acquire))?;
    }
    let current_wal = db.current_wal.load(Ordering::Acquire);
    let min_wal = db.min_needed_wal(current_wal, Some(&job.imm));
    let edit = VersionEdit {
        last_sequence: Some(db.visible_seq.load(Ordering::Acquire)),
        min_wal_number: Some(min_wal),
        flushed_seqs: vec![(job.ks.id, job.imm.largest_seq())],
        new_files: vec![(job.ks.id, level, file_meta(job.number, &built))],
        ..Default::default()
    };
    // On failure the table stays: the edit naming it may be durable. If it is not, the next
    // open deletes it as an orphan.
    db.log_edit(&mut st, edit, None)?;
    db.install_version(&st, &job.ks, Some(&job.imm));
    db.delete_obsolete_wals(&mut st, min_wal);
    db.counters.add(&db.counters.flushes, 1);
    db.counters.add(&db.counters.flush_bytes, bytes);
    db.bg_cv.notify_all();
    Ok(())
}

/// Where a new table covering `[lo, hi]` (newer than everything in the tree) may go: L0 if it
/// overlaps L0, else as deep as `MAX_FLUSH_LEVEL` while no level it passes or lands in
/// overlaps it, a running compaction does not write there, and the level below would not make
/// its next compaction too large.
pub(crate) fn pick_level_for_new_table(
    st: &DbState,
    version: &LevelsVersion,
    ks: u32,
    lo: &[u8],
    hi: &[u8],
    target_file_size: u64,
) -> usize {
    if version.overlaps_level(0, lo, hi) {
        return 0;
    }
    let blocked = |level: usize| {
        st.running_compaction
            .as_ref()
            .is_some_and(|c| c.blocks(ks, level, lo, hi))
    };
    let mut level = 0;
    while level < MAX_FLUSH_LEVEL {
        let next = level + 1;
        if version.overlaps_level(next, lo, hi) || blocked(next) {
            break;
        }
        if next + 1 < MAX_LEVELS {
            let grandparents: u64 = version
                .overlapping(next + 1, Some(lo), Some(hi))
                .iter()
                .map(|f| f.size)
                .sum();
            if grandparents > 10 * target_file_size {
                break;
            }
        }
        level = next;
    }
    level
}
