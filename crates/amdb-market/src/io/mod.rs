//! Import and export of bars in the file formats traders exchange: CSV, Arrow IPC, Parquet,
//! SQLite and JSON Lines.
//!
//! Every reader finds its columns with the same [`detect_columns`], validates every row
//! with [`Bar::check`] and fails the whole read at the first bad row with an error naming
//! the file and the line (text formats, 1-based as editors count) or row (tabular formats,
//! 0-based as pandas and pyarrow count). Nothing partial is returned. Readers return rows in
//! file order; sorting and deduplication are the store's job.

pub mod arrow;
pub mod csv;
pub mod jsonl;
pub mod parquet;
pub mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::bar::{Bar, BarProblem};

/// Why an import failed. Display is one line naming the file and where in it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem at a line of a text file (1-based).
    #[error("{}:{line}: {msg}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        msg: String,
    },
    /// A problem at a row of a tabular file (0-based, as pandas/pyarrow number rows).
    #[error("{}: row {row}: {msg}", path.display())]
    Row {
        path: PathBuf,
        row: u64,
        msg: String,
    },
    /// A problem with the file as a whole (format, schema, missing columns).
    #[error("{}: {msg}", path.display())]
    File { path: PathBuf, msg: String },
}

impl ImportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ImportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn line(path: &Path, line: u64, msg: impl Into<String>) -> Self {
        ImportError::Line {
            path: path.to_path_buf(),
            line,
            msg: msg.into(),
        }
    }
    pub(crate) fn file(path: &Path, msg: impl fmt::Display) -> Self {
        ImportError::File {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("{0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
}

/// The user's column choices; `None` means detect by name. A name matches case-insensitively
/// and ignoring `<>`; a plain number is a 0-based column index (for headerless files); the
/// time may be given as `date+time` to combine two columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    pub ts: Option<String>,
    pub open: Option<String>,
    pub high: Option<String>,
    pub low: Option<String>,
    pub close: Option<String>,
    pub volume: Option<String>,
}

/// Where the time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeColumns {
    One(usize),
    /// A date column and a separate time-of-day column (MetaTrader `<DATE>`,`<TIME>`).
    DateTime(usize, usize),
}

/// Column indices of a bar's fields in a file. Without a volume column, volume is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub time: TimeColumns,
    pub open: usize,
    pub high: usize,
    pub low: usize,
    pub close: usize,
    pub volume: Option<usize>,
}

impl Layout {
    /// The bar at time `ts` whose prices and volume `num(column, field)` reads; volume is 0
    /// without a volume column.
    pub fn bar<E>(
        &self,
        ts: i64,
        mut num: impl FnMut(usize, &'static str) -> Result<f64, E>,
    ) -> Result<Bar, E> {
        Ok(Bar {
            ts,
            open: num(self.open, "open")?,
            high: num(self.high, "high")?,
            low: num(self.low, "low")?,
            close: num(self.close, "close")?,
            volume: match self.volume {
                Some(v) => num(v, "volume")?,
                None => 0.0,
            },
        })
    }

    /// time, open, high, low, close, volume: what headerless files and our writers use.
    pub const PLAIN: Layout = Layout {
        time: TimeColumns::One(0),
        open: 1,
        high: 2,
        low: 3,
        close: 4,
        volume: Some(5),
    };

    /// The columns a layout uses, in ascending order, and the layout renumbered to index them
    /// (readers fetch only these columns).
    pub fn projected(&self) -> (Vec<usize>, Layout) {
        let l = self;
        let mut cols = vec![l.open, l.high, l.low, l.close];
        match l.time {
            TimeColumns::One(t) => cols.push(t),
            TimeColumns::DateTime(d, t) => cols.extend([d, t]),
        }
        cols.extend(l.volume);
        cols.sort_unstable();
        cols.dedup();
        let at = |i: usize| cols.iter().position(|&c| c == i).unwrap_or(0);
        let layout = Layout {
            time: match l.time {
                TimeColumns::One(t) => TimeColumns::One(at(t)),
                TimeColumns::DateTime(d, t) => TimeColumns::DateTime(at(d), at(t)),
            },
            open: at(l.open),
            high: at(l.high),
            low: at(l.low),
            close: at(l.close),
            volume: l.volume.map(at),
        };
        (cols, layout)
    }

    /// The largest column index used, to check a row is long enough.
    pub fn max_index(&self) -> usize {
        let t = match self.time {
            TimeColumns::One(t) => t,
            TimeColumns::DateTime(d, t) => d.max(t),
        };
        [t, self.open, self.high, self.low, self.close]
            .into_iter()
            .chain(self.volume)
            .max()
            .unwrap_or(0)
    }
}

/// Names tried for the time, in order of preference. `date`+`time` together are tried first.
const TIME_NAMES: &[&str] = &[
    "time",
    "timestamp",
    "datetime",
    "date_time",
    "open_time",
    "opentime",
    "ts",
    "date",
    "time_utc",
    "gmt_time",
    "local_time",
    "unix",
    "t",
];
/// Date columns that pair with a `time` column holding the time of day.
const DATE_NAMES: &[&str] = &["date", "dtyyyymmdd", "day"];
const OPEN_NAMES: &[&str] = &["open", "o", "open_price", "openprice"];
const HIGH_NAMES: &[&str] = &["high", "h", "high_price", "highprice", "max"];
const LOW_NAMES: &[&str] = &["low", "l", "low_price", "lowprice", "min"];
const CLOSE_NAMES: &[&str] = &["close", "c", "close_price", "closeprice", "last", "price"];
const VOLUME_NAMES: &[&str] = &[
    "volume",
    "vol",
    "v",
    "base_volume",
    "tickvol",
    "tick_volume",
    "real_volume",
];

/// A header name in comparable form: trimmed, lower case, without a BOM, quotes or `<>`,
/// spaces, dashes and dots as `_` (`<TICKVOL>` → `tickvol`, `Open Time` → `open_time`).
pub fn normalize_name(name: &str) -> String {
    let t = name.trim_start_matches('\u{feff}').trim();
    let t = t.trim_matches(|c| c == '"' || c == '\'').trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t);
    t.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Finds each field's column among `names` (a header, a schema's fields, a table's columns),
/// honouring `map`'s overrides. The error says what was looked for and what was found, and
/// is the same for every format.
pub fn detect_columns(names: &[&str], map: &ColumnMap) -> Result<Layout, String> {
    let norm: Vec<String> = names.iter().map(|n| normalize_name(n)).collect();
    let found = || names.join(", ");
    let by_name = |want: &str| norm.iter().position(|n| n == want);
    let given = |field: &str, spec: &str| -> Result<usize, String> {
        let want = normalize_name(spec);
        by_name(&want)
            .or_else(|| {
                spec.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&i| i < names.len())
            })
            .ok_or_else(|| format!("no column {spec:?} (given for {field}); found: {}", found()))
    };
    let pick = |field: &str, spec: &Option<String>, list: &[&str]| -> Result<usize, String> {
        match spec {
            Some(s) => given(field, s),
            None => list.iter().find_map(|w| by_name(w)).ok_or_else(|| {
                format!(
                    "no {field} column (looked for {}; found: {})",
                    list.join(", "),
                    found()
                )
            }),
        }
    };

    let time = match &map.ts {
        Some(s) if s.contains('+') => {
            let (d, t) = s.split_once('+').unwrap_or((s, ""));
            TimeColumns::DateTime(given("date", d)?, given("time", t)?)
        }
        Some(s) => TimeColumns::One(given("time", s)?),
        // A date column beside a `time` column means time of day (MetaTrader, Finam).
        None => match (DATE_NAMES.iter().find_map(|w| by_name(w)), by_name("time")) {
            (Some(d), Some(t)) => TimeColumns::DateTime(d, t),
            _ => TimeColumns::One(pick("time", &None, TIME_NAMES)?),
        },
    };
    let volume = match &map.volume {
        Some(s) => Some(given("volume", s)?),
        // `Volume BTC`, `Volume USDT` (CryptoDataDownload): the first is the base volume.
        None => VOLUME_NAMES
            .iter()
            .find_map(|w| by_name(w))
            .or_else(|| norm.iter().position(|n| n.starts_with("volume_"))),
    };
    Ok(Layout {
        time,
        open: pick("open", &map.open, OPEN_NAMES)?,
        high: pick("high", &map.high, HIGH_NAMES)?,
        low: pick("low", &map.low, LOW_NAMES)?,
        close: pick("close", &map.close, CLOSE_NAMES)?,
        volume,
    })
}

/// The layout of a headerless file with `n` columns: 6 = time,open,high,low,close,volume;
/// 7 = date,time,open,... (MetaTrader 4 history); 5 = time,open,high,low,close; 8 or more =
/// the first six as with 6 (Binance klines). Overrides given as indices apply.
pub fn headerless_layout(n: usize, map: &ColumnMap) -> Result<Layout, String> {
    let names: Vec<String> = match n {
        5 => ["time", "open", "high", "low", "close"]
            .map(String::from)
            .to_vec(),
        6 => ["time", "open", "high", "low", "close", "volume"]
            .map(String::from)
            .to_vec(),
        7 => ["date", "time", "open", "high", "low", "close", "volume"]
            .map(String::from)
            .to_vec(),
        _ if map.ts.is_some() && map.open.is_some() => (0..n).map(|i| format!("#{i}")).collect(),
        // Binance klines: time,open,high,low,close,volume,close_time,quote_volume,...
        8.. => ["time", "open", "high", "low", "close", "volume"]
            .iter()
            .map(|s| s.to_string())
            .chain((6..n).map(|i| format!("#{i}")))
            .collect(),
        _ => {
            return Err(format!(
                "a file without a header needs 6 columns (time,open,high,low,close,volume), \
                 7 (date,time,open,high,low,close,volume) or more (the first six as with 6); \
                 found {n}"
            ))
        }
    };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    detect_columns(&refs, map)
}

/// The message for a bar that fails [`Bar::check`], with the offending values.
pub fn describe_problem(bar: &Bar, problem: BarProblem) -> String {
    match problem {
        BarProblem::HighBelowLow => format!("high {:?} is below low {:?}", bar.high, bar.low),
        BarProblem::NegativeVolume => format!("volume {:?} is negative", bar.volume),
        BarProblem::NotFinite(field) => format!("{field} is not a finite number"),
    }
}

/// Checks a bar, turning a problem into [`describe_problem`]'s message.
#[inline]
pub fn check_bar(bar: &Bar) -> Result<(), String> {
    bar.check().map_err(|p| describe_problem(bar, p))
}

/// Calls `progress` with a count of done work scaled to `total_bytes`, so every reader
/// reports in file bytes even when it counts rows.
pub(crate) fn scaled(done: u64, of: u64, total_bytes: u64) -> u64 {
    if of == 0 {
        total_bytes
    } else {
        (done as u128 * total_bytes as u128 / of as u128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(names: &[&str]) -> Result<Layout, String> {
        detect_columns(names, &ColumnMap::default())
    }

    #[test]
    fn common_headers() {
        let l = detect(&[
            "Date",
            "Open",
            "High",
            "Low",
            "Close",
            "Adj Close",
            "Volume",
        ])
        .unwrap();
        assert_eq!(l.time, TimeColumns::One(0));
        assert_eq!((l.close, l.volume), (4, Some(6)));
        let l = detect(&[
            "<DATE>",
            "<TIME>",
            "<OPEN>",
            "<HIGH>",
            "<LOW>",
            "<CLOSE>",
            "<TICKVOL>",
            "<VOL>",
            "<SPREAD>",
        ])
        .unwrap();
        assert_eq!(l.time, TimeColumns::DateTime(0, 1));
        assert_eq!(l.volume, Some(7));
        let l = detect(&[
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "close_time",
            "quote_asset_volume",
            "trades",
        ])
        .unwrap();
        assert_eq!((l.time, l.volume), (TimeColumns::One(0), Some(5)));
        let l = detect(&[
            "unix",
            "date",
            "symbol",
            "open",
            "high",
            "low",
            "close",
            "Volume BTC",
            "Volume USDT",
        ])
        .unwrap();
        assert_eq!((l.time, l.volume), (TimeColumns::One(1), Some(7)));
        let l = detect(&["t", "o", "h", "l", "c", "v"]).unwrap();
        assert_eq!(l, Layout::PLAIN);
        let l = detect(&["ts", "open", "high", "low", "close"]).unwrap();
        assert_eq!(l.volume, None);
    }

    #[test]
    fn errors_list_what_was_found() {
        let e = detect(&["a", "b", "c"]).unwrap_err();
        assert!(
            e.starts_with("no time column (looked for time, timestamp, datetime")
                && e.ends_with("found: a, b, c)"),
            "{e}"
        );
        let map = ColumnMap {
            close: Some("Adj Close".into()),
            ..Default::default()
        };
        let l = detect_columns(&["Date", "Open", "High", "Low", "Close", "Adj Close"], &map);
        assert_eq!(l.unwrap().close, 5);
        let map = ColumnMap {
            ts: Some("Day+Clock".into()),
            ..Default::default()
        };
        let e = detect_columns(&["x"], &map).unwrap_err();
        assert_eq!(e, "no column \"Day\" (given for date); found: x");
    }
}
