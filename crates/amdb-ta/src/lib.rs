//! Technical indicators with TA-Lib's numbers.
//!
//! Every indicator comes twice: a batch function over a slice, which returns one output per
//! input with `NaN` for the warm-up positions TA-Lib leaves out (its "lookback"), and a
//! streaming state whose `update` takes one value at a time and returns `None` during the
//! warm-up. Both run the same arithmetic in the same order, so they agree bit for bit, and
//! streaming across chunk boundaries equals batch over the whole range.
//!
//! Defaults match TA-Lib: EMA is seeded with the SMA of its first `period` values, RSI is
//! Wilder's (seeded with the mean of the first `period` changes, 0 when there was no
//! movement), standard deviation is the population one. Variants are named
//! ([`rsi::rsi_cutler`]).

pub mod atr;
pub mod dema;
pub mod ema;
pub mod obv;
pub mod roc;
pub mod rsi;
pub mod sma;
pub mod stddev;
pub mod volume;
pub mod willr;
pub mod wma;

pub use atr::{atr, natr, true_range, Atr, Natr};
pub use dema::{dema, tema, Dema, Tema};
pub use ema::{ema, Ema};
pub use obv::{obv, Obv};
pub use roc::{roc, Roc};
pub use rsi::{rsi, rsi_cutler, Rsi, RsiCutler};
pub use sma::{sma, Sma};
pub use stddev::{stddev, StdDev};
pub use volume::{volatility, volume_ratio, Volatility, VolumeRatio};
pub use willr::{willr, WillR};
pub use wma::{wma, Wma};

/// TA-Lib treats magnitudes below 1e-8 as zero (`TA_IS_ZERO`).
pub(crate) fn is_zero(v: f64) -> bool {
    -1e-8 < v && v < 1e-8
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
