//! Simple moving average (TA-Lib `SMA`): lookback `period - 1`. Like TA-Lib it keeps a
//! running total (add the new value, take the mean, subtract the value leaving the window),
//! so its rounding is TA-Lib's, bit for bit, rather than that of a fresh sum per window.

use std::mem::MaybeUninit;

use crate::kernel::{self, Kernel};
use crate::window::Ring;

/// Streaming SMA.
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Ring,
    seen: usize,
    total: f64,
}

impl Sma {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Sma {
        assert!(period >= 1, "SMA period must be at least 1");
        Sma {
            period,
            window: Ring::new(period),
            seen: 0,
            total: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.total += x;
        self.window.push(x);
        if self.seen < self.period {
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
        }
        let mean = self.total / self.period as f64;
        // The ring is full, so its next slot holds the value that leaves next.
        self.total -= self.window.oldest();
        Some(mean)
    }
}

impl Kernel for Sma {
    #[inline(always)]
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        // Through `update` until the window is full and at least `period` values of this
        // input are behind us; then the leaving value can be read from the input itself.
        let period = self.period;
        let mut i = 0;
        while i < input.len() && (self.seen < period || i < period) {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
        }
        if i == input.len() {
            return;
        }
        let p = period as f64;
        let mut total = self.total;
        for j in i..input.len() {
            total += input[j];
            out[j].write(total / p);
            // The value leaving the window: input[j + 1 - period] (j >= period here).
            total -= input[j + 1 - period];
        }
        self.total = total;
        // Refill the ring with the last `period` values, in order, for later updates.
        for &x in &input[input.len() - period..] {
            self.window.push(x);
        }
    }
}

/// SMA of `input` into `out` (same length); the first `period - 1` outputs are NaN.
pub fn sma_into(input: &[f64], period: usize, out: &mut [f64]) {
    kernel::run(&mut Sma::new(period), input, kernel::as_slots(out));
}

/// SMA of `input`; the first `period - 1` outputs are NaN.
pub fn sma(input: &[f64], period: usize) -> Vec<f64> {
    let mut s = Sma::new(period);
    kernel::collect(input.len(), |out| kernel::run(&mut s, input, out))
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

    #[test]
    fn continues_after_a_batch() {
        let x: Vec<f64> = (0..50).map(|i| (i * 7 % 11) as f64 + 0.1).collect();
        let mut s = Sma::new(5);
        let mut out = vec![0.0; 30];
        kernel::run(&mut s, &x[..30], kernel::as_slots(&mut out));
        let rest: Vec<f64> = x[30..].iter().map(|&v| s.update(v).unwrap()).collect();
        let whole = sma(&x, 5);
        assert_eq!(&whole[30..], &rest[..]);
    }
}
