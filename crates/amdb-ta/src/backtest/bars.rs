//! The bars a backtest reads: borrowed columns, so callers keep whatever storage they have.

use super::BacktestError;

/// One symbol's bars as parallel columns. Timestamps are bar open times (UTC nanoseconds),
/// strictly increasing; every column has the same length (checked by [`BarSeries::new`]).
#[derive(Debug, Clone, Copy)]
pub struct BarSeries<'a> {
    pub symbol: &'a str,
    pub ts: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
}

impl<'a> BarSeries<'a> {
    /// Checks the invariants the engine relies on: equal lengths, increasing times, and
    /// finite positive prices (a zero or NaN price would make sizing divide by zero).
    pub fn new(
        symbol: &'a str,
        ts: &'a [i64],
        open: &'a [f64],
        high: &'a [f64],
        low: &'a [f64],
        close: &'a [f64],
        volume: &'a [f64],
    ) -> Result<BarSeries<'a>, BacktestError> {
        let n = ts.len();
        for (name, col) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
            ("volume", volume),
        ] {
            if col.len() != n {
                return Err(BacktestError::Input(format!(
                    "{symbol}: column {name} has {} values but ts has {n}",
                    col.len()
                )));
            }
        }
        if let Some(i) = ts.windows(2).position(|w| w[1] <= w[0]) {
            return Err(BacktestError::Input(format!(
                "{symbol}: timestamps not increasing at bar {}",
                i + 1
            )));
        }
        for (name, col) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ] {
            if let Some(i) = col.iter().position(|p| !(p.is_finite() && *p > 0.0)) {
                return Err(BacktestError::Input(format!(
                    "{symbol}: {name} at bar {i} is {}, prices must be finite and positive",
                    col[i]
                )));
            }
        }
        Ok(BarSeries {
            symbol,
            ts,
            open,
            high,
            low,
            close,
            volume,
        })
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}
