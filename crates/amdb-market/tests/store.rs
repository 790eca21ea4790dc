//! The market store against a simple model: upserts, ranges, versions and time travel,
//! pruning, tail merging, bad input, persistence, read-only opens and concurrent writers.

use std::collections::BTreeMap;

use amdb_engine::{Db, Options};
use amdb_market::{AsOf, Bar, Bars, Error, Market, MarketOptions, PrunePolicy, Query, Timeframe};
use proptest::prelude::*;

const M1: i64 = 60_000_000_000;

fn open(dir: &std::path::Path, chunk_rows: usize) -> Market {
    let db = Db::open(dir, Options::default()).unwrap();
    Market::new(
        db,
        MarketOptions {
            chunk_rows,
            ..MarketOptions::default()
        },
    )
    .unwrap()
}

fn bar(minute: i64, close: f64) -> Bar {
    Bar {
        ts: minute * M1,
        open: close,
        high: close + 1.0,
        low: close - 1.0,
        close,
        volume: 10.0,
    }
}

fn bars(rows: impl IntoIterator<Item = (i64, f64)>) -> Bars {
    rows.into_iter().map(|(m, c)| bar(m, c)).collect()
}

fn model_bars(m: &BTreeMap<i64, Bar>) -> Bars {
    m.values().copied().collect()
}

#[test]
fn upserts_replace_and_out_of_order_input_is_merged() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 4);
    let tf = Timeframe::M1;
    market
        .write("X", tf, bars((0..10).map(|m| (m, m as f64))))
        .unwrap();
    // Out of order, overlapping, with a repeated timestamp whose later row wins.
    let r = market
        .write(
            "X",
            tf,
            bars([(12, 1.0), (5, 50.0), (11, 2.0), (5, 55.0), (-3, 7.0)]),
        )
        .unwrap();
    assert_eq!(r.rows_written, 4);
    assert_eq!(r.rows_total, 13);
    let got = market.read("X", tf, &Query::all()).unwrap();
    let want: Vec<i64> = [-3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
        .map(|m| m * M1)
        .to_vec();
    assert_eq!(got.ts, want);
    assert_eq!(got.close[6], 55.0, "last write of minute 5 wins");
    assert!(got.is_strictly_ascending());
}

#[test]
fn ranges_are_half_open_and_streams_equal_reads() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 7);
    let tf = Timeframe::M1;
    market
        .write("X", tf, bars((0..100).map(|m| (m, m as f64))))
        .unwrap();
    let q = Query {
        from: Some(10 * M1),
        to: Some(20 * M1),
        as_of: AsOf::Latest,
    };
    let got = market.read("X", tf, &q).unwrap();
    assert_eq!(got.ts, (10..20).map(|m| m * M1).collect::<Vec<_>>());
    let mut streamed = Bars::new();
    let stream = market.stream("X", tf, &q).unwrap();
    let mut parts = 0;
    for part in stream {
        let part = part.unwrap();
        assert!(part.len() <= 7, "a stream part is at most one chunk");
        streamed.extend_from(&part);
        parts += 1;
    }
    assert!(parts >= 2);
    assert_eq!(streamed, got);
    // The same stream as Arrow record batches.
    let batches: Vec<_> = market
        .stream("X", tf, &q)
        .unwrap()
        .record_batches()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(batches.len(), parts);
    let mut from_arrow = Bars::new();
    for b in &batches {
        assert_eq!(b.schema(), amdb_market::io::arrow::bars_schema());
        let part = amdb_market::io::arrow::record_batch_to_bars(b, &Default::default(), 0).unwrap();
        from_arrow.extend_from(&part);
    }
    assert_eq!(from_arrow, got);
    let empty = Query {
        from: Some(200 * M1),
        ..Query::all()
    };
    assert!(market.read("X", tf, &empty).unwrap().is_empty());
}

#[test]
fn versions_and_time_travel() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 16);
    let tf = Timeframe::M1;
    let mut model = BTreeMap::new();
    let mut snapshots = Vec::new();
    for round in 0..6i64 {
        let new = bars((round * 5..round * 5 + 8).map(|m| (m, (round * 100 + m) as f64)));
        for b in new.iter() {
            model.insert(b.ts, b);
        }
        let r = market.write("X", tf, new).unwrap();
        assert_eq!(r.version, round as u64 + 1);
        snapshots.push((r.version, model_bars(&model)));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let versions = market.versions("X", tf).unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert!(versions
        .windows(2)
        .all(|w| w[0].created_ns <= w[1].created_ns));
    for (v, want) in &snapshots {
        let q = Query {
            as_of: AsOf::Version(*v),
            ..Query::all()
        };
        assert_eq!(&market.read("X", tf, &q).unwrap(), want, "version {v}");
        let created = versions[*v as usize - 1].created_ns;
        let q = Query {
            as_of: AsOf::Time(created),
            ..Query::all()
        };
        assert_eq!(
            &market.read("X", tf, &q).unwrap(),
            want,
            "as of the time of version {v}"
        );
    }
    let before_all = Query {
        as_of: AsOf::Time(versions[0].created_ns - 1),
        ..Query::all()
    };
    assert!(market.read("X", tf, &before_all).is_err());
    let q = Query {
        as_of: AsOf::Version(99),
        ..Query::all()
    };
    assert!(matches!(
        market.read("X", tf, &q),
        Err(Error::NoSuchVersion { .. })
    ));

    // Prune to the last two: older versions go, the kept ones still read the same.
    let r = market
        .prune(
            "X",
            tf,
            PrunePolicy {
                keep_last: Some(2),
                keep_newer_than: None,
            },
        )
        .unwrap();
    assert_eq!((r.versions_deleted, r.versions_kept), (4, 2));
    assert!(r.chunks_deleted > 0);
    for (v, want) in &snapshots {
        let q = Query {
            as_of: AsOf::Version(*v),
            ..Query::all()
        };
        match market.read("X", tf, &q) {
            Ok(got) => {
                assert!(*v >= 5);
                assert_eq!(&got, want);
            }
            Err(Error::NoSuchVersion { .. }) => assert!(*v < 5),
            Err(e) => panic!("{e}"),
        }
    }
    // Writing after a prune continues the version numbers and keeps chunk ids unique.
    assert_eq!(
        market.write("X", tf, bars([(1000, 1.0)])).unwrap().version,
        7
    );
}

#[test]
fn appending_one_bar_at_a_time_keeps_few_tail_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let target = 64;
    let market = open(dir.path(), target);
    let tf = Timeframe::M1;
    for m in 0..1000 {
        market.write("X", tf, bars([(m, m as f64)])).unwrap();
        let v = market.versions("X", tf).unwrap().pop().unwrap();
        let full_chunks = m as usize / target;
        assert!(
            v.chunks <= full_chunks + 2 + 7,
            "after {} appends: {} chunks",
            m + 1,
            v.chunks
        );
    }
    let all = market.read("X", tf, &Query::all()).unwrap();
    assert_eq!(all.len(), 1000);
    let v = market.versions("X", tf).unwrap().pop().unwrap();
    assert!(
        v.chunks <= 1000 / target + 8,
        "{} chunks for 1000 bars",
        v.chunks
    );
}

#[test]
fn bad_rows_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 16);
    let tf = Timeframe::M1;
    market
        .write("X", tf, bars((0..5).map(|m| (m, 1.0))))
        .unwrap();
    for (what, mutate) in [
        (
            "high below low",
            (|b: &mut Bar| b.high = b.low - 1.0) as fn(&mut Bar),
        ),
        ("NaN", |b: &mut Bar| b.close = f64::NAN),
        ("negative volume", |b: &mut Bar| b.volume = -1.0),
        ("infinity", |b: &mut Bar| b.open = f64::INFINITY),
    ] {
        let mut new = bars((3..9).map(|m| (m, 2.0)));
        let mut bad = new.get(4);
        mutate(&mut bad);
        new = new
            .iter()
            .enumerate()
            .map(|(i, b)| if i == 4 { bad } else { b })
            .collect();
        let err = market.write("X", tf, new).unwrap_err();
        assert!(matches!(err, Error::BadBar { row: 4, .. }), "{what}: {err}");
        assert!(err.to_string().contains("nothing was written"));
        assert_eq!(market.versions("X", tf).unwrap().len(), 1, "{what}");
        assert_eq!(
            market.read("X", tf, &Query::all()).unwrap().close,
            vec![1.0; 5]
        );
    }
    // A bad first write does not even create the series.
    let mut b = bar(0, 1.0);
    b.low = 5.0;
    assert!(market.write("Y", tf, [b].into_iter().collect()).is_err());
    assert!(market.series().unwrap().iter().all(|s| s.symbol != "Y"));
}

#[test]
fn gaps_are_reported_not_filled() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 8);
    let tf = Timeframe::M1;
    let minutes: Vec<i64> = (0..10).chain(13..20).chain(25..26).collect();
    market
        .write("X", tf, bars(minutes.iter().map(|&m| (m, 1.0))))
        .unwrap();
    let gaps = market.gaps("X", tf, &Query::all()).unwrap();
    assert_eq!(gaps.len(), 2);
    assert_eq!(
        (gaps[0].from, gaps[0].to, gaps[0].missing),
        (10 * M1, 13 * M1, 3)
    );
    assert_eq!(
        (gaps[1].from, gaps[1].to, gaps[1].missing),
        (20 * M1, 25 * M1, 5)
    );
    assert_eq!(
        market.read("X", tf, &Query::all()).unwrap().len(),
        minutes.len()
    );
}

#[test]
fn data_persists_and_read_only_opens_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let want = bars((0..500).map(|m| (m, m as f64 * 0.25)));
    {
        let market = open(dir.path(), 64);
        market
            .write("BTC/USDT", Timeframe::M15, want.clone())
            .unwrap();
        market
            .write("ETH", Timeframe::H1, bars([(0, 1.0)]))
            .unwrap();
        // Read-only beside the writer.
        let ro = Market::new(
            Db::open_read_only(dir.path()).unwrap(),
            MarketOptions::default(),
        )
        .unwrap();
        assert_eq!(
            ro.read("BTC/USDT", Timeframe::M15, &Query::all()).unwrap(),
            want
        );
        assert!(ro.write("Z", Timeframe::M1, bars([(0, 1.0)])).is_err());
        market.close().unwrap();
    }
    let market = open(dir.path(), 64);
    assert_eq!(
        market
            .read("BTC/USDT", Timeframe::M15, &Query::all())
            .unwrap(),
        want
    );
    let series = market.series().unwrap();
    let names: Vec<_> = series
        .iter()
        .map(|s| (s.symbol.as_str(), s.timeframe))
        .collect();
    assert_eq!(
        names,
        vec![("BTC/USDT", Timeframe::M15), ("ETH", Timeframe::H1)]
    );
    assert!(matches!(
        market.read("BTC/USDT", Timeframe::M1, &Query::all()),
        Err(Error::NoSuchSeries { .. })
    ));
}

#[test]
fn an_empty_read_only_database_reads_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    Db::open(dir.path(), Options::default())
        .unwrap()
        .close()
        .unwrap();
    let ro = Market::new(
        Db::open_read_only(dir.path()).unwrap(),
        MarketOptions::default(),
    )
    .unwrap();
    assert!(ro.series().unwrap().is_empty());
    assert!(matches!(
        ro.read("X", Timeframe::M1, &Query::all()),
        Err(Error::NoSuchSeries { .. })
    ));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 32);
    let tf = Timeframe::M1;
    std::thread::scope(|s| {
        // Eight writers on their own series and four interleaving on a shared one.
        for t in 0..8i64 {
            let market = &market;
            s.spawn(move || {
                for round in 0..20i64 {
                    let rows = (0..10).map(|i| (round * 10 + i, (t * 1000 + round) as f64));
                    market.write(&format!("S{t}"), tf, bars(rows)).unwrap();
                }
            });
        }
        for t in 0..4i64 {
            let market = &market;
            s.spawn(move || {
                for round in 0..20i64 {
                    // Disjoint minutes per thread, so the final content is known.
                    let rows = (0..5).map(|i| ((round * 5 + i) * 4 + t, t as f64));
                    market.write("SHARED", tf, bars(rows)).unwrap();
                }
            });
        }
    });
    for t in 0..8i64 {
        let got = market.read(&format!("S{t}"), tf, &Query::all()).unwrap();
        assert_eq!(got.len(), 200);
        assert_eq!(market.versions(&format!("S{t}"), tf).unwrap().len(), 20);
    }
    let shared = market.read("SHARED", tf, &Query::all()).unwrap();
    assert_eq!(shared.len(), 400);
    for b in shared.iter() {
        assert_eq!(b.close, ((b.ts / M1) % 4) as f64);
    }
    assert_eq!(market.versions("SHARED", tf).unwrap().len(), 80);
}

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<(i64, f64)>),
    Prune(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((-50i64..300, 0.0f64..1000.0), 1..60).prop_map(Op::Write),
        1 => (1usize..4).prop_map(Op::Prune),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
    ))]

    /// Random upserts and prunes against a BTreeMap model: after every step the latest
    /// version and every retained older version read exactly as the model did then.
    #[test]
    fn store_matches_model(ops in prop::collection::vec(op(), 1..25), chunk_rows in 3usize..40) {
        let dir = tempfile::tempdir().unwrap();
        let market = open(dir.path(), chunk_rows);
        let tf = Timeframe::M1;
        let mut model: BTreeMap<i64, Bar> = BTreeMap::new();
        let mut history: Vec<(u64, Bars)> = Vec::new();
        for op in ops {
            match op {
                Op::Write(rows) => {
                    let new = bars(rows.iter().map(|&(m, c)| (m, (c * 100.0).round() / 100.0)));
                    for b in new.iter() {
                        model.insert(b.ts, b);
                    }
                    let r = market.write("P", tf, new).unwrap();
                    history.push((r.version, model_bars(&model)));
                }
                Op::Prune(keep) => {
                    if history.is_empty() {
                        continue;
                    }
                    market.prune("P", tf, PrunePolicy { keep_last: Some(keep), keep_newer_than: None }).unwrap();
                    let cut = history.len().saturating_sub(keep);
                    history.drain(..cut);
                }
            }
            if let Some((_, latest)) = history.last() {
                prop_assert_eq!(&market.read("P", tf, &Query::all()).unwrap(), latest);
            }
            for (v, want) in &history {
                let q = Query { as_of: AsOf::Version(*v), ..Query::all() };
                prop_assert_eq!(&market.read("P", tf, &q).unwrap(), want);
            }
        }
        // Ranges agree with the model too.
        if !model.is_empty() {
            let q = Query { from: Some(20 * M1), to: Some(120 * M1), as_of: AsOf::Latest };
            let want: Bars = model.range(20 * M1..120 * M1).map(|(_, b)| *b).collect();
            prop_assert_eq!(market.read("P", tf, &q).unwrap(), want);
        }
    }
}

#[test]
fn two_markets_on_one_database_share_their_locks() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let a = Market::new(db.clone(), MarketOptions::default()).unwrap();
    let b = Market::new(db.clone(), MarketOptions::default()).unwrap();
    let tf = Timeframe::M1;
    std::thread::scope(|s| {
        for (t, m) in [(0i64, &a), (1, &b), (2, &a), (3, &b)] {
            s.spawn(move || {
                for round in 0..15i64 {
                    // New series from both handles at once, and one series both write.
                    m.write(&format!("N{t}-{round}"), tf, bars([(0, 1.0)]))
                        .unwrap();
                    let rows = (0..3).map(|i| ((round * 3 + i) * 4 + t, t as f64));
                    m.write("BOTH", tf, bars(rows)).unwrap();
                    m.put_event("signals", round, &format!("a{t}"), "X", &round)
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(
        a.series().unwrap().len(),
        61,
        "every new series got its own id"
    );
    assert_eq!(b.read("BOTH", tf, &Query::all()).unwrap().len(), 180);
    assert_eq!(
        a.versions("BOTH", tf).unwrap().len(),
        60,
        "no version was published twice"
    );
    let events = b
        .events("signals", &amdb_market::EventQuery::default())
        .unwrap();
    assert_eq!(events.len(), 60, "no sequence number was handed out twice");
}

#[test]
fn prune_removes_chunks_left_by_an_interrupted_write_even_when_ids_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 8);
    let tf = Timeframe::M1;
    market
        .write("X", tf, bars((0..20).map(|m| (m, 1.0))))
        .unwrap();
    // What a crash after the early chunk batches of a large write leaves: a chunk no version
    // lists, under the id the next write will use again.
    let chunks = market.db().keyspace(amdb_market::keys::CHUNKS_KS).unwrap();
    let count = || {
        market
            .db()
            .iter(&chunks, &amdb_engine::ReadOptions::new())
            .unwrap()
            .forward()
            .count()
    };
    let listed = count();
    let next_id = 1 + listed as u64;
    let orphan = amdb_market::keys::chunk_key(1, 10_000 * M1, next_id);
    market.db().put(&chunks, orphan, b"left over").unwrap();
    market.write("X", tf, bars([(500, 2.0)])).unwrap();
    let r = market.prune("X", tf, PrunePolicy::default()).unwrap();
    assert_eq!(r.versions_deleted, 0);
    assert_eq!(r.chunks_deleted, 1, "only the orphan goes");
    assert!(market.db().get(&chunks, orphan).unwrap().is_none());
    assert_eq!(market.read("X", tf, &Query::all()).unwrap().len(), 21);
    let q = Query {
        as_of: AsOf::Version(1),
        ..Query::all()
    };
    assert_eq!(market.read("X", tf, &q).unwrap().len(), 20);
}

#[test]
fn odd_queries_and_policies_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path(), 8);
    let tf = Timeframe::M1;
    market
        .write("X", tf, bars((0..20).map(|m| (m, 1.0))))
        .unwrap();
    market.write("X", tf, bars([(30, 1.0)])).unwrap();
    let backwards = Query {
        from: Some(10 * M1),
        to: Some(5 * M1),
        as_of: AsOf::Latest,
    };
    assert!(market.read("X", tf, &backwards).unwrap().is_empty());
    assert_eq!(
        market
            .stream("X", tf, &backwards)
            .unwrap()
            .map(|p| p.unwrap().len())
            .sum::<usize>(),
        0
    );
    let extremes = Query {
        from: Some(i64::MIN),
        to: Some(i64::MAX),
        as_of: AsOf::Latest,
    };
    assert_eq!(market.read("X", tf, &extremes).unwrap().len(), 21);
    let r = market
        .prune(
            "X",
            tf,
            PrunePolicy {
                keep_last: Some(usize::MAX),
                keep_newer_than: None,
            },
        )
        .unwrap();
    assert_eq!(
        r.versions_deleted, 0,
        "keeping more versions than exist keeps them all"
    );
    // Bars centuries apart: the gap is reported, not an overflow.
    let wide = Timeframe::D1;
    market
        .write(
            "W",
            wide,
            bars([(-200 * 525_600, 1.0), (200 * 525_600, 1.0)]),
        )
        .unwrap();
    let gaps = market.gaps("W", wide, &Query::all()).unwrap();
    assert_eq!(gaps.len(), 1);
    assert!(market.write("Y", tf, Bars::new()).is_err());
    assert!(Market::new(
        market.db().clone(),
        MarketOptions {
            chunk_rows: (1 << 20) + 1,
            ..MarketOptions::default()
        }
    )
    .is_err());
}
