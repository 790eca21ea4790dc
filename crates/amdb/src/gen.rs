//! `amdb gen bars`: deterministic synthetic OHLCV series written into the store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use amdb_market::gen::{bars_for_years, generate, symbol_name, DEFAULT_START_NS};
use amdb_market::time::format_time;
use amdb_market::{Market, Timeframe};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::market::{parse_time, parse_timeframe, writable};
use crate::output::{progress, rate, thousands};
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(subcommand)]
    pub what: GenWhat,
}

#[derive(Debug, Subcommand)]
pub enum GenWhat {
    /// Generate synthetic bars for SYM000, SYM001, ... and write them into the store.
    ///
    /// Prices follow a geometric random walk (each symbol its own level between 10 and 1000
    /// and annual volatility between 20% and 90%), on a 0.01 tick, with high/low wicks and
    /// whole-number volumes that are busier in the afternoon UTC. The same arguments always
    /// give the same bars, so runs are reproducible. Existing series of the same names are
    /// upserted (a new version each).
    Bars(GenBarsArgs),
}

#[derive(Debug, Args)]
pub struct GenBarsArgs {
    /// Number of symbols.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub symbols: usize,
    /// Bar width: 1m, 5m, 15m, 30m, 1h, 4h, 1d or any `<count><s|m|h|d|w>`.
    #[arg(long, default_value = "15m", value_parser = parse_timeframe, value_name = "TF")]
    pub timeframe: Timeframe,
    /// Years of bars per symbol (fractions allowed).
    #[arg(long, default_value_t = 4.0, value_name = "Y")]
    pub years: f64,
    /// Open time of the first bar. Default 2022-01-01T00:00:00Z.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub start: Option<i64>,
    /// Random seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
}

pub fn run(g: &GlobalArgs, args: GenArgs) -> CliResult {
    match args.what {
        GenWhat::Bars(a) => {
            let market = writable(g)?;
            let report = gen_bars(&market, &a, true)?;
            println!(
                "generated {} series x {} bars of {} ({} bars, {} to {}) in {:.2} s: {} bars/s",
                a.symbols,
                thousands(report.bars_per_symbol as u64),
                a.timeframe,
                thousands(report.total_bars),
                format_time(report.start),
                format_time(report.end),
                report.seconds,
                rate(
                    report.total_bars,
                    std::time::Duration::from_secs_f64(report.seconds)
                ),
            );
            market.close()?;
            Ok(())
        }
    }
}

pub struct GenReport {
    pub bars_per_symbol: usize,
    pub total_bars: u64,
    pub start: i64,
    /// Open time of the last bar.
    pub end: i64,
    pub seconds: f64,
}

/// Generates and writes the series, a worker per core pulling symbols from a shared
/// counter; each series is one atomic, durable write.
pub fn gen_bars(market: &Market, a: &GenBarsArgs, show_progress: bool) -> CliResult<GenReport> {
    if a.symbols == 0 || a.symbols > 100_000 {
        return Err(CliError::new("--symbols must be between 1 and 100000"));
    }
    if !(a.years > 0.0 && a.years <= 1000.0) {
        return Err(CliError::new(format!(
            "--years {} must be more than 0 and at most 1000",
            a.years
        )));
    }
    let per = bars_for_years(a.timeframe, a.years);
    if per == 0 || per.checked_mul(a.symbols).is_none_or(|n| n > 1 << 40) {
        return Err(CliError::new(format!(
            "--years {} gives no {} bars",
            a.years, a.timeframe
        )));
    }
    let start = a.start.unwrap_or(DEFAULT_START_NS);
    let total = (per * a.symbols) as u64;
    let pb = if show_progress {
        progress(Some(total), "gen")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<CliError>> = Mutex::new(None);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(a.symbols);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= a.symbols || failure.lock().expect("not poisoned").is_some() {
                    return;
                }
                let bars = generate(a.seed, i, a.timeframe, start, per);
                if let Err(e) = market.write(&symbol_name(i), a.timeframe, bars) {
                    *failure.lock().expect("not poisoned") = Some(e.into());
                    return;
                }
                pb.inc(per as u64);
            });
        }
    });
    pb.finish_and_clear();
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    Ok(GenReport {
        bars_per_symbol: per,
        total_bars: total,
        start,
        end: start + (per as i64 - 1) * a.timeframe.nanos(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}
