//! Crash test for the market layer: a child process upserts a series (appends, rewrites of
//! older ranges, enough rows to roll chunks and flush memtables) and appends events, with
//! `Sync` durability, printing each acknowledged write. The parent kills it with SIGKILL at
//! a random moment, reopens the store and checks that every acknowledged write is there,
//! that the latest version and a sample of older ones read exactly what the writes made
//! them, and that no write is half applied. Repeated on the same directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amdb_engine::{Db, Durability, Options};
use amdb_market::{AsOf, Bar, Bars, EventQuery, Market, MarketOptions, Query, Timeframe};
use rand::{Rng, SeedableRng};

const ROUNDS: u64 = 12;
const M1: i64 = 60_000_000_000;

fn open(dir: &str) -> Market {
    let db = Db::open(
        dir,
        Options {
            durability: Durability::Sync,
            write_buffer_size: 256 << 10,
            target_file_size: 128 << 10,
            l0_compaction_trigger: 2,
            ..Options::default()
        },
    )
    .unwrap();
    Market::new(
        db,
        MarketOptions {
            chunk_rows: 64,
            ..MarketOptions::default()
        },
    )
    .unwrap()
}

/// Write `k` (0-based; it makes version k + 1): 40 new bars after the previous ones, and
/// every fifth write also rewrites 25 bars from the middle of the series.
fn write_rows(k: u64) -> Bars {
    let mut rows: Vec<(i64, f64)> = (0..40).map(|i| (k as i64 * 40 + i, k as f64)).collect();
    if k % 5 == 4 {
        let from = (k as i64 / 2) * 40 + 7;
        rows.extend((from..from + 25).map(|m| (m, 1000.0 + k as f64)));
    }
    rows.into_iter()
        .map(|(m, c)| Bar {
            ts: m * M1,
            open: c,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: (m % 97) as f64,
        })
        .collect()
}

/// The writer. Runs only when re-executed by the parent test.
#[test]
#[ignore]
fn market_crash_child() {
    let Ok(dir) = std::env::var("AMDB_MARKET_CRASH_DIR") else {
        return;
    };
    let market = open(&dir);
    let first = market
        .versions("X", Timeframe::M1)
        .map_or(0, |v| v.last().map_or(0, |v| v.version));
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    for k in first.. {
        let r = market.write("X", Timeframe::M1, write_rows(k)).unwrap();
        assert_eq!(r.version, k + 1);
        market
            .put_event("signals", k as i64, "child", "X", &k)
            .unwrap();
        writeln!(out, "ACK {k}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_never_loses_an_acknowledged_market_write() {
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap().to_string();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x3a7);
    let mut max_acked: Option<u64> = None;
    let mut acked = std::collections::HashSet::new();
    let mut total_acks = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "market_crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("AMDB_MARKET_CRASH_DIR", &dir_s)
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
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(l) if l.ends_with("READY") => break,
                Ok(_) => {}
                Err(e) => panic!("round {round}: child never became ready: {e}"),
            }
            assert!(start.elapsed() < Duration::from_secs(60));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        for line in rx.try_iter() {
            if let Some(k) = line.strip_prefix("ACK ") {
                let k: u64 = k.parse().unwrap();
                max_acked = Some(max_acked.map_or(k, |m| m.max(k)));
                acked.insert(k as i64);
                total_acks += 1;
            }
        }
        verify(&dir_s, max_acked, &acked, round, &mut rng);
    }
    assert!(
        total_acks > 50,
        "too few writes to mean anything: {total_acks}"
    );
}

fn verify(
    dir: &str,
    max_acked: Option<u64>,
    acked: &std::collections::HashSet<i64>,
    round: u64,
    rng: &mut impl Rng,
) {
    let market = open(dir);
    let tf = Timeframe::M1;
    let versions = market.versions("X", tf).unwrap_or_default();
    let latest = versions.last().map_or(0, |v| v.version);
    // Every acknowledged write is a version; at most one unacknowledged write may have
    // landed (the one in flight when the child died).
    let acked_versions = max_acked.map_or(0, |k| k + 1);
    assert!(
        latest >= acked_versions && latest <= acked_versions + 1,
        "round {round}: latest version {latest}, {acked_versions} writes acknowledged"
    );
    assert_eq!(
        versions.len() as u64,
        latest,
        "round {round}: versions are contiguous"
    );
    // Versions to check in full: the latest and a random sample.
    let mut check: Vec<u64> = (0..6).map(|_| rng.gen_range(1..=latest.max(1))).collect();
    check.push(latest);
    let mut model: BTreeMap<i64, Bar> = BTreeMap::new();
    for k in 0..latest {
        for b in write_rows(k).iter() {
            model.insert(b.ts, b);
        }
        let v = k + 1;
        if check.contains(&v) {
            let want: Bars = model.values().copied().collect();
            let q = Query {
                as_of: AsOf::Version(v),
                ..Query::all()
            };
            let got = market.read("X", tf, &q).unwrap();
            assert!(
                got == want,
                "round {round}: version {v} reads {} rows, expected {}",
                got.len(),
                want.len()
            );
        }
    }
    // Events: each acknowledged write's event is there, none twice. (A write that landed
    // unacknowledged may lack its event: the next child continues after its version.)
    let events = market.events("signals", &EventQuery::default()).unwrap();
    let ks: Vec<i64> = events.iter().map(|e| e.ts).collect();
    let mut dedup = ks.clone();
    dedup.dedup();
    assert_eq!(ks, dedup, "round {round}: an event was stored twice");
    let stored: std::collections::HashSet<i64> = ks.into_iter().collect();
    let missing: Vec<_> = acked.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "round {round}: acknowledged events missing: {missing:?}"
    );
    market.close().unwrap();
}
