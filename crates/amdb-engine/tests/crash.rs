//! Crash test: a child process writes `Sync` batches (spanning two keyspaces, some large,
//! with small memtables so flushes, compactions and MANIFEST writes are in flight) and
//! prints each acknowledged batch number. The parent kills it with SIGKILL at a random
//! moment, reopens the database, and checks that every acknowledged batch is fully present
//! and that no batch is partly present. Repeated for many rounds on the same directory.
//! A second run does the same with a ledger, and also checks after every kill that the
//! ledger verifies from the files and covers every acknowledged batch.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amdb_engine::{Db, Durability, Options, WriteBatch};
use rand::{Rng, SeedableRng};

const ROUNDS: u64 = 24;

fn options(ledger: bool) -> Options {
    Options {
        ledger,
        durability: Durability::Sync,
        write_buffer_size: 128 << 10,
        target_file_size: 64 << 10,
        max_bytes_for_level_base: 256 << 10,
        level_size_multiplier: 4,
        l0_compaction_trigger: 2,
        ..Options::default()
    }
}

/// How many entries batch `n` has, and how large its values are.
fn shape(n: u64) -> (u64, usize) {
    let entries = 1 + (n * 7919) % 40;
    let value_len = if n.is_multiple_of(17) {
        64 << 10
    } else {
        20 + (n % 100) as usize
    };
    (entries, value_len)
}

fn key(n: u64, i: u64) -> Vec<u8> {
    format!("b{n:08}-{i:03}").into_bytes()
}

fn value(n: u64, i: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{n}:{i}:").into_bytes();
    v.resize(len, b'a' + (n % 26) as u8);
    v
}

/// The writer. Runs only when re-executed by the parent test.
#[test]
#[ignore]
fn crash_child() {
    let Ok(dir) = std::env::var("AMDB_CRASH_DIR") else {
        return;
    };
    let first: u64 = std::env::var("AMDB_CRASH_FIRST").unwrap().parse().unwrap();
    let ledger = std::env::var("AMDB_CRASH_LEDGER").is_ok_and(|v| v == "1");
    let db = Db::open(&dir, options(ledger)).unwrap();
    let data = db.default_keyspace();
    let meta = db.open_keyspace("meta", Default::default()).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    for n in first.. {
        let (entries, len) = shape(n);
        let mut b = WriteBatch::new();
        for i in 0..entries {
            b.put(&data, key(n, i), value(n, i, len));
        }
        b.put(&meta, format!("m{n:08}"), n.to_string());
        db.write(&b).unwrap();
        writeln!(out, "ACK {n}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_never_loses_acknowledged_batches_or_tears_one() {
    crash_rounds(ROUNDS, false);
}

#[test]
fn sigkill_never_leaves_the_ledger_behind_or_inconsistent() {
    crash_rounds(ROUNDS / 3, true);
}

fn crash_rounds(rounds: u64, ledger: bool) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc4a5);
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("AMDB_CRASH_DIR", dir.path())
            .env("AMDB_CRASH_FIRST", next.to_string())
            .env("AMDB_CRASH_LEDGER", if ledger { "1" } else { "0" })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child has opened the database (recovery done), then let it write.
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(l) if l.ends_with("READY") => break,
                Ok(_) => {}
                Err(e) => panic!("round {round}: child never became ready: {e}"),
            }
            assert!(start.elapsed() < Duration::from_secs(60));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let mut round_acks = 0;
        for line in rx.try_iter() {
            if let Some(n) = line.strip_prefix("ACK ") {
                acked.push(n.parse().unwrap());
                round_acks += 1;
            }
        }
        let started = acked.iter().max().map_or(next, |m| m + 2);
        verify(dir.path(), &acked, started, round, ledger);
        next = acked.iter().max().map_or(0, |m| m + 1);
        eprintln!("round {round}: {round_acks} batches acknowledged before SIGKILL");
    }
    assert!(
        acked.len() as u64 > 4 * rounds,
        "too few batches written to mean anything: {}",
        acked.len()
    );
}

fn verify(dir: &std::path::Path, acked: &[u64], started: u64, round: u64, ledger: bool) {
    if ledger {
        // From the files as the crash left them (the read-only open rehashes the WAL).
        let report = amdb_engine::ledger::verify_ledger(dir, None).unwrap();
        assert_eq!(report.fault, None, "round {round}");
        assert!(
            report.root.tx >= acked.len() as u64,
            "round {round}: the ledger covers {} transactions, {} batches were acknowledged",
            report.root.tx,
            acked.len()
        );
    }
    let db = Db::open(dir, options(ledger))
        .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
    let data = db.default_keyspace();
    let meta = db.keyspace("meta").unwrap();
    let acked_set: std::collections::HashSet<u64> = acked.iter().copied().collect();
    for n in 0..started {
        let (entries, len) = shape(n);
        let keys: Vec<Vec<u8>> = (0..entries).map(|i| key(n, i)).collect();
        let got = db.multi_get(&data, &keys).unwrap();
        let present = got.iter().filter(|v| v.is_some()).count() as u64;
        let marker = db.get(&meta, format!("m{n:08}")).unwrap();
        let all = present == entries && marker.is_some();
        let none = present == 0 && marker.is_none();
        assert!(all || none, "round {round}: batch {n} is partly present ({present}/{entries} entries, marker {marker:?})");
        if acked_set.contains(&n) {
            assert!(
                all,
                "round {round}: acknowledged batch {n} is missing after SIGKILL"
            );
            if ledger {
                let h = db.history(&meta, format!("m{n:08}")).unwrap();
                assert!(
                    h[0].tx.is_some(),
                    "round {round}: batch {n} has no transaction"
                );
            }
            for (i, v) in got.iter().enumerate() {
                assert_eq!(
                    v.as_deref(),
                    Some(value(n, i as u64, len).as_slice()),
                    "round {round}: batch {n} entry {i}"
                );
            }
        }
    }
    db.close().unwrap();
}
