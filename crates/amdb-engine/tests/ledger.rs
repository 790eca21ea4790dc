//! The ledger through the public API: transactions, roots, proofs, history with transaction
//! numbers, reads as of a transaction or time, the audit trail, and full verification —
//! across flushes, compactions and reopens.

mod common;

use amdb_engine::ledger::merkle::MerkleTree;
use amdb_engine::ledger::{self, verify_ledger, AuditInfo};
use amdb_engine::{AsOf, Db, Error, KeyspaceOptions, Options, WriteBatch};
use proptest::prelude::*;

fn ledger_options() -> Options {
    Options {
        ledger: true,
        ..common::tiny_options()
    }
}

fn versioned() -> KeyspaceOptions {
    KeyspaceOptions {
        versioned: true,
        ..KeyspaceOptions::default()
    }
}

#[test]
fn every_batch_is_a_transaction_with_a_provable_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    let fills = db.open_keyspace("fills", versioned()).unwrap();
    let mut roots = Vec::new();
    for i in 0..300u32 {
        let mut b = WriteBatch::new();
        b.put(&fills, format!("order-{}", i % 7), format!("filled {i}"));
        b.put(&fills, format!("seen-{i}"), "1");
        db.write(&b).unwrap();
        roots.push(db.ledger_root().unwrap());
    }
    assert_eq!(roots.last().unwrap().tx, 300);
    assert!(roots.windows(2).all(|w| w[1].tx == w[0].tx + 1));
    assert!(roots.windows(2).all(|w| w[1].time_ns >= w[0].time_ns));
    db.flush().unwrap();
    db.compact().unwrap();

    // History lists every version with its transaction, newest first.
    let history = db.history(&fills, "order-3").unwrap();
    assert_eq!(history.len(), 43);
    let txs: Vec<u64> = history.iter().map(|v| v.tx.unwrap().tx).collect();
    assert_eq!(txs[0], 298, "batch i is transaction i + 1");
    assert!(txs.windows(2).all(|w| w[0] == w[1] + 7));

    // Every version has a proof against today's root and against the root of its own day.
    let root = db.ledger_root().unwrap();
    for v in &history {
        let tx = v.tx.unwrap().tx;
        let p = db.entry_proof(&fills, "order-3", Some(tx), None).unwrap();
        assert_eq!(p.value, v.value.clone().unwrap());
        p.verify(&root.root).unwrap();
        let then = db
            .entry_proof(&fills, "order-3", Some(tx), Some(tx))
            .unwrap();
        then.verify(&roots[tx as usize - 1].root).unwrap();
        assert!(
            then.verify(&root.root).is_err(),
            "a proof binds its tree size's root"
        );
    }
    // Each earlier root is a prefix of today's.
    for old in [1u64, 2, 7, 64, 299, 300] {
        let c = db.consistency_proof(old, 300).unwrap();
        c.verify_from(&roots[old as usize - 1].root).unwrap();
        assert_eq!(c.new_root, root.root);
    }

    // Reads as of a transaction or a time.
    assert_eq!(
        db.get_as_of(&fills, "order-3", AsOf::Tx(11)).unwrap(),
        Some(b"filled 10".to_vec())
    );
    assert_eq!(db.get_as_of(&fills, "order-3", AsOf::Tx(3)).unwrap(), None);
    let t = roots[49].time_ns.unwrap();
    let at_time = db.get_as_of(&fills, "order-0", AsOf::Time(t)).unwrap();
    let last_tx_at_t = roots.iter().filter(|r| r.time_ns.unwrap() <= t).count() as u32;
    let i = (last_tx_at_t - 1) / 7 * 7;
    assert_eq!(at_time, Some(format!("filled {i}").into_bytes()));
    assert_eq!(
        db.get_as_of(&fills, "order-0", AsOf::Time(0)).unwrap(),
        None
    );
    assert!(db.get_as_of(&fills, "order-0", AsOf::Tx(301)).is_err());
    db.close().unwrap();

    // The same root after reopening, and the files verify.
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    assert_eq!(db.ledger_root().unwrap(), root);
    db.close().unwrap();
    let report = verify_ledger(dir.path(), Some((150, roots[149].root))).unwrap();
    assert_eq!(report.fault, None, "{report:?}");
    assert_eq!(report.root, root);
    assert_eq!(report.entries, 600);
    assert_eq!(report.versions_checked, 600);
}

#[test]
fn audit_records_commit_with_their_data_and_read_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    let ks = db.default_keyspace();
    let mut times = Vec::new();
    for i in 0..20 {
        let mut b = WriteBatch::new();
        b.put(&ks, format!("k{i}"), "v");
        if i % 2 == 0 {
            b.set_audit(AuditInfo {
                who: format!("agent-{i}"),
                what: "rebalance".into(),
                correlation_id: format!("req-{i}"),
            });
        }
        db.write(&b).unwrap();
        times.push(db.ledger_root().unwrap().time_ns.unwrap());
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let all = db.audit_trail(None, None).unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[3].info.who, "agent-6");
    assert_eq!(all[3].tx, 7);
    assert_eq!(all[3].time_ns, times[6]);
    // [from, to): from the 5th write's time up to the 15th's.
    let some = db.audit_trail(Some(times[4]), Some(times[14])).unwrap();
    let who: Vec<&str> = some.iter().map(|r| r.info.who.as_str()).collect();
    assert_eq!(
        who,
        ["agent-4", "agent-6", "agent-8", "agent-10", "agent-12"]
    );

    // The audit entry is part of the transaction, so it is proven like data.
    let audit_ks = db.keyspace(ledger::AUDIT_KEYSPACE).unwrap();
    let key = db
        .iter(&audit_ks, &Default::default())
        .unwrap()
        .forward()
        .next()
        .unwrap()
        .unwrap()
        .0;
    let p = db.entry_proof(&audit_ks, &key, None, None).unwrap();
    p.verify(&db.ledger_root().unwrap().root).unwrap();
    assert_eq!(p.tx, 1);

    // Users cannot write the engine's keyspaces, nor audit without a ledger.
    let mut b = WriteBatch::new();
    b.put(&audit_ks, "forged", "x");
    assert!(matches!(db.write(&b), Err(Error::InvalidArgument(_))));
    assert!(db
        .open_keyspace("__mine", KeyspaceOptions::default())
        .is_err());
    db.close().unwrap();
    let plain = tempfile::tempdir().unwrap();
    let db = Db::open(plain.path(), common::tiny_options()).unwrap();
    let mut b = WriteBatch::new();
    b.put(&db.default_keyspace(), "k", "v");
    b.set_audit(AuditInfo::default());
    assert!(matches!(db.write(&b), Err(Error::InvalidArgument(_))));
    assert!(db.ledger_root().is_err());
}

#[test]
fn a_ledger_is_created_with_the_database_and_never_silently_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    db.put(&db.default_keyspace(), "k", "v").unwrap();
    db.close().unwrap();
    let err = Db::open(dir.path(), ledger_options()).unwrap_err();
    assert!(
        err.to_string()
            .contains("only be created with the database"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    db.put(&db.default_keyspace(), "k", "v").unwrap();
    assert!(db.ingest(&db.default_keyspace(), [("a", "b")]).is_err());
    db.close().unwrap();
    // Opened without asking for it, the database keeps its ledger.
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    db.put(&db.default_keyspace(), "k", "w").unwrap();
    assert_eq!(db.ledger_root().unwrap().tx, 2);
    db.close().unwrap();
    // A LEDGER file of the first hash layout is refused by name, not as damage.
    let path = dir.path().join("ledger/LEDGER");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..8].copy_from_slice(b"AMDB-LGR");
    std::fs::write(&path, bytes).unwrap();
    let err = Db::open(dir.path(), common::tiny_options()).unwrap_err();
    assert!(err.to_string().contains("first hash layout"), "{err}");
    let report = amdb_engine::ledger::verify_ledger(dir.path(), None).unwrap();
    let fault = report.fault.expect("a v1 file does not verify");
    assert!(fault.detail.contains("first hash layout"), "{fault:?}");

    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        Db::open(dir.path(), common::tiny_options()),
        Err(Error::MissingFile { .. })
    ));
}

#[test]
fn the_ledger_catches_up_from_the_wal_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    let ks = db.default_keyspace();
    for i in 0..50 {
        db.put(&ks, format!("k{i}"), format!("v{i}")).unwrap();
    }
    let root = db.ledger_root().unwrap();
    // A crash before the ledger thread wrote anything: the LEDGER file lost every record.
    // (`Db` has no way to crash; cutting the file while it is closed has the same effect.)
    db.close().unwrap();
    let path = dir.path().join("ledger/LEDGER");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(16 + 40).unwrap(); // header and a torn first record
    drop(f);
    let db = Db::open_read_only(dir.path()).unwrap();
    assert_eq!(
        db.ledger_root().unwrap(),
        root,
        "read-only recovery from the WAL"
    );
    drop(db);
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    assert_eq!(db.ledger_root().unwrap(), root);
    db.close().unwrap();
    assert_eq!(
        verify_ledger(dir.path(), Some((50, root.root)))
            .unwrap()
            .fault,
        None
    );
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Batch(Vec<(u8, u8)>),
    Flush,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..6, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..6).prop_map(Op::Delete),
        2 => prop::collection::vec((0u8..6, any::<u8>()), 1..5).prop_map(Op::Batch),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random histories: every version ever written has a proof that verifies against the
    /// final root, and a proof altered to claim a value never written at that point does
    /// not verify.
    #[test]
    fn every_written_version_proves_and_no_other_value_does(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(dir.path(), ledger_options()).unwrap();
        let mut ks = db.open_keyspace("v", versioned()).unwrap();
        // The model: every write as (tx, key, value or None for delete).
        let mut model: Vec<(u64, u8, Option<Vec<u8>>)> = Vec::new();
        let mut tx = 0u64;
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    db.put(&ks, [k], [v]).unwrap();
                    tx += 1;
                    model.push((tx, k, Some(vec![v])));
                }
                Op::Delete(k) => {
                    db.delete(&ks, [k]).unwrap();
                    tx += 1;
                    model.push((tx, k, None));
                }
                Op::Batch(entries) => {
                    let mut b = WriteBatch::new();
                    for (k, v) in &entries {
                        b.put(&ks, [*k], [*v]);
                    }
                    db.write(&b).unwrap();
                    tx += 1;
                    // Within a batch the last write to a key wins, but each is a version.
                    for (k, v) in entries {
                        model.push((tx, k, Some(vec![v])));
                    }
                }
                Op::Flush => db.flush().unwrap(),
                Op::Reopen => {
                    db.close().unwrap();
                    db = Db::open(dir.path(), ledger_options()).unwrap();
                    ks = db.keyspace("v").unwrap();
                }
            }
        }
        let root = db.ledger_root().unwrap();
        prop_assert_eq!(root.tx, tx);
        for k in 0u8..6 {
            let history = db.history(&ks, [k]).unwrap();
            let want: Vec<(u64, Option<Vec<u8>>)> = model
                .iter()
                .rev()
                .filter(|m| m.1 == k)
                .map(|m| (m.0, m.2.clone()))
                .collect();
            let got: Vec<(u64, Option<Vec<u8>>)> =
                history.iter().map(|v| (v.tx.unwrap().tx, v.value.clone())).collect();
            // A key written twice in one batch keeps one version per sequence; the model
            // lists both, in the same order.
            prop_assert_eq!(&got, &want);
            for v in &history {
                let seq_tx = v.tx.unwrap().tx;
                // The newest version at `seq_tx` is the first in that tx in `history`.
                let p = db.entry_proof(&ks, [k], Some(seq_tx), None).unwrap();
                prop_assert!(p.verify(&root.root).is_ok());
                let mut forged = p.clone();
                forged.value.push(0xff);
                prop_assert!(forged.verify(&root.root).is_err());
                let mut other_key = p.clone();
                other_key.key = vec![k + 100];
                prop_assert!(other_key.verify(&root.root).is_err());
            }
        }
        db.close().unwrap();
        let report = verify_ledger(dir.path(), Some((root.tx, root.root))).unwrap();
        prop_assert_eq!(report.fault, None);
    }
}

#[test]
fn an_entry_tree_proof_matches_a_tree_built_by_hand() {
    // The entries root in a record is the Merkle root of its entry hashes.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), ledger_options()).unwrap();
    let ks = db.default_keyspace();
    let mut b = WriteBatch::new();
    for i in 0..5 {
        b.put(&ks, format!("k{i}"), "v");
    }
    db.write(&b).unwrap();
    let r = db.ledger_record(1).unwrap();
    assert_eq!(r.entry_hashes.len(), 5);
    let tree = MerkleTree::from_leaves(r.entry_hashes.iter().copied());
    assert_eq!(tree.root(), r.entries_root);
}
