//! Volatility of returns (ours, not in TA-Lib): the population standard deviation of the
//! last `period` simple returns `close / previous close - 1` (a return of 0 after a close
//! of 0); lookback `period`.
//!
//! O(1) a bar: the window's mean and squared deviations slide with the window and are
//! recomputed exactly when rounding could matter ([`crate::moments`]), so a window of equal
//! returns (a flat price, or a steady trend) gives exactly 0.

use std::mem::MaybeUninit;

use crate::kernel::{self, Kernel};
use crate::moments::Moments;

/// `close / prev - 1`, or 0 after a close of 0 (`q` is `close / prev`).
#[inline(always)]
fn simple_return(prev: f64, q: f64) -> f64 {
    if prev != 0.0 {
        q - 1.0
    } else {
        0.0
    }
}

/// Streaming volatility of returns.
#[derive(Debug, Clone)]
pub struct Volatility {
    prev: f64,
    started: bool,
    returns: Moments,
}

impl Volatility {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Volatility {
        assert!(period >= 1, "volatility period must be at least 1");
        Volatility {
            prev: 0.0,
            started: false,
            returns: Moments::new(period),
        }
    }

    pub fn update(&mut self, close: f64) -> Option<f64> {
        if !self.started {
            self.started = true;
            self.prev = close;
            return None;
        }
        let r = simple_return(self.prev, close / self.prev);
        self.prev = close;
        self.returns.update(r).map(f64::sqrt)
    }
}

impl Kernel for Volatility {
    /// In blocks, three passes each: the returns (divisions that vectorise), the variances
    /// (the sequential part, its state in registers), the square roots (vectorised). Each
    /// pass does per value exactly what `update` does, so the bits are the same.
    #[inline(always)]
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        const BLOCK: usize = 1024;
        let mut i = 0;
        while i < input.len() && !self.returns.full() {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
        }
        let (mut returns, mut variances) = ([0.0f64; BLOCK], [0.0f64; BLOCK]);
        for (closes, slots) in input[i..].chunks(BLOCK).zip(out[i..].chunks_mut(BLOCK)) {
            let r = &mut returns[..closes.len()];
            let prev = self.prev;
            r[0] = simple_return(prev, closes[0] / prev);
            for ((r, &c), &p) in r[1..].iter_mut().zip(&closes[1..]).zip(closes) {
                *r = simple_return(p, c / p);
            }
            self.prev = closes[closes.len() - 1];
            let v = &mut variances[..closes.len()];
            self.returns.step_all(r, v);
            for (o, &v) in slots.iter_mut().zip(v.iter()) {
                o.write(v.sqrt());
            }
        }
    }
}

/// Volatility of returns into `out` (same length); the first `period` outputs are NaN.
pub fn volatility_into(close: &[f64], period: usize, out: &mut [f64]) {
    kernel::run(&mut Volatility::new(period), close, kernel::as_slots(out));
}

/// Volatility of returns; the first `period` outputs are NaN.
pub fn volatility(close: &[f64], period: usize) -> Vec<f64> {
    let mut s = Volatility::new(period);
    kernel::collect(close.len(), |out| kernel::run(&mut s, close, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_pass(r: &[f64]) -> f64 {
        let n = r.len() as f64;
        let mean = r.iter().sum::<f64>() / n;
        (r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn by_hand() {
        let v = volatility(&[100.0, 110.0, 99.0], 2);
        // returns +0.1, -0.1: population std 0.1
        assert!(v[0].is_nan() && v[1].is_nan());
        assert!((v[2] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn flat_and_steady_windows_are_exactly_zero() {
        let mut x = vec![100.0; 30];
        x.extend((0..40).map(|i| 100.0 * 1.01f64.powi(i)));
        x.extend([150.0; 30]);
        let v = volatility(&x, 5);
        assert!(v[5..30].iter().all(|&s| s == 0.0));
        assert!(v[80..].iter().all(|&s| s == 0.0), "{:?}", &v[70..]);
    }

    #[test]
    fn follows_a_fresh_two_pass_deviation() {
        let close: Vec<f64> = (0..5000)
            .map(|i| 100.0 + ((i * 7919) % 101) as f64 * 0.37 + (i / 50) as f64)
            .collect();
        let r: Vec<f64> = close.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let v = volatility(&close, 20);
        for t in 20..close.len() {
            let want = two_pass(&r[t - 20..t]);
            assert!((v[t] - want).abs() < 1e-14, "{t}: {} vs {want}", v[t]);
        }
    }
}
