//! Moving average convergence/divergence (TA-Lib `MACD`); lookback
//! `(slow - 1) + (signal - 1)`.
//!
//! - MACD line: EMA(fast) - EMA(slow) of the input.
//! - Signal line: EMA(signal) of the MACD line.
//! - Histogram: MACD line - signal line.
//!
//! Each EMA is [`crate::Ema`] (seeded with the SMA of its first values). TA-Lib's quirk,
//! kept here: the fast EMA does not start at the first value but is seeded with the SMA of
//! the `fast` values that end where the slow EMA's seed ends (index `slow - 1`), so both
//! lines start on the same bar and the fast one never sees the first `slow - fast` values.
//! The signal EMA is seeded with the SMA of the first `signal` MACD values. If `slow` is
//! shorter than `fast` the two are swapped, as TA-Lib does.

use crate::Ema;

/// The three MACD lines of a whole series; NaN over the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct MacdOutput {
    pub macd: Vec<f64>,
    pub signal: Vec<f64>,
    pub hist: Vec<f64>,
}

/// The three MACD lines at one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    pub macd: f64,
    pub signal: f64,
    pub hist: f64,
}

/// Streaming MACD.
#[derive(Debug, Clone)]
pub struct Macd {
    /// Values the fast EMA skips: `slow - fast`.
    skip: usize,
    seen: usize,
    lookback: usize,
    fast: Ema,
    slow: Ema,
    signal: Ema,
}

impl Macd {
    /// Panics if `fast` or `slow` is below 2 or `signal` is 0 (TA-Lib's limits).
    pub fn new(fast: usize, slow: usize, signal: usize) -> Macd {
        assert!(fast >= 2 && slow >= 2, "MACD periods must be at least 2");
        assert!(signal >= 1, "MACD signal period must be at least 1");
        let (fast, slow) = if slow < fast {
            (slow, fast)
        } else {
            (fast, slow)
        };
        Macd {
            skip: slow - fast,
            seen: 0,
            lookback: (slow - 1) + (signal - 1),
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
        }
    }

    /// The number of leading bars without output.
    pub fn lookback(&self) -> usize {
        self.lookback
    }

    pub fn update(&mut self, x: f64) -> Option<MacdValue> {
        let slow = self.slow.update(x);
        if self.seen < self.skip {
            self.seen += 1;
            return None;
        }
        let fast = self.fast.update(x);
        // Both EMAs produce their first value on the same bar.
        let macd = fast? - slow?;
        let signal = self.signal.update(macd)?;
        Some(MacdValue {
            macd,
            signal,
            hist: macd - signal,
        })
    }
}

/// MACD of `input` with TA-Lib's usual periods being (12, 26, 9); the first
/// `(slow - 1) + (signal - 1)` outputs are NaN.
pub fn macd(input: &[f64], fast: usize, slow: usize, signal: usize) -> MacdOutput {
    let mut s = Macd::new(fast, slow, signal);
    let [macd, signal, hist] = crate::collect_lines(input.len(), |i| {
        s.update(input[i]).map(|v| [v.macd, v.signal, v.hist])
    });
    MacdOutput { macd, signal, hist }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_start_together_after_the_lookback() {
        let x: Vec<f64> = (0..60)
            .map(|i| 100.0 + (i as f64 * 0.7).sin() * 5.0)
            .collect();
        let m = macd(&x, 12, 26, 9);
        let lookback = 25 + 8;
        assert_eq!(Macd::new(12, 26, 9).lookback(), lookback);
        for line in [&m.macd, &m.signal, &m.hist] {
            assert!(line[..lookback].iter().all(|v| v.is_nan()));
            assert!(line[lookback..].iter().all(|v| v.is_finite()));
        }
        // The fast EMA is seeded from x[14..26], not x[0..12].
        let fast_seed = x[14..26].iter().sum::<f64>() / 12.0;
        let slow_seed = x[..26].iter().sum::<f64>() / 26.0;
        let mut s = Macd::new(12, 26, 1);
        let first = x.iter().find_map(|&v| s.update(v)).unwrap();
        assert!((first.macd - (fast_seed - slow_seed)).abs() < 1e-12);
        // Swapped periods are put in order.
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&macd(&x, 26, 12, 9).hist), bits(&m.hist));
    }

    #[test]
    fn a_flat_series_has_zero_lines() {
        let m = macd(&[7.25; 50], 3, 6, 2);
        assert!(m.macd[6..].iter().all(|&v| v == 0.0));
        assert!(m.hist[6..].iter().all(|&v| v == 0.0));
    }
}
