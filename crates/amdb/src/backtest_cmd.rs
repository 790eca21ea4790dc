//! `amdb backtest`: run a strategy (or a parameter grid) over stored series or a file, print
//! a summary and write a report directory.

use std::path::PathBuf;

use amdb_market::events::EventQuery;
use amdb_market::{AsOf, Bars, Market, Query, Timeframe};
use amdb_ta::backtest::{
    self, BacktestError, BarSeries, Config, ExternalSignals, FillAt, Grid, Metrics, OrderType,
    Params, Signal, Sizing, Strategy,
};
use amdb_ta::report;
use clap::{Args, ValueEnum};

use crate::cli::GlobalArgs;
use crate::market::{parse_as_of, parse_time, parse_timeframe, readable};
use crate::output::progress;
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
#[command(after_help = "Strategies (parameters and defaults):\n  \
ema-cross           fast=7 slow=25: long when EMA(fast) crosses above EMA(slow), out (or short) below\n  \
rsi-reversion       period=14 lower=30 upper=70 exit=50: long under lower, short over upper, out at exit\n  \
bollinger-breakout  period=20 k=2: long over SMA+k*sd, short under SMA-k*sd, out at the SMA\n  \
signals             the agents' stored signals (events table --signals-table), by their side field:\n                      buy = long, sell = short (or out without --short), flat = out\n\n\
Examples:\n  \
amdb backtest --strategy ema-cross --param fast=7 --param slow=25 --symbols SYM000 --timeframe 15m --report out/\n  \
amdb backtest --strategy ema-cross --symbols all --timeframe 15m --grid fast=5..14,slow=20..29 --report grid/\n  \
amdb backtest --strategy bollinger-breakout --input bars.csv --short")]
pub struct BacktestArgs {
    /// ema-cross, rsi-reversion, bollinger-breakout, or signals.
    #[arg(long, short = 's', default_value = "ema-cross", value_name = "NAME")]
    pub strategy: String,
    /// A strategy parameter, NAME=VALUE (repeat for several).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Symbols to trade, comma-separated, or `all` for every stored series of --timeframe.
    #[arg(long, default_value = "all", value_name = "LIST|all")]
    pub symbols: String,
    /// The bars' timeframe (required unless --input).
    #[arg(long, short = 't', value_parser = parse_timeframe, required_unless_present = "input")]
    pub timeframe: Option<Timeframe>,
    /// Backtest bars from this file (CSV, Parquet, Arrow IPC, JSON lines) instead.
    #[arg(long, value_name = "FILE", conflicts_with = "as_of")]
    pub input: Option<PathBuf>,
    /// First bar time (RFC 3339, a date, or epoch s/ms/ns).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub from: Option<i64>,
    /// Bars before this time only.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub to: Option<i64>,
    /// Read older versions of the series (a version number or a time).
    #[arg(long, value_parser = parse_as_of, value_name = "VERSION|TIME")]
    pub as_of: Option<AsOf>,

    /// Starting cash.
    #[arg(long, default_value_t = 10_000.0, value_name = "AMOUNT")]
    pub cash: f64,
    /// Fee per fill as a fraction of traded value (0.001 = 0.1%).
    #[arg(long, default_value_t = 0.001, value_name = "FRACTION")]
    pub fee: f64,
    /// Fixed fee per fill.
    #[arg(long, default_value_t = 0.0, value_name = "AMOUNT")]
    pub fee_fixed: f64,
    /// Slippage on market fills, in basis points.
    #[arg(long, default_value_t = 0.0, value_name = "BPS")]
    pub slippage_bps: f64,
    /// Position size: equity:F (a fraction of equity), cash:AMOUNT or units:N. Default:
    /// equity:1 for one symbol, an equal share of equity per symbol for a portfolio.
    #[arg(long, value_name = "KIND:VALUE")]
    pub size: Option<String>,
    /// When orders decided at a bar's close are filled.
    #[arg(long, value_enum, default_value_t = Fill::NextOpen)]
    pub fill: Fill,
    /// Allow short positions (otherwise sell signals only close longs).
    #[arg(long)]
    pub short: bool,

    /// Run a parameter grid, e.g. fast=5..14,slow=20..29 or k=1.5..3:0.5,period=10/20/30:
    /// every point on every symbol separately (in parallel); ranked by --metric.
    #[arg(long, value_name = "SPEC")]
    pub grid: Option<String>,
    /// The metric grids rank by and the heatmap shows.
    #[arg(long, default_value = "sharpe", value_name = "NAME")]
    pub metric: String,
    /// Events table holding the agents' signals (for --strategy signals).
    #[arg(long, default_value = "signals", value_name = "TABLE")]
    pub signals_table: String,
    /// Only this agent's signals (for --strategy signals).
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,

    /// Write summary.txt, result.json, equity.png and report.html (and the grid's
    /// heatmap.png and grid.json) into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Print the JSON result instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fill {
    /// At the next bar's open: no look-ahead.
    NextOpen,
    /// At the signal bar's close (as vectorbt does).
    Close,
}

impl From<BacktestError> for CliError {
    fn from(e: BacktestError) -> Self {
        CliError::new(e.to_string())
    }
}

struct Loaded {
    names: Vec<String>,
    bars: Vec<Bars>,
}

impl Loaded {
    fn series(&self) -> CliResult<Vec<BarSeries<'_>>> {
        self.names
            .iter()
            .zip(&self.bars)
            .map(|(n, b)| {
                BarSeries::new(n, &b.ts, &b.open, &b.high, &b.low, &b.close, &b.volume)
                    .map_err(CliError::from)
            })
            .collect()
    }
}

pub fn run(g: &GlobalArgs, a: BacktestArgs) -> CliResult {
    let mut params = Params::default();
    for p in &a.params {
        let (name, value) = Params::parse_one(p)?;
        params.set(&name, value);
    }
    if a.strategy != "signals" {
        // Fail on a bad strategy or parameter before reading anything. With a grid, the
        // points override the base parameters, so only the name is checked here; points
        // that are invalid are reported by the grid.
        if a.grid.is_none() {
            backtest::builtin(&a.strategy, &params)?;
        } else if !backtest::BUILTINS.iter().any(|b| b.name == a.strategy) {
            backtest::builtin(&a.strategy, &Params::default())?;
        }
    }
    if !Metrics::NAMES.contains(&a.metric.as_str()) {
        return Err(CliError::new(format!(
            "--metric {}: metrics are {}",
            a.metric,
            Metrics::NAMES.join(", ")
        )));
    }
    let grid = a.grid.as_deref().map(Grid::parse).transpose()?;
    let market = if a.input.is_none() || a.strategy == "signals" {
        Some(readable(g)?)
    } else {
        None
    };
    let loaded = load(market.as_ref(), &a)?;
    let series = loaded.series()?;
    let config = config(&a, series.len())?;
    config.validate()?;
    match grid {
        Some(grid) => run_grid(&a, &params, &grid, &series, &config),
        None => run_one(market.as_ref(), &a, &params, &series, &config),
    }
}

fn config(a: &BacktestArgs, symbols: usize) -> CliResult<Config> {
    let sizing = match &a.size {
        None => Sizing::Equity(1.0 / symbols.max(1) as f64),
        Some(s) => {
            let bad = || {
                CliError::new(format!(
                    "--size {s:?}: expected equity:FRACTION, cash:AMOUNT or units:N"
                ))
            };
            let (kind, value) = s.split_once(':').ok_or_else(bad)?;
            let v: f64 = value.parse().map_err(|_| bad())?;
            match kind {
                "equity" => Sizing::Equity(v),
                "cash" => Sizing::Cash(v),
                "units" => Sizing::Units(v),
                _ => return Err(bad()),
            }
        }
    };
    Ok(Config {
        initial_cash: a.cash,
        fee_rate: a.fee,
        fee_fixed: a.fee_fixed,
        slippage_bps: a.slippage_bps,
        sizing,
        fill_at: match a.fill {
            Fill::NextOpen => FillAt::NextOpen,
            Fill::Close => FillAt::Close,
        },
        allow_short: a.short,
        record: true,
    })
}

fn load(market: Option<&Market>, a: &BacktestArgs) -> CliResult<Loaded> {
    if let Some(file) = &a.input {
        let bars = crate::import::read_bars_file(file, a.from, a.to)?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        return Ok(Loaded {
            names: vec![name],
            bars: vec![bars],
        });
    }
    let market = market.expect("a store is open when there is no --input");
    let tf = a
        .timeframe
        .expect("clap requires --timeframe without --input");
    let names: Vec<String> = if a.symbols == "all" {
        let mut names: Vec<String> = market
            .series()?
            .into_iter()
            .filter(|s| s.timeframe == tf)
            .map(|s| s.symbol)
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(CliError::new(format!(
                "no stored series of timeframe {tf} (see `amdb symbols`)"
            )));
        }
        names
    } else {
        a.symbols
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let query = Query {
        from: a.from,
        to: a.to,
        as_of: a.as_of.unwrap_or_default(),
    };
    let pb = progress(Some(names.len() as u64), "read");
    let mut bars = Vec::with_capacity(names.len());
    for name in &names {
        let b = market.read(name, tf, &query)?;
        if b.is_empty() {
            return Err(CliError::new(format!(
                "{name} {tf}: no bars in the range asked for"
            )));
        }
        bars.push(b);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(Loaded { names, bars })
}

/// The agents' stored signals for one symbol, as the backtester's signals.
fn stored_signals(
    market: &Market,
    a: &BacktestArgs,
    symbol: &str,
) -> CliResult<Vec<(i64, Signal)>> {
    let events = market.events(
        &a.signals_table,
        &EventQuery {
            // Signals from before the backtest's first bar are not replayed into it.
            from: a.from,
            to: a.to,
            agent: a.agent.clone(),
            symbol: Some(symbol.to_string()),
            limit: None,
        },
    )?;
    events
        .iter()
        .map(|e| {
            // Only `side` matters here; agents may store any other fields beside it.
            let payload = e.payload_json()?;
            let signal = match payload["side"].as_str() {
                Some("buy") => Signal::Long(OrderType::Market),
                Some("sell") => Signal::Short(OrderType::Market),
                Some("flat") | Some("exit") => Signal::Flat(OrderType::Market),
                _ => {
                    let (table, side) = (&a.signals_table, &payload["side"]);
                    return Err(CliError::new(format!(
                        "{table} event {} of agent {:?}: side is {side}, expected buy, sell or flat",
                        e.seq, e.agent
                    )));
                }
            };
            Ok((e.ts, signal))
        })
        .collect()
}

fn strategies(
    market: Option<&Market>,
    a: &BacktestArgs,
    params: &Params,
    series: &[BarSeries<'_>],
) -> CliResult<Vec<Box<dyn Strategy>>> {
    series
        .iter()
        .map(|s| -> CliResult<Box<dyn Strategy>> {
            if a.strategy == "signals" {
                let market = market.expect("signals need the store");
                Ok(Box::new(ExternalSignals::new(stored_signals(
                    market, a, s.symbol,
                )?)))
            } else {
                Ok(backtest::builtin(&a.strategy, params)?)
            }
        })
        .collect()
}

fn run_one(
    market: Option<&Market>,
    a: &BacktestArgs,
    params: &Params,
    series: &[BarSeries<'_>],
    config: &Config,
) -> CliResult {
    let mut strategies = strategies(market, a, params, series)?;
    // A portfolio of one symbol is exactly a single run (a test holds them equal).
    let result = backtest::run_portfolio(series, &mut strategies, config)?;
    let names: Vec<&str> = series.iter().map(|s| s.symbol).collect();
    let title = if names.len() == 1 {
        format!("{} on {}", a.strategy, names[0])
    } else {
        format!("{} on {} symbols", a.strategy, names.len())
    };
    let benchmark = backtest::buy_and_hold(series, config.initial_cash);
    let run_report = backtest::run_report(
        &title,
        backtest::describe(&a.strategy, params, config),
        &result,
        &names,
        Some(benchmark),
    );
    if a.json {
        println!("{}", report::to_json(&run_report));
    } else {
        print!("{}", report::text_summary(&run_report));
    }
    if let Some(dir) = &a.report {
        write_dir(dir, &run_report, None)?;
    }
    Ok(())
}

fn write_dir(
    dir: &std::path::Path,
    run: &report::RunReport,
    grid: Option<&report::GridReport>,
) -> CliResult {
    let written = report::write_report_dir(dir, run, grid)
        .map_err(|e| CliError::new(format!("writing the report: {e}")))?;
    eprintln!("report: {}", dir.display());
    for path in written {
        eprintln!("  {}", path.display());
    }
    Ok(())
}

fn run_grid(
    a: &BacktestArgs,
    params: &Params,
    grid: &Grid,
    series: &[BarSeries<'_>],
    config: &Config,
) -> CliResult {
    if a.strategy == "signals" {
        return Err(CliError::new(
            "--grid needs a built-in strategy, not signals",
        ));
    }
    // Grid points run each symbol alone: all of the equity per symbol unless --size says.
    let per_symbol = Config {
        sizing: if a.size.is_none() {
            Sizing::Equity(1.0)
        } else {
            config.sizing
        },
        ..config.clone()
    };
    let factory = |p: &Params| backtest::builtin(&a.strategy, p);
    let started = std::time::Instant::now();
    let result = backtest::run_grid(series, &factory, params, grid, &per_symbol)?;
    let elapsed = started.elapsed();
    let Some(best) = result.best(&a.metric) else {
        return Err(CliError::new(format!(
            "no grid point could run{}",
            result
                .invalid
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        )));
    };
    let ranked = result.ranked(&a.metric);
    if a.json {
        for &p in &ranked {
            let mut row = serde_json::Map::new();
            row.insert("params".into(), result.points[p].label().into());
            for m in Metrics::NAMES {
                let v = result.mean(p, m);
                row.insert(
                    format!("mean_{m}"),
                    if v.is_finite() {
                        v.into()
                    } else {
                        serde_json::Value::Null
                    },
                );
            }
            println!("{}", serde_json::Value::Object(row));
        }
    } else {
        println!(
            "{} x {} symbols = {} backtests in {:.2} s, ranked by mean {}",
            result.points.len(),
            series.len(),
            result.points.len() * series.len(),
            elapsed.as_secs_f64(),
            a.metric
        );
        if let Some(why) = &result.invalid {
            println!("some points were skipped: {why}");
        }
        println!(
            "{:<28} {:>10} {:>12} {:>12} {:>9}",
            "params", a.metric, "return", "max dd", "trades"
        );
        for &p in ranked.iter().take(10) {
            println!(
                "{:<28} {:>10.3} {:>11.2}% {:>11.2}% {:>9.0}",
                result.points[p].label(),
                result.mean(p, &a.metric),
                result.mean(p, "total_return") * 100.0,
                result.mean(p, "max_drawdown") * 100.0,
                result.mean(p, "trades"),
            );
        }
    }
    if let Some(dir) = &a.report {
        // The report shows the best point run in full: equity, trades, charts.
        let best_params = &result.points[best];
        let mut strategies: Vec<Box<dyn Strategy>> = series
            .iter()
            .map(|_| backtest::builtin(&a.strategy, best_params))
            .collect::<Result<_, _>>()?;
        // `config` is the portfolio's: an equal share per symbol unless --size says otherwise.
        let full = backtest::run_portfolio(series, &mut strategies, config)?;
        let names: Vec<&str> = series.iter().map(|s| s.symbol).collect();
        let title = format!(
            "{} {} on {} symbol(s) (best of the grid by {})",
            a.strategy,
            best_params.label(),
            names.len(),
            a.metric
        );
        let run_report = backtest::run_report(
            &title,
            backtest::describe(&a.strategy, best_params, config),
            &full,
            &names,
            Some(backtest::buy_and_hold(series, config.initial_cash)),
        );
        let heat = backtest::grid_report(
            &format!(
                "mean {} of {} over {} symbol(s)",
                a.metric,
                a.strategy,
                names.len()
            ),
            grid,
            &result,
            &a.metric,
        );
        write_dir(dir, &run_report, heat.as_ref())?;
    }
    Ok(())
}
