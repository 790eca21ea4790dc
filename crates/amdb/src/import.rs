//! `amdb import bars`: files (CSV, Parquet, Arrow IPC, JSON lines, a SQLite table) into
//! series. Each file is one atomic write: a bad row stops the import of that file with its
//! file:line and nothing of that file is stored.

use std::path::{Path, PathBuf};
use std::time::Instant;

use amdb_market::io::csv::{read_csv, CsvOptions};
use amdb_market::io::{arrow::read_arrow_ipc, jsonl::read_jsonl, parquet::read_parquet};
use amdb_market::io::{sqlite::read_sqlite, ColumnMap};
use amdb_market::time::TimeUnit;
use amdb_market::{Bars, Timeframe};
use clap::{Args, Subcommand, ValueEnum};

use crate::cli::GlobalArgs;
use crate::market::{parse_timeframe, series_from_file_name, writable};
use crate::output::{progress, rate, thousands};
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Import OHLCV bars from files into series.
    ///
    /// Formats by extension (or --format): .csv/.tsv/.txt, .parquet, .arrow/.feather/.ipc,
    /// .jsonl/.ndjson, and .db/.sqlite/.sqlite3 (a table given by --table). Columns are found
    /// by name (time/timestamp/date/datetime/open_time or Date+Time, open/o, high/h, low/l,
    /// close/c, volume/vol/v; case and <> ignored) or set with --map. Times may be RFC 3339 /
    /// ISO 8601 (UTC unless an offset is given), dates, or epoch seconds, milliseconds,
    /// microseconds or nanoseconds (told apart by magnitude unless --time-unit is given). CSV
    /// delimiters (, ; tab |) and header rows are detected.
    ///
    /// Rows are upserted: a bar with a timestamp the series already has replaces it, any
    /// order is accepted. A bad row (high below low, NaN, negative volume, a time that does
    /// not parse) stops that file's import with FILE:LINE and nothing from the file is
    /// written. The series is --symbol, else the file name (`BTC-USDT_15m.csv` gives symbol
    /// BTC-USDT and timeframe 15m); the timeframe is --timeframe, else from the file name,
    /// else the most common spacing of the bars.
    Bars(ImportBarsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Auto,
    Csv,
    Parquet,
    Arrow,
    Jsonl,
    Sqlite,
}

#[derive(Debug, Args)]
pub struct ImportBarsArgs {
    /// Files to import.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Symbol of every file (default: from each file's name).
    #[arg(long, short = 's', value_name = "S")]
    pub symbol: Option<String>,
    /// Timeframe (default: from the file name, else inferred from the data).
    #[arg(long, short = 't', value_parser = parse_timeframe, value_name = "TF")]
    pub timeframe: Option<Timeframe>,
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,
    /// Table to read from a SQLite database.
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// CSV delimiter (a single character; `\t` or `tab` for tab). Default: detected.
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,
    /// Unit of epoch-number times: auto, s, ms, us, ns.
    #[arg(long, default_value = "auto", value_name = "UNIT")]
    pub time_unit: TimeUnit,
    /// Column mapping FIELD=COLUMN for fields time, open, high, low, close, volume, e.g.
    /// `--map time=Date --map close="Adj Close"`; the time may be `date+time` columns.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
}

pub fn run(g: &GlobalArgs, args: ImportArgs) -> CliResult {
    let ImportWhat::Bars(a) = args.what;
    let columns = column_map(&a.map)?;
    let delimiter = a.delimiter.as_deref().map(parse_delimiter).transpose()?;
    let market = writable(g)?;
    let t0 = Instant::now();
    let mut total_rows = 0u64;
    for (done, file) in a.files.iter().enumerate() {
        let started = Instant::now();
        // Each file is one atomic write: say what did and did not happen.
        let nothing_written = |e: CliError| {
            let earlier = if done > 0 {
                format!(" ({done} earlier files were imported)")
            } else {
                String::new()
            };
            CliError::new(format!(
                "{}; nothing from {} was written{earlier}",
                e.message,
                file.display()
            ))
        };
        let bars = read_file(file, &a, &columns, delimiter).map_err(nothing_written)?;
        let (name_symbol, name_tf) = series_from_file_name(file);
        let symbol = a.symbol.clone().or(name_symbol).ok_or_else(|| {
            CliError::new(format!(
                "{}: pass --symbol (the file name gives none)",
                file.display()
            ))
        })?;
        let tf = match a.timeframe.or(name_tf) {
            Some(tf) => tf,
            None => infer_timeframe(&bars).ok_or_else(|| {
                CliError::new(format!(
                    "{}: cannot infer the timeframe from fewer than 2 distinct times: pass --timeframe",
                    file.display()
                ))
            })?,
        };
        let rows = bars.len();
        let report = market
            .write(&symbol, tf, bars)
            .map_err(|e| nothing_written(CliError::new(format!("{}: {e}", file.display()))))?;
        total_rows += rows as u64;
        let elapsed = started.elapsed();
        println!(
            "{}: {} rows into {symbol} {tf} (version {}, {} bars in the series) in {:.3} s, {} rows/s",
            file.display(),
            thousands(rows as u64),
            report.version,
            thousands(report.rows_total),
            elapsed.as_secs_f64(),
            rate(rows as u64, elapsed)
        );
    }
    if a.files.len() > 1 {
        let elapsed = t0.elapsed();
        println!(
            "imported {} rows from {} files in {:.3} s, {} rows/s",
            thousands(total_rows),
            a.files.len(),
            elapsed.as_secs_f64(),
            rate(total_rows, elapsed)
        );
    }
    market.close()?;
    Ok(())
}

fn read_file(
    file: &Path,
    a: &ImportBarsArgs,
    columns: &ColumnMap,
    delimiter: Option<u8>,
) -> CliResult<Bars> {
    let format = match a.format {
        InputFormat::Auto => format_of(file)?,
        f => f,
    };
    let size = std::fs::metadata(file)
        .map_err(|e| CliError::new(format!("{}: {e}", file.display())))?
        .len();
    let pb = progress(Some(size), "read");
    let mut tick = |done: u64, total: u64| {
        pb.set_length(total.max(1));
        pb.set_position(done);
    };
    let bars = match format {
        InputFormat::Csv | InputFormat::Auto => {
            let opts = CsvOptions {
                delimiter,
                time_unit: a.time_unit,
                columns: columns.clone(),
                ..CsvOptions::default()
            };
            read_csv(file, &opts, &mut tick)?
        }
        InputFormat::Parquet => read_parquet(file, columns, &mut tick)?,
        InputFormat::Arrow => read_arrow_ipc(file, columns, &mut tick)?,
        InputFormat::Jsonl => read_jsonl(file, columns, &mut tick)?,
        InputFormat::Sqlite => {
            let table = a.table.as_deref().ok_or_else(|| {
                CliError::new(format!(
                    "{}: a SQLite database needs --table NAME",
                    file.display()
                ))
            })?;
            read_sqlite(file, table, columns, &mut tick)?
        }
    };
    pb.finish_and_clear();
    if bars.is_empty() {
        return Err(CliError::new(format!("{}: no rows", file.display())));
    }
    Ok(bars)
}

fn format_of(file: &Path) -> CliResult<InputFormat> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(match ext.as_str() {
        "csv" | "tsv" | "txt" => InputFormat::Csv,
        "parquet" | "pq" => InputFormat::Parquet,
        "arrow" | "feather" | "ipc" | "arrows" => InputFormat::Arrow,
        "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
        "db" | "sqlite" | "sqlite3" => InputFormat::Sqlite,
        _ => {
            return Err(CliError::new(format!(
                "{}: unknown file type {ext:?}: pass --format csv|parquet|arrow|jsonl|sqlite",
                file.display()
            )))
        }
    })
}

fn column_map(pairs: &[String]) -> CliResult<ColumnMap> {
    let mut m = ColumnMap::default();
    for p in pairs {
        let (field, col) = p.split_once('=').ok_or_else(|| {
            CliError::new(format!(
                "--map {p:?}: expected FIELD=COLUMN, e.g. close=\"Adj Close\""
            ))
        })?;
        let slot = match field.trim().to_ascii_lowercase().as_str() {
            "time" | "ts" | "timestamp" => &mut m.ts,
            "open" => &mut m.open,
            "high" => &mut m.high,
            "low" => &mut m.low,
            "close" => &mut m.close,
            "volume" => &mut m.volume,
            other => {
                return Err(CliError::new(format!(
                    "--map {p:?}: unknown field {other:?} (time, open, high, low, close, volume)"
                )))
            }
        };
        *slot = Some(col.to_string());
    }
    Ok(m)
}

fn parse_delimiter(s: &str) -> CliResult<u8> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(CliError::new(format!(
            "--delimiter {s:?}: expected one ASCII character or `tab`"
        ))),
    }
}

/// The most common positive spacing between consecutive distinct times.
pub fn infer_timeframe(bars: &Bars) -> Option<Timeframe> {
    let mut ts = bars.ts.clone();
    ts.sort_unstable();
    ts.dedup();
    let mut steps: Vec<i64> = ts
        .windows(2)
        .filter_map(|w| w[1].checked_sub(w[0]))
        .collect();
    if steps.is_empty() {
        return None;
    }
    steps.sort_unstable();
    let (mut best, mut best_n, mut i) = (steps[0], 0, 0);
    while i < steps.len() {
        let j = steps[i..].partition_point(|&s| s == steps[i]) + i;
        if j - i > best_n {
            best = steps[i];
            best_n = j - i;
        }
        i = j;
    }
    Timeframe::from_nanos(best)
}

/// Bars from a file in any format `import bars` reads by extension, with columns found by
/// name, opening in `[from, to)` (for `amdb ta --input` and `amdb backtest --input`). Times
/// must increase; an empty range is an error.
pub fn read_bars_file(file: &Path, from: Option<i64>, to: Option<i64>) -> CliResult<Bars> {
    let map = ColumnMap::default();
    let mut quiet = |_: u64, _: u64| {};
    let bars = match format_of(file)? {
        InputFormat::Csv | InputFormat::Auto => read_csv(file, &CsvOptions::default(), &mut quiet)?,
        InputFormat::Parquet => read_parquet(file, &map, &mut quiet)?,
        InputFormat::Arrow => read_arrow_ipc(file, &map, &mut quiet)?,
        InputFormat::Jsonl => read_jsonl(file, &map, &mut quiet)?,
        InputFormat::Sqlite => {
            return Err(CliError::new(format!(
                "{}: import SQLite tables with `amdb import bars --table`, then read the series",
                file.display()
            )))
        }
    };
    if bars.is_empty() {
        return Err(CliError::new(format!("{}: no rows", file.display())));
    }
    if let Some(i) = bars.ts.windows(2).position(|w| w[1] <= w[0]) {
        return Err(CliError::new(format!(
            "{}: times must increase, but bar {} ({}) is not after bar {} ({})",
            file.display(),
            i + 2,
            amdb_market::time::format_time(bars.ts[i + 1]),
            i + 1,
            amdb_market::time::format_time(bars.ts[i]),
        )));
    }
    let lo = from.map_or(0, |f| bars.ts.partition_point(|&t| t < f));
    let hi = to.map_or(bars.len(), |t| bars.ts.partition_point(|&x| x < t));
    if lo >= hi {
        return Err(CliError::new(format!(
            "{}: no bars in the range asked for",
            file.display()
        )));
    }
    Ok(bars.slice(lo..hi))
}
