//! The `Strategy` trait and the indicator cache strategies share across a parameter grid.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::bars::BarSeries;
use super::order::Signal;

/// A trading rule. The engine calls [`Strategy::prepare`] once with the whole series, then
/// [`Strategy::on_bar`] after each bar closes, in order.
///
/// Contract (no look-ahead): `on_bar(i, ..)` may use bars `0..=i` only. Batch indicators
/// computed in `prepare` satisfy it, since their value at `i` depends on inputs up to `i`;
/// reading `bars.close[i + 1]` would not, and the backtest would be a lie.
pub trait Strategy: Send {
    /// Precomputes indicators. Take them from `cache` so that grid points sharing a period
    /// compute it once.
    fn prepare(&mut self, bars: &BarSeries<'_>, cache: &IndicatorCache<'_>) {
        let _ = (bars, cache);
    }

    /// The decision after bar `i` closed. `position` is the signed quantity held.
    fn on_bar(&mut self, i: usize, bars: &BarSeries<'_>, position: f64) -> Signal;

    /// For strategies whose decisions do not depend on the position held: every decision
    /// other than `Hold`, as (bar, signal), called once after `prepare`. The engine then
    /// skips `on_bar` and marks the bars between decisions in a tight loop. It must list
    /// exactly what `on_bar` would return (a test checks the built-ins); `None` (the
    /// default) means "ask me bar by bar".
    fn decisions(&mut self, bars: &BarSeries<'_>) -> Option<Vec<(usize, Signal)>> {
        let _ = bars;
        None
    }
}

type Key = (&'static str, u64, u64);

/// Indicator columns over one series, computed on first use and then shared (between the
/// grid points that run on the series, possibly on several threads).
pub struct IndicatorCache<'a> {
    bars: BarSeries<'a>,
    columns: Mutex<HashMap<Key, Arc<Vec<f64>>>>,
}

impl<'a> IndicatorCache<'a> {
    pub fn new(bars: BarSeries<'a>) -> IndicatorCache<'a> {
        IndicatorCache {
            bars,
            columns: Mutex::new(HashMap::new()),
        }
    }

    /// The column named `name` with parameters `params`, computing it if no one has. Two
    /// threads asking at once may both compute it; the results are identical.
    pub fn get(
        &self,
        name: &'static str,
        params: [f64; 2],
        compute: impl FnOnce(&BarSeries<'a>) -> Vec<f64>,
    ) -> Arc<Vec<f64>> {
        let key = (name, params[0].to_bits(), params[1].to_bits());
        if let Some(col) = self.lock().get(&key) {
            return col.clone();
        }
        // Arc<Vec> rather than Arc<[f64]>: wrapping a Vec does not copy its buffer.
        let col = Arc::new(compute(&self.bars));
        self.lock().entry(key).or_insert(col).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Vec<f64>>>> {
        // A panic elsewhere cannot leave the map half-written: inserts are single calls.
        self.columns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn ema(&self, period: usize) -> Arc<Vec<f64>> {
        self.get("ema", [period as f64, 0.0], |b| crate::ema(b.close, period))
    }

    pub fn sma(&self, period: usize) -> Arc<Vec<f64>> {
        self.get("sma", [period as f64, 0.0], |b| crate::sma(b.close, period))
    }

    pub fn rsi(&self, period: usize) -> Arc<Vec<f64>> {
        self.get("rsi", [period as f64, 0.0], |b| crate::rsi(b.close, period))
    }

    pub fn stddev(&self, period: usize) -> Arc<Vec<f64>> {
        self.get("stddev", [period as f64, 0.0], |b| {
            crate::stddev(b.close, period)
        })
    }
}
