//! Williams %R (TA-Lib `WILLR`): where the close sits in the range of the last `period`
//! bars, from 0 (at the high) to -100 (at the low); 0 for a range of zero width; lookback
//! `period - 1`.

use crate::window::Extremes;

/// Streaming Williams %R.
#[derive(Debug, Clone)]
pub struct WillR {
    extremes: Extremes,
}

impl WillR {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> WillR {
        assert!(period >= 2, "Williams %R period must be at least 2");
        WillR {
            extremes: Extremes::new(period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let (highest, lowest) = self.extremes.update(high, low)?;
        // TA-Lib divides by range / -100 rather than multiplying; so does this.
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
