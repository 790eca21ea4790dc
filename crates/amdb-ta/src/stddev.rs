//! Rolling standard deviation (TA-Lib `STDDEV` with `nbdev = 1`): the population standard
//! deviation of the last `period` values, from running sums of x and x² as TA-Lib's `VAR`
//! keeps them; 0 when the variance is (TA-Lib's) zero or negative from rounding.

use std::collections::VecDeque;

/// Streaming population standard deviation.
#[derive(Debug, Clone)]
pub struct StdDev {
    period: usize,
    window: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
}

impl StdDev {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> StdDev {
        assert!(period >= 2, "standard deviation period must be at least 2");
        StdDev {
            period,
            window: VecDeque::with_capacity(period + 1),
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.sum += x;
        self.sum_sq += x * x;
        self.window.push_back(x);
        if self.window.len() < self.period {
            return None;
        }
        let p = self.period as f64;
        let mean = self.sum / p;
        let variance = self.sum_sq / p - mean * mean;
        let oldest = self.window.pop_front().expect("window holds period values");
        self.sum -= oldest;
        self.sum_sq -= oldest * oldest;
        Some(if variance < 1e-8 {
            0.0
        } else {
            variance.sqrt()
        })
    }
}

/// Population standard deviation of `input` over `period`; the first `period - 1` outputs
/// are NaN.
pub fn stddev(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, StdDev::new(period), StdDev::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_deviation() {
        let out = stddev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8);
        assert!((out[7] - 2.0).abs() < 1e-12);
        assert!(stddev(&[3.0; 5], 3)[2..].iter().all(|&v| v == 0.0));
    }
}
