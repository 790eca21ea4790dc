//! Bulk ingest: a sorted stream of entries written straight into tables and added to the file
//! set in one MANIFEST edit, bypassing WAL and memtable.
//!
//! Tables are written with sequence 0 in every key; the MANIFEST gives them a *global
//! sequence* assigned at install time, which readers substitute. So the data becomes visible
//! atomically at one sequence: snapshots older than it never see it, and writers are blocked
//! only for the install, not while tables are written. Before install, memtables holding
//! keys in the ingested range are flushed, so every older version of an ingested key lies in
//! a table below the ingested one.

use std::sync::Arc;

use crate::db_inner::DbInner;
use crate::error::{Error, Result};
use crate::filenames;
use crate::flush::build_options;
use crate::key::{self, ValueKind};
use crate::keyspace::{Keyspace, KeyspaceState};
use crate::table_builder::{BuiltTable, TableBuilder};
use crate::version_edit::{FileMetaData, VersionEdit};

/// What an ingest added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub entries: u64,
    pub files: usize,
    /// Table bytes written.
    pub bytes: u64,
    /// The level the tables went to (0 if something above overlapped).
    pub level: usize,
    /// The sequence at which the ingested data became visible (0 if nothing was ingested).
    pub sequence: u64,
}

impl DbInner {
    pub fn ingest<I, K, V>(&self, ks: &Keyspace, entries: I) -> Result<IngestReport>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.check_writable()?;
        if self.ledger.is_some() {
            // Ingested tables bypass the WAL, so no transaction would cover their entries.
            return Err(Error::InvalidArgument(
                "bulk ingest is not available in a database with a ledger; write batches \
                 instead, so every entry belongs to a transaction"
                    .into(),
            ));
        }
        let state = ks.state.clone();
        let tables = self.write_ingest_tables(&state, entries)?;
        if tables.is_empty() {
            return Ok(IngestReport::default());
        }
        match self.install_ingest(&state, &tables) {
            Ok(report) => Ok(report),
            Err(InstallError::NotLogged(e)) => {
                for (n, _, _) in &tables {
                    let _ = std::fs::remove_file(filenames::table_path(&self.dir, *n));
                }
                Err(e)
            }
            // The edit naming the tables may be durable: keep them (the next open deletes
            // them if no MANIFEST lists them).
            Err(InstallError::MaybeLogged(e)) => Err(e),
        }
    }

    /// Writes the input into tables of about `target_file_size`. Returns (number, table,
    /// first user key) per table; on any error the written tables are removed.
    fn write_ingest_tables<I, K, V>(
        &self,
        ks: &KeyspaceState,
        entries: I,
    ) -> Result<Vec<(u64, BuiltTable, Vec<u8>)>>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut done: Vec<(u64, BuiltTable, Vec<u8>)> = Vec::new();
        let mut current: Option<(u64, TableBuilder, Vec<u8>)> = None;
        let mut prev: Vec<u8> = Vec::new();
        let mut ikey = Vec::new();
        let cleanup = |done: &[(u64, BuiltTable, Vec<u8>)],
                       current: Option<(u64, TableBuilder, Vec<u8>)>| {
            if let Some((_, b, _)) = current {
                b.abandon();
            }
            for (n, _, _) in done {
                let _ = std::fs::remove_file(filenames::table_path(&self.dir, *n));
            }
        };
        for (i, (k, v)) in entries.into_iter().enumerate() {
            let (k, v) = (k.as_ref(), v.as_ref());
            if i > 0 && k <= prev.as_slice() {
                cleanup(&done, current);
                return Err(Error::InvalidArgument(format!(
                    "ingest input must be sorted by key without duplicates: entry {i} (key {}) is not greater than the entry before it (key {})",
                    show_key(k),
                    show_key(&prev)
                )));
            }
            prev.clear();
            prev.extend_from_slice(k);
            if current.is_none() {
                let number = self.state.lock().versions.new_file_number();
                let path = filenames::table_path(&self.dir, number);
                match TableBuilder::create(&path, build_options(ks)) {
                    Ok(b) => current = Some((number, b, k.to_vec())),
                    Err(e) => {
                        cleanup(&done, None);
                        return Err(e);
                    }
                }
            }
            ikey.clear();
            key::append_internal_key(&mut ikey, k, 0, ValueKind::Put);
            let (_, b, _) = current.as_mut().expect("just set");
            if let Err(e) = b.add(&ikey, v) {
                cleanup(&done, current);
                return Err(e);
            }
            if b.estimated_file_size() >= self.opts.target_file_size {
                let (n, b, first) = current.take().expect("checked");
                match b.finish() {
                    Ok(t) => done.push((n, t, first)),
                    Err(e) => {
                        cleanup(&done, None);
                        return Err(e);
                    }
                }
            }
        }
        if let Some((n, b, first)) = current.take() {
            match b.finish() {
                Ok(t) => done.push((n, t, first)),
                Err(e) => {
                    cleanup(&done, None);
                    return Err(e);
                }
            }
        }
        if !done.is_empty() {
            filenames::sync_dir(&self.dir.join(filenames::SST_DIR))?;
        }
        Ok(done)
    }

    fn install_ingest(
        &self,
        ks: &Arc<KeyspaceState>,
        tables: &[(u64, BuiltTable, Vec<u8>)],
    ) -> std::result::Result<IngestReport, InstallError> {
        let lo = tables[0].2.clone();
        let hi = key::user_key(&tables.last().expect("non-empty").1.largest).to_vec();
        loop {
            let mut commit = self.commit.lock();
            self.check_writable().map_err(InstallError::NotLogged)?;
            let sv = ks.sv.load_full();
            let pending: Vec<_> = std::iter::once(&sv.mem)
                .chain(sv.imms.iter())
                .filter(|m| m.overlaps(&lo, &hi))
                .cloned()
                .collect();
            if !pending.is_empty() {
                // Older versions of ingested keys must reach tables first.
                let mut st = self.state.lock();
                if pending.iter().any(|m| Arc::ptr_eq(m, &sv.mem)) {
                    if sv.imms.len() >= self.opts.max_immutable_memtables {
                        drop(commit);
                        self.wait_bg(&mut st);
                        continue;
                    }
                    self.seal_memtable(&mut commit, &mut st, ks)
                        .map_err(InstallError::NotLogged)?;
                }
                drop(commit);
                loop {
                    self.check_writable().map_err(InstallError::NotLogged)?;
                    let now = ks.sv.load();
                    if !now
                        .imms
                        .iter()
                        .any(|m| pending.iter().any(|p| Arc::ptr_eq(m, p)))
                    {
                        break;
                    }
                    self.wait_bg(&mut st);
                }
                continue;
            }

            let mut st = self.state.lock();
            let seq = commit.last_seq + 1;
            let version = st.versions.keyspaces[&ks.id].version.clone();
            let level = pick_ingest_level(&st, &version, ks.id, &lo, &hi);
            let mut edit = VersionEdit {
                last_sequence: Some(seq),
                ..Default::default()
            };
            for (number, t, first) in tables {
                let mut smallest = key::make_internal_key(first, seq, ValueKind::Put);
                let mut largest = t.largest.clone();
                key::set_sequence(&mut largest, seq);
                key::set_sequence(&mut smallest, seq);
                edit.new_files.push((
                    ks.id,
                    level,
                    FileMetaData {
                        number: *number,
                        size: t.file_size,
                        smallest,
                        largest,
                        smallest_seq: seq,
                        largest_seq: seq,
                        entries: t.props.entries,
                        global_seq: Some(seq),
                    },
                ));
            }
            self.log_edit(&mut st, edit, None)
                .map_err(InstallError::MaybeLogged)?;
            // Tables first, then the sequence: a snapshot at `seq` must already find them.
            self.install_version(&st, ks, None);
            commit.last_seq = seq;
            self.visible_seq
                .store(seq, std::sync::atomic::Ordering::Release);
            let entries: u64 = tables.iter().map(|t| t.1.props.entries).sum();
            self.counters.add(&self.counters.ingests, 1);
            self.counters.add(&self.counters.ingest_entries, entries);
            self.bg_cv.notify_all();
            return Ok(IngestReport {
                entries,
                files: tables.len(),
                bytes: tables.iter().map(|t| t.1.file_size).sum(),
                level,
                sequence: seq,
            });
        }
    }
}

/// Why installing ingested tables failed, and whether a MANIFEST edit naming them may exist.
enum InstallError {
    NotLogged(Error),
    MaybeLogged(Error),
}

/// The deepest level such that no level from 0 down to it overlaps `[lo, hi]` (or is being
/// written there by a compaction). Unlike a flush, an ingest may go all the way down.
fn pick_ingest_level(
    st: &crate::db_inner::DbState,
    version: &crate::version::LevelsVersion,
    ks: u32,
    lo: &[u8],
    hi: &[u8],
) -> usize {
    if version.overlaps_level(0, lo, hi) {
        return 0;
    }
    let mut level = 0;
    for next in 1..crate::version_edit::MAX_LEVELS {
        let blocked = st
            .running_compaction
            .as_ref()
            .is_some_and(|c| c.blocks(ks, next, lo, hi));
        if version.overlaps_level(next, lo, hi) || blocked {
            break;
        }
        level = next;
    }
    level
}

/// A key for an error message: text if printable, else hex.
pub(crate) fn show_key(k: &[u8]) -> String {
    match std::str::from_utf8(k) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => format!("{s:?}"),
        _ => format!(
            "0x{}",
            k.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}
