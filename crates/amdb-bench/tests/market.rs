//! The market suite end to end at a tiny size: every case (but `rss_1m`, which needs the
//! `amdb` binary) emits one verified line per system.

use amdb_bench::market::{format_human, run, MarketConfig, MarketResult, CASES, SYSTEMS};

#[test]
fn every_case_and_system_reports_verified_results() {
    let cfg = MarketConfig {
        symbols: 2,
        years: 0.02,
        agent_seconds: 0.3,
        agents: 4,
        read_reps: 2,
        cases: CASES
            .iter()
            .filter(|c| **c != "rss_1m")
            .map(|c| c.to_string())
            .collect(),
        ..MarketConfig::default()
    };
    let mut results: Vec<MarketResult> = Vec::new();
    run(&cfg, &mut |r| results.push(r.clone())).unwrap();

    let per = amdb_market::gen::bars_for_years(amdb_market::Timeframe::M15, 0.02) as u64;
    let mut expected: Vec<(&str, &str)> = Vec::new();
    for case in CASES.iter().filter(|c| **c != "rss_1m") {
        let systems: &[&str] = match *case {
            "serialize_1mb" | "deserialize_1mb" => &["amdb", "json"],
            "agents_p95" => &["amdb", "sqlite_tuned", "sqlite_plain"],
            _ => &SYSTEMS,
        };
        for s in systems {
            expected.push((case, s));
        }
    }
    let mut got: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r.case.as_str(), r.system.as_str()))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    for r in &results {
        assert_eq!(r.suite, "market");
        assert!(r.seconds > 0.0, "{r:?}");
        assert!(r.verified, "{r:?}");
        assert_eq!((r.symbols, r.bars_per_symbol as u64), (2, per), "{r:?}");
        let line = serde_json::to_string(r).unwrap();
        assert!(line.contains("\"suite\":\"market\""), "{line}");
        assert!(!format_human(r).is_empty());
        match r.case.as_str() {
            "load_all" | "read_all" | "import_csv" => {
                assert_eq!(r.rows, Some(2 * per), "{r:?}");
                assert!(r.rows_per_s.unwrap() > 0.0, "{r:?}");
            }
            "read_one" => {
                assert_eq!(r.rows, Some(per), "{r:?}");
                assert_eq!(r.reps, Some(2), "{r:?}");
                assert!(r.p50_us.unwrap() <= r.p95_us.unwrap(), "{r:?}");
            }
            "insert_10k" => assert_eq!(r.rows, Some(10_000), "{r:?}"),
            "disk_bytes" => assert!(r.bytes.unwrap() > 0, "{r:?}"),
            "agents_p95" => {
                let attempted = r.ops.unwrap() + r.errors.unwrap() + r.missed.unwrap();
                // 0.3 s at 5,000 writes/s.
                assert_eq!(attempted, 1_500, "{r:?}");
                if r.system != "sqlite_plain" {
                    // Only the naive configuration may see "database is locked".
                    assert_eq!(r.errors, Some(0), "{r:?}");
                }
                assert!(r.ops.unwrap() > 0 && r.p95_us.unwrap() > 0.0, "{r:?}");
            }
            "serialize_1mb" | "deserialize_1mb" => {
                assert!(r.rows.unwrap() > 1_000, "{r:?}");
                if r.system == "amdb" {
                    let b = r.bytes.unwrap();
                    assert!((1 << 20..(1 << 20) + 200).contains(&b), "{r:?}");
                }
            }
            other => panic!("unexpected case {other}"),
        }
    }
}

#[test]
fn rss_1m_is_skipped_without_a_child_executable() {
    let cfg = MarketConfig {
        cases: vec!["rss_1m".into()],
        ..MarketConfig::default()
    };
    let mut n = 0;
    run(&cfg, &mut |_| n += 1).unwrap();
    assert_eq!(n, 0);
}
