//! Technical indicators with TA-Lib's numbers.
//!
//! Every indicator comes twice: a batch function over slices, which returns one output per
//! input with `NaN` for the warm-up positions TA-Lib leaves out (its "lookback"), and a
//! streaming state whose `update` takes one bar at a time and returns `None` during the
//! warm-up. Both run the same arithmetic in the same order, so they agree bit for bit, and
//! streaming across chunk boundaries equals batch over the whole range. Indicators with
//! several lines return a struct of vectors (batch) and a struct per bar (streaming).
//!
//! - Moving averages: [`sma()`], [`ema()`], [`wma()`], [`dema()`], [`tema()`].
//! - Oscillators: [`rsi()`] (Wilder's) and [`rsi_cutler()`], [`macd()`], [`stoch()`],
//!   [`stochf()`], [`willr()`], [`cci()`], [`mfi()`], [`roc()`].
//! - Trend and range: [`adx()`], [`plus_di()`], [`minus_di()`] ([`dmi()`] for all three),
//!   [`atr()`], [`natr()`], [`true_range()`].
//! - Spread: [`stddev()`] (population) and [`stddev_sample()`], [`bbands()`].
//! - Volume: [`obv()`], [`vwap()`] and [`vwap_rolling()`] (not in TA-Lib), and two of our own,
//!   [`volume_ratio()`] and [`volatility()`] (of returns).
//!
//! Defaults match TA-Lib 0.8, which `tests/talib_reference.rs` checks on real daily and
//! hourly bars and on edge cases: EMA is seeded with the SMA of its first `period` values,
//! RSI is Wilder's (seeded with the mean of the first `period` changes, 0 when there was no
//! movement), standard deviation is the population one, and "zero" means below TA-Lib's
//! epsilon, 1e-14. Variants are named ([`rsi::rsi_cutler`], [`stddev::stddev_sample`]).
//!
//! The hot batch functions ([`ema()`], [`rsi()`], [`sma()`], [`volume_ratio()`], [`volatility()`])
//! have `_into` forms that write into a caller's buffer, and run kernels compiled with FMA
//! instructions when the CPU has them; see `kernel.rs` for why that keeps the bits of the
//! streaming path.

pub mod adx;
pub mod atr;
pub mod backtest;
pub mod bbands;
pub mod cci;
pub mod dema;
pub mod dmi;
pub mod ema;
mod kernel;
pub mod macd;
pub mod mfi;
mod moments;
pub mod obv;
pub mod report;
pub mod roc;
pub mod rsi;
pub mod sma;
pub mod stddev;
pub mod stoch;
pub mod stochf;
pub mod volume;
pub mod vwap;
pub mod willr;
mod window;
pub mod wma;

pub use adx::{adx, dmi, Adx, DmiOutput, DmiValue};
pub use atr::{atr, natr, true_range, Atr, Natr};
pub use bbands::{bbands, Bbands, BbandsOutput, BbandsValue};
pub use cci::{cci, Cci};
pub use dema::{dema, tema, Dema, Tema};
pub use dmi::{minus_di, plus_di, MinusDi, PlusDi};
pub use ema::{ema, ema_into, Ema};
pub use macd::{macd, Macd, MacdOutput, MacdValue};
pub use mfi::{mfi, Mfi};
pub use obv::{obv, Obv};
pub use roc::{roc, Roc};
pub use rsi::{rsi, rsi_cutler, rsi_into, Rsi, RsiCutler};
pub use sma::{sma, sma_into, Sma};
pub use stddev::{stddev, stddev_sample, StdDev, StdDevSample};
pub use stoch::{stoch, Stoch};
pub use stochf::{stochf, StochF, StochOutput, StochValue};
pub use volume::{
    volatility, volatility_into, volume_ratio, volume_ratio_into, Volatility, VolumeRatio,
};
pub use vwap::{vwap, vwap_rolling, RollingVwap, Vwap};
pub use willr::{willr, WillR};
pub use wma::{wma, Wma};

/// TA-Lib's `TA_EPSILON` as of 0.8 (its 0.4 releases used 1e-8).
pub(crate) const EPSILON: f64 = 1e-14;

/// TA-Lib's `TA_IS_ZERO`: a magnitude below [`EPSILON`] counts as zero.
pub(crate) fn is_zero(v: f64) -> bool {
    -EPSILON < v && v < EPSILON
}

/// Runs a streaming indicator over a slice: the shared body of the batch functions, which
/// is what makes batch and streaming identical.
pub(crate) fn run<S>(
    input: &[f64],
    mut state: S,
    mut update: impl FnMut(&mut S, f64) -> Option<f64>,
) -> Vec<f64> {
    input
        .iter()
        .map(|&x| update(&mut state, x).unwrap_or(f64::NAN))
        .collect()
}

/// Collects a multi-line indicator (MACD, bands, stochastics, DMI) into one column per line:
/// `value(i)` gives bar `i`'s lines, `None` during the warm-up (NaN in every column).
pub(crate) fn collect_lines<const K: usize>(
    n: usize,
    mut value: impl FnMut(usize) -> Option<[f64; K]>,
) -> [Vec<f64>; K] {
    let mut out: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(n));
    for i in 0..n {
        let v = value(i).unwrap_or([f64::NAN; K]);
        for (col, x) in out.iter_mut().zip(v) {
            col.push(x);
        }
    }
    out
}

/// [`run`] for indicators of high, low and close.
pub(crate) fn run_hlc<S>(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    mut state: S,
    mut update: impl FnMut(&mut S, f64, f64, f64) -> Option<f64>,
) -> Vec<f64> {
    assert!(
        high.len() == close.len() && low.len() == close.len(),
        "high, low and close lengths differ"
    );
    (0..close.len())
        .map(|i| update(&mut state, high[i], low[i], close[i]).unwrap_or(f64::NAN))
        .collect()
}

/// [`run`] for indicators of high, low, close and volume.
pub(crate) fn run_hlcv<S>(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    mut state: S,
    mut update: impl FnMut(&mut S, f64, f64, f64, f64) -> Option<f64>,
) -> Vec<f64> {
    assert!(
        high.len() == close.len() && low.len() == close.len() && volume.len() == close.len(),
        "high, low, close and volume lengths differ"
    );
    (0..close.len())
        .map(|i| update(&mut state, high[i], low[i], close[i], volume[i]).unwrap_or(f64::NAN))
        .collect()
}
