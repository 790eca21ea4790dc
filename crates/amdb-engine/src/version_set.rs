//! The file set of every keyspace, persisted as a MANIFEST of `VersionEdit`s.
//!
//! Commit rule: an edit is applied in memory only after it is appended to the MANIFEST and
//! fsynced, and files an edit deletes are removed only after that. `CURRENT` names the live
//! MANIFEST and is replaced atomically (write temp, fsync, rename, fsync directory). So after
//! any crash the MANIFEST that CURRENT names describes a complete, consistent file set.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::filenames;
use crate::key::SequenceNumber;
use crate::log_format::MANIFEST_MAGIC;
use crate::log_reader::LogReader;
use crate::log_writer::LogWriter;
use crate::options::KeyspaceOptions;
use crate::version::{FileMeta, LevelsVersion, TableContext};
use crate::version_edit::{FileMetaData, NewKeyspace, VersionEdit, MAX_LEVELS};

/// A MANIFEST larger than this is rewritten as a single snapshot record.
const MANIFEST_ROTATE_BYTES: u64 = 64 << 20;

pub(crate) struct KeyspaceMeta {
    pub name: String,
    pub options: KeyspaceOptions,
    /// Every entry of this keyspace with a sequence up to this is in its tables.
    pub flushed_seq: SequenceNumber,
    pub version: Arc<LevelsVersion>,
}

pub(crate) struct VersionSet {
    dir: PathBuf,
    ctx: Arc<TableContext>,
    manifest: Option<LogWriter>,
    manifest_number: u64,
    pub next_file_number: u64,
    pub last_sequence: SequenceNumber,
    pub min_wal_number: u64,
    pub keyspaces: BTreeMap<u32, KeyspaceMeta>,
    /// Set when a MANIFEST write failed: the file may end in a partial record (appending
    /// after it would hide later edits from recovery) or CURRENT may name a different file,
    /// so no further edit is accepted until the database is reopened.
    poisoned: Option<String>,
}

/// Plain state rebuilt from MANIFEST edits, before tables are wrapped in `FileMeta`.
#[derive(Default)]
struct Replay {
    next_file_number: u64,
    last_sequence: u64,
    min_wal_number: u64,
    keyspaces: BTreeMap<u32, ReplayKeyspace>,
}

struct ReplayKeyspace {
    name: String,
    options: KeyspaceOptions,
    flushed_seq: u64,
    levels: Vec<BTreeMap<u64, FileMetaData>>,
}

impl Replay {
    fn apply(&mut self, e: VersionEdit) -> std::result::Result<(), String> {
        let seqs = e
            .last_sequence
            .iter()
            .chain(e.flushed_seqs.iter().map(|f| &f.1))
            .chain(e.new_files.iter().flat_map(|(_, _, f)| {
                [&f.smallest_seq, &f.largest_seq]
                    .into_iter()
                    .chain(f.global_seq.iter())
            }));
        for &s in seqs {
            if s > crate::key::MAX_SEQUENCE {
                return Err(format!("sequence {s} is beyond the largest possible"));
            }
        }
        if let Some(v) = e.next_file_number {
            self.next_file_number = self.next_file_number.max(v);
        }
        if let Some(v) = e.last_sequence {
            self.last_sequence = self.last_sequence.max(v);
        }
        if let Some(v) = e.min_wal_number {
            self.min_wal_number = self.min_wal_number.max(v);
        }
        for k in e.new_keyspaces {
            if self.keyspaces.contains_key(&k.id) {
                return Err(format!("keyspace id {} created twice", k.id));
            }
            self.keyspaces.insert(
                k.id,
                ReplayKeyspace {
                    name: k.name,
                    options: k.options,
                    flushed_seq: 0,
                    levels: vec![BTreeMap::new(); MAX_LEVELS],
                },
            );
        }
        for (ks, seq) in e.flushed_seqs {
            let k = self.keyspace(ks)?;
            k.flushed_seq = k.flushed_seq.max(seq);
        }
        for (ks, level, number) in e.deleted_files {
            if self.keyspace(ks)?.levels[level].remove(&number).is_none() {
                return Err(format!(
                    "deletes table {number} which is not in level {level} of keyspace {ks}"
                ));
            }
        }
        for (ks, level, f) in e.new_files {
            self.keyspace(ks)?.levels[level].insert(f.number, f);
        }
        Ok(())
    }

    fn keyspace(&mut self, id: u32) -> std::result::Result<&mut ReplayKeyspace, String> {
        self.keyspaces
            .get_mut(&id)
            .ok_or_else(|| format!("refers to keyspace id {id} which was never created"))
    }
}

/// What recovery read from disk, and how to verify nothing changed underneath a read-only open.
pub(crate) struct ManifestSource {
    pub manifest_name: String,
    pub manifest_len: u64,
}

impl VersionSet {
    /// A new database: only the default keyspace.
    pub fn create(
        dir: &Path,
        ctx: Arc<TableContext>,
        default_options: KeyspaceOptions,
    ) -> VersionSet {
        let mut keyspaces = BTreeMap::new();
        keyspaces.insert(
            crate::keyspace::DEFAULT_KEYSPACE_ID,
            KeyspaceMeta {
                name: crate::keyspace::DEFAULT_KEYSPACE.into(),
                options: default_options,
                flushed_seq: 0,
                version: Arc::new(LevelsVersion::default()),
            },
        );
        VersionSet {
            dir: dir.to_path_buf(),
            ctx,
            manifest: None,
            manifest_number: 0,
            next_file_number: 1,
            last_sequence: 0,
            min_wal_number: 0,
            keyspaces,
            poisoned: None,
        }
    }

    /// Reads CURRENT and replays the MANIFEST it names.
    pub fn recover(dir: &Path, ctx: Arc<TableContext>) -> Result<(VersionSet, ManifestSource)> {
        let current_path = dir.join(filenames::CURRENT);
        let current = std::fs::read_to_string(&current_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                dir: dir.to_path_buf(),
                read_only: !ctx.delete_obsolete,
            },
            _ => Error::io("read", &current_path, e),
        })?;
        let name = current
            .strip_suffix('\n')
            .filter(|n| filenames::parse_manifest_name(n).is_some())
            .ok_or_else(|| {
                Error::corruption(
                    &current_path,
                    0,
                    format!("CURRENT does not name a MANIFEST: {current:?}"),
                )
            })?;
        let manifest_number = filenames::parse_manifest_name(name).expect("checked above");
        let path = dir.join(name);
        let mut file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingFile {
                path: path.clone(),
                reason: "CURRENT names this MANIFEST but it does not exist".into(),
            },
            _ => Error::io("open", &path, e),
        })?;
        let mut reader = LogReader::from_file(&mut file, &path, MANIFEST_MAGIC)?;
        let mut replay = Replay::default();
        let mut records = 0;
        while let Some((offset, payload)) = reader.next_record()? {
            let edit =
                VersionEdit::decode(payload).map_err(|r| Error::corruption(&path, offset, r))?;
            replay
                .apply(edit)
                .map_err(|r| Error::corruption(&path, offset, format!("edit {r}")))?;
            records += 1;
        }
        if records == 0 {
            // The first record is written and synced before CURRENT names the file, so a
            // MANIFEST without one was damaged, not torn by a crash.
            let (offset, reason) = reader
                .torn_tail()
                .cloned()
                .unwrap_or((0, "no records".into()));
            return Err(Error::corruption(
                &path,
                offset,
                format!("MANIFEST has no intact snapshot record: {reason}"),
            ));
        }
        // What was replayed, not the file's size now: a writer may have appended since.
        let manifest_len = reader.bytes_read();

        let mut keyspaces = BTreeMap::new();
        for (id, k) in replay.keyspaces {
            let mut v = LevelsVersion::default();
            for (level, files) in k.levels.into_iter().enumerate() {
                v.levels[level] = files
                    .into_values()
                    .map(|f| FileMeta::new(f, ctx.clone()))
                    .collect();
            }
            v.sort();
            v.check_disjoint()
                .map_err(|r| Error::corruption(&path, 0, format!("keyspace {}: {r}", k.name)))?;
            keyspaces.insert(
                id,
                KeyspaceMeta {
                    name: k.name,
                    options: k.options,
                    flushed_seq: k.flushed_seq,
                    version: Arc::new(v),
                },
            );
        }
        if !keyspaces.contains_key(&crate::keyspace::DEFAULT_KEYSPACE_ID) {
            return Err(Error::corruption(
                &path,
                0,
                "MANIFEST has no default keyspace",
            ));
        }
        Ok((
            VersionSet {
                dir: dir.to_path_buf(),
                ctx,
                manifest: None,
                manifest_number,
                next_file_number: replay.next_file_number.max(manifest_number + 1),
                last_sequence: replay.last_sequence,
                min_wal_number: replay.min_wal_number,
                keyspaces,
                poisoned: None,
            },
            ManifestSource {
                manifest_name: name.to_string(),
                manifest_len,
            },
        ))
    }

    pub fn new_file_number(&mut self) -> u64 {
        let n = self.next_file_number;
        self.next_file_number += 1;
        n
    }

    pub fn manifest_number(&self) -> u64 {
        self.manifest_number
    }

    /// Every table number referenced by any keyspace.
    pub fn live_tables(&self) -> std::collections::HashSet<u64> {
        self.keyspaces
            .values()
            .flat_map(|k| k.version.levels.iter().flatten().map(|f| f.number))
            .collect()
    }

    /// An edit that recreates the whole current state.
    fn snapshot_edit(&self) -> VersionEdit {
        let mut e = VersionEdit {
            last_sequence: Some(self.last_sequence),
            next_file_number: Some(self.next_file_number),
            min_wal_number: Some(self.min_wal_number),
            ..Default::default()
        };
        for (&id, k) in &self.keyspaces {
            e.new_keyspaces.push(NewKeyspace {
                id,
                name: k.name.clone(),
                options: k.options.clone(),
            });
            e.flushed_seqs.push((id, k.flushed_seq));
            for (level, files) in k.version.levels.iter().enumerate() {
                for f in files {
                    e.new_files.push((id, level, f.meta.clone()));
                }
            }
        }
        e
    }

    /// Writes a fresh MANIFEST holding the current state, points CURRENT at it, and removes
    /// the previous one.
    pub fn write_snapshot(&mut self) -> Result<()> {
        let number = self.new_file_number();
        let name = filenames::manifest_name(number);
        let path = self.dir.join(&name);
        let mut log = LogWriter::create(&path, MANIFEST_MAGIC)?;
        let edit = self.snapshot_edit();
        log.add_record(&[&edit.encode()])?;
        log.sync()?;
        set_current(&self.dir, &name)?;
        let old = std::mem::replace(&mut self.manifest_number, number);
        self.manifest = Some(log);
        if old != 0 && old != number {
            let _ = std::fs::remove_file(self.dir.join(filenames::manifest_name(old)));
        }
        Ok(())
    }

    /// Persists `edit` and applies it. `horizon` raises the gc horizon of the keyspaces a
    /// compaction changed. Returns the ids of keyspaces whose version changed.
    ///
    /// On `Err` the edit may or may not be durable, so callers must not delete files it names
    /// (the next open removes files no MANIFEST lists). After any failure every later edit is
    /// refused. A failure to rotate to a new MANIFEST after the edit is durable does not fail
    /// the edit; it only poisons later ones (see `poisoned_reason`).
    pub fn log_and_apply(
        &mut self,
        mut edit: VersionEdit,
        horizon: Option<(u32, SequenceNumber)>,
    ) -> Result<Vec<u32>> {
        if let Some(p) = &self.poisoned {
            return Err(Error::Background(format!(
                "MANIFEST not writable after an earlier failure: {p}"
            )));
        }
        edit.next_file_number = Some(self.next_file_number);
        edit.last_sequence = Some(self.last_sequence.max(edit.last_sequence.unwrap_or(0)));
        let log = self.manifest.as_mut().ok_or(Error::ReadOnly)?;
        if let Err(e) = log.add_record(&[&edit.encode()]).and_then(|_| log.sync()) {
            self.poisoned = Some(e.to_string());
            return Err(e);
        }
        let touched = self.apply(&edit, horizon);
        let too_big = self
            .manifest
            .as_ref()
            .is_some_and(|m| m.len() > MANIFEST_ROTATE_BYTES);
        if too_big {
            if let Err(e) = self.write_snapshot() {
                self.poisoned = Some(format!("rotating the MANIFEST failed: {e}"));
            }
        }
        Ok(touched)
    }

    /// Why edits are refused, if a MANIFEST write failed.
    pub fn poisoned_reason(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// Applies `edit` in memory only. Used directly by recovery, whose changes reach disk
    /// through the snapshot written at the end of `open`.
    pub fn apply(
        &mut self,
        edit: &VersionEdit,
        horizon: Option<(u32, SequenceNumber)>,
    ) -> Vec<u32> {
        if let Some(s) = edit.last_sequence {
            self.last_sequence = self.last_sequence.max(s);
        }
        if let Some(w) = edit.min_wal_number {
            self.min_wal_number = self.min_wal_number.max(w);
        }
        for k in &edit.new_keyspaces {
            self.keyspaces.insert(
                k.id,
                KeyspaceMeta {
                    name: k.name.clone(),
                    options: k.options.clone(),
                    flushed_seq: 0,
                    version: Arc::new(LevelsVersion::default()),
                },
            );
        }
        for &(ks, seq) in &edit.flushed_seqs {
            if let Some(k) = self.keyspaces.get_mut(&ks) {
                k.flushed_seq = k.flushed_seq.max(seq);
            }
        }
        let mut touched: Vec<u32> = edit
            .deleted_files
            .iter()
            .map(|d| d.0)
            .chain(edit.new_files.iter().map(|n| n.0))
            .collect();
        if let Some((ks, _)) = horizon {
            touched.push(ks);
        }
        touched.sort_unstable();
        touched.dedup();
        for &ks in &touched {
            let Some(meta) = self.keyspaces.get_mut(&ks) else {
                continue;
            };
            let mut v = (*meta.version).clone();
            let mut removed: HashMap<u64, Arc<FileMeta>> = HashMap::new();
            for &(_, level, number) in edit.deleted_files.iter().filter(|d| d.0 == ks) {
                if let Some(pos) = v.levels[level].iter().position(|f| f.number == number) {
                    let f = v.levels[level].remove(pos);
                    removed.insert(number, f);
                }
            }
            for (_, level, f) in edit.new_files.iter().filter(|n| n.0 == ks) {
                // A moved file keeps its FileMeta (and open table); it is not obsolete.
                let fm = removed
                    .remove(&f.number)
                    .unwrap_or_else(|| FileMeta::new(f.clone(), self.ctx.clone()));
                v.levels[*level].push(fm);
            }
            for f in removed.values() {
                f.mark_obsolete();
            }
            if let Some((hks, h)) = horizon {
                if hks == ks {
                    v.gc_horizon = v.gc_horizon.max(h);
                }
            }
            v.sort();
            debug_assert_eq!(v.check_disjoint(), Ok(()));
            meta.version = Arc::new(v);
        }
        touched
    }
}

/// Atomically points CURRENT at `manifest_name`.
pub(crate) fn set_current(dir: &Path, manifest_name: &str) -> Result<()> {
    let tmp = dir.join("CURRENT.tmp");
    let dst = dir.join(filenames::CURRENT);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(format!("{manifest_name}\n").as_bytes())
            .map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    }
    std::fs::rename(&tmp, &dst).map_err(|e| Error::io("rename", &tmp, e))?;
    filenames::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::BlockCache;
    use crate::stats::Counters;

    #[test]
    fn a_failed_manifest_write_refuses_every_later_edit() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Arc::new(TableContext {
            dir: dir.path().to_path_buf(),
            cache: Arc::new(BlockCache::new(1 << 20)),
            counters: Arc::new(Counters::default()),
            delete_obsolete: false,
        });
        let mut vs = VersionSet::create(dir.path(), ctx, KeyspaceOptions::default());
        vs.write_snapshot().unwrap();
        let edit = || VersionEdit {
            last_sequence: Some(5),
            ..Default::default()
        };
        vs.log_and_apply(edit(), None).unwrap();
        // Writes to /dev/full fail with ENOSPC, like a full disk.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        vs.manifest = Some(LogWriter::from_file(full, Path::new("/dev/full")));
        assert!(matches!(
            vs.log_and_apply(edit(), None),
            Err(Error::Io { .. })
        ));
        assert!(vs.poisoned_reason().is_some());
        // Even with a healthy file again, nothing more is appended after a partial record.
        let ok = std::fs::File::create(dir.path().join("x")).unwrap();
        vs.manifest = Some(LogWriter::from_file(ok, &dir.path().join("x")));
        match vs.log_and_apply(edit(), None) {
            Err(Error::Background(msg)) => assert!(msg.contains("earlier failure"), "{msg}"),
            other => panic!("expected refusal, got {other:?}"),
        }
        assert_eq!(std::fs::metadata(dir.path().join("x")).unwrap().len(), 0);
    }
}
