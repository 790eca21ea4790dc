//! `amdb export`: series to CSV, Parquet, Arrow IPC or JSON lines files, streamed chunk by
//! chunk so memory stays bounded whatever the series' length.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::bars::{query, stream_to, SeriesArgs};
use crate::cli::GlobalArgs;
use crate::market::{parse_as_of, readable, series_file_name};
use crate::market::{parse_time, parse_timeframe};
use crate::output::{progress, rate, thousands};
use crate::sink::{Format, Sink};
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["symbol", "all"]))]
pub struct ExportArgs {
    /// The symbol to export (or --all).
    pub symbol: Option<String>,
    /// Its timeframe.
    #[arg(value_parser = parse_timeframe, required_unless_present = "all")]
    pub timeframe: Option<amdb_market::Timeframe>,
    /// First bar open time to include (RFC 3339, a date, or epoch s/ms/ns).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub from: Option<i64>,
    /// Bars opening before this time only (exclusive).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub to: Option<i64>,
    /// Export every series, one file each named SYMBOL_TF.EXT, into --dir.
    #[arg(long, conflicts_with_all = ["symbol", "timeframe", "output"])]
    pub all: bool,
    /// A version number or time to export instead of the latest (single series only).
    #[arg(long, value_parser = parse_as_of, value_name = "VERSION|TIME", conflicts_with = "all")]
    pub as_of: Option<amdb_market::AsOf>,
    /// File format: csv, parquet (zstd), arrow (IPC file) or json (JSON lines).
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Output file of a single series (default: SYMBOL_TF.EXT in --dir; `-` for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Directory for files named SYMBOL_TF.EXT (created if missing).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn run(g: &GlobalArgs, a: ExportArgs) -> CliResult {
    if a.format == Format::Table {
        return Err(CliError::new(
            "--format table is for `amdb bars`; export to csv, parquet, arrow or json",
        ));
    }
    let market = readable(g)?;
    let series: Vec<(String, amdb_market::Timeframe)> = if a.all {
        market
            .series()?
            .into_iter()
            .map(|s| (s.symbol, s.timeframe))
            .collect()
    } else {
        let s = a
            .symbol
            .clone()
            .expect("clap requires SYMBOL without --all");
        let tf = a.timeframe.expect("clap requires TF without --all");
        vec![(s, tf)]
    };
    if series.is_empty() {
        return Err(CliError::new(format!(
            "no series in {} to export",
            g.data.display()
        )));
    }
    let q = query(
        &SeriesArgs {
            symbol: None,
            timeframe: None,
            from: a.from,
            to: a.to,
        },
        a.as_of,
    )?;
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", a.dir.display())))?;
    let to_stdout = a.output.as_deref() == Some(std::path::Path::new("-"));
    let pb = if to_stdout {
        indicatif::ProgressBar::hidden()
    } else {
        progress(Some(series.len() as u64), "export")
    };
    let t0 = Instant::now();
    let mut total = 0u64;
    for (symbol, tf) in &series {
        let path = match &a.output {
            Some(p) => p.clone(),
            None => a
                .dir
                .join(series_file_name(symbol, *tf, a.format.extension())),
        };
        let stream = market.stream(symbol, *tf, &q)?;
        let mut sink = Sink::open(a.format, Some(&path))?;
        stream_to(stream, &mut sink)?;
        let rows = sink.finish()?;
        total += rows;
        pb.inc(1);
        if !to_stdout {
            pb.suspend(|| {
                println!(
                    "{}: {} bars of {symbol} {tf}",
                    path.display(),
                    thousands(rows)
                )
            });
        }
    }
    pb.finish_and_clear();
    if !to_stdout {
        let elapsed = t0.elapsed();
        println!(
            "exported {} bars of {} series in {:.3} s, {} bars/s",
            thousands(total),
            series.len(),
            elapsed.as_secs_f64(),
            rate(total, elapsed)
        );
    }
    Ok(())
}
