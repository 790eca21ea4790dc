//! Indicators of our own (not in TA-Lib), named for what they compute:
//! - volume ratio: a bar's volume over the mean volume of the last `period` bars (including
//!   it); 0 when that mean is 0; lookback `period - 1`.
//! - volatility: the population standard deviation of the last `period` simple returns
//!   `close / previous close - 1`; lookback `period`.

use std::collections::VecDeque;

use crate::Sma;

/// Streaming volume ratio.
#[derive(Debug, Clone)]
pub struct VolumeRatio {
    mean: Sma,
}

impl VolumeRatio {
    pub fn new(period: usize) -> VolumeRatio {
        VolumeRatio {
            mean: Sma::new(period),
        }
    }

    pub fn update(&mut self, volume: f64) -> Option<f64> {
        let mean = self.mean.update(volume)?;
        Some(if mean != 0.0 { volume / mean } else { 0.0 })
    }
}

/// Volume ratio; the first `period - 1` outputs are NaN.
pub fn volume_ratio(volume: &[f64], period: usize) -> Vec<f64> {
    crate::run(volume, VolumeRatio::new(period), VolumeRatio::update)
}

/// Streaming volatility of returns.
#[derive(Debug, Clone)]
pub struct Volatility {
    period: usize,
    prev: Option<f64>,
    returns: VecDeque<f64>,
}

impl Volatility {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Volatility {
        assert!(period >= 1, "volatility period must be at least 1");
        Volatility {
            period,
            prev: None,
            returns: VecDeque::with_capacity(period + 1),
        }
    }

    pub fn update(&mut self, close: f64) -> Option<f64> {
        let prev = self.prev.replace(close)?;
        let r = if prev != 0.0 { close / prev - 1.0 } else { 0.0 };
        self.returns.push_back(r);
        if self.returns.len() > self.period {
            self.returns.pop_front();
        }
        if self.returns.len() < self.period {
            return None;
        }
        // Two passes over the window: exact enough for returns of any size, and no drift.
        let n = self.period as f64;
        let mean = self.returns.iter().sum::<f64>() / n;
        let var = self
            .returns
            .iter()
            .map(|r| (r - mean) * (r - mean))
            .sum::<f64>()
            / n;
        Some(var.sqrt())
    }
}

/// Volatility of returns; the first `period` outputs are NaN.
pub fn volatility(close: &[f64], period: usize) -> Vec<f64> {
    crate::run(close, Volatility::new(period), Volatility::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_and_volatility_by_hand() {
        let r = volume_ratio(&[10.0, 20.0, 30.0, 0.0], 3);
        assert!(r[0].is_nan() && r[1].is_nan());
        assert_eq!(r[2], 30.0 / 20.0);
        assert_eq!(r[3], 0.0 / (50.0 / 3.0));
        let v = volatility(&[100.0, 110.0, 99.0], 2);
        // returns +0.1, -0.1: population std 0.1
        assert!(v[0].is_nan() && v[1].is_nan());
        assert!((v[2] - 0.1).abs() < 1e-12);
    }
}
