//! `amdb bars`: read a series (any range, any version) and its gaps, versions and pruning.

use std::path::PathBuf;

use amdb_market::time::format_time;
use amdb_market::{AsOf, BarStream, PrunePolicy, Query, Timeframe};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::market::{parse_as_of, parse_time, parse_timeframe, readable, writable};
use crate::output::{print, stdout_err, thousands};
use crate::sink::{Format, Sink};
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BarsArgs {
    #[command(subcommand)]
    pub command: Option<BarsCommand>,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// Which series and which part of it.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    /// The symbol, e.g. AAPL or BTC/USDT.
    #[arg(required = true)]
    pub symbol: Option<String>,
    /// The timeframe: 1m, 5m, 15m, 30m, 1h, 4h, 1d or `<count><s|m|h|d|w>`.
    #[arg(required = true, value_parser = parse_timeframe)]
    pub timeframe: Option<Timeframe>,
    /// First bar open time to include: RFC 3339 (2024-01-02T13:45:00Z), a date (midnight
    /// UTC), or epoch seconds/ms/ns.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub from: Option<i64>,
    /// Bars opening before this time only (exclusive).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub to: Option<i64>,
}

impl SeriesArgs {
    pub fn series(&self) -> (&str, Timeframe) {
        (
            self.symbol.as_deref().expect("clap requires SYMBOL"),
            self.timeframe.expect("clap requires TF"),
        )
    }
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Read an older version: a version number (`3` or `v3`; see `amdb bars versions`) or a
    /// time (the newest version written at or before it; 8+ digit numbers such as 20240102
    /// are times).
    #[arg(long, value_parser = parse_as_of, value_name = "VERSION|TIME")]
    pub as_of: Option<AsOf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only the last N bars of the range.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum BarsCommand {
    /// List missing bars: every place where consecutive bars are more than one timeframe
    /// apart (weekends and holidays of exchanges that close show up too). Nothing is filled.
    Gaps {
        #[command(flatten)]
        series: SeriesArgs,
        /// Print one JSON object per gap instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the stored versions of a series, oldest first: each write makes one.
    Versions {
        #[command(flatten)]
        series: SeriesArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete old versions (and the chunks only they use). The latest version is always
    /// kept; with both rules, a version either rule keeps is kept.
    Prune {
        #[command(flatten)]
        series: SeriesArgs,
        /// Keep the newest N versions.
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Keep versions written at or after TIME.
        #[arg(long, value_parser = parse_time, value_name = "TIME")]
        keep_newer_than: Option<i64>,
    },
}

pub fn run(g: &GlobalArgs, args: BarsArgs) -> CliResult {
    match args.command {
        None => read(g, args.read),
        Some(BarsCommand::Gaps { series, json }) => gaps(g, series, json),
        Some(BarsCommand::Versions { series, json }) => versions(g, series, json),
        Some(BarsCommand::Prune {
            series,
            keep_last,
            keep_newer_than,
        }) => {
            if keep_last.is_none() && keep_newer_than.is_none() {
                return Err(CliError::new(
                    "say what to keep: --keep-last N and/or --keep-newer-than TIME",
                ));
            }
            let market = writable(g)?;
            let (symbol, tf) = series.series();
            let r = market.prune(
                symbol,
                tf,
                PrunePolicy {
                    keep_last,
                    keep_newer_than,
                },
            )?;
            println!(
                "{symbol} {tf}: deleted {} versions and {} chunks, kept {} versions",
                r.versions_deleted, r.chunks_deleted, r.versions_kept
            );
            market.close()?;
            Ok(())
        }
    }
}

pub fn query(s: &SeriesArgs, as_of: Option<AsOf>) -> CliResult<Query> {
    if let (Some(f), Some(t)) = (s.from, s.to) {
        if f >= t {
            return Err(CliError::new(format!(
                "--from {} is not before --to {}",
                format_time(f),
                format_time(t)
            )));
        }
    }
    Ok(Query {
        from: s.from,
        to: s.to,
        as_of: as_of.unwrap_or_default(),
    })
}

fn read(g: &GlobalArgs, a: ReadArgs) -> CliResult {
    let market = readable(g)?;
    let (symbol, tf) = a.series.series();
    let q = query(&a.series, a.as_of)?;
    // Resolve the series and version before creating the output file, so a typo does not
    // truncate an existing file.
    match a.tail {
        Some(n) => {
            let bars = market.read(symbol, tf, &q)?;
            let start = bars.len().saturating_sub(n);
            let mut sink = Sink::open(a.format, a.output.as_deref())?;
            sink.write(&bars.slice(start..bars.len()))?;
            sink.finish()?;
        }
        None => {
            let stream = market.stream(symbol, tf, &q)?;
            let mut sink = Sink::open(a.format, a.output.as_deref())?;
            stream_to(stream, &mut sink)?;
            sink.finish()?;
        }
    }
    Ok(())
}

/// Writes a series stream into a sink chunk by chunk.
pub fn stream_to(stream: BarStream, sink: &mut Sink) -> CliResult<u64> {
    let mut rows = 0;
    for part in stream {
        let part = part?;
        rows += part.len() as u64;
        sink.write(&part)?;
    }
    Ok(rows)
}

fn gaps(g: &GlobalArgs, s: SeriesArgs, json: bool) -> CliResult {
    let market = readable(g)?;
    let (symbol, tf) = s.series();
    let gaps = market.gaps(symbol, tf, &query(&s, None)?)?;
    let mut out = std::io::stdout().lock();
    if json {
        for gap in &gaps {
            let line = serde_json::json!({
                "symbol": symbol, "timeframe": tf.to_string(),
                "from": format_time(gap.from), "to": format_time(gap.to), "missing": gap.missing,
            });
            print(&mut out, &format!("{line}\n"))?;
        }
        return Ok(());
    }
    if gaps.is_empty() {
        print(&mut out, &format!("{symbol} {tf}: no gaps\n"))?;
        return Ok(());
    }
    print(
        &mut out,
        &format!(
            "{:<24} {:<24} {:>10}\n",
            "missing from", "next bar at", "bars"
        ),
    )?;
    let mut total = 0;
    for gap in &gaps {
        total += gap.missing;
        print(
            &mut out,
            &format!(
                "{:<24} {:<24} {:>10}\n",
                format_time(gap.from),
                format_time(gap.to),
                thousands(gap.missing)
            ),
        )?;
    }
    print(
        &mut out,
        &format!(
            "{symbol} {tf}: {} gaps, {} missing bars\n",
            gaps.len(),
            thousands(total)
        ),
    )
}

fn versions(g: &GlobalArgs, s: SeriesArgs, json: bool) -> CliResult {
    let market = readable(g)?;
    let (symbol, tf) = s.series();
    let versions = market.versions(symbol, tf)?;
    let mut out = std::io::stdout().lock();
    let t = |x: Option<i64>| x.map(format_time).unwrap_or_default();
    if !json {
        print(
            &mut out,
            &format!(
                "{:>8} {:<30} {:>12} {:>7} {:<24} {:<24}\n",
                "version", "written", "bars", "chunks", "first", "last"
            ),
        )?;
    }
    for v in &versions {
        let line = if json {
            serde_json::json!({
                "version": v.version, "written": format_time(v.created_ns), "bars": v.rows,
                "chunks": v.chunks, "first": t(v.first_ts), "last": t(v.last_ts),
            })
            .to_string()
        } else {
            format!(
                "{:>8} {:<30} {:>12} {:>7} {:<24} {:<24}",
                v.version,
                format_time(v.created_ns),
                thousands(v.rows),
                v.chunks,
                t(v.first_ts),
                t(v.last_ts)
            )
        };
        print(&mut out, &format!("{line}\n"))?;
    }
    drop(out);
    std::io::Write::flush(&mut std::io::stdout()).map_err(stdout_err)
}
