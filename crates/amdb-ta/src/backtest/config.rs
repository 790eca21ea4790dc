//! How orders are filled and sized.

use super::BacktestError;

/// When an order decided after bar `i` closes is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillAt {
    /// At bar `i + 1`'s open (limit orders: during bar `i + 1`). No look-ahead: the
    /// decision used only prices the strategy could have seen. The default.
    NextOpen,
    /// At bar `i`'s close, the price the decision was made on (vectorbt's default). Optimistic
    /// for live trading, but useful to compare with tools that do the same.
    Close,
}

/// How big a new position is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// A fraction of the portfolio's equity at the time of the fill (1.0 = all in).
    Equity(f64),
    /// A fixed amount of cash per position.
    Cash(f64),
    /// A fixed quantity per position.
    Units(f64),
}

/// Backtest settings. Fees are charged on every fill; slippage moves market fills against
/// the trader (buys higher, sells lower); limit fills get their limit or better, no slippage.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub initial_cash: f64,
    /// Fee as a fraction of traded value (0.001 = 0.1 %).
    pub fee_rate: f64,
    /// Fixed fee per fill, in cash.
    pub fee_fixed: f64,
    /// Slippage on market fills in basis points of the price.
    pub slippage_bps: f64,
    pub sizing: Sizing,
    pub fill_at: FillAt,
    /// Whether `Signal::Short` opens a short; when false it only closes a long.
    pub allow_short: bool,
    /// Keep the equity curve, fills and trades (reports need them; grids do not).
    pub record: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            initial_cash: 10_000.0,
            fee_rate: 0.001,
            fee_fixed: 0.0,
            slippage_bps: 0.0,
            sizing: Sizing::Equity(1.0),
            fill_at: FillAt::NextOpen,
            allow_short: false,
            record: true,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), BacktestError> {
        let bad = |what: &str, v: f64| {
            Err(BacktestError::Config(format!(
                "{what} is {v}, which is not allowed"
            )))
        };
        if !(self.initial_cash.is_finite() && self.initial_cash > 0.0) {
            return bad("initial cash", self.initial_cash);
        }
        if !(self.fee_rate.is_finite() && (0.0..1.0).contains(&self.fee_rate)) {
            return bad("fee rate", self.fee_rate);
        }
        if !(self.fee_fixed.is_finite() && self.fee_fixed >= 0.0) {
            return bad("fixed fee", self.fee_fixed);
        }
        if !(self.slippage_bps.is_finite() && (0.0..10_000.0).contains(&self.slippage_bps)) {
            return bad("slippage (bps)", self.slippage_bps);
        }
        match self.sizing {
            Sizing::Equity(f) if !(f.is_finite() && f > 0.0) => bad("equity fraction", f),
            Sizing::Cash(c) if !(c.is_finite() && c > 0.0) => bad("cash per position", c),
            Sizing::Units(u) if !(u.is_finite() && u > 0.0) => bad("units per position", u),
            _ => Ok(()),
        }
    }
}
