//! `amdb ta`: indicators over a stored series or a file, printed as a table, CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use amdb_market::time::format_time;
use amdb_market::{AsOf, Bars, Timeframe};
use clap::{Args, ValueEnum};

use crate::bars::query;
use crate::bars::SeriesArgs;
use crate::cli::GlobalArgs;
use crate::market::{parse_as_of, readable};
use crate::output::stdout_err;
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  amdb ta SYM000 15m --rsi 14 --ema 7,25 --tail 20\n  \
amdb ta SYM000 1h --macd --bbands 20,2 --format csv -o out.csv\n  \
amdb ta --input bars.csv --atr 14 --vwap"
)]
pub struct TaArgs {
    /// The symbol, e.g. AAPL or BTC/USDT (not with --input).
    #[arg(required_unless_present = "input")]
    pub symbol: Option<String>,
    /// The timeframe: 1m, 5m, 15m, 30m, 1h, 4h, 1d or `<count><s|m|h|d|w>`.
    #[arg(required_unless_present = "input", value_parser = crate::market::parse_timeframe)]
    pub timeframe: Option<Timeframe>,
    /// Read bars from this file instead of the store (CSV, Parquet, Arrow IPC, JSON lines).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["symbol", "as_of"])]
    pub input: Option<PathBuf>,
    /// First bar open time to include (RFC 3339, a date, or epoch s/ms/ns). Indicators
    /// warm up from here: earlier bars are not read.
    #[arg(long, value_parser = crate::market::parse_time, value_name = "TIME")]
    pub from: Option<i64>,
    /// Bars opening before this time only.
    #[arg(long, value_parser = crate::market::parse_time, value_name = "TIME")]
    pub to: Option<i64>,
    /// Read an older version of the series (a version number or a time).
    #[arg(long, value_parser = parse_as_of, value_name = "VERSION|TIME")]
    pub as_of: Option<AsOf>,

    /// Simple moving averages of close, one per period (e.g. 20,50).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub sma: Vec<usize>,
    /// Exponential moving averages of close (SMA-seeded, as TA-Lib).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub ema: Vec<usize>,
    /// Weighted moving averages of close.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub wma: Vec<usize>,
    /// Double exponential moving averages of close.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub dema: Vec<usize>,
    /// Triple exponential moving averages of close.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub tema: Vec<usize>,
    /// Wilder's RSI (TA-Lib's).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub rsi: Vec<usize>,
    /// Cutler's RSI (plain means of the last N changes).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub rsi_cutler: Vec<usize>,
    /// Rate of change, percent.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub roc: Vec<usize>,
    /// Rolling standard deviation of close (population, as TA-Lib).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub stddev: Vec<usize>,
    /// Average true range (Wilder).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub atr: Vec<usize>,
    /// ATR as a percent of close.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub natr: Vec<usize>,
    /// Williams %R.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub willr: Vec<usize>,
    /// Volume over its N-bar mean.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub volume_ratio: Vec<usize>,
    /// Population standard deviation of the last N simple returns.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub volatility: Vec<usize>,
    /// Commodity channel index.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub cci: Vec<usize>,
    /// Average directional index (Wilder), with --dmi also +DI and -DI.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub adx: Vec<usize>,
    /// +DI and -DI (Wilder).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub dmi: Vec<usize>,
    /// Money flow index.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub mfi: Vec<usize>,
    /// Sample (n - 1) standard deviation of close.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub stddev_sample: Vec<usize>,
    /// MACD lines macd, signal and hist: FAST,SLOW,SIGNAL (default 12,26,9).
    #[arg(long, value_name = "F,S,SIG", num_args = 0..=1, default_missing_value = "12,26,9")]
    pub macd: Option<String>,
    /// Bollinger bands (SMA middle, population sd): PERIOD[,K] (default 20,2).
    #[arg(long, value_name = "N[,K]", num_args = 0..=1, default_missing_value = "20,2")]
    pub bbands: Option<String>,
    /// Slow stochastic %K and %D: FASTK,SLOWK,SLOWD (default 5,3,3, TA-Lib's).
    #[arg(long, value_name = "K,SK,SD", num_args = 0..=1, default_missing_value = "5,3,3")]
    pub stoch: Option<String>,
    /// Fast stochastic %K and %D: FASTK,FASTD (default 5,3).
    #[arg(long, value_name = "K,D", num_args = 0..=1, default_missing_value = "5,3")]
    pub stochf: Option<String>,
    /// Volume-weighted average price of the typical price: cumulative from the first bar
    /// read, or over the last N bars with --vwap N.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "0")]
    pub vwap: Option<usize>,
    /// On-balance volume.
    #[arg(long)]
    pub obv: bool,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TaFormat::Table)]
    pub format: TaFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print only the last N rows (indicators still warm up over the whole range).
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaFormat {
    /// Aligned columns for people.
    Table,
    /// Comma-separated with a header; warm-up values are empty.
    Csv,
    /// JSON lines; warm-up values are null.
    #[value(alias = "jsonl")]
    Json,
}

/// One output column.
struct Column {
    name: String,
    values: Vec<f64>,
}

pub fn run(g: &GlobalArgs, a: TaArgs) -> CliResult {
    let bars = load(g, &a)?;
    let columns = compute(&a, &bars)?;
    if columns.is_empty() {
        return Err(CliError::new(
            "no indicators asked for: add e.g. --rsi 14 --ema 7,25 (see amdb ta --help)",
        ));
    }
    let start = a.tail.map_or(0, |n| bars.len().saturating_sub(n));
    let out: Box<dyn Write> = match &a.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write(out, a.format, &bars, &columns, start).map_err(stdout_err)
}

fn load(g: &GlobalArgs, a: &TaArgs) -> CliResult<Bars> {
    let bars = match &a.input {
        Some(file) => crate::import::read_bars_file(file, a.from, a.to)?,
        None => {
            let market = readable(g)?;
            let series = SeriesArgs {
                symbol: a.symbol.clone(),
                timeframe: a.timeframe,
                from: a.from,
                to: a.to,
            };
            let (symbol, tf) = series.series();
            market.read(symbol, tf, &query(&series, a.as_of)?)?
        }
    };
    if bars.is_empty() {
        return Err(CliError::new("no bars in the range asked for"));
    }
    Ok(bars)
}

fn periods(flag: &str, list: &[usize], min: usize) -> CliResult<()> {
    match list.iter().find(|&&p| p < min || p > 100_000) {
        Some(p) => Err(CliError::new(format!(
            "--{flag} {p}: periods run from {min} to 100000"
        ))),
        None => Ok(()),
    }
}

fn compute(a: &TaArgs, b: &Bars) -> CliResult<Vec<Column>> {
    use amdb_ta as ta;
    let mut cols = Vec::new();
    let (h, l, c, v) = (&b.high[..], &b.low[..], &b.close[..], &b.volume[..]);
    let mut each = |flag: &str,
                    name: &str,
                    list: &[usize],
                    min: usize,
                    f: &dyn Fn(usize) -> Vec<f64>|
     -> CliResult {
        periods(flag, list, min)?;
        for &p in list {
            cols.push(Column {
                name: format!("{name}_{p}"),
                values: f(p),
            });
        }
        Ok(())
    };
    each("sma", "sma", &a.sma, 1, &|p| ta::sma(c, p))?;
    each("ema", "ema", &a.ema, 1, &|p| ta::ema(c, p))?;
    each("wma", "wma", &a.wma, 1, &|p| ta::wma(c, p))?;
    each("dema", "dema", &a.dema, 1, &|p| ta::dema(c, p))?;
    each("tema", "tema", &a.tema, 1, &|p| ta::tema(c, p))?;
    each("rsi", "rsi", &a.rsi, 2, &|p| ta::rsi(c, p))?;
    each("rsi-cutler", "rsi_cutler", &a.rsi_cutler, 1, &|p| {
        ta::rsi_cutler(c, p)
    })?;
    each("roc", "roc", &a.roc, 1, &|p| ta::roc(c, p))?;
    each("stddev", "stddev", &a.stddev, 2, &|p| ta::stddev(c, p))?;
    each("atr", "atr", &a.atr, 1, &|p| ta::atr(h, l, c, p))?;
    each("natr", "natr", &a.natr, 1, &|p| ta::natr(h, l, c, p))?;
    each("willr", "willr", &a.willr, 2, &|p| ta::willr(h, l, c, p))?;
    each("volume-ratio", "volume_ratio", &a.volume_ratio, 1, &|p| {
        ta::volume_ratio(v, p)
    })?;
    each("volatility", "volatility", &a.volatility, 1, &|p| {
        ta::volatility(c, p)
    })?;
    each("cci", "cci", &a.cci, 2, &|p| ta::cci(h, l, c, p))?;
    each("adx", "adx", &a.adx, 2, &|p| ta::adx(h, l, c, p))?;
    each("dmi", "plus_di", &a.dmi, 2, &|p| ta::plus_di(h, l, c, p))?;
    each("dmi", "minus_di", &a.dmi, 2, &|p| ta::minus_di(h, l, c, p))?;
    each("mfi", "mfi", &a.mfi, 2, &|p| ta::mfi(h, l, c, v, p))?;
    each(
        "stddev-sample",
        "stddev_sample",
        &a.stddev_sample,
        2,
        &|p| ta::stddev_sample(c, p),
    )?;
    let mut push = |name: String, values: Vec<f64>| cols.push(Column { name, values });
    if let Some(spec) = &a.macd {
        let [f, sl, sig] = numbers::<3>("macd", spec)?;
        let (f, sl, sig) = (
            whole("macd", f, 2)?,
            whole("macd", sl, 2)?,
            whole("macd", sig, 1)?,
        );
        if f >= sl {
            return Err(CliError::new(format!(
                "--macd {spec}: FAST must be below SLOW"
            )));
        }
        let m = ta::macd(c, f, sl, sig);
        let tag = format!("{f}_{sl}_{sig}");
        push(format!("macd_{tag}"), m.macd);
        push(format!("macd_signal_{tag}"), m.signal);
        push(format!("macd_hist_{tag}"), m.hist);
    }
    if let Some(spec) = &a.bbands {
        let parts: Vec<&str> = spec.split(',').collect();
        let (p, k) = match parts.as_slice() {
            [p] => (p.to_string(), "2".to_string()),
            [p, k] => (p.to_string(), k.to_string()),
            _ => {
                return Err(CliError::new(format!(
                    "--bbands {spec}: expected PERIOD[,K]"
                )))
            }
        };
        let [p, k] = numbers::<2>("bbands", &format!("{p},{k}"))?;
        let p = whole("bbands", p, 2)?;
        if k.is_nan() || k <= 0.0 {
            return Err(CliError::new(format!(
                "--bbands {spec}: K must be positive"
            )));
        }
        let b = ta::bbands(c, p, k, k);
        push(format!("bb_upper_{p}_{k}"), b.upper);
        push(format!("bb_middle_{p}_{k}"), b.middle);
        push(format!("bb_lower_{p}_{k}"), b.lower);
    }
    if let Some(spec) = &a.stoch {
        let [k, sk, sd] = numbers::<3>("stoch", spec)?;
        let (k, sk, sd) = (
            whole("stoch", k, 1)?,
            whole("stoch", sk, 1)?,
            whole("stoch", sd, 1)?,
        );
        let st = ta::stoch(h, l, c, k, sk, sd);
        push(format!("stoch_k_{k}_{sk}_{sd}"), st.k);
        push(format!("stoch_d_{k}_{sk}_{sd}"), st.d);
    }
    if let Some(spec) = &a.stochf {
        let [k, d] = numbers::<2>("stochf", spec)?;
        let (k, d) = (whole("stochf", k, 1)?, whole("stochf", d, 1)?);
        let st = ta::stochf(h, l, c, k, d);
        push(format!("stochf_k_{k}_{d}"), st.k);
        push(format!("stochf_d_{k}_{d}"), st.d);
    }
    if let Some(n) = a.vwap.filter(|&n| n > 0) {
        periods("vwap", &[n], 1)?;
    }
    match a.vwap {
        Some(0) => push("vwap".into(), ta::vwap(h, l, c, v)),
        Some(n) => push(format!("vwap_{n}"), ta::vwap_rolling(h, l, c, v, n)),
        None => {}
    }
    if a.obv {
        push("obv".into(), ta::obv(c, v));
    }
    Ok(cols)
}

/// `N` comma-separated numbers.
fn numbers<const N: usize>(flag: &str, spec: &str) -> CliResult<[f64; N]> {
    let parsed: Vec<f64> = spec
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| CliError::new(format!("--{flag} {spec}: expected {N} numbers")))?;
    parsed.try_into().map_err(|_| {
        CliError::new(format!(
            "--{flag} {spec}: expected {N} comma-separated numbers"
        ))
    })
}

fn whole(flag: &str, v: f64, min: usize) -> CliResult<usize> {
    if v.fract() == 0.0 && v >= min as f64 && v <= 100_000.0 {
        Ok(v as usize)
    } else {
        Err(CliError::new(format!(
            "--{flag}: periods are whole numbers from {min} to 100000, got {v}"
        )))
    }
}

fn write(
    mut out: Box<dyn Write>,
    format: TaFormat,
    bars: &Bars,
    cols: &[Column],
    start: usize,
) -> std::io::Result<()> {
    let num = |v: f64| {
        if v.is_nan() {
            String::new()
        } else {
            format!("{v}")
        }
    };
    match format {
        TaFormat::Csv => {
            write!(out, "ts,close")?;
            for c in cols {
                write!(out, ",{}", c.name)?;
            }
            writeln!(out)?;
            for i in start..bars.len() {
                write!(out, "{},{}", format_time(bars.ts[i]), bars.close[i])?;
                for c in cols {
                    write!(out, ",{}", num(c.values[i]))?;
                }
                writeln!(out)?;
            }
        }
        TaFormat::Json => {
            for i in start..bars.len() {
                let mut row = serde_json::Map::new();
                row.insert("ts".into(), format_time(bars.ts[i]).into());
                row.insert("close".into(), bars.close[i].into());
                for c in cols {
                    let v = c.values[i];
                    row.insert(
                        c.name.clone(),
                        if v.is_finite() {
                            v.into()
                        } else {
                            serde_json::Value::Null
                        },
                    );
                }
                writeln!(out, "{}", serde_json::Value::Object(row))?;
            }
        }
        TaFormat::Table => {
            // Six significant decimals are plenty to read; csv/json keep every digit.
            let cell = |v: f64| {
                if v.is_nan() {
                    String::new()
                } else {
                    format!("{v:.6}")
                }
            };
            let mut widths: Vec<usize> = cols.iter().map(|c| c.name.len().max(12)).collect();
            for (w, c) in widths.iter_mut().zip(cols) {
                for &v in &c.values[start..] {
                    *w = (*w).max(cell(v).len());
                }
            }
            write!(out, "{:<20} {:>12}", "ts", "close")?;
            for (c, w) in cols.iter().zip(&widths) {
                write!(out, " {:>w$}", c.name)?;
            }
            writeln!(out)?;
            for i in start..bars.len() {
                write!(out, "{:<20} {:>12}", format_time(bars.ts[i]), bars.close[i])?;
                for (c, w) in cols.iter().zip(&widths) {
                    write!(out, " {:>w$}", cell(c.values[i]))?;
                }
                writeln!(out)?;
            }
        }
    }
    out.flush()
}
