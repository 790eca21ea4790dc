//! Parameter grids over many symbols, in parallel.
//!
//! Every (symbol, point) pair is an independent single-symbol backtest. Points on one
//! symbol share an [`IndicatorCache`], so a 10×10 EMA grid computes 20 EMAs, not 200.

use rayon::prelude::*;

use super::bars::BarSeries;
use super::config::Config;
use super::metrics::Metrics;
use super::params::{Grid, Params};
use super::run::run_with_cache;
use super::strategy::{IndicatorCache, Strategy};
use super::BacktestError;

/// Builds a strategy for a grid point (for instance [`super::builtin`] with a name).
pub type Factory<'f> = dyn Fn(&Params) -> Result<Box<dyn Strategy>, BacktestError> + Sync + 'f;

/// Results of a grid: `cells[point][symbol]`, `None` where the point's parameters were
/// invalid for the strategy (ema-cross with fast >= slow, say).
#[derive(Debug, Clone)]
pub struct GridResult {
    pub points: Vec<Params>,
    pub symbols: Vec<String>,
    pub cells: Vec<Vec<Option<Metrics>>>,
    /// The first error seen for an invalid point, for the user to read.
    pub invalid: Option<String>,
}

impl GridResult {
    /// The mean of `metric` over the symbols at `point`. A symbol on which the point never
    /// traded has no Sharpe, Sortino or Calmar (a flat curve); it counts as 0 there, so a
    /// point that trades on one symbol of 64 is not ranked by that one alone. Other
    /// undefined values (no trades: no win rate) are skipped. NaN if nothing is left.
    pub fn mean(&self, point: usize, metric: &str) -> f64 {
        let flat_is_zero = matches!(metric, "sharpe" | "sortino" | "calmar");
        let values: Vec<f64> = self.cells[point]
            .iter()
            .flatten()
            .filter_map(|m| m.get(metric))
            .filter_map(|v| match (v.is_nan(), flat_is_zero) {
                (false, _) => Some(v),
                (true, true) => Some(0.0),
                (true, false) => None,
            })
            .collect();
        if values.is_empty() {
            f64::NAN
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    }

    /// The point with the best mean `metric` (the highest, or for drawdown the lowest; the
    /// first of equals).
    pub fn best(&self, metric: &str) -> Option<usize> {
        self.ranked(metric).first().copied()
    }

    /// Points from best to worst by mean `metric`; points without a value are left out.
    pub fn ranked(&self, metric: &str) -> Vec<usize> {
        let sign = if Metrics::higher_is_better(metric) {
            -1.0
        } else {
            1.0
        };
        let mut keyed: Vec<(f64, usize)> = (0..self.points.len())
            .map(|p| (sign * self.mean(p, metric), p))
            .filter(|(v, _)| !v.is_nan())
            .collect();
        // Stable: equal values keep grid order.
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        keyed.into_iter().map(|(_, p)| p).collect()
    }
}

/// Runs every point of `grid` (on top of `base` parameters) on every series, in parallel.
/// Equity curves are not kept (`config.record` is ignored).
pub fn run_grid(
    series: &[BarSeries<'_>],
    factory: &Factory<'_>,
    base: &Params,
    grid: &Grid,
    config: &Config,
) -> Result<GridResult, BacktestError> {
    config.validate()?;
    let config = Config {
        record: false,
        ..config.clone()
    };
    let points = grid.points(base);
    let per_symbol: Vec<Vec<Result<Metrics, BacktestError>>> = series
        .par_iter()
        .map(|bars| {
            let cache = IndicatorCache::new(*bars);
            points
                .par_iter()
                .map(|p| {
                    let mut strategy = factory(p)?;
                    run_with_cache(bars, strategy.as_mut(), &config, &cache).map(|r| r.metrics)
                })
                .collect()
        })
        .collect();
    let mut invalid = None;
    let mut cells = vec![Vec::with_capacity(series.len()); points.len()];
    for results in per_symbol {
        for (p, result) in results.into_iter().enumerate() {
            match result {
                Ok(m) => cells[p].push(Some(m)),
                Err(e @ BacktestError::Config(_)) => {
                    invalid.get_or_insert_with(|| format!("{}: {e}", points[p].label()));
                    cells[p].push(None);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(GridResult {
        points,
        symbols: series.iter().map(|s| s.symbol.to_string()).collect(),
        cells,
        invalid,
    })
}
