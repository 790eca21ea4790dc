//! Versioned keyspaces: every version of every key survives flushes, compactions and
//! reopening, and reads as of a past sequence see exactly what was there.

mod common;

use std::collections::BTreeMap;

use amdb_engine::{Db, Error, KeyVersion, KeyspaceOptions, SequenceNumber};
use proptest::prelude::*;

fn versioned() -> KeyspaceOptions {
    KeyspaceOptions {
        versioned: true,
        ..Default::default()
    }
}

#[test]
fn every_version_survives_compaction_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut written: Vec<Written> = Vec::new();
    {
        let db = Db::open(dir.path(), common::tiny_options()).unwrap();
        let (ks, plain) = (
            db.open_keyspace("fills", versioned()).unwrap(),
            db.open_keyspace("plain", KeyspaceOptions::default())
                .unwrap(),
        );
        for round in 0..40u32 {
            if round == 17 {
                db.delete(&ks, "order-1").unwrap();
                db.delete(&plain, "order-1").unwrap();
                written.push((db.last_sequence() - 1, None));
            } else {
                let v = format!("filled {round}").into_bytes();
                db.put(&ks, "order-1", &v).unwrap();
                db.put(&plain, "order-1", &v).unwrap();
                written.push((db.last_sequence() - 1, Some(v)));
            }
            // Neighbours on both sides, so the key's versions share blocks and tables.
            db.put(&ks, format!("order-0-{round}"), "x").unwrap();
            db.put(&ks, format!("order-2-{round}"), "y").unwrap();
            if round % 10 == 9 {
                db.flush().unwrap();
            }
        }
        db.compact().unwrap();
        assert_eq!(
            db.history(&plain, "order-1").unwrap().len(),
            1,
            "a plain keyspace keeps only the newest version after compaction"
        );
        assert!(matches!(
            db.get_at(&plain, "order-1", 5),
            Err(Error::InvalidArgument(_))
        ));
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    db.compact().unwrap();
    let ks = db.keyspace("fills").unwrap();
    assert!(ks.options().versioned, "the flag is kept in the MANIFEST");
    let want: Vec<KeyVersion> = written
        .iter()
        .rev()
        .map(|(s, v)| KeyVersion {
            sequence: *s,
            value: v.clone(),
            tx: None,
        })
        .collect();
    assert_eq!(db.history(&ks, "order-1").unwrap(), want);
    for (i, (seq, value)) in written.iter().enumerate() {
        assert_eq!(&db.get_at(&ks, "order-1", *seq).unwrap(), value);
        let before = if i == 0 {
            None
        } else {
            written[i - 1].1.clone()
        };
        assert_eq!(db.get_at(&ks, "order-1", seq - 1).unwrap(), before);
    }
    assert!(db.get_at(&ks, "order-1", db.last_sequence() + 1).is_err());
}

/// A write the model remembers: its sequence and value (`None`: a delete).
type Written = (SequenceNumber, Option<Vec<u8>>);

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Flush,
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..4).prop_map(Op::Delete),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Against a model that remembers every write: each key's history is the model's,
    /// newest first, and a read as of any sequence finds the last write at or before it.
    #[test]
    fn history_and_reads_as_of_match_a_model(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(dir.path(), common::tiny_options()).unwrap();
        let mut ks = db.open_keyspace("v", versioned()).unwrap();
        let mut model: BTreeMap<u8, Vec<Written>> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    db.put(&ks, [k], [v]).unwrap();
                    model.entry(k).or_default().push((db.last_sequence(), Some(vec![v])));
                }
                Op::Delete(k) => {
                    db.delete(&ks, [k]).unwrap();
                    model.entry(k).or_default().push((db.last_sequence(), None));
                }
                Op::Flush => db.flush().unwrap(),
                Op::Compact => db.compact().unwrap(),
                Op::Reopen => {
                    db.close().unwrap();
                    db = Db::open(dir.path(), common::tiny_options()).unwrap();
                    ks = db.keyspace("v").unwrap();
                }
            }
        }
        let last = db.last_sequence();
        for k in 0u8..4 {
            let versions = model.get(&k).cloned().unwrap_or_default();
            let want: Vec<KeyVersion> = versions
                .iter()
                .rev()
                .map(|(s, v)| KeyVersion { sequence: *s, value: v.clone(), tx: None })
                .collect();
            prop_assert_eq!(db.history(&ks, [k]).unwrap(), want);
            for seq in 0..=last {
                let want = versions.iter().rev().find(|(s, _)| *s <= seq).and_then(|(_, v)| v.clone());
                prop_assert_eq!(db.get_at(&ks, [k], seq).unwrap(), want, "key {} at {}", k, seq);
            }
        }
    }
}
