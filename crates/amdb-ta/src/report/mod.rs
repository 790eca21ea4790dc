//! Reports of backtest results: a terminal summary, JSON, PNG charts and one self-contained
//! HTML page.
//!
//! The input types here are plain data, independent of the backtester's internals, so the
//! backtester (or anything else: a notebook export, a saved `result.json`) converts into
//! them and every output is rendered from the same values:
//!
//! - [`text_summary`]: an aligned table for a terminal;
//! - [`to_json`] / [`grid_to_json`]: a documented, versioned JSON shape, read back by
//!   [`from_json`] / [`grid_from_json`];
//! - [`write_equity_png`] / [`write_heatmap_png`]: PNG charts whose text uses a font
//!   embedded in the binary, so they render the same on a machine without any fonts;
//! - [`render_html`] / [`write_html`]: one HTML file with inline SVG charts and no external
//!   references, safe to mail or archive;
//! - [`write_report_dir`]: all of the above into a directory (`summary.txt`,
//!   `result.json`, `equity.png`, `report.html`, and with a grid `heatmap.png` and
//!   `grid.json`).
//!
//! Conventions: timestamps are UTC nanoseconds since the Unix epoch; percentages are carried
//! as fractions (`0.05` is shown as `5.00%`); `NaN` means "not available" and is shown as
//! `n/a` (text, HTML) or `null` (JSON).

mod axis;
mod curve;
mod dir;
mod equity;
mod font;
pub(crate) mod format;
mod heatmap;
mod html;
mod json;
mod png;
mod series;
mod style;
mod svg;
mod text;

pub use curve::{
    render_curve_png, write_curve_png, CurveChart, CurveKind, CurveSeries, DEFAULT_CURVE_SIZE,
};
pub use dir::write_report_dir;
pub use heatmap::{heatmap_layout, HeatmapLayout};
pub use html::{render_html, write_html, HTML_MAX_TRADES};
pub use json::{
    from_json, grid_from_json, grid_to_json, to_json, to_pretty_string, JsonShapeError,
    GRID_SCHEMA, RUN_SCHEMA,
};
pub use png::{
    encode_rgb_png, render_equity_png, render_heatmap_png, write_equity_png, write_heatmap_png,
};
pub use series::{drawdown, max_drawdown};
pub use svg::{equity_svg, heatmap_svg};
pub use text::text_summary;

/// Size of `equity.png` written by [`write_report_dir`], and a good default for
/// [`write_equity_png`].
pub const DEFAULT_EQUITY_SIZE: (u32, u32) = (1200, 700);

/// One backtest run: what was run, how it did, and its equity curve and trades.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunReport {
    /// Shown as the heading, e.g. `"SMA cross 10/30 on BTCUSDT 1h"`.
    pub title: String,
    /// Parameters of the run in display order, e.g. `("fast", "10")`.
    pub params: Vec<(String, String)>,
    /// Headline numbers in display order.
    pub metrics: Vec<Metric>,
    /// Account equity over time: `(UTC ns, value)`, ascending by time. Drawdown is
    /// derived from it ([`drawdown`]).
    pub equity: Vec<(i64, f64)>,
    /// Equity of a buy-and-hold benchmark on the same time axis, if the caller has one.
    pub benchmark: Option<Vec<(i64, f64)>>,
    /// Closed trades in time order.
    pub trades: Vec<TradeRow>,
}

/// A named number and how to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    /// `NaN` when undefined (e.g. Sharpe with no variance).
    pub value: f64,
    pub unit: MetricUnit,
}

impl Metric {
    pub fn new(name: impl Into<String>, value: f64, unit: MetricUnit) -> Self {
        Metric {
            name: name.into(),
            value,
            unit,
        }
    }
}

/// How a value is formatted. The JSON name of each unit is in [`MetricUnit::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricUnit {
    /// A dimensionless ratio (Sharpe, Sortino, profit factor): 3 decimals, 2 from 10 up.
    Ratio,
    /// A fraction shown as a percentage: `0.1234` is `12.34%`.
    Percent,
    /// A whole number (trades, bars): `1,234`.
    Count,
    /// An amount of money in the account currency: `1,234,567.89`.
    Money,
    /// A duration in seconds: `3d 4h`, `2h 15m`, `45s`.
    Duration,
    /// Any other number: up to 4 decimals, trailing zeros dropped.
    Number,
}

impl MetricUnit {
    /// Stable lower-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricUnit::Ratio => "ratio",
            MetricUnit::Percent => "percent",
            MetricUnit::Count => "count",
            MetricUnit::Money => "money",
            MetricUnit::Duration => "duration_s",
            MetricUnit::Number => "number",
        }
    }

    /// Inverse of [`MetricUnit::as_str`].
    pub fn parse(s: &str) -> Option<MetricUnit> {
        Some(match s {
            "ratio" => MetricUnit::Ratio,
            "percent" => MetricUnit::Percent,
            "count" => MetricUnit::Count,
            "money" => MetricUnit::Money,
            "duration_s" => MetricUnit::Duration,
            "number" => MetricUnit::Number,
            _ => return None,
        })
    }

    /// The value as people read it (`12.34%`, `1,234.50`, `n/a`).
    pub fn format(self, value: f64) -> String {
        format::format_value(value, self)
    }
}

/// Direction of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeSide {
    Long,
    Short,
}

impl TradeSide {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeSide::Long => "long",
            TradeSide::Short => "short",
        }
    }
}

/// One closed trade (a round trip).
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRow {
    pub symbol: String,
    pub side: TradeSide,
    /// UTC ns.
    pub entry_ts: i64,
    pub entry_price: f64,
    /// UTC ns.
    pub exit_ts: i64,
    pub exit_price: f64,
    /// Size in units of the instrument (positive for both sides).
    pub qty: f64,
    /// Profit or loss in the account currency, after fees.
    pub pnl: f64,
    /// Return of the trade as a fraction: `0.05` is +5%.
    pub return_frac: f64,
}

/// One metric over a two-parameter grid, e.g. Sharpe for every (fast, slow) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct GridReport {
    pub title: String,
    /// Name of the parameter along the horizontal axis, e.g. `"fast"`.
    pub x_name: String,
    /// Its values, one per column, in display order (left to right).
    pub xs: Vec<f64>,
    /// Name of the parameter along the vertical axis.
    pub y_name: String,
    /// Its values, one per row, in display order (bottom to top).
    pub ys: Vec<f64>,
    pub metric_name: String,
    pub unit: MetricUnit,
    /// `values[yi][xi]`; `NaN` marks a combination that was not run or is invalid (e.g.
    /// fast >= slow). Larger is better: the best cell is the maximum, so orient metrics
    /// such as drawdown as negative numbers.
    pub values: Vec<Vec<f64>>,
}

impl GridReport {
    /// The value at column `xi`, row `yi`, or `NaN` if missing (ragged rows count as not
    /// run rather than failing, since the caller may fill the grid lazily).
    pub fn value(&self, xi: usize, yi: usize) -> f64 {
        self.values
            .get(yi)
            .and_then(|row| row.get(xi))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// Column, row and value of the largest finite value; the first one wins a tie.
    pub fn best(&self) -> Option<(usize, usize, f64)> {
        let mut best: Option<(usize, usize, f64)> = None;
        for yi in 0..self.ys.len() {
            for xi in 0..self.xs.len() {
                let v = self.value(xi, yi);
                if v.is_finite() && best.is_none_or(|(_, _, b)| v > b) {
                    best = Some((xi, yi, v));
                }
            }
        }
        best
    }

    /// Smallest and largest finite value, if any.
    pub fn finite_range(&self) -> Option<(f64, f64)> {
        let mut range: Option<(f64, f64)> = None;
        for yi in 0..self.ys.len() {
            for xi in 0..self.xs.len() {
                let v = self.value(xi, yi);
                if v.is_finite() {
                    range = Some(match range {
                        None => (v, v),
                        Some((lo, hi)) => (lo.min(v), hi.max(v)),
                    });
                }
            }
        }
        range
    }
}

/// Adds the path to an I/O error, so "permission denied" says which file.
pub(crate) fn io_error_at(path: &std::path::Path, err: std::io::Error) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// Writes a file, naming it in the error.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes).map_err(|e| io_error_at(path, e))
}
