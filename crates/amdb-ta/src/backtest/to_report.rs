//! Backtest results as the report module's plain inputs.

use super::bars::BarSeries;
use super::config::{Config, FillAt, Sizing};
use super::grid::GridResult;
use super::metrics::Metrics;
use super::order::Direction;
use super::params::{Grid, Params};
use super::run::RunResult;
use super::strategies::BUILTINS;
use crate::report::{GridReport, Metric, MetricUnit, RunReport, TradeRow, TradeSide};

/// The unit each metric is shown in.
pub fn metric_unit(name: &str) -> MetricUnit {
    match name {
        "final_equity" => MetricUnit::Money,
        "total_return" | "annual_return" | "max_drawdown" | "win_rate" | "exposure" => {
            MetricUnit::Percent
        }
        "trades" => MetricUnit::Count,
        _ => MetricUnit::Ratio,
    }
}

fn metrics_rows(m: &Metrics) -> Vec<Metric> {
    Metrics::NAMES
        .iter()
        .map(|&n| Metric::new(n, m.get(n).unwrap_or(f64::NAN), metric_unit(n)))
        .collect()
}

/// The settings a reader needs to judge the numbers, as report parameters. A built-in
/// strategy's parameters are listed in full, defaults included.
pub fn describe(strategy: &str, params: &Params, config: &Config) -> Vec<(String, String)> {
    let mut out = vec![("strategy".to_string(), strategy.to_string())];
    let mut effective = Params::default();
    if let Some(b) = BUILTINS.iter().find(|b| b.name == strategy) {
        for &(name, default) in b.params {
            effective.set(name, default);
        }
    }
    for (n, v) in &params.0 {
        effective.set(n, *v);
    }
    out.extend(effective.0.iter().map(|(n, v)| (n.clone(), format!("{v}"))));
    out.push(("initial cash".into(), format!("{}", config.initial_cash)));
    out.push((
        "fees".into(),
        format!(
            "{}% of value + {} per fill",
            config.fee_rate * 100.0,
            config.fee_fixed
        ),
    ));
    out.push(("slippage".into(), format!("{} bps", config.slippage_bps)));
    out.push((
        "fills".into(),
        match config.fill_at {
            FillAt::NextOpen => "next bar's open".into(),
            FillAt::Close => "signal bar's close".into(),
        },
    ));
    out.push((
        "sizing".into(),
        match config.sizing {
            Sizing::Equity(f) => format!("{}% of equity", f * 100.0),
            Sizing::Cash(c) => format!("{c} cash per position"),
            Sizing::Units(u) => format!("{u} units per position"),
        },
    ));
    out.push((
        "shorts".into(),
        if config.allow_short { "allowed" } else { "no" }.into(),
    ));
    out
}

/// A run's report. `symbols[s]` names `Trade::symbol == s`.
pub fn run_report(
    title: &str,
    described: Vec<(String, String)>,
    result: &RunResult,
    symbols: &[&str],
    benchmark: Option<Vec<(i64, f64)>>,
) -> RunReport {
    RunReport {
        title: title.to_string(),
        params: described,
        metrics: metrics_rows(&result.metrics),
        equity: result.equity.clone(),
        benchmark,
        trades: result
            .trades
            .iter()
            .map(|t| TradeRow {
                symbol: symbols.get(t.symbol).copied().unwrap_or("?").to_string(),
                side: match t.direction {
                    Direction::Long => TradeSide::Long,
                    Direction::Short => TradeSide::Short,
                },
                entry_ts: t.entry_ts,
                entry_price: t.entry_price,
                exit_ts: t.exit_ts,
                exit_price: t.exit_price,
                qty: t.qty,
                pnl: t.pnl,
                return_frac: t.ret,
            })
            .collect(),
    }
}

/// Buy and hold, equal weights, no fees: what the strategy should beat. One point per
/// distinct bar time, each symbol marked at its latest close (bought at its first).
pub fn buy_and_hold(series: &[BarSeries<'_>], initial_cash: f64) -> Vec<(i64, f64)> {
    let live: Vec<&BarSeries<'_>> = series.iter().filter(|s| !s.is_empty()).collect();
    if live.is_empty() {
        return Vec::new();
    }
    let sleeve = initial_cash / live.len() as f64;
    let mut times: Vec<i64> = live.iter().flat_map(|s| s.ts.iter().copied()).collect();
    times.sort_unstable();
    times.dedup();
    let mut cursor = vec![0usize; live.len()];
    times
        .iter()
        .map(|&t| {
            let value = live
                .iter()
                .zip(cursor.iter_mut())
                .map(|(s, c)| {
                    while *c + 1 < s.len() && s.ts[*c + 1] <= t {
                        *c += 1;
                    }
                    // Before a symbol's first bar its sleeve is cash.
                    if s.ts[*c] > t {
                        sleeve
                    } else {
                        sleeve * s.close[*c] / s.close[0]
                    }
                })
                .sum();
            (t, value)
        })
        .collect()
}

/// A heatmap of a two-axis grid: the mean of `metric` over the symbols at each point; the
/// first axis down, the second across. The heatmap marks its largest cell as the best, so
/// a metric that is better small (drawdown) is drawn negated, and named so. `None` unless
/// the grid has exactly two axes.
pub fn grid_report(
    title: &str,
    grid: &Grid,
    result: &GridResult,
    metric: &str,
) -> Option<GridReport> {
    let [y, x] = grid.axes.as_slice() else {
        return None;
    };
    let sign = if Metrics::higher_is_better(metric) {
        1.0
    } else {
        -1.0
    };
    let values = (0..y.values.len())
        .map(|yi| {
            (0..x.values.len())
                .map(|xi| sign * result.mean(yi * x.values.len() + xi, metric))
                .collect()
        })
        .collect();
    Some(GridReport {
        title: title.to_string(),
        x_name: x.name.clone(),
        xs: x.values.clone(),
        y_name: y.name.clone(),
        ys: y.values.clone(),
        metric_name: if sign > 0.0 {
            metric.to_string()
        } else {
            format!("-{metric}")
        },
        unit: metric_unit(metric),
        values,
    })
}
