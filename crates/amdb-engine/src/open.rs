//! Opening a database: writable (lock, recover, clean up) or read-only (consistent view of
//! what is durable, without touching anything).
//!
//! Writable recovery:
//! 1. Replay the MANIFEST named by CURRENT; check every table exists with its recorded size.
//! 2. Replay WAL files numbered at or above the MANIFEST's minimum, in order, skipping
//!    entries a keyspace has already flushed. Only the newest WAL may end in a torn record,
//!    which is discarded; damage anywhere else is reported with file and offset.
//! 3. Write the recovered memtables to L0 tables, then a fresh MANIFEST with everything
//!    (including a minimum WAL number above every old WAL), then switch CURRENT.
//! 4. Only then delete old WALs, old MANIFESTs and tables no MANIFEST references.
//!
//! A crash at any step leaves CURRENT naming a complete MANIFEST whose WALs still exist.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::batch::BatchPayload;
use crate::cache::BlockCache;
use crate::db_inner::{CommitState, DbInner, DbState, KeyspaceMap};
use crate::error::{Error, Result};
use crate::filenames;
use crate::flush::{file_meta, table_options, write_table};
use crate::iterator::InternalIterator;
use crate::key::MAX_SEQUENCE;
use crate::keyspace::KeyspaceState;
use crate::ledger::service::{ledger_path, Ledger, AUDIT_KEYSPACE, LEDGER_KEYSPACE};
use crate::lock::DirLock;
use crate::log_format::{RECORD_HEADER_LEN, WAL_MAGIC};
use crate::log_reader::LogReader;
use crate::log_writer::LogWriter;
use crate::memtable::MemTable;
use crate::options::{KeyspaceOptions, Options};
use crate::stats::Counters;
use crate::version::TableContext;
use crate::version_edit::{NewKeyspace, VersionEdit};
use crate::version_set::VersionSet;

pub(crate) fn open_writable(dir: &Path, opts: Options) -> Result<DbInner> {
    opts.validate().map_err(Error::InvalidArgument)?;
    if !dir.join(filenames::CURRENT).exists() && !opts.create_if_missing {
        return Err(Error::NotFound {
            dir: dir.to_path_buf(),
            read_only: false,
        });
    }
    for d in [
        dir.to_path_buf(),
        dir.join(filenames::WAL_DIR),
        dir.join(filenames::SST_DIR),
    ] {
        std::fs::create_dir_all(&d).map_err(|e| Error::io("create directory", &d, e))?;
    }
    let lock = DirLock::acquire(dir)?;

    let (counters, cache, ctx) = table_context(dir, &opts, true);
    let created = !dir.join(filenames::CURRENT).exists();
    let mut versions = if !created {
        if opts.error_if_exists {
            return Err(Error::InvalidArgument(format!(
                "database already exists at {}",
                dir.display()
            )));
        }
        VersionSet::recover(dir, ctx.clone())?.0
    } else {
        VersionSet::create(dir, ctx.clone(), opts.default_keyspace.clone())
    };
    verify_tables(dir, &versions)?;
    let ledger = open_ledger(dir, &mut versions, opts.ledger, created, true)?;

    let sst_dir = dir.join(filenames::SST_DIR);
    let wal_dir = dir.join(filenames::WAL_DIR);
    let on_disk_tables =
        filenames::list_numbered(&sst_dir, "sst").map_err(|e| Error::io("list", &sst_dir, e))?;
    let on_disk_wals =
        filenames::list_numbered(&wal_dir, "log").map_err(|e| Error::io("list", &wal_dir, e))?;
    // Past every file on disk, including a MANIFEST a crash left before CURRENT named it.
    let on_disk_manifests = manifest_numbers(dir);
    if let Some(&max) = on_disk_tables
        .iter()
        .chain(&on_disk_wals)
        .chain(&on_disk_manifests)
        .max()
    {
        versions.next_file_number = versions.next_file_number.max(max + 1);
    }

    let replay_wals: Vec<u64> = on_disk_wals
        .iter()
        .copied()
        .filter(|&n| n >= versions.min_wal_number)
        .collect();
    let mut recovery = VersionEdit::default();
    let mut last_seq = versions.last_sequence;
    let mut replayed = 0;
    let mut mems: BTreeMap<u32, Arc<MemTable>> = BTreeMap::new();
    for (i, &number) in replay_wals.iter().enumerate() {
        let path = filenames::wal_path(dir, number);
        let mut reader = LogReader::open(&path, WAL_MAGIC)?;
        let is_newest = i + 1 == replay_wals.len();
        replayed = replay_wal(
            &mut reader,
            &versions,
            &mut mems,
            number,
            replayed,
            ledger.as_ref(),
        )?;
        last_seq = last_seq.max(replayed);
        for (&ks, mem) in mems.iter() {
            if mem.approximate_memory_usage() >= opts.write_buffer_size {
                flush_recovered(dir, &mut versions, &mut recovery, ks, mem)?;
            }
        }
        mems.retain(|_, m| m.approximate_memory_usage() < opts.write_buffer_size);
        if let Some((offset, reason)) = reader.torn_tail() {
            if !is_newest {
                return Err(Error::corruption(
                    &path,
                    *offset,
                    format!("{reason}, in a WAL that is not the newest (only the newest can be torn by a crash)"),
                ));
            }
            if !reader.zero_filled_tail() {
                counters.add(&counters.wal_torn_tails, 1);
            }
        }
    }
    for (&ks, mem) in &mems {
        flush_recovered(dir, &mut versions, &mut recovery, ks, mem)?;
    }
    if !recovery.new_files.is_empty() {
        filenames::sync_dir(&sst_dir)?;
    }
    // The WALs go next, so the ledger must hold every transaction they held.
    if let Some(l) = &ledger {
        l.sync()?;
    }
    versions.apply(&recovery, None);
    versions.last_sequence = last_seq;
    let wal_number = versions.new_file_number();
    versions.min_wal_number = wal_number;
    versions.write_snapshot()?;

    // Everything below is garbage now that CURRENT names the new MANIFEST.
    for n in on_disk_wals {
        let _ = std::fs::remove_file(filenames::wal_path(dir, n));
    }
    let live = versions.live_tables();
    for n in on_disk_tables.into_iter().filter(|n| !live.contains(n)) {
        let _ = std::fs::remove_file(filenames::table_path(dir, n));
    }
    remove_stale_manifests(dir, versions.manifest_number());
    let _ = std::fs::remove_file(dir.join("CURRENT.tmp"));

    let wal = LogWriter::create_preallocated(&filenames::wal_path(dir, wal_number), WAL_MAGIC)?;
    filenames::sync_dir(&wal_dir)?;
    write_options_file(dir, &opts)?;

    let keyspaces = keyspace_map(&versions, BTreeMap::new());
    let state = DbState::new(versions);
    let (ledger_tx, ledger_time_ns) = ledger_tip(ledger.as_ref());
    let commit = CommitState {
        wal: Some(wal),
        wal_number,
        last_seq,
        ledger_tx,
        ledger_time_ns,
    };
    Ok(DbInner::new(
        dir.to_path_buf(),
        opts,
        false,
        counters,
        cache,
        commit,
        state,
        keyspaces,
        ledger,
        Some(lock),
    ))
}

/// Opens without the lock and without writing anything. A writer may be running: the open
/// retries until it reads a MANIFEST that did not change while the tables and WALs it names
/// were being opened (open descriptors keep files readable even if the writer deletes them).
pub(crate) fn open_read_only(dir: &Path, opts: Options) -> Result<DbInner> {
    opts.validate().map_err(Error::InvalidArgument)?;
    let (counters, cache, ctx) = table_context(dir, &opts, false);
    let mut last_err = None;
    for _ in 0..50 {
        match try_open_read_only(dir, &ctx) {
            Ok(Some((versions, mems, last_seq, ledger))) => {
                let keyspaces = keyspace_map(&versions, mems);
                let state = DbState::new(versions);
                let (ledger_tx, ledger_time_ns) = ledger_tip(ledger.as_ref());
                let commit = CommitState {
                    wal: None,
                    wal_number: 0,
                    last_seq,
                    ledger_tx,
                    ledger_time_ns,
                };
                return Ok(DbInner::new(
                    dir.to_path_buf(),
                    opts,
                    true,
                    counters,
                    cache,
                    commit,
                    state,
                    keyspaces,
                    ledger,
                    None,
                ));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e @ Error::MissingFile { .. }) => {
                last_err = Some(e);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        Error::Background(format!(
            "{} kept changing while being opened read-only",
            dir.display()
        ))
    }))
}

type ReadOnlyView = (
    VersionSet,
    BTreeMap<u32, Arc<MemTable>>,
    u64,
    Option<Ledger>,
);

/// `Ok(None)` means the writer changed the MANIFEST meanwhile: try again.
fn try_open_read_only(dir: &Path, ctx: &Arc<TableContext>) -> Result<Option<ReadOnlyView>> {
    let (mut versions, source) = VersionSet::recover(dir, ctx.clone())?;
    for k in versions.keyspaces.values() {
        for f in k.version.levels.iter().flatten() {
            f.table()?;
        }
    }
    let wal_dir = dir.join(filenames::WAL_DIR);
    let numbers =
        filenames::list_numbered(&wal_dir, "log").map_err(|e| Error::io("list", &wal_dir, e))?;
    let mut wals = Vec::new();
    for n in numbers
        .into_iter()
        .filter(|&n| n >= versions.min_wal_number)
    {
        // Read now, before checking the MANIFEST is unchanged: whatever these bytes refer
        // to (a keyspace, say) was then already in the MANIFEST we replayed.
        let path = filenames::wal_path(dir, n);
        match std::fs::read(&path) {
            Ok(bytes) => wals.push((n, path, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        }
    }
    let current = std::fs::read_to_string(dir.join(filenames::CURRENT)).unwrap_or_default();
    let manifest_len = std::fs::metadata(dir.join(&source.manifest_name))
        .map(|m| m.len())
        .ok();
    if current.trim_end() != source.manifest_name || manifest_len != Some(source.manifest_len) {
        return Ok(None);
    }
    // Read after the WALs: a writer syncs the ledger before dropping a WAL, so whatever
    // transactions the WALs read no longer hold are in the LEDGER file by now.
    let ledger = open_ledger(dir, &mut versions, false, false, false)?;
    let mut mems = BTreeMap::new();
    let mut last_seq = versions.last_sequence;
    let mut replayed = 0;
    let count = wals.len();
    for (i, (n, path, bytes)) in wals.into_iter().enumerate() {
        let mut reader = LogReader::from_bytes(bytes, &path, WAL_MAGIC)?;
        let newest = i + 1 == count;
        match replay_wal(
            &mut reader,
            &versions,
            &mut mems,
            n,
            replayed,
            ledger.as_ref(),
        ) {
            Ok(r) => replayed = r,
            // The newest WAL is written in place over preallocated zeros, so a read racing
            // the writer can hold a later record whole and an earlier one still zero or half
            // copied. Damage that is really there reads the same twice; anything else is
            // the writer at work: try again.
            Err(e @ Error::Corruption { .. }) if newest => {
                return match std::fs::read(&path) {
                    Ok(again) if again.get(..reader.bytes().len()) != Some(reader.bytes()) => {
                        Ok(None)
                    }
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        }
        last_seq = last_seq.max(replayed);
        if let Some((offset, reason)) = reader.torn_tail() {
            if !newest {
                return Err(Error::corruption(
                    &path,
                    *offset,
                    format!("{reason}, in a WAL that is not the newest"),
                ));
            }
        }
    }
    Ok(Some((versions, mems, last_seq, ledger)))
}

/// Inserts the unflushed entries of one WAL into `mems`; returns the highest sequence seen.
/// `last` is the highest sequence replayed so far (from earlier WALs); records must continue
/// past it, as the writer assigns sequences in order.
fn replay_wal(
    reader: &mut LogReader,
    versions: &VersionSet,
    mems: &mut BTreeMap<u32, Arc<MemTable>>,
    wal_number: u64,
    mut last: u64,
    ledger: Option<&Ledger>,
) -> Result<u64> {
    let path = reader.path().to_path_buf();
    while let Some((offset, payload)) = reader.next_record()? {
        let batch = BatchPayload::parse(payload).ok_or_else(|| {
            Error::corruption(&path, offset, "WAL record too short for a batch header")
        })?;
        let entries = batch.entries().map_err(|at| {
            Error::corruption(
                &path,
                offset + RECORD_HEADER_LEN as u64 + at as u64,
                "malformed batch entry in WAL record",
            )
        })?;
        let end = batch.first_seq.checked_add(batch.count as u64);
        if batch.first_seq <= last || end.is_none_or(|e| e - 1 > MAX_SEQUENCE) {
            return Err(Error::corruption(
                &path,
                offset,
                format!(
                    "WAL record's sequences {}..+{} do not follow {last}",
                    batch.first_seq, batch.count
                ),
            ));
        }
        if let Some(l) = ledger {
            l.recover(&path, offset, batch.first_seq, &entries)?;
        }
        let mut seq = batch.first_seq;
        for e in entries {
            let meta = versions.keyspaces.get(&e.keyspace).ok_or_else(|| {
                Error::corruption(
                    &path,
                    offset,
                    format!("WAL record refers to unknown keyspace id {}", e.keyspace),
                )
            })?;
            if seq > meta.flushed_seq {
                mems.entry(e.keyspace)
                    .or_insert_with(|| Arc::new(MemTable::new()))
                    .writer(wal_number)
                    .add(seq, e.kind, e.key, e.value);
            }
            seq += 1;
        }
        last = last.max(seq.saturating_sub(1));
    }
    Ok(last)
}

/// The ledger of the database in `dir`, if it has one; creates it for a new database that
/// wants one. A database has a ledger exactly when `ledger/LEDGER` exists; the ledger's
/// keyspaces without that file mean it was deleted, which is refused rather than silently
/// starting a new chain.
fn open_ledger(
    dir: &Path,
    versions: &mut VersionSet,
    want: bool,
    created: bool,
    writable: bool,
) -> Result<Option<Ledger>> {
    let path = ledger_path(dir);
    let id_of = |versions: &VersionSet, name: &str| {
        versions
            .keyspaces
            .iter()
            .find(|(_, k)| k.name == name)
            .map(|(&id, _)| id)
    };
    if !path.exists() {
        if id_of(versions, LEDGER_KEYSPACE).is_some() {
            return Err(Error::MissingFile {
                path,
                reason: format!(
                    "the database has a ledger (keyspace {LEDGER_KEYSPACE:?}) but its file is gone"
                ),
            });
        }
        if !want || !writable {
            return Ok(None);
        }
        if !created {
            return Err(Error::InvalidArgument(format!(
                "a ledger can only be created with the database, and {} already exists \
                 without one",
                dir.display()
            )));
        }
        Ledger::create(dir)?;
    }
    let mut ids = [0u32; 2];
    for (slot, name) in ids.iter_mut().zip([LEDGER_KEYSPACE, AUDIT_KEYSPACE]) {
        *slot = match id_of(versions, name) {
            Some(id) => id,
            // Only a crash right after creating the file leaves it without its keyspaces.
            None if writable => {
                let id = versions.keyspaces.keys().max().map_or(0, |m| m + 1);
                let edit = VersionEdit {
                    new_keyspaces: vec![NewKeyspace {
                        id,
                        name: name.to_string(),
                        options: KeyspaceOptions::default(),
                    }],
                    ..Default::default()
                };
                versions.apply(&edit, None);
                id
            }
            // Then no transaction can exist yet either.
            None => u32::MAX,
        };
    }
    Ledger::load(dir, ids[0], ids[1], writable).map(Some)
}

fn ledger_tip(ledger: Option<&Ledger>) -> (u64, i64) {
    ledger.map_or((0, i64::MIN), |l| {
        let r = l.root();
        (r.tx, r.time_ns.unwrap_or(i64::MIN))
    })
}

/// Writes a recovered memtable as an L0 table and records it in `edit`.
fn flush_recovered(
    dir: &Path,
    versions: &mut VersionSet,
    edit: &mut VersionEdit,
    ks: u32,
    mem: &Arc<MemTable>,
) -> Result<()> {
    if mem.is_empty() {
        return Ok(());
    }
    let opts = table_options(&versions.keyspaces[&ks].options);
    let number = versions.new_file_number();
    let mut it = mem.iter();
    it.seek_to_first();
    let built = write_table(dir, opts, number, &mut it)?;
    edit.new_files.push((ks, 0, file_meta(number, &built)));
    edit.flushed_seqs.push((ks, mem.largest_seq()));
    Ok(())
}

/// Every table the MANIFEST lists must exist with the size it recorded.
fn verify_tables(dir: &Path, versions: &VersionSet) -> Result<()> {
    let manifest = filenames::manifest_name(versions.manifest_number());
    for (id, k) in &versions.keyspaces {
        for (level, f) in k
            .version
            .levels
            .iter()
            .enumerate()
            .flat_map(|(l, fs)| fs.iter().map(move |f| (l, f)))
        {
            let path = filenames::table_path(dir, f.number);
            match std::fs::metadata(&path) {
                Ok(m) if m.len() == f.size => {}
                Ok(m) => {
                    return Err(Error::corruption(
                        &path,
                        m.len().min(f.size),
                        format!(
                        "table is {} bytes but {manifest} records {} (truncated or overwritten)",
                        m.len(),
                        f.size
                    ),
                    ))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::MissingFile {
                        path,
                        reason: format!(
                            "{manifest} lists it in level {level} of keyspace {:?} (id {id})",
                            k.name
                        ),
                    })
                }
                Err(e) => return Err(Error::io("stat", &path, e)),
            }
        }
    }
    Ok(())
}

fn manifest_numbers(dir: &Path) -> Vec<u64> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(filenames::parse_manifest_name)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn remove_stale_manifests(dir: &Path, live: u64) {
    for n in manifest_numbers(dir) {
        if n != live {
            let _ = std::fs::remove_file(dir.join(filenames::manifest_name(n)));
        }
    }
}

/// The counters, block cache and table context of a database being opened.
fn table_context(
    dir: &Path,
    opts: &Options,
    delete_obsolete: bool,
) -> (Arc<Counters>, Arc<BlockCache>, Arc<TableContext>) {
    let counters = Arc::new(Counters::default());
    let cache = Arc::new(BlockCache::new(opts.block_cache_bytes));
    let ctx = Arc::new(TableContext {
        dir: dir.to_path_buf(),
        cache: cache.clone(),
        counters: counters.clone(),
        delete_obsolete,
    });
    (counters, cache, ctx)
}

fn keyspace_map(versions: &VersionSet, mut mems: BTreeMap<u32, Arc<MemTable>>) -> KeyspaceMap {
    let mut map = KeyspaceMap::default();
    for (&id, k) in &versions.keyspaces {
        let mem = mems
            .remove(&id)
            .unwrap_or_else(|| Arc::new(MemTable::new()));
        let state = KeyspaceState::new(
            id,
            k.name.clone(),
            k.options.clone(),
            k.version.clone(),
            mem,
        );
        map.insert(Arc::new(state));
    }
    map
}

/// The OPTIONS file: the options of the last open, for operators (informational only).
fn write_options_file(dir: &Path, opts: &Options) -> Result<()> {
    let path = dir.join(filenames::OPTIONS);
    let tmp = dir.join("OPTIONS.tmp");
    let text = format!(
        "# AmDb options at the last writable open (informational; not read back)\n\
         amdb_version = {}\n\
         durability = {:?}\n\
         write_buffer_size = {}\n\
         max_immutable_memtables = {}\n\
         block_cache_bytes = {}\n\
         max_batch_bytes = {}\n\
         l0_compaction_trigger = {}\n\
         l0_slowdown_trigger = {}\n\
         l0_stop_trigger = {}\n\
         target_file_size = {}\n\
         max_bytes_for_level_base = {}\n\
         level_size_multiplier = {}\n\
         max_total_wal_bytes = {}\n\
         disable_auto_compaction = {}\n",
        env!("CARGO_PKG_VERSION"),
        opts.durability,
        opts.write_buffer_size,
        opts.max_immutable_memtables,
        opts.block_cache_bytes,
        opts.max_batch_bytes,
        opts.l0_compaction_trigger,
        opts.l0_slowdown_trigger,
        opts.l0_stop_trigger,
        opts.target_file_size,
        opts.max_bytes_for_level_base,
        opts.level_size_multiplier,
        opts.max_total_wal_bytes,
        opts.disable_auto_compaction,
    );
    let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &tmp, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{encode_header, WriteBatch};
    use crate::Db;
    use std::path::PathBuf;

    /// Appends a WAL file holding one crafted record (valid CRCs) after a closed database's
    /// own WALs, and returns its path.
    fn crafted_wal(dir: &Path, first_seq: u64, count: u32, entries: &[u8]) -> PathBuf {
        let path = filenames::wal_path(dir, 999_999);
        let mut w = LogWriter::create(&path, WAL_MAGIC).unwrap();
        let mut header = [0u8; crate::batch::HEADER_LEN];
        encode_header(&mut header, first_seq, count);
        w.add_record(&[&header, entries]).unwrap();
        path
    }

    fn one_put() -> Vec<u8> {
        let mut b = WriteBatch::new();
        b.put_raw(0, b"k", b"v");
        b.entries_bytes().to_vec()
    }

    fn closed_db() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        Db::open(dir.path(), Options::default())
            .unwrap()
            .close()
            .unwrap();
        dir
    }

    #[test]
    fn crafted_wal_records_are_corruption_not_crashes() {
        for (first_seq, count, entries) in [
            (MAX_SEQUENCE, 2, one_put()), // runs past the largest sequence
            (0, 1, one_put()),            // sequences start at 1
            (5, u32::MAX, one_put()),     // count far beyond the entries
        ] {
            let dir = closed_db();
            let wal = crafted_wal(dir.path(), first_seq, count, &entries);
            match Db::open(dir.path(), Options::default()) {
                Err(Error::Corruption { path, .. }) => assert_eq!(path, wal),
                other => {
                    panic!("seq {first_seq} count {count}: expected corruption, got {other:?}")
                }
            }
        }
    }

    #[test]
    fn a_manifest_left_by_a_crash_before_current_existed_does_not_block_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("wal")).unwrap();
        std::fs::write(
            dir.path().join(filenames::manifest_name(2)),
            b"half-written",
        )
        .unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.put(&db.default_keyspace(), "k", "v").unwrap();
        db.close().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        assert_eq!(
            db.get(&db.default_keyspace(), "k").unwrap(),
            Some(b"v".to_vec())
        );
        assert!(!dir.path().join(filenames::manifest_name(2)).exists());
    }
}
