//! Williams %R (TA-Lib `WILLR`): where the close sits in the range of the last `period`
//! bars, from 0 (at the high) to -100 (at the low); 0 for a range of zero width; lookback
//! `period - 1`.

use std::collections::VecDeque;

/// Streaming Williams %R.
#[derive(Debug, Clone)]
pub struct WillR {
    period: usize,
    bars: VecDeque<(f64, f64)>,
}

impl WillR {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> WillR {
        assert!(period >= 2, "Williams %R period must be at least 2");
        WillR {
            period,
            bars: VecDeque::with_capacity(period + 1),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        self.bars.push_back((high, low));
        if self.bars.len() > self.period {
            self.bars.pop_front();
        }
        if self.bars.len() < self.period {
            return None;
        }
        let highest = self.bars.iter().map(|b| b.0).fold(f64::MIN, f64::max);
        let lowest = self.bars.iter().map(|b| b.1).fold(f64::MAX, f64::min);
        let diff = (highest - lowest) / -100.0;
        Some(if diff != 0.0 {
            (highest - close) / diff
        } else {
            0.0
        })
    }
}

/// Williams %R; the first `period - 1` outputs are NaN.
pub fn willr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, WillR::new(period), WillR::update)
}
