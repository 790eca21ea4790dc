//! Damage on real files: every kind of corruption gives a typed error naming the file (and
//! offset where one exists); a torn WAL tail is recovered without losing earlier writes.

mod common;

use std::path::{Path, PathBuf};

use amdb_engine::{Db, Error, Options, ReadOptions, WriteBatch};

fn fill(dir: &Path, n: u32) -> Db {
    let db = Db::open(dir, common::tiny_options()).unwrap();
    let ks = db.default_keyspace();
    let mut b = WriteBatch::new();
    for i in 0..n {
        b.put(
            &ks,
            format!("key{i:06}"),
            format!("value-{i}-{}", "x".repeat(40)),
        );
        if b.len() == 500 {
            db.write(&b).unwrap();
            b.clear();
        }
    }
    db.write(&b).unwrap();
    db
}

fn tables(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    v.sort();
    v
}

fn wals(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A closed, fully compacted store of 3,000 entries; returns its first table.
fn compacted_store(dir: &Path) -> PathBuf {
    let db = fill(dir, 3000);
    db.compact().unwrap();
    db.close().unwrap();
    let t = tables(dir);
    assert!(!t.is_empty());
    t[0].clone()
}

fn manifest(dir: &Path) -> PathBuf {
    let name = std::fs::read_to_string(dir.join("CURRENT")).unwrap();
    dir.join(name.trim_end())
}

fn scan_all(db: &Db) -> amdb_engine::Result<usize> {
    let mut n = 0;
    for r in db
        .iter(&db.default_keyspace(), &ReadOptions::new())?
        .forward()
    {
        r?;
        n += 1;
    }
    Ok(n)
}

fn flip(path: &Path, offset: u64) {
    let mut data = std::fs::read(path).unwrap();
    data[offset as usize] ^= 0x20;
    std::fs::write(path, data).unwrap();
}

#[test]
fn flipped_byte_in_a_table_names_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let victim = compacted_store(dir.path());
    flip(&victim, 100); // inside the first data block
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    let err = scan_all(&db).unwrap_err();
    match &err {
        Error::Corruption {
            path,
            offset,
            reason,
        } => {
            assert_eq!(path, &victim);
            assert_eq!(*offset, 0, "first data block starts at 0");
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    assert!(
        err.to_string().contains(&victim.display().to_string()),
        "message names the file: {err}"
    );
    // A point read of a key in the damaged block fails the same way, not with "missing".
    let got = db.get(&db.default_keyspace(), "key000000");
    assert!(matches!(got, Err(Error::Corruption { .. })), "{got:?}");
}

#[test]
fn truncated_table_is_refused_at_open_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let victim = compacted_store(dir.path());
    let len = std::fs::metadata(&victim).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let err = Db::open(dir.path(), common::tiny_options()).unwrap_err();
    match &err {
        Error::Corruption { path, reason, .. } => {
            assert_eq!(path, &victim);
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    // Read-only opens refuse it too.
    assert!(Db::open_read_only(dir.path()).is_err());
}

#[test]
fn missing_table_is_reported_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let victim = compacted_store(dir.path());
    std::fs::remove_file(&victim).unwrap();
    match Db::open(dir.path(), common::tiny_options()).unwrap_err() {
        Error::MissingFile { path, reason } => {
            assert_eq!(path, victim);
            assert!(reason.contains("MANIFEST"), "{reason}");
        }
        other => panic!("expected missing file, got {other}"),
    }
}

#[test]
fn damaged_manifest_is_reported_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = fill(dir.path(), 3000);
    db.flush().unwrap();
    db.close().unwrap();
    let m = manifest(dir.path());
    flip(&m, 30); // inside the first (snapshot) record
    match Db::open(dir.path(), common::tiny_options()).unwrap_err() {
        Error::Corruption { path, .. } => assert_eq!(path, m),
        other => panic!("expected corruption, got {other}"),
    }
    match Db::open_read_only(dir.path()).unwrap_err() {
        Error::Corruption { path, .. } => assert_eq!(path, m),
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn garbage_current_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 10).close().unwrap();
    std::fs::write(dir.path().join("CURRENT"), "not a manifest").unwrap();
    match Db::open(dir.path(), Options::default()).unwrap_err() {
        Error::Corruption { path, .. } => assert!(path.ends_with("CURRENT")),
        other => panic!("expected corruption, got {other}"),
    }
}

/// Writes batches that stay in the WAL (closing does not flush memtables).
fn wal_only(dir: &Path, batches: u32) -> Vec<(u64, u64)> {
    let db = Db::open(
        dir,
        Options {
            durability: amdb_engine::Durability::Sync,
            ..Options::default()
        },
    )
    .unwrap();
    let ks = db.default_keyspace();
    for i in 0..batches {
        let mut b = WriteBatch::new();
        b.put(&ks, format!("k{i:04}a"), format!("v{i}"));
        b.put(&ks, format!("k{i:04}b"), format!("v{i}"));
        db.write(&b).unwrap();
    }
    db.close().unwrap();
    let spans = record_spans(&wals(dir).pop().unwrap());
    spans[spans.len() - batches as usize..].to_vec()
}

/// `(start, end)` of every record in a log file, read by the framing in docs/formats.md
/// (16-byte file header; records of a 12-byte header, whose bytes 4..8 hold the payload
/// length, and the payload). A clean close leaves no preallocated zeros behind the last.
fn record_spans(path: &Path) -> Vec<(u64, u64)> {
    let data = std::fs::read(path).unwrap();
    let mut spans = Vec::new();
    let mut at = 16;
    while at < data.len() {
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()) as usize;
        spans.push((at as u64, (at + 12 + len) as u64));
        at += 12 + len;
    }
    assert_eq!(at, data.len(), "{} ends inside a record", path.display());
    spans
}

#[test]
fn torn_wal_tail_is_truncated_and_earlier_writes_survive() {
    for cut in [1u64, 5, 9, 20] {
        let dir = tempfile::tempdir().unwrap();
        let ends = wal_only(dir.path(), 10);
        let wal = wals(dir.path()).pop().unwrap();
        let (last_start, last_end) = ends[9];
        assert!(last_start + cut < last_end);
        // The last record is cut short, as if the process died mid-write.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&wal)
            .unwrap()
            .set_len(last_start + cut)
            .unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let ks = db.default_keyspace();
        for i in 0..9 {
            assert_eq!(
                db.get(&ks, format!("k{i:04}a")).unwrap(),
                Some(format!("v{i}").into_bytes())
            );
        }
        assert_eq!(
            db.get(&ks, "k0009a").unwrap(),
            None,
            "torn batch is dropped whole"
        );
        assert_eq!(
            db.get(&ks, "k0009b").unwrap(),
            None,
            "torn batch is dropped whole"
        );
        assert_eq!(db.stats().counters.wal_torn_tails, 1);
    }
}

#[test]
fn garbage_after_the_last_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    wal_only(dir.path(), 5);
    let wal = wals(dir.path()).pop().unwrap();
    let mut data = std::fs::read(&wal).unwrap();
    data.extend_from_slice(&[0u8; 3000]);
    data.extend_from_slice(&[0xab; 17]);
    std::fs::write(&wal, data).unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        db.get(&db.default_keyspace(), "k0004b").unwrap(),
        Some(b"v4".to_vec())
    );
}

#[test]
fn damage_in_the_middle_of_the_wal_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let ends = wal_only(dir.path(), 10);
    let wal = wals(dir.path()).pop().unwrap();
    let (start, _) = ends[3];
    flip(&wal, start + 12);
    match Db::open(dir.path(), Options::default()).unwrap_err() {
        Error::Corruption {
            path,
            offset,
            reason,
        } => {
            assert_eq!(path, wal);
            assert_eq!(offset, start);
            assert!(reason.contains("not a torn tail"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    // Nothing was deleted or rewritten: after undoing the damage everything is there.
    flip(&wal, start + 12);
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        db.get(&db.default_keyspace(), "k0009b").unwrap(),
        Some(b"v9".to_vec())
    );
}
