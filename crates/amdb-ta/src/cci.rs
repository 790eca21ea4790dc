//! Commodity channel index (TA-Lib `CCI`); lookback `period - 1`.
//!
//! With typical price tp = (high + low + close) / 3 and, over the last `period` bars, its
//! mean m and mean absolute deviation d = mean(|tp - m|):
//! `CCI = (tp - m) / (0.015 * d)`, 0 when `tp - m` or the deviation sum is (TA-Lib's)
//! zero.
//!
//! The mean deviation needs the new mean, so each bar costs O(period), as in TA-Lib. The
//! typical prices sit in a ring in the slots TA-Lib's circular buffer uses and are summed in
//! slot order like TA-Lib's, which keeps the results TA-Lib's to the last bit.

use crate::window::Ring;

/// `(high + low + close) / 3`, as TA-Lib computes it.
#[inline(always)]
pub(crate) fn typical_price(high: f64, low: f64, close: f64) -> f64 {
    (high + low + close) / 3.0
}

/// Streaming CCI.
#[derive(Debug, Clone)]
pub struct Cci {
    window: Ring,
    seen: usize,
}

impl Cci {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Cci {
        assert!(period >= 2, "CCI period must be at least 2");
        Cci {
            window: Ring::new(period),
            seen: 0,
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let tp = typical_price(high, low, close);
        self.window.push(tp);
        let period = self.window.len();
        if self.seen < period {
            self.seen += 1;
            if self.seen < period {
                return None;
            }
        }
        let p = period as f64;
        let slots = self.window.slots();
        let mut mean = 0.0;
        for &v in slots {
            mean += v;
        }
        mean /= p;
        let mut dev = 0.0;
        for &v in slots {
            dev += (v - mean).abs();
        }
        let above = tp - mean;
        Some(if !crate::is_zero(above) && !crate::is_zero(dev) {
            above / (0.015 * (dev / p))
        } else {
            0.0
        })
    }
}

/// CCI (TA-Lib's default period: 14; 20 is common); the first `period - 1` outputs are
/// NaN.
pub fn cci(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, Cci::new(period), Cci::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // Typical prices 1, 2, 3 (high = low = close): mean 2, mean deviation 2/3.
        let x = [1.0, 2.0, 3.0];
        let c = cci(&x, &x, &x, 3);
        assert!(c[0].is_nan() && c[1].is_nan());
        assert!((c[2] - 1.0 / (0.015 * (2.0 / 3.0))).abs() < 1e-9);
        assert!(cci(&[4.0; 5], &[4.0; 5], &[4.0; 5], 2)[1..]
            .iter()
            .all(|&v| v == 0.0));
    }
}
