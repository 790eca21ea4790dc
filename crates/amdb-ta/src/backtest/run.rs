//! The event loop: one symbol, or many sharing one account.
//!
//! Per bar, in this order: fill what was decided after the previous bar (at this bar's
//! open), ask the strategy, fill at this close if the config says so, then mark equity at
//! the close. A decision therefore never trades at a price from before it was made.

use super::account::{Account, Opportunity};
use super::bars::BarSeries;
use super::config::{Config, FillAt};
use super::metrics::{Accumulator, Metrics, TradeStats};
use super::order::{Fill, Signal, Trade};
use super::strategy::{IndicatorCache, Strategy};
use super::BacktestError;

/// What a backtest produced. `equity`, `fills` and `trades` are empty unless
/// `Config::record` was set.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub metrics: Metrics,
    /// (bar time, equity at that bar's close).
    pub equity: Vec<(i64, f64)>,
    pub fills: Vec<Fill>,
    pub trades: Vec<Trade>,
    /// Signed quantity per symbol still open at the end (marked to market in equity).
    pub open_positions: Vec<f64>,
}

/// Backtests `strategy` on one symbol.
pub fn run(
    bars: &BarSeries<'_>,
    strategy: &mut dyn Strategy,
    config: &Config,
) -> Result<RunResult, BacktestError> {
    run_with_cache(bars, strategy, config, &IndicatorCache::new(*bars))
}

/// [`run`] with a cache shared with other runs on the same bars (grids).
pub fn run_with_cache(
    bars: &BarSeries<'_>,
    strategy: &mut dyn Strategy,
    config: &Config,
    cache: &IndicatorCache<'_>,
) -> Result<RunResult, BacktestError> {
    config.validate()?;
    if bars.is_empty() {
        return Err(BacktestError::Input(format!("{}: no bars", bars.symbol)));
    }
    strategy.prepare(bars, cache);
    let n = bars.len();
    let mut account = Account::new(config, 1);
    let mut acc = Accumulator::new(config.initial_cash);
    let mut equity = Vec::with_capacity(if config.record { n } else { 0 });
    let mut decisions = Decisions::of(strategy, bars);
    let mut pending = Signal::Hold;
    let mut i = 0;
    while i < n {
        // Bars where nothing can happen (no fill due, no decision) are only marked, in a
        // tight loop: the common case, since most bars change no position.
        let quiet_until = if matches!(pending, Signal::Hold) {
            decisions.next_bar(i).min(n)
        } else {
            i
        };
        if quiet_until > i {
            let (cash, qty) = (account.cash, account.qty(0));
            acc.push_run(cash, qty, &bars.close[i..quiet_until]);
            if config.record {
                equity.extend((i..quiet_until).map(|j| (bars.ts[j], cash + qty * bars.close[j])));
            }
            i = quiet_until;
            continue;
        }
        if !matches!(pending, Signal::Hold) {
            account.execute(0, pending, at_open(bars, i), 0.0);
            pending = Signal::Hold;
        }
        let signal = decisions.at(i, bars, account.qty(0));
        if !matches!(signal, Signal::Hold) {
            match config.fill_at {
                FillAt::Close => account.execute(0, signal, at_close(bars, i), 0.0),
                FillAt::NextOpen => pending = signal,
            }
        }
        let qty = account.qty(0);
        let value = account.cash + qty * bars.close[i];
        acc.push(value, qty != 0.0);
        if config.record {
            equity.push((bars.ts[i], value));
        }
        i += 1;
    }
    Ok(finish(account, acc, equity, bars.ts[0], bars.ts[n - 1], n))
}

/// Where a strategy's decisions come from: asked bar by bar, or listed up front by a
/// strategy whose decisions do not depend on the position ([`Strategy::decisions`]).
enum Decisions<'s> {
    PerBar(&'s mut dyn Strategy),
    Listed {
        list: Vec<(usize, Signal)>,
        next: usize,
    },
}

impl<'s> Decisions<'s> {
    fn of(strategy: &'s mut dyn Strategy, bars: &BarSeries<'_>) -> Decisions<'s> {
        match strategy.decisions(bars) {
            None => Decisions::PerBar(strategy),
            Some(mut list) => {
                // Ascending by bar; of several for one bar the last counts.
                list.sort_by_key(|d| d.0);
                let mut deduped: Vec<(usize, Signal)> = Vec::with_capacity(list.len());
                for d in list {
                    match deduped.last_mut() {
                        Some(last) if last.0 == d.0 => *last = d,
                        _ => deduped.push(d),
                    }
                }
                Decisions::Listed {
                    list: deduped,
                    next: 0,
                }
            }
        }
    }

    /// The first bar at or after `i` that may bring a decision.
    fn next_bar(&self, i: usize) -> usize {
        match self {
            Decisions::PerBar(_) => i,
            Decisions::Listed { list, next } => list.get(*next).map_or(usize::MAX, |d| d.0.max(i)),
        }
    }

    fn at(&mut self, i: usize, bars: &BarSeries<'_>, position: f64) -> Signal {
        match self {
            Decisions::PerBar(strategy) => strategy.on_bar(i, bars, position),
            Decisions::Listed { list, next } => match list.get(*next) {
                Some(&(bar, signal)) if bar == i => {
                    *next += 1;
                    signal
                }
                _ => Signal::Hold,
            },
        }
    }
}

fn at_open(bars: &BarSeries<'_>, i: usize) -> Opportunity {
    Opportunity {
        bar: i,
        ts: bars.ts[i],
        reference: bars.open[i],
        low: bars.low[i],
        high: bars.high[i],
    }
}

fn at_close(bars: &BarSeries<'_>, i: usize) -> Opportunity {
    let c = bars.close[i];
    Opportunity {
        bar: i,
        ts: bars.ts[i],
        reference: c,
        low: c,
        high: c,
    }
}

fn finish(
    account: Account<'_>,
    acc: Accumulator,
    equity: Vec<(i64, f64)>,
    first_ts: i64,
    last_ts: i64,
    bars: usize,
) -> RunResult {
    let stats = TradeStats {
        closed: account.closed,
        wins: account.wins,
        gross_profit: account.gross_profit,
        gross_loss: account.gross_loss,
    };
    let open_positions = (0..account.symbols()).map(|s| account.qty(s)).collect();
    RunResult {
        metrics: acc.finish(first_ts, last_ts, bars, stats),
        equity,
        fills: account.fills,
        trades: account.trades,
        open_positions,
    }
}

/// Backtests a portfolio: `strategies[s]` trades `series[s]`, all from one account, so
/// sizing by equity fraction sees the whole portfolio (use `Sizing::Equity(1/n)` to split
/// it evenly). Series may have different bar times; the equity curve has one point per
/// distinct time, marking each symbol at its latest close.
pub fn run_portfolio(
    series: &[BarSeries<'_>],
    strategies: &mut [Box<dyn Strategy>],
    config: &Config,
) -> Result<RunResult, BacktestError> {
    config.validate()?;
    if series.len() != strategies.len() {
        return Err(BacktestError::Config(format!(
            "{} series but {} strategies",
            series.len(),
            strategies.len()
        )));
    }
    if series.iter().all(|s| s.is_empty()) {
        return Err(BacktestError::Input("no bars in any series".into()));
    }
    for (bars, strategy) in series.iter().zip(strategies.iter_mut()) {
        strategy.prepare(bars, &IndicatorCache::new(*bars));
    }
    let timeline = merged_times(series);
    let mut account = Account::new(config, series.len());
    let mut acc = Accumulator::new(config.initial_cash);
    let mut equity = Vec::with_capacity(if config.record { timeline.len() } else { 0 });
    let mut cursor = vec![0usize; series.len()];
    let mut mark = vec![0.0f64; series.len()];
    let mut pending = vec![Signal::Hold; series.len()];
    let mut here = Vec::with_capacity(series.len());
    for &t in &timeline {
        here.clear();
        here.extend((0..series.len()).filter(|&s| series[s].ts.get(cursor[s]) == Some(&t)));
        // Every fill due at this time first, sized with the marks of the previous closes:
        // no symbol's close at this time may leak into another's sizing.
        for &s in &here {
            if !matches!(pending[s], Signal::Hold) {
                let others = value_except(&account, &mark, s);
                account.execute(s, pending[s], at_open(&series[s], cursor[s]), others);
                pending[s] = Signal::Hold;
            }
        }
        for &s in &here {
            mark[s] = series[s].close[cursor[s]];
        }
        for &s in &here {
            let i = cursor[s];
            let signal = strategies[s].on_bar(i, &series[s], account.qty(s));
            if !matches!(signal, Signal::Hold) {
                match config.fill_at {
                    FillAt::Close => {
                        let others = value_except(&account, &mark, s);
                        account.execute(s, signal, at_close(&series[s], i), others);
                    }
                    FillAt::NextOpen => pending[s] = signal,
                }
            }
            cursor[s] += 1;
        }
        let held: f64 = (0..series.len()).map(|s| account.qty(s) * mark[s]).sum();
        let value = account.cash + held;
        let exposed = (0..series.len()).any(|s| account.qty(s) != 0.0);
        acc.push(value, exposed);
        if config.record {
            equity.push((t, value));
        }
    }
    let (first, last) = (timeline[0], timeline[timeline.len() - 1]);
    Ok(finish(account, acc, equity, first, last, timeline.len()))
}

fn value_except(account: &Account<'_>, mark: &[f64], except: usize) -> f64 {
    (0..mark.len())
        .filter(|&s| s != except)
        .map(|s| account.qty(s) * mark[s])
        .sum()
}

/// Every distinct bar time across the series, ascending.
fn merged_times(series: &[BarSeries<'_>]) -> Vec<i64> {
    let mut all: Vec<i64> = series.iter().flat_map(|s| s.ts.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}
