//! Property test: random sequences of writes, batches, ingests, snapshots, reopens, flushes
//! and compactions, checked after every step against a BTreeMap model — point reads,
//! multi-gets, full and bounded scans in both directions, random cursor walks, and reads
//! through every live snapshot.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use amdb_engine::{Db, DbIterator, Keyspace, ReadOptions, Snapshot, WriteBatch};
use proptest::prelude::*;

const KEYSPACES: [&str; 2] = ["default", "second"];

type Model = [BTreeMap<Vec<u8>, Vec<u8>>; 2];

#[derive(Debug, Clone)]
enum Op {
    Put(usize, u8, u16),
    Delete(usize, u8),
    Batch(Vec<(usize, u8, Option<u16>)>),
    /// Bulk-load a run of keys (sorted, distinct) with a value stamp.
    Ingest(usize, u8, u8, u16),
    /// Many puts, to push data through flushes and compactions.
    Fill(usize, u8, u16),
    TakeSnapshot,
    DropSnapshot(usize),
    Flush,
    Compact,
    Reopen,
    Scan(usize, Option<u8>, Option<u8>, bool),
    Walk(usize, Vec<u8>),
}

fn key(k: u8) -> Vec<u8> {
    // Keys of varying length that share prefixes, to exercise prefix compression and
    // "a" < "a\0"-style orderings.
    let mut v = format!("key{:03}", k / 4).into_bytes();
    v.extend(std::iter::repeat_n(b'x', (k % 4) as usize));
    v
}

fn value(k: u8, stamp: u16) -> Vec<u8> {
    let mut v = format!("v{k}-{stamp}-").into_bytes();
    v.resize(10 + (stamp as usize % 90), b'.');
    v
}

fn op() -> impl Strategy<Value = Op> {
    let ks = 0..KEYSPACES.len();
    prop_oneof![
        20 => (ks.clone(), any::<u8>(), any::<u16>()).prop_map(|(s, k, v)| Op::Put(s, k, v)),
        8 => (ks.clone(), any::<u8>()).prop_map(|(s, k)| Op::Delete(s, k)),
        6 => prop::collection::vec((ks.clone(), any::<u8>(), prop::option::of(any::<u16>())), 1..20).prop_map(Op::Batch),
        2 => (ks.clone(), any::<u8>(), 1u8..60, any::<u16>()).prop_map(|(s, k, n, v)| Op::Ingest(s, k, n, v)),
        2 => (ks.clone(), any::<u8>(), any::<u16>()).prop_map(|(s, k, v)| Op::Fill(s, k, v)),
        3 => Just(Op::TakeSnapshot),
        2 => any::<usize>().prop_map(Op::DropSnapshot),
        2 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        4 => (ks.clone(), prop::option::of(any::<u8>()), prop::option::of(any::<u8>()), any::<bool>()).prop_map(|(s, a, b, r)| Op::Scan(s, a, b, r)),
        4 => (ks, prop::collection::vec(any::<u8>(), 1..30)).prop_map(|(s, moves)| Op::Walk(s, moves)),
    ]
}

struct Harness {
    dir: tempfile::TempDir,
    db: Option<Db>,
    model: Model,
    snapshots: Vec<(Snapshot, Model)>,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut h = Harness {
            dir,
            db: None,
            model: Default::default(),
            snapshots: Vec::new(),
        };
        h.open();
        h
    }

    fn open(&mut self) {
        let db = Db::open(self.dir.path(), common::tiny_options()).unwrap();
        db.open_keyspace(KEYSPACES[1], Default::default()).unwrap();
        self.db = Some(db);
    }

    fn db(&self) -> &Db {
        self.db.as_ref().unwrap()
    }

    fn ks(&self, i: usize) -> Keyspace {
        self.db().keyspace(KEYSPACES[i]).unwrap()
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put(s, k, v) => {
                self.db().put(&self.ks(*s), key(*k), value(*k, *v)).unwrap();
                self.model[*s].insert(key(*k), value(*k, *v));
            }
            Op::Delete(s, k) => {
                self.db().delete(&self.ks(*s), key(*k)).unwrap();
                self.model[*s].remove(&key(*k));
            }
            Op::Batch(entries) => {
                let mut b = WriteBatch::new();
                for (s, k, v) in entries {
                    match v {
                        Some(v) => {
                            b.put(&self.ks(*s), key(*k), value(*k, *v));
                            self.model[*s].insert(key(*k), value(*k, *v));
                        }
                        None => {
                            b.delete(&self.ks(*s), key(*k));
                            self.model[*s].remove(&key(*k));
                        }
                    }
                }
                self.db().write(&b).unwrap();
            }
            Op::Ingest(s, start, n, stamp) => {
                let mut keys: Vec<Vec<u8>> = (0..*n as u16)
                    .map(|i| key(start.wrapping_add((i * 3) as u8)))
                    .collect();
                keys.sort();
                keys.dedup();
                let entries: Vec<(Vec<u8>, Vec<u8>)> = keys
                    .iter()
                    .map(|k| {
                        (
                            k.clone(),
                            [k.as_slice(), b"-ingest-", &stamp.to_le_bytes()].concat(),
                        )
                    })
                    .collect();
                let report = self.db().ingest(&self.ks(*s), entries.clone()).unwrap();
                assert_eq!(report.entries as usize, entries.len());
                for (k, v) in entries {
                    self.model[*s].insert(k, v);
                }
            }
            Op::Fill(s, start, stamp) => {
                let ks = self.ks(*s);
                for i in 0..400u16 {
                    let k = start.wrapping_add(i as u8);
                    let mut v = value(k, stamp.wrapping_add(i));
                    v.resize(300, b'f');
                    self.db().put(&ks, key(k), &v).unwrap();
                    self.model[*s].insert(key(k), v);
                }
            }
            Op::TakeSnapshot => {
                let snap = self.db().snapshot();
                self.snapshots.push((snap, self.model.clone()));
            }
            Op::DropSnapshot(i) => {
                if !self.snapshots.is_empty() {
                    let i = i % self.snapshots.len();
                    self.snapshots.remove(i);
                }
            }
            Op::Flush => self.db().flush().unwrap(),
            Op::Compact => self.db().compact().unwrap(),
            Op::Reopen => {
                self.snapshots.clear();
                self.db.take().unwrap().close().unwrap();
                self.open();
            }
            Op::Scan(s, lo, hi, reverse) => {
                let mut opts = ReadOptions::new();
                if let Some(lo) = lo {
                    opts = opts.lower_bound(key(*lo));
                }
                if let Some(hi) = hi {
                    opts = opts.upper_bound(key(*hi));
                }
                let it = self.db().iter(&self.ks(*s), &opts).unwrap();
                let got: Vec<(Vec<u8>, Vec<u8>)> = if *reverse {
                    it.backward().map(Result::unwrap).collect()
                } else {
                    it.forward().map(Result::unwrap).collect()
                };
                let lo_b = lo.map_or(Bound::Unbounded, |l| Bound::Included(key(l)));
                let hi_b = hi.map_or(Bound::Unbounded, |h| Bound::Excluded(key(h)));
                let mut want: Vec<(Vec<u8>, Vec<u8>)> =
                    if lo.is_some() && hi.is_some() && key(lo.unwrap()) >= key(hi.unwrap()) {
                        vec![]
                    } else {
                        self.model[*s]
                            .range::<Vec<u8>, _>((lo_b, hi_b))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    };
                if *reverse {
                    want.reverse();
                }
                assert_eq!(got, want, "scan {op:?}");
            }
            Op::Walk(s, moves) => {
                let it = self.db().iter(&self.ks(*s), &ReadOptions::new()).unwrap();
                walk(it, &self.model[*s], moves);
            }
        }
    }

    fn check(&self) {
        for (i, m) in self.model.iter().enumerate() {
            let ks = self.ks(i);
            let all: Vec<_> = self
                .db()
                .iter(&ks, &ReadOptions::new())
                .unwrap()
                .forward()
                .map(Result::unwrap)
                .collect();
            let want: Vec<_> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(all, want, "full scan of {}", KEYSPACES[i]);
            for k in [0u8, 5, 77, 128, 200, 255] {
                assert_eq!(
                    self.db().get(&ks, key(k)).unwrap().as_ref(),
                    m.get(&key(k)),
                    "get {k}"
                );
            }
            let probe: Vec<Vec<u8>> = (0..20u8).map(|k| key(k.wrapping_mul(13))).collect();
            let got = self.db().multi_get(&ks, &probe).unwrap();
            for (k, g) in probe.iter().zip(got) {
                assert_eq!(g.as_ref(), m.get(k));
            }
        }
        for (snap, model) in &self.snapshots {
            for (i, m) in model.iter().enumerate() {
                let ks = self.ks(i);
                let opts = ReadOptions::new().snapshot(snap);
                let all: Vec<_> = self
                    .db()
                    .iter(&ks, &opts)
                    .unwrap()
                    .forward()
                    .map(Result::unwrap)
                    .collect();
                let want: Vec<_> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                assert_eq!(all, want, "snapshot {:?} scan", snap);
                for k in [1u8, 64, 130, 254] {
                    assert_eq!(
                        self.db().get_opt(&ks, key(k), &opts).unwrap().as_ref(),
                        m.get(&key(k))
                    );
                }
            }
        }
    }
}

/// Random cursor moves (next, prev, seek, seek_for_prev, first, last) against the model.
fn walk(mut it: DbIterator, model: &BTreeMap<Vec<u8>, Vec<u8>>, moves: &[u8]) {
    let keys: Vec<&Vec<u8>> = model.keys().collect();
    // Position in `keys`, or None when invalid.
    let mut pos: Option<usize> = None;
    for &m in moves {
        let target = key(m);
        match m % 6 {
            0 => {
                it.seek_to_first();
                pos = (!keys.is_empty()).then_some(0);
            }
            1 => {
                it.seek_to_last();
                pos = keys.len().checked_sub(1);
            }
            2 => {
                it.seek(&target);
                let i = keys.partition_point(|k| **k < target);
                pos = (i < keys.len()).then_some(i);
            }
            3 => {
                it.seek_for_prev(&target);
                let i = keys.partition_point(|k| **k <= target);
                pos = i.checked_sub(1);
            }
            4 => {
                if let Some(p) = pos {
                    it.next();
                    pos = (p + 1 < keys.len()).then_some(p + 1);
                }
            }
            _ => {
                if let Some(p) = pos {
                    it.prev();
                    pos = p.checked_sub(1);
                }
            }
        }
        assert_eq!(it.valid(), pos.is_some(), "validity after move {m}");
        if let Some(p) = pos {
            assert_eq!(it.key(), keys[p].as_slice(), "key after move {m}");
            assert_eq!(it.value(), model[keys[p]].as_slice());
        }
        it.status().unwrap();
    }
}

/// 24 cases by default keeps CI quick (each case fsyncs thousands of times through its many
/// tiny flushes and compactions); set PROPTEST_CASES for a longer soak.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(ops in prop::collection::vec(op(), 1..120)) {
        let mut h = Harness::new();
        for op in &ops {
            h.apply(op);
            h.check();
        }
        // Everything survives a final reopen.
        h.apply(&Op::Reopen);
        h.check();
    }
}
