//! Fast stochastic oscillator (TA-Lib `STOCHF` with its default SMA for %D); lookback
//! `(fastk_period - 1) + (fastd_period - 1)`.
//!
//! - %K = 100 × (close - lowest low) / (highest high - lowest low) over the last
//!   `fastk_period` bars, 0 when that range is 0. TA-Lib divides by `range / 100` rather
//!   than multiplying by 100; so does this, for its last bit.
//! - %D = SMA(fastd_period) of %K.
//!
//! [`mod@crate::stoch`] smooths %K once more (the "slow" stochastic).

use crate::window::Extremes;
use crate::Sma;

/// %K and %D of a whole series; NaN over the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct StochOutput {
    pub k: Vec<f64>,
    pub d: Vec<f64>,
}

/// %K and %D at one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochValue {
    pub k: f64,
    pub d: f64,
}

/// TA-Lib's raw %K: where the close sits in the range of the last `period` bars.
#[derive(Debug, Clone)]
pub(crate) struct FastK {
    extremes: Extremes,
}

impl FastK {
    /// Panics if `period` is 0.
    pub(crate) fn new(period: usize) -> FastK {
        assert!(period >= 1, "stochastic %K period must be at least 1");
        FastK {
            extremes: Extremes::new(period),
        }
    }

    #[inline]
    pub(crate) fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let (highest, lowest) = self.extremes.update(high, low)?;
        let diff = (highest - lowest) / 100.0;
        Some(if diff != 0.0 {
            (close - lowest) / diff
        } else {
            0.0
        })
    }
}

/// Collects a %K/%D stream over a whole series.
pub(crate) fn collect_stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    mut update: impl FnMut(f64, f64, f64) -> Option<StochValue>,
) -> StochOutput {
    assert!(
        high.len() == close.len() && low.len() == close.len(),
        "high, low and close lengths differ"
    );
    let [k, d] = crate::collect_lines(close.len(), |i| {
        update(high[i], low[i], close[i]).map(|v| [v.k, v.d])
    });
    StochOutput { k, d }
}

/// Streaming fast stochastic.
#[derive(Debug, Clone)]
pub struct StochF {
    fast_k: FastK,
    fast_d: Sma,
}

impl StochF {
    /// Panics if a period is 0.
    pub fn new(fastk_period: usize, fastd_period: usize) -> StochF {
        StochF {
            fast_k: FastK::new(fastk_period),
            fast_d: Sma::new(fastd_period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<StochValue> {
        let k = self.fast_k.update(high, low, close)?;
        let d = self.fast_d.update(k)?;
        Some(StochValue { k, d })
    }
}

/// Fast stochastic (TA-Lib's defaults: 5, 3); the first
/// `(fastk_period - 1) + (fastd_period - 1)` outputs are NaN.
pub fn stochf(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk_period: usize,
    fastd_period: usize,
) -> StochOutput {
    let mut s = StochF::new(fastk_period, fastd_period);
    collect_stoch(high, low, close, |h, l, c| s.update(h, l, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_by_hand() {
        let high = [10.0, 12.0, 11.0, 13.0];
        let low = [8.0, 9.0, 10.0, 9.5];
        let close = [9.0, 11.0, 10.5, 12.0];
        let s = stochf(&high, &low, &close, 3, 1);
        assert!(s.k[..2].iter().all(|v| v.is_nan()));
        // bars 0..=2: highest 12, lowest 8
        assert_eq!(s.k[2], (10.5 - 8.0) / ((12.0 - 8.0) / 100.0));
        // bars 1..=3: highest 13, lowest 9
        assert_eq!(s.k[3], (12.0 - 9.0) / ((13.0 - 9.0) / 100.0));
        assert_eq!(s.d[2..], s.k[2..], "%D over one bar is %K");
        let flat = stochf(&[5.0; 6], &[5.0; 6], &[5.0; 6], 3, 2);
        assert!(flat.k[3..].iter().all(|&v| v == 0.0));
    }
}
