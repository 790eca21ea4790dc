//! `amdb resample`: a series to a coarser timeframe, printed or stored as its own series.

use std::path::PathBuf;

use amdb_market::{resample, Timeframe};
use clap::Args;

use crate::bars::{query, SeriesArgs};
use crate::cli::GlobalArgs;
use crate::market::{parse_timeframe, readable, writable};
use crate::output::thousands;
use crate::sink::{Format, Sink};
use crate::CliResult;

#[derive(Debug, Args)]
pub struct ResampleArgs {
    #[command(flatten)]
    pub series: SeriesArgs,
    /// The target timeframe, a whole multiple of the source's (e.g. 15m to 1h).
    #[arg(value_parser = parse_timeframe, value_name = "TO")]
    pub to_timeframe: Timeframe,
    /// Leave out a last bucket that is still forming (its source bars do not reach its end).
    #[arg(long)]
    pub complete_only: bool,
    /// Store the result as series SYMBOL TO (a new version if it exists) instead of printing.
    #[arg(long)]
    pub store: bool,
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only the last N resampled bars.
    #[arg(long, value_name = "N", conflicts_with = "store")]
    pub tail: Option<usize>,
}

pub fn run(g: &GlobalArgs, a: ResampleArgs) -> CliResult {
    let (symbol, from_tf) = a.series.series();
    let mut q = query(&a.series, None)?;
    // Read from the start of the first target bucket, so it is not built from part of its
    // bars (and, with --store, does not overwrite a whole bar with a partial one).
    q.from = q.from.map(|f| a.to_timeframe.bucket_start(f));
    let bars = if a.store {
        let market = writable(g)?;
        let src = market.read(symbol, from_tf, &q)?;
        let out = resample(&src, from_tf, a.to_timeframe, a.complete_only)?;
        let n = out.len();
        let r = market.write(symbol, a.to_timeframe, out)?;
        println!(
            "{symbol} {from_tf} -> {}: {} bars from {} stored as version {}",
            a.to_timeframe,
            thousands(n as u64),
            thousands(src.len() as u64),
            r.version
        );
        market.close()?;
        return Ok(());
    } else {
        let market = readable(g)?;
        let src = market.read(symbol, from_tf, &q)?;
        resample(&src, from_tf, a.to_timeframe, a.complete_only)?
    };
    let start = a.tail.map_or(0, |n| bars.len().saturating_sub(n));
    let mut sink = Sink::open(a.format, a.output.as_deref())?;
    sink.write(&bars.slice(start..bars.len()))?;
    sink.finish()?;
    Ok(())
}
