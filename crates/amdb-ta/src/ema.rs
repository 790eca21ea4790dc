//! Exponential moving average (TA-Lib `EMA`, its default "classic" seeding); lookback
//! `period - 1`.
//!
//! k = 2 / (period + 1). The first output, at index `period - 1`, is the SMA of the first
//! `period` values; after that `ema = (1 - k) * ema + k * x`.
//!
//! TA-Lib writes the recurrence `(x - ema) * k + ema`: a subtraction, a multiplication and
//! an addition in the loop-carried chain. Here the chain is one fused multiply-add for two
//! values: `ema = a * ema + k * x` with `a = 1 - k` (the `k * x` computed beside the chain)
//! and, for a pair of values, `ema'' = a² * ema + (a * k * x1 + k * x2)`
//! (`kernel::Decay`); pairs start at the first value after the seed, in `update`
//! and in the batch kernel alike. The numbers are TA-Lib's to within a few units in the
//! last place (the fixtures check 1e-9 relative).
//!
//! Values equal to the EMA leave it exactly where it is (as TA-Lib's form does, and as the
//! fused forms alone would not always, by a unit in the last place): a flat series stays
//! flat and MACD on a flat market is exactly 0.

use std::mem::MaybeUninit;

use crate::kernel::{self, Decay, Kernel};

/// Streaming EMA.
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    /// Weight of the new value.
    k: f64,
    decay: Decay,
    /// Values seen, up to `period` (the seed).
    seen: usize,
    seed_total: f64,
    /// The EMA after the seed or after the last pair of values.
    value: f64,
    /// The first value of a pair whose second has not come yet, and `k` times it.
    pending: f64,
    pending_term: f64,
    half: bool,
}

/// The first step of a pair: the EMA after `x` (term `c = k * x`).
#[inline(always)]
fn first(decay: Decay, ema: f64, x: f64, c: f64) -> f64 {
    if x == ema {
        ema
    } else {
        decay.one(ema, c)
    }
}

/// Both steps of a pair: the EMA after `x1` and `x2` (terms `c1`, `c2`).
#[inline(always)]
fn both(decay: Decay, ema: f64, (x1, c1): (f64, f64), (x2, c2): (f64, f64)) -> f64 {
    let next = decay.two(ema, c1, c2);
    if (x1 == ema) & (x2 == ema) {
        ema
    } else {
        next
    }
}

impl Ema {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Ema {
        assert!(period >= 1, "EMA period must be at least 1");
        let a = 1.0 - 2.0 / (period as f64 + 1.0);
        Ema {
            period,
            // Exact (a is in [0, 1), so 1 - a is), and a + k == 1 exactly.
            k: 1.0 - a,
            decay: Decay::new(a),
            seen: 0,
            seed_total: 0.0,
            value: 0.0,
            pending: 0.0,
            pending_term: 0.0,
            half: false,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen < self.period {
            self.seen += 1;
            self.seed_total += x;
            if self.seen < self.period {
                return None;
            }
            self.value = self.seed_total / self.period as f64;
            return Some(self.value);
        }
        let c = x * self.k;
        if self.half {
            // Second value of a pair: fold both into the running value.
            self.half = false;
            let pending = (self.pending, self.pending_term);
            self.value = both(self.decay, self.value, pending, (x, c));
            Some(self.value)
        } else {
            // First value of a pair: its EMA hangs off the chain.
            self.half = true;
            (self.pending, self.pending_term) = (x, c);
            Some(first(self.decay, self.value, x, c))
        }
    }
}

impl Kernel for Ema {
    #[inline(always)]
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        let mut i = 0;
        // Warm-up and an unfinished pair go through `update`.
        while i < input.len() && (self.seen < self.period || self.half) {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
        }
        let (k, decay) = (self.k, self.decay);
        let mut value = self.value;
        let mut pairs = input[i..].chunks_exact(2);
        let mut slots = out[i..].chunks_exact_mut(2);
        for (x, o) in (&mut pairs).zip(&mut slots) {
            let (c1, c2) = (x[0] * k, x[1] * k);
            o[0].write(first(decay, value, x[0], c1));
            value = both(decay, value, (x[0], c1), (x[1], c2));
            o[1].write(value);
        }
        self.value = value;
        if let ([x], [o]) = (pairs.remainder(), slots.into_remainder()) {
            o.write(self.update(*x).unwrap_or(f64::NAN));
        }
    }
}

/// EMA of `input` into `out` (same length); the first `period - 1` outputs are NaN.
pub fn ema_into(input: &[f64], period: usize, out: &mut [f64]) {
    kernel::run(&mut Ema::new(period), input, kernel::as_slots(out));
}

/// EMA of `input`; the first `period - 1` outputs are NaN.
pub fn ema(input: &[f64], period: usize) -> Vec<f64> {
    let mut s = Ema::new(period);
    kernel::collect(input.len(), |out| kernel::run(&mut s, input, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_with_the_sma_then_smooths() {
        let out = ema(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(out[2], 2.0);
        assert_eq!(out[3], (4.0 - 2.0) * 0.5 + 2.0);
        assert_eq!(out[4], (5.0 - 3.0) * 0.5 + 3.0);
    }

    #[test]
    fn a_flat_series_stays_flat() {
        for period in 1..60 {
            // Seeds that are exactly x (sums without rounding) stay x.
            for x in [42.0, 1234.5, 0.375, 98765.0] {
                let out = ema(&[x; 200], period);
                assert!(out[period - 1..].iter().all(|&v| v == x), "{period} {x}");
            }
            // Otherwise the seed's sum rounds (as TA-Lib's does), and the EMA stays about as
            // close to x as the seed.
            for x in [0.1, 1234.5678, 3e-7, 1.0 / 3.0] {
                let out = ema(&[x; 300], period);
                let near = |v: f64| (v - x).abs() <= period as f64 * f64::EPSILON * x;
                assert!(out[period - 1..].iter().all(|&v| near(v)), "{period} {x}");
            }
        }
    }
}
