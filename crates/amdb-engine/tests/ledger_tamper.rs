//! Tampering with a closed ledger database's files, the way someone with write access to the
//! disk could: each test changes real files and asserts which check catches it — the full
//! verification (`verify_ledger`, behind `amdb ledger verify`) or a root kept from earlier.

mod common;

use std::path::{Path, PathBuf};

use amdb_engine::format::{LOG_HEADER_LEN, RECORD_HEADER_LEN};
use amdb_engine::ledger::{verify_ledger, Check, LedgerRoot};
use amdb_engine::{Compression, Db, KeyspaceOptions, Options, WriteBatch};

fn options() -> Options {
    Options {
        ledger: true,
        ..common::tiny_options()
    }
}

/// Writes 40 transactions of fills (values spelled out, uncompressed so they can be found
/// in the tables) and flushes everything, so the data lives in tables and no WAL can
/// restore it. Returns the root after transaction 30 and the final root.
fn build(dir: &Path, tamper_value_of: Option<u32>) -> (LedgerRoot, LedgerRoot) {
    let db = Db::open(dir, options()).unwrap();
    let fills = db
        .open_keyspace(
            "fills",
            KeyspaceOptions {
                versioned: true,
                compression: Compression::None,
                ..KeyspaceOptions::default()
            },
        )
        .unwrap();
    let mut at_30 = None;
    for i in 0..40u32 {
        let mut b = WriteBatch::new();
        let price = if tamper_value_of == Some(i % 4) {
            999
        } else {
            100 + i
        };
        b.put(
            &fills,
            format!("order-{}", i % 4),
            format!("FILL qty=10 px={price:05}"),
        );
        b.put(&fills, format!("tick-{i:03}"), format!("TICK {i:05}"));
        db.write(&b).unwrap();
        if i == 29 {
            at_30 = Some(db.ledger_root().unwrap());
        }
    }
    let root = db.ledger_root().unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    (at_30.unwrap(), root)
}

fn fault_of(dir: &Path, trusted: Option<(u64, [u8; 32])>) -> Option<(Check, Option<u64>, String)> {
    let report = verify_ledger(dir, trusted).unwrap();
    report.fault.map(|f| (f.check, f.tx, f.detail))
}

fn tables(dir: &Path) -> Vec<PathBuf> {
    let mut t: Vec<PathBuf> = std::fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    t.sort();
    t
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Recomputes the trailer CRC of the block holding byte `at`, as an attacker who knows the
/// format would. Data blocks start at 0 and follow each other, each ending in a 5-byte
/// trailer (compression byte, masked CRC32C of contents and that byte).
fn fix_block_crc(table: &mut [u8], original: &[u8], at: usize) {
    let mut start = 0;
    loop {
        // The block is the shortest run from `start` whose trailer checks in the original.
        let end = (start + 1..original.len() - 4)
            .find(|&e| {
                let crc = mask(crc32c::crc32c(&original[start..e]));
                original[e - 1] <= 1 && crc.to_le_bytes() == original[e..e + 4]
            })
            .expect("a block trailer");
        if at < end {
            let crc = mask(crc32c::crc32c(&table[start..end]));
            table[end..end + 4].copy_from_slice(&crc.to_le_bytes());
            return;
        }
        start = end + 4;
    }
}

#[test]
fn an_untouched_database_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (at_30, root) = build(dir.path(), None);
    assert_eq!(fault_of(dir.path(), Some((30, at_30.root))), None);
    let report = verify_ledger(dir.path(), None).unwrap();
    assert_eq!(report.root, root);
    assert_eq!(report.versions_checked, 80);
}

#[test]
fn a_changed_value_byte_in_a_table_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), None);
    let needle = b"FILL qty=10 px=00117"; // order-1 as written by transaction 18
    let table = tables(dir.path())
        .into_iter()
        .find(|t| find(&std::fs::read(t).unwrap(), needle).is_some())
        .expect("the value is in a table");
    let original = std::fs::read(&table).unwrap();
    let at = find(&original, needle).unwrap() + needle.len() - 3;
    let mut forged = original.clone();
    forged[at] = b'9'; // px=00917

    // A plain edit breaks the block's checksum.
    std::fs::write(&table, &forged).unwrap();
    let (check, _, detail) = fault_of(dir.path(), None).expect("caught");
    assert_eq!(check, Check::TableChecksum, "{detail}");

    // Fixing the checksum too does not help: the value no longer matches its entry hash.
    fix_block_crc(&mut forged, &original, at);
    std::fs::write(&table, &forged).unwrap();
    let db = Db::open_read_only(dir.path()).unwrap();
    let fills = db.keyspace("fills").unwrap();
    let history = db.history(&fills, "order-1").unwrap();
    assert!(
        history
            .iter()
            .any(|v| v.value.as_deref() == Some(&b"FILL qty=10 px=00917"[..])),
        "the forged value reads back as genuine data"
    );
    drop(db);
    let (check, tx, detail) = fault_of(dir.path(), None).expect("caught");
    assert_eq!(check, Check::EntryHash, "{detail}");
    assert_eq!(tx, Some(18), "{detail}");
    assert!(detail.contains("order-1"), "{detail}");
}

#[test]
fn a_consistently_rewritten_history_is_caught_only_by_a_trusted_root() {
    let dir = tempfile::tempdir().unwrap();
    let (trusted_at_30, _) = build(dir.path(), None);
    // The attacker regenerates the whole database with order-2's fills at another price:
    // every hash, chain link and tree node is recomputed and consistent.
    let forged = tempfile::tempdir().unwrap();
    build(forged.path(), Some(2));
    std::fs::remove_dir_all(dir.path()).unwrap();
    copy_dir(forged.path(), dir.path());

    assert_eq!(
        fault_of(dir.path(), None),
        None,
        "a consistent rewrite passes every check that needs no outside knowledge"
    );
    let (check, _, detail) = fault_of(dir.path(), Some((30, trusted_at_30.root))).expect("caught");
    assert_eq!(check, Check::TrustedRoot, "{detail}");

    // And a proof from the rewritten database fails against the kept root.
    let db = Db::open_read_only(dir.path()).unwrap();
    let fills = db.keyspace("fills").unwrap();
    let proof = db
        .entry_proof(&fills, "order-2", Some(30), Some(30))
        .unwrap();
    assert_eq!(proof.value, b"FILL qty=10 px=00999");
    assert!(proof.verify(&trusted_at_30.root).is_err());
}

/// The LEDGER file's records, as (payload) in file order.
fn ledger_records(dir: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(dir.join("ledger/LEDGER")).unwrap();
    let mut out = Vec::new();
    let mut at = LOG_HEADER_LEN;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push(bytes[at + RECORD_HEADER_LEN..at + RECORD_HEADER_LEN + len].to_vec());
        at += RECORD_HEADER_LEN + len;
    }
    out
}

/// Rewrites the LEDGER file with `records`, framed with valid checksums.
fn write_ledger(dir: &Path, records: &[Vec<u8>]) {
    let path = dir.join("ledger/LEDGER");
    let bytes = std::fs::read(&path).unwrap();
    let mut out = bytes[..LOG_HEADER_LEN].to_vec();
    for p in records {
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[..4].copy_from_slice(&mask(crc32c::crc32c(p)).to_le_bytes());
        h[4..8].copy_from_slice(&(p.len() as u32).to_le_bytes());
        let hcrc = mask(crc32c::crc32c(&h[..8]));
        h[8..].copy_from_slice(&hcrc.to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(p);
    }
    std::fs::write(&path, out).unwrap();
}

#[test]
fn dropped_last_transactions_are_caught() {
    // From the ledger only: the data still holds what they wrote.
    let dir = tempfile::tempdir().unwrap();
    let (_, root) = build(dir.path(), None);
    let records = ledger_records(dir.path());
    assert_eq!(records.len(), 40);
    write_ledger(dir.path(), &records[..37]);
    let (check, tx, detail) = fault_of(dir.path(), None).expect("caught");
    assert_eq!(check, Check::NotInLedger, "{detail}");
    assert_eq!(tx, Some(38), "{detail}");

    // From both the ledger and the data, consistently: the attacker regenerates a
    // database that stops at transaction 30. Only the kept root knows it held 40.
    let forged = tempfile::tempdir().unwrap();
    let db = Db::open(forged.path(), options()).unwrap();
    let fills = db
        .open_keyspace("fills", KeyspaceOptions::default())
        .unwrap();
    for i in 0..30u32 {
        db.put(&fills, format!("order-{}", i % 4), format!("FILL {i}"))
            .unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    assert_eq!(fault_of(forged.path(), None), None);
    let (check, tx, detail) = fault_of(forged.path(), Some((40, root.root))).expect("caught");
    assert_eq!(check, Check::TrustedRoot, "{detail}");
    assert_eq!(tx, Some(31), "{detail}");
}

#[test]
fn reordered_transactions_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), None);
    let mut records = ledger_records(dir.path());
    records.swap(11, 12); // transactions 12 and 13
    write_ledger(dir.path(), &records);
    let (check, tx, detail) = fault_of(dir.path(), None).expect("caught");
    assert_eq!(check, Check::Chain, "{detail}");
    assert_eq!(tx, Some(12), "{detail}");
    // A writable open refuses to extend a broken chain, naming the file.
    let err = Db::open(dir.path(), options()).unwrap_err();
    assert!(err.to_string().contains("LEDGER"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn dropped_transactions_whose_successors_are_still_in_the_wal_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let ks = db.default_keyspace();
    for i in 0..8 {
        db.put(&ks, format!("k{i}"), "v").unwrap();
    }
    db.flush().unwrap(); // transactions 1-8 in tables, their WAL retired
    for i in 8..10 {
        db.put(&ks, format!("k{i}"), "v").unwrap(); // 9 and 10 only in the WAL
    }
    db.close().unwrap();
    let records = ledger_records(dir.path());
    write_ledger(dir.path(), &records[..7]);
    let (check, _, detail) = fault_of(dir.path(), None).expect("caught");
    assert_eq!(check, Check::NotInLedger, "{detail}");
    assert!(detail.contains("transaction 9"), "{detail}");
}
