//! Event tables: appends, queries by time, agent and symbol, and sequence numbers that stay
//! unique across reopening.

use amdb_engine::{Db, Options};
use amdb_market::events::{Fill, Side, Signal};
use amdb_market::{EventQuery, Market, MarketOptions};

fn open(dir: &std::path::Path) -> Market {
    Market::new(
        Db::open(dir, Options::default()).unwrap(),
        MarketOptions::default(),
    )
    .unwrap()
}

fn signal(i: usize) -> Signal {
    Signal {
        side: if i.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        strength: i as f64 / 10.0,
        price: 100.0 + i as f64,
        reason: format!("rule {i}"),
    }
}

#[test]
fn query_by_time_agent_and_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let market = open(dir.path());
    for i in 0..30usize {
        let agent = format!("a{}", i % 3);
        let symbol = format!("S{}", i % 2);
        market
            .put_event("signals", (i as i64) * 10, &agent, &symbol, &signal(i))
            .unwrap();
    }
    let all = market.events("signals", &EventQuery::default()).unwrap();
    assert_eq!(all.len(), 30);
    assert!(all
        .windows(2)
        .all(|w| (w[0].ts, w[0].seq) < (w[1].ts, w[1].seq)));
    assert_eq!(all[7].decode::<Signal>().unwrap(), signal(7));

    let q = EventQuery {
        from: Some(50),
        to: Some(100),
        ..Default::default()
    };
    let ts: Vec<i64> = market
        .events("signals", &q)
        .unwrap()
        .iter()
        .map(|e| e.ts)
        .collect();
    assert_eq!(ts, vec![50, 60, 70, 80, 90]);

    let q = EventQuery {
        agent: Some("a1".into()),
        ..Default::default()
    };
    let by_agent = market.events("signals", &q).unwrap();
    assert_eq!(by_agent.len(), 10);
    assert!(by_agent.iter().all(|e| e.agent == "a1"));

    let q = EventQuery {
        symbol: Some("S0".into()),
        from: Some(100),
        ..Default::default()
    };
    let by_symbol = market.events("signals", &q).unwrap();
    assert_eq!(by_symbol.len(), 10);
    assert!(by_symbol.iter().all(|e| e.symbol == "S0" && e.ts >= 100));

    let q = EventQuery {
        agent: Some("a0".into()),
        symbol: Some("S1".into()),
        ..Default::default()
    };
    let both = market.events("signals", &q).unwrap();
    assert!(both.iter().all(|e| e.agent == "a0" && e.symbol == "S1"));
    assert_eq!(both.len(), 5);

    let q = EventQuery {
        limit: Some(3),
        ..Default::default()
    };
    assert_eq!(market.events("signals", &q).unwrap().len(), 3);
    // Tables are separate.
    assert!(market
        .events("orders", &EventQuery::default())
        .unwrap()
        .is_empty());
    assert!(market.events("Bad Name", &EventQuery::default()).is_err());
}

#[test]
fn sequence_numbers_stay_unique_across_reopen_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let market = open(dir.path());
        let seqs = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..8 {
                let (market, seqs) = (&market, &seqs);
                s.spawn(move || {
                    for i in 0..25 {
                        let fill = Fill {
                            order_id: format!("o{t}-{i}"),
                            side: Side::Buy,
                            quantity: 1.0,
                            price: 10.0,
                            fee: 0.01,
                        };
                        // Same timestamp for all: the sequence keeps them apart.
                        let seq = market
                            .put_event("fills", 42, &format!("t{t}"), "X", &fill)
                            .unwrap();
                        seqs.lock().unwrap().push(seq);
                    }
                });
            }
        });
        for s in seqs.into_inner().unwrap() {
            assert!(seen.insert(s), "sequence {s} reused");
        }
        market.close().unwrap();
    }
    let market = open(dir.path());
    assert_eq!(
        market
            .events("fills", &EventQuery::default())
            .unwrap()
            .len(),
        600
    );
}
