//! Relative strength index.
//!
//! [`rsi`] is Wilder's, as TA-Lib computes it (lookback `period`): the first output averages
//! the first `period` gains and losses; after that each average is `(avg * (period - 1) +
//! change) / period`. The output is `100 * gain / (gain + loss)`, or 0 when the sum is
//! (TA-Lib's) zero: a series that never moved.
//!
//! [`rsi_cutler`] is Cutler's: the plain mean of the last `period` gains and losses (what the
//! predecessor computed). Same lookback, same zero rule.

use std::collections::VecDeque;

fn ratio(gain: f64, loss: f64) -> f64 {
    let sum = gain + loss;
    if crate::is_zero(sum) {
        0.0
    } else {
        100.0 * (gain / sum)
    }
}

/// Streaming Wilder RSI.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    changes: usize,
    gain: f64,
    loss: f64,
}

impl Rsi {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Rsi {
        assert!(period >= 2, "RSI period must be at least 2");
        Rsi {
            period,
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let prev = self.prev.replace(x)?;
        let change = x - prev;
        self.changes += 1;
        let p = self.period as f64;
        if self.changes <= self.period {
            // Seeding: sums of the first `period` changes, then their means.
            if change < 0.0 {
                self.loss -= change;
            } else {
                self.gain += change;
            }
            if self.changes < self.period {
                return None;
            }
            self.loss /= p;
            self.gain /= p;
            return Some(ratio(self.gain, self.loss));
        }
        self.loss *= p - 1.0;
        self.gain *= p - 1.0;
        if change < 0.0 {
            self.loss -= change;
        } else {
            self.gain += change;
        }
        self.loss /= p;
        self.gain /= p;
        Some(ratio(self.gain, self.loss))
    }
}

/// Wilder RSI of `input`; the first `period` outputs are NaN.
pub fn rsi(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Rsi::new(period), Rsi::update)
}

/// Streaming Cutler RSI (plain means over a sliding window of changes).
#[derive(Debug, Clone)]
pub struct RsiCutler {
    period: usize,
    prev: Option<f64>,
    window: VecDeque<f64>,
}

impl RsiCutler {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> RsiCutler {
        assert!(period >= 1, "RSI period must be at least 1");
        RsiCutler {
            period,
            prev: None,
            window: VecDeque::with_capacity(period + 1),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let prev = self.prev.replace(x)?;
        self.window.push_back(x - prev);
        if self.window.len() > self.period {
            self.window.pop_front();
        }
        if self.window.len() < self.period {
            return None;
        }
        // Summed afresh each time: no drift from a running total over years of bars.
        let (mut gain, mut loss) = (0.0, 0.0);
        for &c in &self.window {
            if c < 0.0 {
                loss -= c;
            } else {
                gain += c;
            }
        }
        let p = self.period as f64;
        Some(ratio(gain / p, loss / p))
    }
}

/// Cutler RSI of `input`; the first `period` outputs are NaN.
pub fn rsi_cutler(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, RsiCutler::new(period), RsiCutler::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_prices_give_zero_and_rises_give_100() {
        let flat = rsi(&[5.0; 20], 14);
        assert!(flat[..14].iter().all(|v| v.is_nan()));
        assert!(flat[14..].iter().all(|&v| v == 0.0));
        let up: Vec<f64> = (0..20).map(f64::from).collect();
        assert!(rsi(&up, 14)[14..].iter().all(|&v| v == 100.0));
        assert!(rsi_cutler(&up, 14)[14..].iter().all(|&v| v == 100.0));
    }

    #[test]
    fn cutler_is_the_plain_mean_of_the_window() {
        let x = [1.0, 2.0, 1.5, 3.0, 2.0];
        let out = rsi_cutler(&x, 3);
        // changes: +1, -0.5, +1.5, -1
        assert!(out[..3].iter().all(|v| v.is_nan()));
        assert!((out[3] - 100.0 * 2.5 / 3.0).abs() < 1e-12);
        assert!((out[4] - 100.0 * 1.5 / 3.0).abs() < 1e-12);
    }
}
