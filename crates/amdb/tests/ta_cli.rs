//! End-to-end tests of `amdb ta` and `amdb backtest`: real processes, real stores, real files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Env {
    /// A store with `symbols` generated series of 1h bars (0.1 years: 877 bars each).
    fn with_bars(symbols: usize) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let e = Env {
            root: tmp.path().to_path_buf(),
            _tmp: tmp,
        };
        let n = symbols.to_string();
        e.ok(&[
            "gen",
            "bars",
            "--symbols",
            &n,
            "--years",
            "0.1",
            "--timeframe",
            "1h",
        ]);
        e
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_amdb"))
            .arg("--data")
            .arg(self.root.join("db"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("AMDB_DATA")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        common::stdout_of_success(args, self.run(args))
    }

    fn fails(&self, args: &[&str]) -> String {
        common::one_line_error(args, self.run(args))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

fn csv_column(text: &str, name: &str) -> Vec<Option<f64>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| {
            let cell = l.split(',').nth(i).unwrap();
            (!cell.is_empty()).then(|| cell.parse().unwrap())
        })
        .collect()
}

#[test]
fn ta_prints_the_library_numbers_for_a_stored_series() {
    let e = Env::with_bars(1);
    let out = e.ok(&[
        "ta", "SYM000", "1h", "--rsi", "14", "--ema", "7,25", "--atr", "14", "-f", "csv",
    ]);
    let header = out.lines().next().unwrap();
    assert_eq!(header, "ts,close,ema_7,ema_25,rsi_14,atr_14");
    let bars = e.ok(&["bars", "SYM000", "1h", "-f", "csv"]);
    assert_eq!(out.lines().count(), bars.lines().count());
    let close: Vec<f64> = csv_column(&out, "close")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let (high, low): (Vec<f64>, Vec<f64>) = (
        csv_column(&bars, "high")
            .into_iter()
            .map(Option::unwrap)
            .collect(),
        csv_column(&bars, "low")
            .into_iter()
            .map(Option::unwrap)
            .collect(),
    );
    let check = |name: &str, want: Vec<f64>| {
        let got = csv_column(&out, name);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            match g {
                None => assert!(w.is_nan(), "{name}[{i}] empty but the library has {w}"),
                // Printed with Rust's shortest round-trip formatting: exact.
                Some(g) => assert_eq!(*g, *w, "{name}[{i}]"),
            }
        }
    };
    check("rsi_14", amdb_ta::rsi(&close, 14));
    check("ema_7", amdb_ta::ema(&close, 7));
    check("ema_25", amdb_ta::ema(&close, 25));
    check("atr_14", amdb_ta::atr(&high, &low, &close, 14));
    assert_eq!(
        csv_column(&out, "rsi_14")
            .iter()
            .take_while(|v| v.is_none())
            .count(),
        14
    );

    // --tail prints the end of a series computed over all of it.
    let tail = e.ok(&[
        "ta", "SYM000", "1h", "--rsi", "14", "--tail", "3", "-f", "json",
    ]);
    let rows: Vec<serde_json::Value> = tail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let full = csv_column(&out, "rsi_14");
    assert_eq!(rows[2]["rsi_14"].as_f64(), full[full.len() - 1]);
    // Multi-line indicators, with their default parameters.
    let multi = e.ok(&[
        "ta", "SYM000", "1h", "--macd", "--bbands", "--stoch", "--vwap", "--adx", "14", "-f", "csv",
    ]);
    assert_eq!(
        multi.lines().next().unwrap(),
        "ts,close,adx_14,macd_12_26_9,macd_signal_12_26_9,macd_hist_12_26_9,\
         bb_upper_20_2,bb_middle_20_2,bb_lower_20_2,stoch_k_5_3_3,stoch_d_5_3_3,vwap"
    );
    let col = |name: &str| -> Vec<Option<f64>> { csv_column(&multi, name) };
    let volume: Vec<f64> = csv_column(&bars, "volume")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let same = |got: Vec<Option<f64>>, want: &[f64]| {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.unwrap_or(f64::NAN).to_bits(), w.to_bits());
        }
    };
    let m = amdb_ta::macd(&close, 12, 26, 9);
    same(col("macd_hist_12_26_9"), &m.hist);
    same(
        col("bb_lower_20_2"),
        &amdb_ta::bbands(&close, 20, 2.0, 2.0).lower,
    );
    same(
        col("stoch_d_5_3_3"),
        &amdb_ta::stoch(&high, &low, &close, 5, 3, 3).d,
    );
    same(col("vwap"), &amdb_ta::vwap(&high, &low, &close, &volume));
    same(col("adx_14"), &amdb_ta::adx(&high, &low, &close, 14));
    let table = e.ok(&["ta", "SYM000", "1h", "--sma", "5", "--tail", "2"]);
    assert!(table.lines().next().unwrap().contains("sma_5"));
}

#[test]
fn ta_reads_a_csv_file_and_warm_up_is_null() {
    let e = Env::with_bars(1);
    let file = e.path("in.csv");
    std::fs::write(
        &file,
        "time,open,high,low,close,volume\n\
         2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n\
         2024-01-01T01:00:00Z,1.5,2.5,1,2,20\n\
         2024-01-01T02:00:00Z,2,3,1.5,2.5,30\n",
    )
    .unwrap();
    let out = e.ok(&[
        "ta",
        "--input",
        s(&file),
        "--sma",
        "2",
        "--obv",
        "-f",
        "json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["sma_2"].is_null());
    assert_eq!(rows[1]["sma_2"], 1.75);
    // TA-Lib's OBV starts from the first bar's volume.
    assert_eq!(rows[2]["obv"], 60.0);
}

#[test]
fn ta_errors_are_one_line() {
    let e = Env::with_bars(1);
    assert!(e.fails(&["ta", "SYM000", "1h"]).contains("no indicators"));
    assert!(e
        .fails(&["ta", "SYM000", "1h", "--rsi", "1"])
        .contains("--rsi 1"));
    assert!(e
        .fails(&["ta", "SYM000", "1h", "--stddev", "1"])
        .contains("--stddev 1"));
    assert!(e
        .fails(&["ta", "SYM000", "1h", "--macd", "26,12,9"])
        .contains("FAST"));
    assert!(e
        .fails(&["ta", "SYM000", "1h", "--bbands", "20,x"])
        .contains("--bbands"));
    e.fails(&["ta", "NOPE", "1h", "--rsi", "14"]);
    let unsorted = e.path("bad.csv");
    std::fs::write(
        &unsorted,
        "time,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n2024-01-01,1,1,1,1,1\n",
    )
    .unwrap();
    let err = e.fails(&["ta", "--input", s(&unsorted), "--rsi", "2"]);
    assert!(err.contains("bad.csv") && err.contains("bar 2"), "{err}");
}

#[test]
fn backtest_writes_a_full_report() {
    let e = Env::with_bars(1);
    let dir = e.path("report");
    let out = e.ok(&[
        "backtest",
        "--strategy",
        "ema-cross",
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        "--symbols",
        "SYM000",
        "--timeframe",
        "1h",
        "--report",
        s(&dir),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let metric = |name: &str| {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("metric {name}"))["value"]
            .clone()
    };
    assert!(metric("trades").as_f64().unwrap() >= 3.0);
    assert!(metric("sharpe").is_number());
    assert_eq!(v["equity"]["value"].as_array().unwrap().len(), 877);
    for f in ["summary.txt", "result.json", "equity.png", "report.html"] {
        let p = dir.join(f);
        assert!(std::fs::metadata(&p).unwrap().len() > 100, "{f}");
    }
    let png = std::fs::read(dir.join("equity.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let text = e.ok(&["backtest", "--symbols", "SYM000", "--timeframe", "1h"]);
    assert!(text.to_lowercase().contains("sharpe"), "{text}");
}

#[test]
fn backtest_grids_rank_points_and_draw_a_heatmap() {
    let e = Env::with_bars(3);
    let dir = e.path("grid");
    let out = e.ok(&[
        "backtest",
        "--strategy",
        "ema-cross",
        "--symbols",
        "all",
        "--timeframe",
        "1h",
        "--grid",
        "fast=3..5,slow=10/20",
        "--metric",
        "total_return",
        "--report",
        s(&dir),
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    let ranked: Vec<f64> = rows
        .iter()
        .map(|r| r["mean_total_return"].as_f64().unwrap())
        .collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{ranked:?}");
    assert!(dir.join("heatmap.png").exists() && dir.join("grid.json").exists());
    // Grid points override the base parameters: a base that is only valid with the grid's
    // values is fine.
    let out = e.ok(&[
        "backtest",
        "--strategy",
        "rsi-reversion",
        "--param",
        "exit=75",
        "--symbols",
        "SYM000",
        "--timeframe",
        "1h",
        "--grid",
        "upper=80..90:5",
        "--json",
    ]);
    assert_eq!(out.lines().count(), 3);
}

#[test]
fn backtest_trades_the_stored_signals() {
    let e = Env::with_bars(1);
    let put = |ts: &str, side: &str| {
        e.ok(&[
            "events",
            "put",
            "signals",
            "--agent",
            "a1",
            "--symbol",
            "SYM000",
            "--ts",
            ts,
            "--field",
            &format!("side={side}"),
        ]);
    };
    // gen starts at 2022-01-01; a buy at 02:30 acts after the 02:00 bar, fills at 03:00.
    put("2022-01-01T02:30:00Z", "buy");
    put("2022-01-02T05:00:00Z", "sell");
    let out = e.ok(&[
        "backtest",
        "--strategy",
        "signals",
        "--symbols",
        "SYM000",
        "--timeframe",
        "1h",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let trades = v["trades"].as_array().unwrap();
    assert_eq!(trades.len(), 1, "{v}");
    assert_eq!(trades[0]["entry_time"], "2022-01-01T03:00:00Z");
    assert_eq!(trades[0]["exit_time"], "2022-01-02T06:00:00Z");
}

#[test]
fn backtest_errors_are_one_line() {
    let e = Env::with_bars(1);
    let base = ["backtest", "--symbols", "SYM000", "--timeframe", "1h"];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    assert!(e
        .fails(&with(&base, &["--strategy", "nope"]))
        .contains("built-in strategies are"));
    assert!(e
        .fails(&with(&base, &["--param", "fats=3"]))
        .contains("no parameter"));
    assert!(e
        .fails(&with(&base, &["--param", "fast=30"]))
        .contains("fast < slow"));
    assert!(e
        .fails(&with(&base, &["--grid", "fast=9..5"]))
        .contains("fast=9..5"));
    assert!(e
        .fails(&with(&base, &["--size", "lots:3"]))
        .contains("--size"));
    assert!(e.fails(&with(&base, &["--fee=-1"])).contains("fee"));
    assert!(e
        .fails(&with(&base, &["--metric", "luck"]))
        .contains("metrics are"));
    e.fails(&["backtest", "--symbols", "NOPE", "--timeframe", "1h"]);
}
