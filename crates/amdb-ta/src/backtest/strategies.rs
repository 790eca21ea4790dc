//! Built-in strategies, built by name from parameters (for the CLI and grids).

use std::sync::Arc;

use super::bars::BarSeries;
use super::order::{OrderType, Signal};
use super::params::Params;
use super::strategy::{IndicatorCache, Strategy};
use super::BacktestError;

/// A built-in strategy: its name, parameters with defaults, and what it does.
pub struct Builtin {
    pub name: &'static str,
    pub params: &'static [(&'static str, f64)],
    pub about: &'static str,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "ema-cross",
        params: &[("fast", 7.0), ("slow", 25.0)],
        about: "long when EMA(fast) crosses above EMA(slow); out (or short) when it crosses below",
    },
    Builtin {
        name: "rsi-reversion",
        params: &[
            ("period", 14.0),
            ("lower", 30.0),
            ("upper", 70.0),
            ("exit", 50.0),
        ],
        about: "long when RSI < lower, short when RSI > upper; out when RSI crosses exit",
    },
    Builtin {
        name: "bollinger-breakout",
        params: &[("period", 20.0), ("k", 2.0)],
        about: "long when close > SMA + k·σ, short when close < SMA − k·σ; out at the SMA",
    },
];

/// Builds the built-in strategy `name` from `params` (missing ones take their defaults).
pub fn builtin(name: &str, params: &Params) -> Result<Box<dyn Strategy>, BacktestError> {
    let Some(spec) = BUILTINS.iter().find(|b| b.name == name) else {
        let known: Vec<_> = BUILTINS.iter().map(|b| b.name).collect();
        return Err(BacktestError::Config(format!(
            "unknown strategy {name:?}; built-in strategies are {}",
            known.join(", ")
        )));
    };
    params.check_names(name, spec.params)?;
    let get = |p: &str| params.get_or(p, spec.params);
    Ok(match name {
        "ema-cross" => {
            let (fast, slow) = (
                period(name, "fast", get("fast"))?,
                period(name, "slow", get("slow"))?,
            );
            if fast >= slow {
                return Err(BacktestError::Config(format!(
                    "ema-cross needs fast < slow, got fast={fast} slow={slow}"
                )));
            }
            Box::new(EmaCross::new(fast, slow))
        }
        "rsi-reversion" => {
            let (lower, upper, exit) = (get("lower"), get("upper"), get("exit"));
            if !(0.0 <= lower && lower <= exit && exit <= upper && upper <= 100.0) {
                return Err(BacktestError::Config(format!(
                    "rsi-reversion needs 0 <= lower <= exit <= upper <= 100, got \
                     lower={lower} exit={exit} upper={upper}"
                )));
            }
            let p = period(name, "period", get("period"))?;
            if p < 2 {
                return Err(BacktestError::Config(
                    "rsi-reversion needs period >= 2".into(),
                ));
            }
            Box::new(RsiReversion::new(p, lower, upper, exit))
        }
        "bollinger-breakout" => {
            let k = get("k");
            if !(k.is_finite() && k > 0.0) {
                return Err(BacktestError::Config(format!(
                    "bollinger-breakout needs k > 0, got {k}"
                )));
            }
            let p = period(name, "period", get("period"))?;
            if p < 2 {
                return Err(BacktestError::Config(
                    "bollinger-breakout needs period >= 2".into(),
                ));
            }
            Box::new(BollingerBreakout::new(p, k))
        }
        _ => unreachable!("every BUILTINS entry has a constructor"),
    })
}

fn period(strategy: &str, name: &str, v: f64) -> Result<usize, BacktestError> {
    if v.fract() == 0.0 && (1.0..=100_000.0).contains(&v) {
        Ok(v as usize)
    } else {
        Err(BacktestError::Config(format!(
            "{strategy}: {name} must be a whole number of bars from 1 to 100000, got {v}"
        )))
    }
}

/// EMA crossover.
pub struct EmaCross {
    fast_period: usize,
    slow_period: usize,
    fast: Arc<Vec<f64>>,
    slow: Arc<Vec<f64>>,
}

impl EmaCross {
    pub fn new(fast: usize, slow: usize) -> EmaCross {
        EmaCross {
            fast_period: fast,
            slow_period: slow,
            fast: Arc::new(Vec::new()),
            slow: Arc::new(Vec::new()),
        }
    }
}

impl Strategy for EmaCross {
    fn prepare(&mut self, _bars: &BarSeries<'_>, cache: &IndicatorCache<'_>) {
        self.fast = cache.ema(self.fast_period);
        self.slow = cache.ema(self.slow_period);
    }

    fn on_bar(&mut self, i: usize, _bars: &BarSeries<'_>, _position: f64) -> Signal {
        if i == 0 {
            return Signal::Hold;
        }
        cross(
            self.fast[i],
            self.slow[i],
            self.fast[i - 1],
            self.slow[i - 1],
        )
    }

    /// Crosses do not depend on the position: list them all at once.
    fn decisions(&mut self, bars: &BarSeries<'_>) -> Option<Vec<(usize, Signal)>> {
        Some(super::crosses::crosses(
            &self.fast[..bars.len()],
            &self.slow[..bars.len()],
        ))
    }
}

/// Long on an upward cross of `fast` over `slow`, short on a downward one. NaN (warm-up)
/// compares false both ways, so no cross is seen before both lines exist.
#[inline]
fn cross(f: f64, s: f64, prev_f: f64, prev_s: f64) -> Signal {
    if f > s && prev_f <= prev_s {
        Signal::Long(OrderType::Market)
    } else if f < s && prev_f >= prev_s {
        Signal::Short(OrderType::Market)
    } else {
        Signal::Hold
    }
}

/// RSI mean reversion.
pub struct RsiReversion {
    period: usize,
    lower: f64,
    upper: f64,
    exit: f64,
    rsi: Arc<Vec<f64>>,
}

impl RsiReversion {
    pub fn new(period: usize, lower: f64, upper: f64, exit: f64) -> RsiReversion {
        RsiReversion {
            period,
            lower,
            upper,
            exit,
            rsi: Arc::new(Vec::new()),
        }
    }
}

impl Strategy for RsiReversion {
    fn prepare(&mut self, _bars: &BarSeries<'_>, cache: &IndicatorCache<'_>) {
        self.rsi = cache.rsi(self.period);
    }

    fn on_bar(&mut self, i: usize, _bars: &BarSeries<'_>, position: f64) -> Signal {
        let r = self.rsi[i];
        if r.is_nan() {
            return Signal::Hold;
        }
        if position > 0.0 {
            if r >= self.exit {
                return Signal::Flat(OrderType::Market);
            }
        } else if position < 0.0 {
            if r <= self.exit {
                return Signal::Flat(OrderType::Market);
            }
        } else if r < self.lower {
            return Signal::Long(OrderType::Market);
        } else if r > self.upper {
            return Signal::Short(OrderType::Market);
        }
        Signal::Hold
    }
}

/// Bollinger band breakout (SMA middle, population σ, as TA-Lib's BBANDS).
pub struct BollingerBreakout {
    period: usize,
    k: f64,
    middle: Arc<Vec<f64>>,
    sigma: Arc<Vec<f64>>,
}

impl BollingerBreakout {
    pub fn new(period: usize, k: f64) -> BollingerBreakout {
        BollingerBreakout {
            period,
            k,
            middle: Arc::new(Vec::new()),
            sigma: Arc::new(Vec::new()),
        }
    }
}

impl Strategy for BollingerBreakout {
    fn prepare(&mut self, _bars: &BarSeries<'_>, cache: &IndicatorCache<'_>) {
        self.middle = cache.sma(self.period);
        self.sigma = cache.stddev(self.period);
    }

    fn on_bar(&mut self, i: usize, bars: &BarSeries<'_>, position: f64) -> Signal {
        let (mid, sigma, close) = (self.middle[i], self.sigma[i], bars.close[i]);
        if mid.is_nan() {
            return Signal::Hold;
        }
        let (upper, lower) = (mid + self.k * sigma, mid - self.k * sigma);
        if close > upper {
            Signal::Long(OrderType::Market)
        } else if close < lower {
            Signal::Short(OrderType::Market)
        } else if (position > 0.0 && close < mid) || (position < 0.0 && close > mid) {
            Signal::Flat(OrderType::Market)
        } else {
            Signal::Hold
        }
    }
}

/// Signals decided elsewhere (an agent's stored signals). A signal stamped at time t is
/// acted on when the bar containing t has closed, never before it happened; several in one
/// bar: the last one wins.
pub struct ExternalSignals {
    signals: Vec<(i64, Signal)>,
    next: usize,
    /// The bars' usual length (the median spacing), for bars followed by a gap.
    bar_nanos: i64,
}

impl ExternalSignals {
    /// `signals` in any order; sorted here (stable, so same-time signals keep their order
    /// and the last one wins).
    pub fn new(mut signals: Vec<(i64, Signal)>) -> ExternalSignals {
        signals.sort_by_key(|s| s.0);
        ExternalSignals {
            signals,
            next: 0,
            bar_nanos: i64::MAX,
        }
    }
}

impl Strategy for ExternalSignals {
    fn prepare(&mut self, bars: &BarSeries<'_>, _cache: &IndicatorCache<'_>) {
        let mut gaps: Vec<i64> = bars.ts.windows(2).map(|w| w[1] - w[0]).collect();
        if !gaps.is_empty() {
            let mid = gaps.len() / 2;
            self.bar_nanos = *gaps.select_nth_unstable(mid).1;
        }
    }

    fn on_bar(&mut self, i: usize, bars: &BarSeries<'_>, _position: f64) -> Signal {
        // A signal at time t is known once t has passed: it is acted on after the bar that
        // contains t closes. A bar closes one bar length after it opens, or earlier if the
        // next bar opens sooner; a signal in a gap after it waits for the next bar.
        let own_close = bars.ts[i].saturating_add(self.bar_nanos);
        let close_time = bars
            .ts
            .get(i + 1)
            .map_or(own_close, |&next| next.min(own_close));
        let mut out = Signal::Hold;
        while self.next < self.signals.len() && self.signals[self.next].0 < close_time {
            out = self.signals[self.next].1;
            self.next += 1;
        }
        out
    }
}
