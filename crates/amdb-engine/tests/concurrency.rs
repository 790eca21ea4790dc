//! 8 writer threads commit batches that keep an invariant across keys and keyspaces, while
//! reader threads iterate snapshots and point-read through them. Every snapshot must see
//! each writer's batches whole, never a mix, and snapshots taken later never go backwards.
//! Small memtables make flushes and compactions swap files underneath the readers.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amdb_engine::{Db, ReadOptions, WriteBatch};

const WRITERS: u64 = 8;
const KEYS_PER_WRITER: u64 = 12;

fn key(w: u64, k: u64) -> String {
    format!("w{w}-k{k:02}")
}

#[test]
fn snapshots_stay_consistent_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::tiny_options()).unwrap();
    let data = db.default_keyspace();
    let mirror = db.open_keyspace("mirror", Default::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (db, data, mirror, stop, commits) = (
                db.clone(),
                data.clone(),
                mirror.clone(),
                stop.clone(),
                commits.clone(),
            );
            std::thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let mut b = WriteBatch::new();
                    let pad = "p".repeat((round % 7) as usize * 40);
                    for k in 0..KEYS_PER_WRITER {
                        b.put(&data, key(w, k), format!("{round}:{pad}"));
                    }
                    b.put(&mirror, format!("w{w}"), round.to_string());
                    // Now and then a delete-and-rewrite, so tombstones are in play.
                    if round.is_multiple_of(5) {
                        b.delete(&data, format!("w{w}-gone"));
                    } else {
                        b.put(&data, format!("w{w}-gone"), round.to_string());
                    }
                    db.write(&b).unwrap();
                    commits.fetch_add(1, Ordering::Relaxed);
                }
                round
            })
        })
        .collect();

    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (db, data, mirror, stop) = (db.clone(), data.clone(), mirror.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut last_seen = vec![0u64; WRITERS as usize];
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let snap = db.snapshot();
                    let opts = ReadOptions::new().snapshot(&snap);
                    let mut rounds = vec![None::<u64>; WRITERS as usize];
                    let mut per_writer = vec![0u64; WRITERS as usize];
                    let it = db
                        .iter(
                            &data,
                            &ReadOptions::new()
                                .snapshot(&snap)
                                .upper_bound(b"w9".to_vec()),
                        )
                        .unwrap();
                    let entries: Vec<_> = if r % 2 == 0 {
                        it.forward().collect()
                    } else {
                        it.backward().collect()
                    };
                    for e in entries {
                        let (k, v) = e.unwrap();
                        let k = String::from_utf8(k).unwrap();
                        if k.ends_with("-gone") {
                            continue;
                        }
                        let w: usize = k[1..k.find('-').unwrap()].parse().unwrap();
                        let v = String::from_utf8(v).unwrap();
                        let round: u64 = v[..v.find(':').unwrap()].parse().unwrap();
                        match rounds[w] {
                            None => rounds[w] = Some(round),
                            Some(seen) => assert_eq!(
                                seen, round,
                                "snapshot {snap:?} mixes rounds of writer {w}"
                            ),
                        }
                        per_writer[w] += 1;
                    }
                    for w in 0..WRITERS as usize {
                        let round = rounds[w].unwrap_or(0);
                        if round > 0 {
                            assert_eq!(
                                per_writer[w], KEYS_PER_WRITER,
                                "writer {w} has a partial batch"
                            );
                        }
                        // The other keyspace agrees with this one in the same snapshot.
                        let m = db.get_opt(&mirror, format!("w{w}"), &opts).unwrap();
                        assert_eq!(
                            m.map(|m| String::from_utf8(m).unwrap().parse::<u64>().unwrap())
                                .unwrap_or(0),
                            round
                        );
                        // So does a point read, and the delete-or-put key follows the round.
                        let gone = db.get_opt(&data, format!("w{w}-gone"), &opts).unwrap();
                        assert_eq!(
                            gone.is_none(),
                            round.is_multiple_of(5),
                            "writer {w} round {round}"
                        );
                        assert!(
                            round >= last_seen[w],
                            "writer {w} went back from {} to {round}",
                            last_seen[w]
                        );
                        last_seen[w] = round;
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let rounds: Vec<u64> = writers.into_iter().map(|t| t.join().unwrap()).collect();
    let checks: Vec<u64> = readers.into_iter().map(|t| t.join().unwrap()).collect();
    let stats = db.stats();
    eprintln!("rounds per writer {rounds:?}, snapshot checks {checks:?}, flushes {}, compactions {}, avg group {:.2}", stats.counters.flushes, stats.counters.compactions, stats.average_group_size());
    assert!(
        checks.iter().all(|&c| c > 10),
        "readers made too few checks: {checks:?}"
    );
    assert!(
        stats.counters.flushes > 2,
        "the test should run across flushes: {stats:?}"
    );
    assert_eq!(commits.load(Ordering::Relaxed), rounds.iter().sum::<u64>());

    // After everything, the latest state holds each writer's last round.
    for (w, &round) in rounds.iter().enumerate() {
        let v = db.get(&data, key(w as u64, 0)).unwrap().unwrap();
        assert!(v.starts_with(format!("{round}:").as_bytes()));
    }
}
