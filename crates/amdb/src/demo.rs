//! `amdb demo`: AmDb's main job on the embedded store. Generates years of 15-minute bars for
//! many symbols, reads them back (one symbol, all symbols, an older version), resamples,
//! upserts a durable batch, lets concurrent agents write signals, round-trips a CSV export,
//! verifies everything it reads, and reports how fast each step was.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use amdb_market::events::{Side, Signal};
use amdb_market::gen::{generate, symbol_name};
use amdb_market::io::csv::{read_csv, write_csv, CsvOptions, CsvWriteOptions};
use amdb_market::{resample, AsOf, Bars, Market, Query, Timeframe};
use clap::Args;

use crate::cli::GlobalArgs;
use crate::gen::{gen_bars, GenBarsArgs};
use crate::market::{parse_timeframe, writable};
use crate::output::{human_bytes, rate, thousands};
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Symbols to generate.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub symbols: usize,
    /// Years of bars per symbol.
    #[arg(long, default_value_t = 4.0, value_name = "Y")]
    pub years: f64,
    /// Bar width.
    #[arg(long, default_value = "15m", value_parser = parse_timeframe, value_name = "TF")]
    pub timeframe: Timeframe,
    /// Concurrent agents writing signals.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub agents: usize,
    /// Signals each agent writes (each one durable).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub signals: usize,
    /// Where the backtest report (summary, JSON, PNG charts, HTML) goes.
    #[arg(long, default_value = "amdb-report", value_name = "DIR")]
    pub report: std::path::PathBuf,
}

const SEED: u64 = 1;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn fail(what: &str) -> CliError {
    CliError::new(format!("demo verification failed: {what}"))
}

pub fn run(g: &GlobalArgs, a: DemoArgs) -> CliResult {
    let market = writable(g)?;
    let tf = a.timeframe;
    println!(
        "AmDb demo: {} symbols x {} years of {tf} bars into {} (durability {})",
        a.symbols,
        a.years,
        g.data.display(),
        crate::kv_demo::durability_name(g.durability)
    );

    // 1. Generate and store (one atomic, durable write per series).
    let gen_args = GenBarsArgs {
        symbols: a.symbols,
        timeframe: tf,
        years: a.years,
        start: None,
        seed: SEED,
    };
    let r = gen_bars(&market, &gen_args, true)?;
    let per = r.bars_per_symbol;
    println!(
        "  gen+load  {} bars ({} series x {}) generated and stored in {:.2} s: {} bars/s",
        thousands(r.total_bars),
        a.symbols,
        thousands(per as u64),
        r.seconds,
        rate(r.total_bars, Duration::from_secs_f64(r.seconds))
    );

    // 2. Read one series back and compare with what was generated.
    let first = symbol_name(0);
    let expected = generate(SEED, 0, tf, r.start, per);
    // The generated range only: a rerun on the same directory finds the demo's earlier
    // appends after it.
    let generated = Query {
        from: Some(r.start),
        to: Some(r.end + tf.nanos()),
        as_of: AsOf::Latest,
    };
    let (one, t_one) = best_of(5, || market.read(&first, tf, &generated))?;
    if one != expected {
        return Err(fail(&format!(
            "{first} read back differs from what was written"
        )));
    }
    println!(
        "  read one  {first}: {} bars into columns in {} (best of 5), identical to what was written",
        thousands(one.len() as u64),
        ms(t_one)
    );

    // 3. Read every series.
    let (rows, t_all) = best_of(3, || -> amdb_market::Result<u64> {
        let mut rows = 0;
        for i in 0..a.symbols {
            rows += market.read(&symbol_name(i), tf, &generated)?.len() as u64;
        }
        Ok(rows)
    })?;
    if rows != r.total_bars {
        return Err(fail(&format!(
            "read {rows} bars of {} written",
            r.total_bars
        )));
    }
    println!(
        "  read all  {} series, {} bars in {} (best of 3): {} bars/s",
        a.symbols,
        thousands(rows),
        ms(t_all),
        rate(rows, t_all)
    );

    // 4. Resample to 1h with pandas semantics.
    let coarse = Timeframe::H1;
    if coarse.nanos() % tf.nanos() == 0 && coarse > tf {
        let t0 = Instant::now();
        let hourly = resample(&one, tf, coarse, false)?;
        let t = t0.elapsed();
        println!(
            "  resample  {first} {tf} -> {coarse}: {} bars in {}",
            thousands(hourly.len() as u64),
            ms(t)
        );
    }

    // 5. Upsert a durable batch of 10,000 bars after the end, then read the old version.
    let before = market.versions(&first, tf)?.last().map_or(0, |v| v.version);
    let next_start = r.end + tf.nanos();
    let batch = generate(SEED + 1, 0, tf, next_start, 10_000);
    let batch_copy = batch.clone();
    let t0 = Instant::now();
    let w = market.write(&first, tf, batch)?;
    let t_ins = t0.elapsed();
    let old = market.read(
        &first,
        tf,
        &Query {
            as_of: AsOf::Version(before),
            ..generated
        },
    )?;
    let appended = market.read(
        &first,
        tf,
        &Query {
            from: Some(next_start),
            to: Some(next_start + 10_000 * tf.nanos()),
            as_of: AsOf::Latest,
        },
    )?;
    if old != expected || appended != batch_copy {
        return Err(fail("version history does not match the writes"));
    }
    println!(
        "  insert    10,000 bars into {first}, durable: {} (version {} -> {}; version {} still reads {} bars)",
        ms(t_ins),
        before,
        w.version,
        before,
        thousands(old.len() as u64)
    );

    // 6. Concurrent agents append signals, each write durable through group commit.
    let (lat, t_sig) = agents(&market, a.agents, a.signals)?;
    let n = lat.len();
    println!(
        "  signals   {} agents wrote {} signals in {:.2} s: {} writes/s, p50 {}, p95 {}, 0 errors",
        a.agents,
        thousands(n as u64),
        t_sig.as_secs_f64(),
        rate(n as u64, t_sig),
        ms(lat[n / 2]),
        ms(lat[(n * 95 / 100).min(n - 1)])
    );

    // 7. CSV round trip of one series.
    let dir = tempfile_dir()?;
    let csv = dir.join(format!("{first}.csv"));
    let t0 = Instant::now();
    let f = std::fs::File::create(&csv)
        .map_err(|e| CliError::new(format!("{}: {e}", csv.display())))?;
    write_csv(
        &one,
        std::io::BufWriter::new(f),
        &CsvWriteOptions::default(),
    )
    .map_err(|e| CliError::new(format!("{}: {e}", csv.display())))?;
    let t_exp = t0.elapsed();
    let t0 = Instant::now();
    let back: Bars = read_csv(&csv, &CsvOptions::default(), &mut |_, _| {})?;
    let t_imp = t0.elapsed();
    let size = std::fs::metadata(&csv).map_or(0, |m| m.len());
    let _ = std::fs::remove_dir_all(&dir);
    if back != one {
        return Err(fail("CSV export and import did not round-trip"));
    }
    println!(
        "  csv       {first}: export {} ({}) and import {} ({} rows/s), identical",
        ms(t_exp),
        human_bytes(size),
        ms(t_imp),
        rate(back.len() as u64, t_imp)
    );

    // 8. Indicators over every series, then an EMA-cross grid backtest over all of them.
    let all: Vec<Bars> = (0..a.symbols)
        .map(|i| market.read(&symbol_name(i), tf, &generated))
        .collect::<Result<_, _>>()?;
    indicators_and_backtest(&a, &all)?;

    let gaps = market.gaps(&first, tf, &Query::all())?;
    market.db().flush()?;
    let disk = dir_size(&g.data);
    println!(
        "  store     {} series, {} gaps in {first}, {} on disk ({:.1} bytes/bar)",
        market.series()?.len(),
        gaps.len(),
        human_bytes(disk),
        disk as f64 / (r.total_bars + 10_000) as f64
    );
    println!(
        "Try: amdb symbols | amdb bars {first} {tf} --tail 5 | amdb bars versions {first} {tf}"
    );
    market.close()?;
    Ok(())
}

/// Step 8: a five-indicator frame per series, checked against streaming state, then a
/// 10 x 10 EMA-cross grid over every series and a report of the best point.
fn indicators_and_backtest(a: &DemoArgs, all: &[Bars]) -> CliResult {
    use amdb_ta::backtest::{self, BarSeries, Config, Grid, Params, Sizing};

    let t0 = Instant::now();
    let mut values = 0u64;
    for b in all {
        let cols = [
            amdb_ta::ema(&b.close, 7),
            amdb_ta::ema(&b.close, 25),
            amdb_ta::rsi(&b.close, 14),
            amdb_ta::volume_ratio(&b.volume, 20),
            amdb_ta::volatility(&b.close, 20),
        ];
        values += cols.iter().map(|c| c.len() as u64).sum::<u64>();
    }
    let t_ind = t0.elapsed();
    // Streaming state gives the batch numbers bit for bit (the last series, RSI).
    let last = &all[all.len() - 1];
    let batch = amdb_ta::rsi(&last.close, 14);
    let mut state = amdb_ta::Rsi::new(14);
    let same = last.close.iter().zip(&batch).all(|(&c, &b)| {
        let v = state.update(c).unwrap_or(f64::NAN);
        v.to_bits() == b.to_bits()
    });
    if !same {
        return Err(fail("streaming RSI differs from batch RSI"));
    }
    println!(
        "  ta        EMA7, EMA25, RSI14, volume ratio, volatility over {} series: {} values in {} ({} values/s); streaming = batch",
        all.len(),
        thousands(values),
        ms(t_ind),
        rate(values, t_ind)
    );

    let names: Vec<String> = (0..all.len()).map(symbol_name).collect();
    let series: Vec<BarSeries<'_>> = all
        .iter()
        .zip(&names)
        .map(|(b, n)| BarSeries::new(n, &b.ts, &b.open, &b.high, &b.low, &b.close, &b.volume))
        .collect::<Result<_, _>>()?;
    let grid = Grid::parse("fast=5..14,slow=20..29")?;
    let config = Config {
        record: false,
        ..Config::default()
    };
    let factory = |p: &Params| backtest::builtin("ema-cross", p);
    let t0 = Instant::now();
    let result = backtest::run_grid(&series, &factory, &Params::default(), &grid, &config)?;
    let t_grid = t0.elapsed();
    let best = result
        .best("sharpe")
        .ok_or_else(|| fail("no grid point ran"))?;
    let runs = (result.points.len() * series.len()) as u64;
    let bars: u64 = runs / series.len() as u64 * all.iter().map(|b| b.len() as u64).sum::<u64>();
    println!(
        "  backtest  EMA-cross grid fast=5..14 x slow=20..29 on {} series: {} backtests ({} bars) in {:.2} s; best mean Sharpe {:.2} at {}",
        series.len(),
        thousands(runs),
        thousands(bars),
        t_grid.as_secs_f64(),
        result.mean(best, "sharpe"),
        result.points[best].label()
    );

    // The best point as a portfolio, with a full report.
    let portfolio = Config {
        sizing: Sizing::Equity(1.0 / series.len() as f64),
        ..Config::default()
    };
    let mut strategies = series
        .iter()
        .map(|_| backtest::builtin("ema-cross", &result.points[best]))
        .collect::<Result<Vec<_>, _>>()?;
    let run = backtest::run_portfolio(&series, &mut strategies, &portfolio)?;
    let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
    let report = backtest::run_report(
        &format!(
            "ema-cross {} on {} symbols",
            result.points[best].label(),
            series.len()
        ),
        backtest::describe("ema-cross", &result.points[best], &portfolio),
        &run,
        &names_ref,
        Some(backtest::buy_and_hold(&series, portfolio.initial_cash)),
    );
    let heat = backtest::grid_report("mean Sharpe of ema-cross", &grid, &result, "sharpe");
    amdb_ta::report::write_report_dir(&a.report, &report, heat.as_ref())
        .map_err(|e| CliError::new(format!("writing the report: {e}")))?;
    println!(
        "  report    portfolio of {} at {}: return {:.2}%, max drawdown {:.2}%, {} trades; charts and HTML in {}",
        series.len(),
        result.points[best].label(),
        run.metrics.total_return * 100.0,
        run.metrics.max_drawdown * 100.0,
        run.metrics.trades,
        a.report.display()
    );
    Ok(())
}

/// Runs `f` `n` times; returns the last result and the fastest time.
fn best_of<T, E>(n: usize, mut f: impl FnMut() -> Result<T, E>) -> CliResult<(T, Duration)>
where
    CliError: From<E>,
{
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..n {
        let t0 = Instant::now();
        let v = f()?;
        best = best.min(t0.elapsed());
        last = Some(v);
    }
    Ok((last.expect("n >= 1"), best))
}

/// `agents` threads each write `each` signals; returns sorted latencies and the wall time.
fn agents(market: &Market, agents: usize, each: usize) -> CliResult<(Vec<Duration>, Duration)> {
    let lat = Mutex::new(Vec::with_capacity(agents * each));
    let failure = Mutex::new(None);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for agent in 0..agents {
            let (lat, failure) = (&lat, &failure);
            s.spawn(move || {
                let name = format!("agent-{agent:02}");
                let mut mine = Vec::with_capacity(each);
                for i in 0..each {
                    let signal = Signal {
                        side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                        strength: (i % 10) as f64 / 10.0,
                        price: 100.0 + i as f64 * 0.01,
                        reason: "ema-cross".into(),
                    };
                    let t = Instant::now();
                    let ts = amdb_market::gen::DEFAULT_START_NS + i as i64;
                    if let Err(e) =
                        market.put_event("signals", ts, &name, &symbol_name(agent), &signal)
                    {
                        *failure.lock().expect("not poisoned") = Some(e);
                        return;
                    }
                    mine.push(t.elapsed());
                }
                lat.lock().expect("not poisoned").extend(mine);
            });
        }
    });
    let wall = t0.elapsed();
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e.into());
    }
    let mut lat = lat.into_inner().expect("not poisoned");
    if lat.is_empty() {
        return Err(CliError::new("--agents and --signals must be at least 1"));
    }
    lat.sort();
    Ok((lat, wall))
}

fn tempfile_dir() -> CliResult<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("amdb-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| CliError::new(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

fn dir_size(p: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
