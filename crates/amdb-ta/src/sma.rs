//! Simple moving average (TA-Lib `SMA`): lookback `period - 1`. Like TA-Lib it keeps a
//! running total (add the new value, subtract the one leaving the window), so its rounding
//! matches TA-Lib's rather than a fresh sum per window.

use std::collections::VecDeque;

/// Streaming SMA.
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: VecDeque<f64>,
    total: f64,
}

impl Sma {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Sma {
        assert!(period >= 1, "SMA period must be at least 1");
        Sma {
            period,
            window: VecDeque::with_capacity(period + 1),
            total: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.total += x;
        self.window.push_back(x);
        if self.window.len() < self.period {
            return None;
        }
        let mean = self.total / self.period as f64;
        let oldest = self.window.pop_front().expect("window holds period values");
        self.total -= oldest;
        Some(mean)
    }
}

/// SMA of `input`; the first `period - 1` outputs are NaN.
pub fn sma(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Sma::new(period), Sma::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_full_windows() {
        let out = sma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(&out[2..], &[2.0, 3.0, 4.0]);
        assert_eq!(sma(&[7.0], 1), vec![7.0]);
    }
}
