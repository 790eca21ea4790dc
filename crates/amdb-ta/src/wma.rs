//! Weighted moving average (TA-Lib `WMA`): weights 1..=period, the newest value heaviest;
//! lookback `period - 1`.

use std::collections::VecDeque;

/// Streaming WMA.
#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    window: VecDeque<f64>,
}

impl Wma {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Wma {
        assert!(period >= 1, "WMA period must be at least 1");
        Wma {
            period,
            window: VecDeque::with_capacity(period + 1),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push_back(x);
        if self.window.len() > self.period {
            self.window.pop_front();
        }
        if self.window.len() < self.period {
            return None;
        }
        let weighted: f64 = self
            .window
            .iter()
            .enumerate()
            .map(|(i, v)| v * (i + 1) as f64)
            .sum();
        let p = self.period as f64;
        Some(weighted / (p * (p + 1.0) / 2.0))
    }
}

/// WMA of `input`; the first `period - 1` outputs are NaN.
pub fn wma(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Wma::new(period), Wma::update)
}
