//! Slow stochastic oscillator (TA-Lib `STOCH` with its default SMA smoothing); lookback
//! `(fastk_period - 1) + (slowk_period - 1) + (slowd_period - 1)`.
//!
//! - raw %K over the last `fastk_period` bars, as in [`mod@crate::stochf`];
//! - %K (slow) = SMA(slowk_period) of raw %K;
//! - %D (slow) = SMA(slowd_period) of slow %K.
//!
//! TA-Lib lets the two smoothings be other moving averages; only its default, the SMA, is
//! implemented.

use crate::stochf::{collect_stoch, FastK, StochOutput, StochValue};
use crate::Sma;

/// Streaming slow stochastic.
#[derive(Debug, Clone)]
pub struct Stoch {
    fast_k: FastK,
    slow_k: Sma,
    slow_d: Sma,
}

impl Stoch {
    /// Panics if a period is 0.
    pub fn new(fastk_period: usize, slowk_period: usize, slowd_period: usize) -> Stoch {
        Stoch {
            fast_k: FastK::new(fastk_period),
            slow_k: Sma::new(slowk_period),
            slow_d: Sma::new(slowd_period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<StochValue> {
        let raw = self.fast_k.update(high, low, close)?;
        let k = self.slow_k.update(raw)?;
        let d = self.slow_d.update(k)?;
        Some(StochValue { k, d })
    }
}

/// Slow stochastic (TA-Lib's defaults: 5, 3, 3; 14, 3, 3 is common on charts); the first
/// `(fastk_period - 1) + (slowk_period - 1) + (slowd_period - 1)` outputs are NaN.
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk_period: usize,
    slowk_period: usize,
    slowd_period: usize,
) -> StochOutput {
    let mut s = Stoch::new(fastk_period, slowk_period, slowd_period);
    collect_stoch(high, low, close, |h, l, c| s.update(h, l, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sma, stochf};

    #[test]
    fn smooths_the_fast_lines() {
        let high: Vec<f64> = (0..40).map(|i| 10.0 + ((i * 7) % 5) as f64).collect();
        let low: Vec<f64> = high.iter().map(|h| h - 2.5).collect();
        let close: Vec<f64> = high
            .iter()
            .zip(&low)
            .map(|(h, l)| (h + 2.0 * l) / 3.0)
            .collect();
        let fast = stochf(&high, &low, &close, 5, 3);
        let slow = stoch(&high, &low, &close, 5, 3, 3);
        // Slow %K is fast %D; slow %D is its SMA.
        let lookback = 4 + 2 + 2;
        assert!(slow.k[..lookback].iter().all(|v| v.is_nan()));
        assert_eq!(&slow.k[lookback..], &fast.d[lookback..]);
        let d = sma(&fast.d[6..], 3);
        assert_eq!(&slow.d[lookback..], &d[2..]);
    }
}
