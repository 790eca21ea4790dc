use amdb_engine::{Db, Options, ReadOptions, WriteBatch};

fn small_opts() -> Options {
    Options {
        write_buffer_size: 64 << 10,
        target_file_size: 32 << 10,
        max_bytes_for_level_base: 128 << 10,
        ..Options::default()
    }
}

#[test]
fn put_get_flush_reopen_iterate() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), small_opts()).unwrap();
        let ks = db.default_keyspace();
        let other = db.open_keyspace("other", Default::default()).unwrap();
        for i in 0..5000u32 {
            let mut b = WriteBatch::new();
            b.put(&ks, format!("k{i:06}"), format!("v{i}"));
            b.put(&other, format!("o{i:06}"), format!("w{i}"));
            db.write(&b).unwrap();
        }
        for i in (0..5000u32).step_by(3) {
            db.delete(&ks, format!("k{i:06}")).unwrap();
        }
        assert_eq!(db.get(&ks, "k000001").unwrap(), Some(b"v1".to_vec()));
        assert_eq!(db.get(&ks, "k000003").unwrap(), None);
        db.flush().unwrap();
        assert_eq!(db.get(&ks, "k000001").unwrap(), Some(b"v1".to_vec()));
        db.compact().unwrap();
        assert_eq!(db.get(&ks, "k004999").unwrap(), Some(b"v4999".to_vec()));
        let stats = db.stats();
        assert!(stats.counters.flushes > 0, "{stats:?}");
        db.put(&ks, "after", "flush").unwrap();
    }
    let db = Db::open(dir.path(), small_opts()).unwrap();
    let ks = db.default_keyspace();
    let other = db.keyspace("other").unwrap();
    assert_eq!(db.get(&ks, "after").unwrap(), Some(b"flush".to_vec()));
    assert_eq!(db.get(&other, "o004999").unwrap(), Some(b"w4999".to_vec()));
    let n = db
        .iter(&ks, &ReadOptions::new().prefix(b"k"))
        .unwrap()
        .forward()
        .count();
    assert_eq!(n, 5000 - 1667);
    let rev: Vec<_> = db
        .iter(&ks, &ReadOptions::new().prefix(b"k"))
        .unwrap()
        .backward()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(rev.len(), 5000 - 1667);
    assert_eq!(rev[0], b"k004999");
    let ro = Db::open_read_only(dir.path()).unwrap();
    assert_eq!(
        ro.get(&ro.default_keyspace(), "after").unwrap(),
        Some(b"flush".to_vec())
    );
}
