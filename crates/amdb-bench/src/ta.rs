//! `amdb bench ta`: indicators and backtests, against TA-Lib, Polars and vectorbt measured in
//! the same run by `bench/peers/ta_peers.py` (run with the Python of `bench/peers/.venv`).
//!
//! Dataset: `symbols` series of `years` of 15-minute bars, and one series of `frame_rows`
//! 1-minute bars, from `amdb_market::gen` (seed 1). The peers read the same bars from
//! Parquet files this suite writes (`bars_15m/SYMnnn.parquet`, `frame_1m.parquet`).
//!
//! Cases (amdb side; the peers compute the same things, see bench/peers/README.md):
//! - `rsi_1000`: RSI(14) over the first 1,000 closes of SYM000; seconds per call.
//! - `frame_1m`: EMA(7), EMA(25), RSI(14), volume ratio(20) and volatility(20) over the
//!   1,000,000-row frame, on one thread, into reused buffers.
//! - `backtest_one`: the `ema-cross` strategy (7/25), long only, filled on the signal bar's
//!   close with 0.1 % fees and all cash per trade (vectorbt's defaults, so the results can
//!   be compared), over SYM000, indicators included.
//! - `grid_64x100`: the same over the grid fast=5..14 × slow=20..29 on every symbol, on all
//!   cores.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use amdb_market::gen;
use amdb_market::io::parquet::{write_parquet, ParquetCompression};
use amdb_market::{Bars, Timeframe};
use amdb_ta::backtest::{self, BarSeries, Config, FillAt, Grid, Params, Sizing};
use serde_json::{json, Value};

use crate::{BenchError, Result};

const SEED: u64 = 1;
pub const CASES: [&str; 4] = ["rsi_1000", "frame_1m", "backtest_one", "grid_64x100"];

/// Whether to run the Python peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peers {
    /// If their virtualenv exists.
    Auto,
    /// Always; fail if they cannot run.
    Require,
    Off,
}

#[derive(Debug, Clone)]
pub struct TaConfig {
    pub symbols: usize,
    pub years: f64,
    pub frame_rows: usize,
    /// Empty: all of [`CASES`].
    pub cases: Vec<String>,
    /// Parent of the temporary directory for the peers' Parquet files.
    pub dir: Option<PathBuf>,
    pub peers: Peers,
    /// The Python to run the peers with (default `bench/peers/.venv/bin/python`).
    pub python: Option<PathBuf>,
    /// The peers' script (default `bench/peers/ta_peers.py`).
    pub script: Option<PathBuf>,
    /// Symbols vectorbt runs the grid on (its time is scaled to all symbols).
    pub peer_grid_symbols: usize,
    /// Repetitions of the timed cases (median reported).
    pub reps: usize,
}

impl Default for TaConfig {
    fn default() -> TaConfig {
        TaConfig {
            symbols: 64,
            years: 4.0,
            frame_rows: 1_000_000,
            cases: Vec::new(),
            dir: None,
            peers: Peers::Auto,
            python: None,
            script: None,
            peer_grid_symbols: 4,
            reps: 21,
        }
    }
}

/// The backtest settings both sides use (vectorbt's defaults: fill at the close, all cash).
fn backtest_config() -> Config {
    Config {
        initial_cash: 10_000.0,
        fee_rate: 0.001,
        fill_at: FillAt::Close,
        sizing: Sizing::Equity(1.0),
        allow_short: false,
        record: false,
        ..Config::default()
    }
}

fn series<'a>(symbol: &'a str, b: &'a Bars) -> Result<BarSeries<'a>> {
    // The generator's bars always satisfy BarSeries' checks; a failure is a bug here.
    BarSeries::new(symbol, &b.ts, &b.open, &b.high, &b.low, &b.close, &b.volume)
        .map_err(|e| BenchError::InvalidArgument(e.to_string()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    crate::market::quantile(&v, 0.5)
}

fn line(case: &str, system: &str, seconds: f64) -> Value {
    json!({"suite": "ta", "case": case, "system": system, "seconds": seconds})
}

/// Runs the suite, handing each result line to `emit` as it is ready.
pub fn run(cfg: &TaConfig, emit: &mut dyn FnMut(&Value)) -> Result<()> {
    let wanted = |c: &str| cfg.cases.is_empty() || cfg.cases.iter().any(|x| x == c);
    for c in &cfg.cases {
        if !CASES.contains(&c.as_str()) {
            return Err(BenchError::InvalidArgument(format!(
                "unknown case {c:?}; cases are {}",
                CASES.join(", ")
            )));
        }
    }
    let per_symbol = gen::bars_for_years(Timeframe::M15, cfg.years);
    if per_symbol < 1_000 {
        return Err(BenchError::InvalidArgument(format!(
            "--years {} gives {per_symbol} bars per symbol; rsi_1000 needs at least 1,000",
            cfg.years
        )));
    }
    if wanted("frame_1m") && cfg.frame_rows < 100 {
        return Err(BenchError::InvalidArgument(format!(
            "--frame-rows {}: the frame needs at least 100 rows",
            cfg.frame_rows
        )));
    }
    let symbols: Vec<String> = (0..cfg.symbols.max(1)).map(gen::symbol_name).collect();
    let need_all = wanted("grid_64x100");
    let data: Vec<Bars> = (0..if need_all { symbols.len() } else { 1 })
        .map(|s| gen::generate(SEED, s, Timeframe::M15, gen::DEFAULT_START_NS, per_symbol))
        .collect();
    let frame = wanted("frame_1m").then(|| {
        gen::generate(
            SEED,
            0,
            Timeframe::M1,
            gen::DEFAULT_START_NS,
            cfg.frame_rows,
        )
    });

    let mut ours: Vec<Value> = Vec::new();
    let mut out = |v: Value, ours: &mut Vec<Value>| {
        emit(&v);
        ours.push(v);
    };
    if wanted("rsi_1000") {
        out(
            rsi_1000(&data[0].close[..1000.min(data[0].len())]),
            &mut ours,
        );
    }
    if let Some(frame) = &frame {
        out(frame_1m(frame, cfg.reps), &mut ours);
    }
    if wanted("backtest_one") {
        out(
            backtest_one(&series(&symbols[0], &data[0])?, cfg.reps)?,
            &mut ours,
        );
    }
    if need_all {
        let all: Vec<BarSeries<'_>> = data
            .iter()
            .zip(&symbols)
            .map(|(b, s)| series(s, b))
            .collect::<Result<_>>()?;
        out(grid(&all, cfg.reps.clamp(1, 3))?, &mut ours);
        // The peers run the grid on one core: the same on one thread, for a per-core ratio.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| BenchError::InvalidArgument(format!("thread pool: {e}")))?;
        let mut single = one.install(|| grid(&all, 1))?;
        single["system"] = json!("amdb_1thread");
        out(single, &mut ours);
    }

    if cfg.peers != Peers::Off {
        match peer_command(cfg) {
            Ok((python, script)) => {
                let tmp = tempfile::Builder::new()
                    .prefix("amdb-bench-ta-")
                    .tempdir_in(cfg.dir.clone().unwrap_or_else(std::env::temp_dir))
                    .map_err(|e| io_err("create temp dir in", cfg.dir.as_deref(), e))?;
                write_peer_data(tmp.path(), &symbols, &data, frame.as_ref())?;
                let cases: Vec<&str> = CASES.iter().copied().filter(|c| wanted(c)).collect();
                match run_peers(&python, &script, tmp.path(), &cases, cfg) {
                    Ok(lines) => {
                        for peer in lines {
                            emit(&compare(peer, &ours));
                        }
                    }
                    Err(e) if cfg.peers == Peers::Require => return Err(e),
                    Err(e) => emit(&json!({"suite": "ta", "case": "peers", "system": "none",
                        "seconds": 0.0, "note": format!("peers failed: {e}")})),
                }
            }
            Err(why) if cfg.peers == Peers::Require => return Err(BenchError::Child(why)),
            Err(why) => emit(&json!({"suite": "ta", "case": "peers", "system": "none",
                "seconds": 0.0, "note": format!("peers skipped: {why}")})),
        }
    }
    Ok(())
}

fn rsi_1000(closes: &[f64]) -> Value {
    let calls = 2_000;
    let mut out = vec![0.0; closes.len()];
    amdb_ta::rsi::rsi_into(closes, 14, &mut out);
    let per_call: Vec<f64> = (0..31)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                amdb_ta::rsi::rsi_into(std::hint::black_box(closes), 14, &mut out);
                std::hint::black_box(&out);
            }
            t.elapsed().as_secs_f64() / calls as f64
        })
        .collect();
    let mut v = line("rsi_1000", "amdb", median(per_call));
    v["ops"] = json!(closes.len());
    v["last"] = json!(out[out.len() - 1]);
    v
}

fn frame_1m(frame: &Bars, reps: usize) -> Value {
    let n = frame.len();
    let mut cols = vec![vec![0.0; n]; 5];
    let compute = |cols: &mut Vec<Vec<f64>>| {
        amdb_ta::ema::ema_into(&frame.close, 7, &mut cols[0]);
        amdb_ta::ema::ema_into(&frame.close, 25, &mut cols[1]);
        amdb_ta::rsi::rsi_into(&frame.close, 14, &mut cols[2]);
        amdb_ta::volume::volume_ratio_into(&frame.volume, 20, &mut cols[3]);
        amdb_ta::volume::volatility_into(&frame.close, 20, &mut cols[4]);
    };
    compute(&mut cols);
    let times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            compute(&mut cols);
            std::hint::black_box(&cols);
            t.elapsed().as_secs_f64()
        })
        .collect();
    let mut v = line("frame_1m", "amdb", median(times));
    v["rows"] = json!(n);
    v["threads"] = json!(1);
    v["checksum"] = json!(cols.iter().map(|c| c[n - 1]).sum::<f64>());
    v
}

fn backtest_one(bars: &BarSeries<'_>, reps: usize) -> Result<Value> {
    let config = backtest_config();
    let params = Params(vec![("fast".into(), 7.0), ("slow".into(), 25.0)]);
    let once = || -> Result<backtest::RunResult> {
        let mut s = backtest::builtin("ema-cross", &params).map_err(bt_err)?;
        backtest::run(bars, s.as_mut(), &config).map_err(bt_err)
    };
    let result = once()?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        std::hint::black_box(once()?);
        times.push(t.elapsed().as_secs_f64());
    }
    let mut v = line("backtest_one", "amdb", median(times));
    v["bars"] = json!(bars.len());
    v["total_return"] = json!(result.metrics.total_return);
    v["trades"] = json!(result.metrics.trades);
    v["final_value"] = json!(result.metrics.final_equity);
    Ok(v)
}

fn grid(series: &[BarSeries<'_>], reps: usize) -> Result<Value> {
    let config = backtest_config();
    let grid = Grid::parse("fast=5..14,slow=20..29").map_err(bt_err)?;
    let factory = |p: &Params| backtest::builtin("ema-cross", p);
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = backtest::run_grid(series, &factory, &Params::default(), &grid, &config)
            .map_err(bt_err)?;
        times.push(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    let r = last.expect("at least one repetition");
    let runs = r.points.len() * series.len();
    let (best, best_return) = r
        .cells
        .iter()
        .enumerate()
        .filter_map(|(p, c)| {
            c.first()
                .and_then(|m| m.as_ref())
                .map(|m| (p, m.total_return))
        })
        // The first of equal returns, as the peer script picks.
        .rev()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::NAN));
    let mut v = line("grid_64x100", "amdb", median(times));
    v["ops"] = json!(runs);
    v["symbols"] = json!(series.len());
    v["points"] = json!(r.points.len());
    v["threads"] = json!(rayon::current_num_threads());
    v["best_total_return"] = json!(best_return);
    v["best_params"] = json!(r.points[best].label());
    Ok(v)
}

fn bt_err(e: backtest::BacktestError) -> BenchError {
    BenchError::InvalidArgument(e.to_string())
}

fn io_err(op: &'static str, path: Option<&Path>, source: std::io::Error) -> BenchError {
    BenchError::Io {
        op,
        path: path.map(Path::to_path_buf).unwrap_or_default(),
        source,
    }
}

/// The Python and script to run, or why not.
fn peer_command(cfg: &TaConfig) -> std::result::Result<(PathBuf, PathBuf), String> {
    let python = cfg
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench/peers/.venv/bin/python"));
    let script = cfg
        .script
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench/peers/ta_peers.py"));
    if !python.exists() {
        return Err(format!(
            "{} not found (run bench/peers/setup.sh from the repository root)",
            python.display()
        ));
    }
    if !script.exists() {
        return Err(format!("{} not found", script.display()));
    }
    Ok((python, script))
}

fn write_peer_data(
    dir: &Path,
    symbols: &[String],
    data: &[Bars],
    frame: Option<&Bars>,
) -> Result<()> {
    let bars_dir = dir.join("bars_15m");
    std::fs::create_dir_all(&bars_dir).map_err(|e| io_err("create", Some(&bars_dir), e))?;
    for (s, b) in symbols.iter().zip(data) {
        write_parquet(
            b,
            bars_dir.join(format!("{s}.parquet")),
            ParquetCompression::Snappy,
        )
        .map_err(|e| BenchError::Child(format!("writing peer data: {e}")))?;
    }
    if let Some(f) = frame {
        write_parquet(f, dir.join("frame_1m.parquet"), ParquetCompression::Snappy)
            .map_err(|e| BenchError::Child(format!("writing peer data: {e}")))?;
    }
    Ok(())
}

fn run_peers(
    python: &Path,
    script: &Path,
    data: &Path,
    cases: &[&str],
    cfg: &TaConfig,
) -> Result<Vec<Value>> {
    let output = Command::new(python)
        .arg(script)
        .arg("--data")
        .arg(data)
        .arg("--cases")
        .arg(cases.join(","))
        .arg("--grid-symbols")
        .arg(cfg.peer_grid_symbols.min(cfg.symbols).max(1).to_string())
        .arg("--all-symbols")
        .arg(cfg.symbols.max(1).to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| BenchError::Child(format!("{}: {e}", python.display())))?;
    if !output.status.success() {
        return Err(BenchError::Child(format!(
            "{} {} exited with {}",
            python.display(),
            script.display(),
            output.status
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .map_err(|e| BenchError::Child(format!("peer printed {l:?}: {e}")))
        })
        .collect()
}

/// Adds to a peer's line how many times slower than amdb it was, and whether its results
/// agree with ours.
fn compare(mut peer: Value, ours: &[Value]) -> Value {
    let case = peer["case"].as_str().unwrap_or_default().to_string();
    let Some(mine) = ours
        .iter()
        .find(|v| v["case"] == case.as_str() && v["system"] == "amdb")
    else {
        return peer;
    };
    if let (Some(p), Some(a)) = (peer["seconds"].as_f64(), mine["seconds"].as_f64()) {
        if a > 0.0 {
            peer["amdb_speedup"] = json!(p / a);
        }
    }
    // The grid's peers use one core; amdb uses all. Say both ratios.
    if let (Some(p), Some(one)) = (
        peer["seconds"].as_f64(),
        ours.iter()
            .find(|v| v["case"] == case.as_str() && v["system"] == "amdb_1thread")
            .and_then(|v| v["seconds"].as_f64()),
    ) {
        peer["amdb_1thread_speedup"] = json!(p / one);
    }
    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0);
    let agree = match case.as_str() {
        "rsi_1000" => field_pair(&peer, mine, "last").map(|(a, b)| close(a, b, 1e-9)),
        "frame_1m" => field_pair(&peer, mine, "checksum").map(|(a, b)| close(a, b, 1e-9)),
        "backtest_one" => field_pair(&peer, mine, "total_return")
            .map(|(a, b)| close(a, b, 1e-6))
            .zip(field_pair(&peer, mine, "trades").map(|(a, b)| a == b))
            .map(|(x, y)| x && y),
        "grid_64x100" => {
            field_pair(&peer, mine, "best_total_return").map(|(a, b)| close(a, b, 1e-9))
        }
        _ => None,
    };
    if let Some(agree) = agree {
        peer["agrees_with_amdb"] = json!(agree);
    }
    peer
}

fn field_pair(a: &Value, b: &Value, name: &str) -> Option<(f64, f64)> {
    Some((a[name].as_f64()?, b[name].as_f64()?))
}

/// One human-readable line.
pub fn format_human(v: &Value) -> String {
    let case = v["case"].as_str().unwrap_or("?");
    let system = v["system"].as_str().unwrap_or("?");
    if case == "versions" {
        let versions: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !["suite", "case", "system", "seconds"].contains(&k.as_str()))
            .map(|(k, x)| format!("{k} {}", x.as_str().map_or(x.to_string(), str::to_string)))
            .collect();
        return format!("peers: {}", versions.join(", "));
    }
    if let Some(note) = v["note"].as_str().filter(|_| system == "none") {
        return format!("{case:<14} {note}");
    }
    let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
    let time = if secs < 1e-3 {
        format!("{:>10.3} us", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:>10.3} ms", secs * 1e3)
    } else {
        format!("{:>10.3} s ", secs)
    };
    let mut s = format!("{case:<14} {system:<10} {time}");
    if let Some(x) = v["amdb_speedup"].as_f64() {
        s.push_str(&format!("  amdb {x:.1}x faster"));
    }
    if let Some(x) = v["amdb_1thread_speedup"].as_f64() {
        s.push_str(&format!(" ({x:.1}x on one thread)"));
    }
    if let Some(a) = v["agrees_with_amdb"].as_bool() {
        s.push_str(if a {
            "  results agree"
        } else {
            "  RESULTS DIFFER"
        });
    }
    if let Some(x) = v["total_return"].as_f64() {
        s.push_str(&format!("  return {:.4}%", x * 100.0));
    }
    if let Some(x) = v["trades"].as_u64() {
        s.push_str(&format!("  trades {x}"));
    }
    if v["extrapolated"].as_bool() == Some(true) {
        s.push_str("  (extrapolated)");
    }
    s
}
