//! A backtester over bars: strategies decide after each bar closes, orders fill at the next
//! open (or, if asked, at that close), with fees, slippage and position sizing, long and
//! short, one symbol or a portfolio; parameter grids run in parallel.
//!
//! - [`run`] one strategy on one symbol; [`run_portfolio`] many symbols, one account.
//! - [`run_grid`] a parameter grid over many symbols (rayon), indicators shared per symbol.
//! - Built-in strategies by name ([`builtin`]): `ema-cross`, `rsi-reversion`,
//!   `bollinger-breakout`; your own by implementing [`Strategy`]; stored signals through
//!   [`ExternalSignals`].
//!
//! Money moves only in `account.rs`; the order of events per bar is in `run.rs`.

mod account;
mod bars;
mod config;
mod crosses;
mod grid;
mod metrics;
mod order;
mod params;
mod run;
mod strategies;
mod strategy;
mod to_report;

pub use bars::BarSeries;
pub use config::{Config, FillAt, Sizing};
pub use grid::{run_grid, Factory, GridResult};
pub use metrics::Metrics;
pub use order::{Direction, Fill, OrderType, Side, Signal, Trade};
pub use params::{Axis, Grid, Params};
pub use run::{run, run_portfolio, run_with_cache, RunResult};
pub use strategies::{
    builtin, BollingerBreakout, Builtin, EmaCross, ExternalSignals, RsiReversion, BUILTINS,
};
pub use strategy::{IndicatorCache, Strategy};
pub use to_report::{buy_and_hold, describe, grid_report, metric_unit, run_report};

/// Why a backtest could not run. Messages are one line and name what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum BacktestError {
    /// Settings or strategy parameters out of range.
    Config(String),
    /// Bars that break the engine's assumptions.
    Input(String),
}

impl std::fmt::Display for BacktestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BacktestError::Config(m) | BacktestError::Input(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BacktestError {}
