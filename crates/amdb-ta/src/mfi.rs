//! Money flow index (TA-Lib `MFI`, as of TA-Lib 0.8); lookback `period`.
//!
//! Per bar, the typical price tp = (high + low + close) / 3 and the money flow tp × volume.
//! The flow is positive when tp rose from the previous bar, negative when it fell, and
//! neither when it did not move: TA-Lib 0.8 counts a change within 1e-14 × (|tp| +
//! |previous tp|) as no move, so a price that is flat up to rounding does not flicker.
//! MFI = 100 × (positive flows) / (positive + negative flows) over the last `period` bars,
//! 0 when there was no flow at all.
//!
//! The two sums run as TA-Lib runs them (subtract the leaving bar's flows, add the new
//! ones), reset to exactly 0 once a whole window has carried no flow (rounding residue
//! would otherwise remain), and the positive sum is clamped into [0, total] before the
//! division, all as TA-Lib 0.8 does.

use crate::cci::typical_price;
use crate::window::Ring;

/// Streaming MFI.
#[derive(Debug, Clone)]
pub struct Mfi {
    positive: Ring,
    negative: Ring,
    /// Bars seen, up to `period + 1` (the first bar only gives the first typical price).
    seen: usize,
    prev_tp: f64,
    pos_sum: f64,
    neg_sum: f64,
    /// Bars in a row without flow, up to `period`.
    quiet: usize,
}

impl Mfi {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Mfi {
        assert!(period >= 2, "MFI period must be at least 2");
        Mfi {
            positive: Ring::new(period),
            negative: Ring::new(period),
            seen: 0,
            prev_tp: 0.0,
            pos_sum: 0.0,
            neg_sum: 0.0,
            quiet: 0,
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        let period = self.positive.len();
        let tp = typical_price(high, low, close);
        if self.seen == 0 {
            self.seen = 1;
            self.prev_tp = tp;
            return None;
        }
        if self.seen > period {
            // A full window: the oldest bar's flows leave before the new ones enter.
            self.pos_sum -= self.positive.oldest();
            self.neg_sum -= self.negative.oldest();
        }
        let change = tp - self.prev_tp;
        let scale = tp.abs() + self.prev_tp.abs();
        self.prev_tp = tp;
        let flow = if change.abs() <= crate::EPSILON * scale {
            0.0
        } else {
            tp * volume
        };
        let (pos, neg) = if change < 0.0 {
            (0.0, flow)
        } else {
            (flow, 0.0)
        };
        self.positive.push(pos);
        self.negative.push(neg);
        self.pos_sum += pos;
        self.neg_sum += neg;
        self.quiet = if flow == 0.0 { self.quiet + 1 } else { 0 };
        if self.quiet >= period {
            // Every slot of the window is 0: so are the sums, whatever rounding left.
            self.quiet = period;
            self.pos_sum = 0.0;
            self.neg_sum = 0.0;
        }
        if self.seen <= period {
            self.seen += 1;
            if self.seen <= period {
                return None;
            }
        }
        let total = self.pos_sum + self.neg_sum;
        let pos = if self.pos_sum < 0.0 {
            0.0
        } else if self.pos_sum > total {
            total
        } else {
            self.pos_sum
        };
        Some(if total <= 0.0 {
            0.0
        } else {
            100.0 * (pos / total)
        })
    }
}

/// MFI (TA-Lib's default period: 14); the first `period` outputs are NaN.
pub fn mfi(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlcv(high, low, close, volume, Mfi::new(period), Mfi::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // Typical prices (h = l = c): 10, 11, 10.5, 12; volumes 1, 2, 3, 4.
        let x = [10.0, 11.0, 10.5, 12.0];
        let v = [1.0, 2.0, 3.0, 4.0];
        let m = mfi(&x, &x, &x, &v, 2);
        assert!(m[..2].iter().all(|v| v.is_nan()));
        // Flows: +22, -31.5, +48.
        assert_eq!(m[2], 100.0 * (22.0 / 53.5));
        assert_eq!(m[3], 100.0 * (48.0 / 79.5));
        let flat = mfi(&[5.0; 10], &[5.0; 10], &[5.0; 10], &[100.0; 10], 3);
        assert!(flat[3..].iter().all(|&v| v == 0.0));
    }
}
