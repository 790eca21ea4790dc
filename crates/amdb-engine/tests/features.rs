//! Behaviours users rely on beyond plain reads and writes: read-only opens beside a live
//! writer, batch size limits, bounded memory under write pressure, and bulk ingest.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amdb_engine::{Db, Durability, Error, Options, ReadOptions, WriteBatch};

#[test]
fn read_only_open_beside_a_writer_sees_a_consistent_durable_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        durability: Durability::Sync,
        ..common::tiny_options()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let ks = db.default_keyspace();
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, ks, acked, stop) = (db.clone(), ks.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mut b = WriteBatch::new();
                for i in 0..20 {
                    b.put(&ks, format!("n{n:07}-{i:02}"), vec![b'v'; 200]);
                }
                b.put(&ks, "latest", n.to_string());
                db.write(&b).unwrap();
                acked.store(n, Ordering::Release);
            }
        })
    };
    let mut opens = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        let floor = acked.load(Ordering::Acquire);
        let ro = Db::open_read_only(dir.path()).unwrap();
        let rks = ro.default_keyspace();
        let latest: u64 = ro
            .get(&rks, "latest")
            .unwrap()
            .map_or(0, |v| String::from_utf8(v).unwrap().parse().unwrap());
        assert!(
            latest >= floor,
            "read-only open missed acknowledged batch {floor} (saw {latest})"
        );
        // Exactly batches 1..=latest, each whole.
        let count = ro
            .iter(&rks, &ReadOptions::new().prefix(b"n"))
            .unwrap()
            .forward()
            .map(Result::unwrap)
            .count() as u64;
        assert_eq!(
            count,
            latest * 20,
            "read-only view is not a whole-batch prefix"
        );
        assert!(matches!(ro.put(&rks, "x", "y"), Err(Error::ReadOnly)));
        opens += 1;
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let stats = db.stats();
    assert!(opens >= 5, "only {opens} read-only opens");
    assert!(
        stats.counters.flushes > 0 && stats.counters.compactions > 0,
        "{stats:?}"
    );
}

#[test]
fn oversized_batch_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        Options {
            max_batch_bytes: 1 << 20,
            ..common::tiny_options()
        },
    )
    .unwrap();
    let ks = db.default_keyspace();
    let mut b = WriteBatch::new();
    for i in 0..300 {
        b.put(&ks, format!("k{i:04}"), vec![7u8; 4000]);
    }
    match db.write(&b) {
        Err(Error::BatchTooLarge { size, max }) => {
            assert!(size > max);
            assert_eq!(max, 1 << 20);
        }
        other => panic!("expected BatchTooLarge, got {other:?}"),
    }
    assert_eq!(
        db.iter(&ks, &ReadOptions::new()).unwrap().forward().count(),
        0,
        "nothing of it was written"
    );
    // The default limit is 64 MiB.
    assert_eq!(Options::default().max_batch_bytes, 64 << 20);
}

#[test]
fn memtables_stay_bounded_when_writers_outpace_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::tiny_options();
    let limit = (opts.max_immutable_memtables + 1) * opts.write_buffer_size;
    let db = Db::open(dir.path(), opts).unwrap();
    let ks = db.default_keyspace();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (db, ks, stop) = (db.clone(), ks.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut b = WriteBatch::new();
                    for j in 0..50 {
                        b.put(
                            &ks,
                            format!("t{t}-{:08}", (i * 7919 + j) % 1_000_000),
                            vec![b'x'; 100],
                        );
                    }
                    db.write(&b).unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    let mut peak = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        let s = db.stats();
        peak = peak.max(s.keyspaces[0].memtable_bytes);
        std::thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let s = db.stats();
    // One batch may land in a memtable just under the limit, so allow one batch of slack.
    // A memtable is checked before a commit group lands in it, so each may exceed the
    // buffer size by one group.
    assert!(
        peak <= limit + (64 << 10),
        "memtables reached {peak} bytes, limit {limit}"
    );
    assert!(s.counters.flushes > 5, "{s:?}");
    eprintln!(
        "peak memtable bytes {peak} (limit {limit}); stalls: {} slowdowns, {} stops, {} us",
        s.counters.stall_slowdowns, s.counters.stall_stops, s.counters.stall_micros
    );
}

#[test]
fn ingest_is_atomic_lands_deep_and_validates_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    let ks = db.default_keyspace();
    db.put(&ks, "a-before", "1").unwrap();
    db.put(&ks, "k00000010", "old").unwrap();
    let before = db.snapshot();

    let entries = (0..50_000u32).map(|i| (format!("k{i:08}"), format!("v{i}")));
    let report = db.ingest(&ks, entries).unwrap();
    assert_eq!(report.entries, 50_000);
    assert!(report.files > 1, "{report:?}");
    assert!(report.sequence > before.sequence());

    // New readers see everything; the older snapshot sees nothing of it.
    assert_eq!(db.get(&ks, "k00000010").unwrap(), Some(b"v10".to_vec()));
    assert_eq!(db.get(&ks, "k00049999").unwrap(), Some(b"v49999".to_vec()));
    let old = ReadOptions::new().snapshot(&before);
    assert_eq!(
        db.get_opt(&ks, "k00000010", &old).unwrap(),
        Some(b"old".to_vec())
    );
    assert_eq!(db.get_opt(&ks, "k00000011", &old).unwrap(), None);
    assert_eq!(db.iter(&ks, &old).unwrap().forward().count(), 2);
    assert_eq!(
        db.iter(&ks, &ReadOptions::new()).unwrap().forward().count(),
        50_001
    );

    // Later writes win over ingested values, across flush, compaction and reopen.
    db.put(&ks, "k00000020", "newer").unwrap();
    drop(before);
    db.compact().unwrap();
    db.close().unwrap();
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    let ks = db.default_keyspace();
    assert_eq!(db.get(&ks, "k00000020").unwrap(), Some(b"newer".to_vec()));
    assert_eq!(db.get(&ks, "k00000021").unwrap(), Some(b"v21".to_vec()));

    // An ingest into an empty range of an existing tree skips L0, so it never needs an L0
    // compaction.
    let r = db
        .ingest(&ks, (0..1000u32).map(|i| (format!("z{i:06}"), "z")))
        .unwrap();
    assert!(r.level > 0, "{r:?}");
    assert_eq!(db.get(&ks, "z000999").unwrap(), Some(b"z".to_vec()));

    // Unsorted input is refused with the offending position, and leaves no files behind.
    let tables_before = std::fs::read_dir(dir.path().join("sst")).unwrap().count();
    let bad = vec![("m1", "x"), ("m3", "x"), ("m2", "x")];
    match db.ingest(&ks, bad) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("entry 2"), "{msg}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("sst")).unwrap().count(),
        tables_before
    );
    assert_eq!(db.get(&ks, "m1").unwrap(), None);
}

#[test]
fn a_rarely_written_keyspace_does_not_pin_wal_files_forever() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        max_total_wal_bytes: 512 << 10,
        ..common::tiny_options()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let busy = db.default_keyspace();
    let rare = db.open_keyspace("rare", Default::default()).unwrap();
    db.put(&rare, "only", "once").unwrap();
    for i in 0..20_000u32 {
        db.put(&busy, format!("k{i:08}"), vec![b'v'; 200]).unwrap();
    }
    db.flush().unwrap();
    let wal_bytes: u64 = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        wal_bytes < 2 << 20,
        "WAL files hold {wal_bytes} bytes although the limit is 512 KiB"
    );
    assert_eq!(db.get(&rare, "only").unwrap(), Some(b"once".to_vec()));
    let rare_files: usize = db.stats().keyspaces[1].levels.iter().map(|l| l.files).sum();
    assert!(rare_files > 0, "the rare keyspace was flushed to a table");
}

#[test]
fn compaction_drops_tombstones_at_the_bottom_but_keeps_what_snapshots_see() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    let ks = db.default_keyspace();
    let mut b = WriteBatch::new();
    for i in 0..5000u32 {
        b.put(&ks, format!("k{i:06}"), vec![b'v'; 100]);
    }
    db.write(&b).unwrap();
    db.compact().unwrap();
    let full: u64 = db.stats().keyspaces[0].levels.iter().map(|l| l.bytes).sum();
    let snap = db.snapshot();
    let mut b = WriteBatch::new();
    for i in 0..5000u32 {
        b.delete(&ks, format!("k{i:06}"));
    }
    db.write(&b).unwrap();

    // The snapshot still needs every value: nothing may be dropped.
    db.compact().unwrap();
    let opts = ReadOptions::new().snapshot(&snap);
    assert_eq!(db.iter(&ks, &opts).unwrap().forward().count(), 5000);
    assert_eq!(
        db.iter(&ks, &ReadOptions::new()).unwrap().forward().count(),
        0
    );

    // Without it, values and tombstones all go.
    drop(snap);
    let dropped_before = db.stats().counters.compaction_entries_dropped;
    db.compact().unwrap();
    let s = db.stats();
    let left: u64 = s.keyspaces[0].levels.iter().map(|l| l.bytes).sum();
    assert!(
        s.counters.compaction_entries_dropped >= dropped_before + 10_000,
        "{s:?}"
    );
    assert!(left < full / 10, "{left} bytes remain of {full}");
    assert_eq!(
        db.iter(&ks, &ReadOptions::new()).unwrap().forward().count(),
        0
    );
}

#[test]
fn bloom_filters_spare_data_block_reads_for_absent_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    let ks = db.default_keyspace();
    let mut b = WriteBatch::new();
    for i in 0..5000u32 {
        b.put(&ks, format!("k{:06}", i * 2), vec![b'v'; 50]);
    }
    db.write(&b).unwrap();
    db.compact().unwrap();
    let before = db.stats().counters;
    for i in 0..2000u32 {
        assert_eq!(db.get(&ks, format!("k{:06}", i * 2 + 1)).unwrap(), None);
    }
    let after = db.stats().counters;
    let useful = after.bloom_useful - before.bloom_useful;
    let blocks = (after.block_cache_hits + after.block_cache_misses)
        - (before.block_cache_hits + before.block_cache_misses);
    assert!(
        useful > 1900,
        "bloom ruled out only {useful} of 2000 absent keys"
    );
    assert!(
        blocks < 100,
        "{blocks} data blocks were read for absent keys"
    );
    // Present keys: the second read of a block hits the cache.
    db.get(&ks, "k000100").unwrap().unwrap();
    let hits = db.stats().counters.block_cache_hits;
    db.get(&ks, "k000100").unwrap().unwrap();
    assert_eq!(db.stats().counters.block_cache_hits, hits + 1);
}

#[test]
fn reads_without_fill_cache_leave_the_block_cache_alone() {
    let dir = tempfile::tempdir().unwrap();
    // A cache larger than the data, so usage only grows when blocks are inserted.
    let opts = Options {
        block_cache_bytes: 64 << 20,
        ..common::tiny_options()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let ks = db.default_keyspace();
    let mut b = WriteBatch::new();
    for i in 0..2000u32 {
        b.put(&ks, format!("k{i:06}"), vec![b'v'; 200]);
    }
    db.write(&b).unwrap();
    db.compact().unwrap();
    let used = |db: &Db| db.stats().block_cache_usage;
    let start = used(&db);
    assert!(db.stats().counters.compactions > 0);
    // Compaction read every block of its inputs without caching one.
    assert_eq!(start, 0, "compaction filled the cache");
    let bulk = ReadOptions::new().fill_cache(false);
    let scanned = db.iter(&ks, &bulk).unwrap().forward().count();
    assert_eq!(scanned, 2000);
    assert_eq!(used(&db), start, "a bulk scan filled the cache");
    for i in 0..2000u32 {
        let v = db.get_opt(&ks, format!("k{i:06}"), &bulk).unwrap().unwrap();
        assert_eq!(v.len(), 200);
    }
    assert_eq!(used(&db), start, "bulk reads filled the cache");
    let misses = db.stats().counters.block_cache_misses;
    db.get_opt(&ks, "k000100", &bulk).unwrap().unwrap();
    db.get_opt(&ks, "k000100", &bulk).unwrap().unwrap();
    assert_eq!(
        db.stats().counters.block_cache_misses,
        misses + 2,
        "nothing was cached"
    );
    // The default caches.
    db.get(&ks, "k000100").unwrap().unwrap();
    assert!(used(&db) > start);
    let hits = db.stats().counters.block_cache_hits;
    db.get_opt(&ks, "k000100", &bulk).unwrap().unwrap();
    assert_eq!(
        db.stats().counters.block_cache_hits,
        hits + 1,
        "bulk reads still use cached blocks"
    );
}

/// Making room for one keyspace of a batch may seal another keyspace's memtable (the one
/// pinning old WAL files); the batch must still land in live memtables. A large value keeps
/// the leader busy long enough for the flusher to finish the sealed memtable first.
#[test]
fn a_batch_survives_sealing_of_its_other_keyspace_mid_commit() {
    let opts = || Options {
        durability: Durability::Sync,
        write_buffer_size: 64 << 10,
        max_total_wal_bytes: 1,
        ..Options::default()
    };
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let main = db.default_keyspace();
        let audit = db.open_keyspace("audit", Default::default()).unwrap();
        db.put(&audit, "a0", "x").unwrap(); // audit's memtable pins the first WAL
        db.put(&main, "d0", vec![7u8; 70 << 10]).unwrap(); // main's memtable is now full
        let mut b = WriteBatch::new();
        b.put(&audit, "a1", "acknowledged"); // audit first, then main's seal seals audit too
        b.put(&main, "d1", vec![1u8; 8 << 20]);
        db.write(&b).unwrap();
        db.flush().unwrap();
        assert_eq!(
            db.get(&audit, "a1").unwrap(),
            Some(b"acknowledged".to_vec()),
            "round {round}"
        );
        db.close().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let audit = db.keyspace("audit").unwrap();
        assert_eq!(
            db.get(&audit, "a1").unwrap(),
            Some(b"acknowledged".to_vec()),
            "round {round} after reopen"
        );
    }
}

#[test]
fn wait_for_idle_returns_with_memtables_flushed_and_no_level_over_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        durability: Durability::Buffered,
        ..common::tiny_options()
    };
    let trigger = opts.l0_compaction_trigger;
    let db = Db::open(dir.path(), opts).unwrap();
    let ks = db.default_keyspace();
    let value = vec![7u8; 200];
    for i in 0..20_000u32 {
        db.put(&ks, format!("key{:08}", (i * 7919) % 20_000), &value)
            .unwrap();
    }
    db.wait_for_idle().unwrap();
    let stats = db.stats();
    let ks_stats = &stats.keyspaces[0];
    // An empty memtable still holds its skiplist head.
    assert!(ks_stats.memtable_bytes < 1024, "{ks_stats:?}");
    assert_eq!(ks_stats.immutable_memtables, 0, "{ks_stats:?}");
    assert!(ks_stats.levels[0].files < trigger, "{ks_stats:?}");
    assert!(
        stats.counters.compactions > 0,
        "the test should make compactions happen"
    );
    // Idle means idle: nothing is left to start on its own.
    let before = db.stats().counters.compactions;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(db.stats().counters.compactions, before);
    db.close().unwrap();
}
