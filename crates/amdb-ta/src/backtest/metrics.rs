//! Performance metrics, accumulated bar by bar so grids need not keep equity curves.
//!
//! Returns are simple returns of equity from one bar's close to the next (the first from
//! the initial cash). Annualisation uses the calendar span of the bars: a year is 365.25
//! days, and the number of returns per year is the count over that span. Risk-free rate 0.
//! - Sharpe: mean return / standard deviation (population) × √(returns per year).
//! - Sortino: mean return / downside deviation (√ of the mean of min(r, 0)²) × √(per year).
//! - Max drawdown: the largest fall from a running peak of equity, as a fraction.
//! - Calmar: annualised return / max drawdown.
//! - Exposure: the fraction of bars that closed with a position open.

use serde::Serialize;

const NANOS_PER_YEAR: f64 = 365.25 * 86_400.0 * 1e9;

/// Running sums over the equity curve.
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    initial: f64,
    last: f64,
    peak: f64,
    max_drawdown: f64,
    /// `peak × (1 - max_drawdown)`: equity below it is a new largest drawdown.
    floor: f64,
    /// Equity reached zero or below (shorts can lose more than the account).
    ruined: bool,
    returns: usize,
    sum: f64,
    sum_sq: f64,
    downside_sq: f64,
    exposed: usize,
}

impl Accumulator {
    pub fn new(initial: f64) -> Accumulator {
        Accumulator {
            initial,
            last: initial,
            peak: initial,
            max_drawdown: 0.0,
            floor: initial,
            ruined: false,
            returns: 0,
            sum: 0.0,
            sum_sq: 0.0,
            downside_sq: 0.0,
            exposed: 0,
        }
    }

    /// Equity at a bar's close, and whether a position was open then.
    #[inline]
    pub fn push(&mut self, equity: f64, exposed: bool) {
        self.returns += 1;
        self.exposed += exposed as usize;
        if self.ruined || equity <= 0.0 {
            // A short that lost more than the account: returns from here on divide by
            // nothing meaningful. The drawdown is total and the ratios undefined.
            self.ruined = true;
            self.max_drawdown = 1.0;
            self.last = equity;
            return;
        }
        // Flat bars leave equity unchanged: a zero return adds nothing to the sums, and
        // skipping the division makes them nearly free.
        if equity == self.last {
            return;
        }
        let r = equity / self.last - 1.0;
        self.last = equity;
        self.sum += r;
        self.sum_sq += r * r;
        if r < 0.0 {
            self.downside_sq += r * r;
        }
        if equity > self.peak {
            self.peak = equity;
            self.floor = equity * (1.0 - self.max_drawdown);
        } else if equity < self.floor {
            // Below the level where the drawdown from this peak passes the largest so far.
            self.max_drawdown = 1.0 - equity / self.peak;
            self.floor = equity;
        }
    }

    /// [`Accumulator::push`] for bars over which cash and position stay the same: equity is
    /// `cash + qty × close` at each. The same arithmetic in the same order as pushing them
    /// one by one, with the state held in locals so the loop runs in registers. The closes
    /// are finite (as [`BarSeries`](super::BarSeries) guarantees).
    // Not inlined: inside the event loop the compiler keeps the sums on the stack, which
    // puts a store and a load on the loop-carried chain of every bar.
    #[inline(never)]
    pub fn push_run(&mut self, cash: f64, qty: f64, closes: &[f64]) {
        debug_assert!(closes.iter().all(|c| c.is_finite()));
        if qty == 0.0 && !closes.is_empty() {
            // Flat: equity is `cash` at every bar (0 × a finite close is 0). After the first
            // bar every push sees the equity it last saw, which only counts the bar (or, if
            // the account is ruined, sets what the first push set).
            self.push(cash, false);
            self.returns += closes.len() - 1;
            return;
        }
        let mut s = self.clone();
        for &c in closes {
            s.push(cash + qty * c, qty != 0.0);
        }
        *self = s;
    }

    /// `first_ts` and `last_ts` are the first and last bar times; `bars` the number of bars
    /// the span covers (one bar's length is added, so 96 bars of 15m span one day).
    pub fn finish(&self, first_ts: i64, last_ts: i64, bars: usize, trades: TradeStats) -> Metrics {
        let final_equity = self.last;
        let total_return = final_equity / self.initial - 1.0;
        let years = if bars >= 2 {
            (last_ts - first_ts) as f64 / NANOS_PER_YEAR * bars as f64 / (bars - 1) as f64
        } else {
            0.0
        };
        let n = self.returns as f64;
        let (mut sharpe, mut sortino, mut annual_return) = (f64::NAN, f64::NAN, f64::NAN);
        if years > 0.0 && self.returns >= 2 && !self.ruined {
            let per_year = n / years;
            let mean = self.sum / n;
            let var = (self.sum_sq / n - mean * mean).max(0.0);
            let downside = (self.downside_sq / n).sqrt();
            sharpe = ratio(mean, var.sqrt()) * per_year.sqrt();
            sortino = ratio(mean, downside) * per_year.sqrt();
            annual_return = (final_equity / self.initial).powf(1.0 / years) - 1.0;
        }
        Metrics {
            final_equity,
            total_return,
            annual_return,
            sharpe,
            sortino,
            max_drawdown: self.max_drawdown,
            calmar: ratio(annual_return, self.max_drawdown),
            trades: trades.closed,
            win_rate: if trades.closed > 0 {
                trades.wins as f64 / trades.closed as f64
            } else {
                f64::NAN
            },
            profit_factor: ratio(trades.gross_profit, trades.gross_loss),
            exposure: if self.returns > 0 {
                self.exposed as f64 / n
            } else {
                0.0
            },
            bars,
            years,
        }
    }
}

/// `a / b`, NaN when undefined (0/0), ±∞ when only `b` is 0 (a profit factor with no
/// losing trades is infinite, and is reported so).
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        if a == 0.0 || a.is_nan() {
            f64::NAN
        } else {
            a.signum() * f64::INFINITY
        }
    } else {
        a / b
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TradeStats {
    pub closed: usize,
    pub wins: usize,
    pub gross_profit: f64,
    pub gross_loss: f64,
}

/// A backtest's outcome. Undefined values are NaN (no trades: no win rate; under two bars:
/// no Sharpe), which JSON output writes as null.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub final_equity: f64,
    pub total_return: f64,
    pub annual_return: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub max_drawdown: f64,
    pub calmar: f64,
    pub trades: usize,
    pub win_rate: f64,
    pub profit_factor: f64,
    pub exposure: f64,
    pub bars: usize,
    pub years: f64,
}

impl Metrics {
    /// A metric by its name (as in the JSON output), for grids ranked by any of them.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "final_equity" => self.final_equity,
            "total_return" => self.total_return,
            "annual_return" => self.annual_return,
            "sharpe" => self.sharpe,
            "sortino" => self.sortino,
            "max_drawdown" => self.max_drawdown,
            "calmar" => self.calmar,
            "trades" => self.trades as f64,
            "win_rate" => self.win_rate,
            "profit_factor" => self.profit_factor,
            "exposure" => self.exposure,
            _ => return None,
        })
    }

    /// Whether a larger value of the metric is better (for ranking grid points). Only
    /// drawdown is better small; trades and exposure count as "more is better" for want of
    /// a natural order.
    pub fn higher_is_better(name: &str) -> bool {
        name != "max_drawdown"
    }

    pub const NAMES: [&'static str; 11] = [
        "final_equity",
        "total_return",
        "annual_return",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "trades",
        "win_rate",
        "profit_factor",
        "exposure",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_and_returns_by_hand() {
        let mut acc = Accumulator::new(100.0);
        for (eq, open) in [(110.0, true), (99.0, true), (121.0, false)] {
            acc.push(eq, open);
        }
        let day = 86_400_000_000_000i64;
        let m = acc.finish(0, 2 * day, 3, TradeStats::default());
        assert!((m.total_return - 0.21).abs() < 1e-12);
        assert!((m.max_drawdown - 0.1).abs() < 1e-12);
        assert!((m.exposure - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.years - 3.0 / 365.25).abs() < 1e-12);
        assert!(m.win_rate.is_nan());
        assert!(m.profit_factor.is_nan());
        let rets = [0.1, 99.0 / 110.0 - 1.0, 121.0 / 99.0 - 1.0];
        let mean = rets.iter().sum::<f64>() / 3.0;
        let sd = (rets.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / 3.0).sqrt();
        let expected = mean / sd * (3.0 / m.years).sqrt();
        assert!((m.sharpe - expected).abs() < 1e-9 * expected.abs());
    }

    proptest::proptest! {
        #[test]
        fn drawdown_and_sums_match_a_direct_computation(
            curve in proptest::collection::vec(50.0f64..150.0, 1..200),
            flat in proptest::collection::vec(proptest::bool::ANY, 200),
        ) {
            // Repeat values now and then, as flat bars do.
            let curve: Vec<f64> = curve
                .iter()
                .enumerate()
                .map(|(i, &v)| if i > 0 && flat[i] { curve[i - 1] } else { v })
                .collect();
            let mut acc = Accumulator::new(100.0);
            for &v in &curve {
                acc.push(v, true);
            }
            let (mut peak, mut dd, mut prev, mut sum) = (100.0f64, 0.0f64, 100.0, 0.0);
            for &v in &curve {
                peak = peak.max(v);
                dd = dd.max(1.0 - v / peak);
                sum += v / prev - 1.0;
                prev = v;
            }
            proptest::prop_assert!((acc.max_drawdown - dd).abs() < 1e-12);
            proptest::prop_assert!((acc.sum - sum).abs() < 1e-9);
        }
    }

    proptest::proptest! {
        /// The run form (including its shortcut for flat runs) is pushing bar by bar.
        #[test]
        fn push_run_is_pushing_each_bar(
            runs in proptest::collection::vec(
                (-50.0f64..200.0, proptest::sample::select(vec![0.0, 0.5, -1.0]), 0usize..6),
                0..30,
            ),
            closes in proptest::collection::vec(1.0f64..100.0, 200),
        ) {
            let (mut by_run, mut by_bar) = (Accumulator::new(100.0), Accumulator::new(100.0));
            let mut at = 0;
            for (cash, qty, len) in runs {
                let run = &closes[at..at + len];
                at += len;
                by_run.push_run(cash, qty, run);
                for &c in run {
                    by_bar.push(cash + qty * c, qty != 0.0);
                }
            }
            proptest::prop_assert_eq!(format!("{by_run:?}"), format!("{by_bar:?}"));
        }
    }

    #[test]
    fn a_ruined_account_has_total_drawdown_and_no_ratios() {
        let mut acc = Accumulator::new(100.0);
        for eq in [120.0, -50.0, 80.0, 100.0] {
            acc.push(eq, true);
        }
        let m = acc.finish(0, 3 * 86_400_000_000_000, 4, TradeStats::default());
        assert_eq!(m.max_drawdown, 1.0);
        assert!(m.sharpe.is_nan() && m.sortino.is_nan() && m.annual_return.is_nan());
        assert_eq!(m.total_return, 0.0);
    }

    #[test]
    fn profit_factor_without_losses_is_infinite() {
        assert_eq!(ratio(5.0, 0.0), f64::INFINITY);
        assert!(ratio(0.0, 0.0).is_nan());
    }
}
