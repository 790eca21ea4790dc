//! Relative strength index.
//!
//! [`rsi`] is Wilder's, as TA-Lib computes it (lookback `period`): the first output averages
//! the first `period` gains and losses; after that each average is `(avg * (period - 1) +
//! change) / period` (evaluated faster, see [`Rsi`]). The output is `100 * gain / (gain +
//! loss)`, or 0 when the sum is (TA-Lib's) zero: a series that never moved.
//!
//! [`rsi_cutler`] is Cutler's: the plain mean of the last `period` gains and losses (what the
//! predecessor computed). Same lookback, same zero rule.

use std::collections::VecDeque;
use std::mem::MaybeUninit;

use crate::kernel::{self, div2, Decay, Kernel};

/// `100 * gain / (gain + loss)`, 0 for a (TA-Lib) zero sum. Both averages are sums of
/// non-negative terms, so only the upper end of TA-Lib's zero band needs a test.
#[inline(always)]
fn ratio(gain: f64, loss: f64) -> f64 {
    let sum = gain + loss;
    if sum < crate::EPSILON {
        0.0
    } else {
        100.0 * (gain / sum)
    }
}

/// [`ratio`] of two bars with one packed division: the same bits as two calls.
#[inline(always)]
fn ratio2(gain: [f64; 2], loss: [f64; 2]) -> [f64; 2] {
    let sum = [gain[0] + loss[0], gain[1] + loss[1]];
    let q = div2(gain, sum);
    let one = |s: f64, q: f64| if s < crate::EPSILON { 0.0 } else { 100.0 * q };
    [one(sum[0], q[0]), one(sum[1], q[1])]
}

/// A change's contributions to the gain and loss averages: `max(change, 0) / period` and
/// `max(-change, 0) / period`. As TA-Lib, a change that is not negative is a gain. Scaling
/// first and taking the loss as `up - change / period` gives the same bits as scaling each
/// part (the parts are exactly `change / period` or 0, and negating is exact) in fewer
/// operations, and neither is a branch (the sign of a change is a coin flip, which a
/// branch predictor cannot learn).
#[inline(always)]
fn terms(change: f64, inv_period: f64) -> (f64, f64) {
    let scaled = change * inv_period;
    let up = if scaled > 0.0 { scaled } else { 0.0 };
    (up, up - scaled)
}

/// Streaming Wilder RSI.
///
/// The smoothing `avg = (avg * (period - 1) + change) / period` is evaluated as
/// `avg = a * avg + change / period` with `a = (period - 1) / period`: one fused
/// multiply-add per average instead of a multiplication, an addition and a division in the
/// loop-carried chain, and steps are paired (`Decay::two`) so the chain advances two
/// bars per multiply-add. Pairs start at the first bar after the seed, in `update` and in
/// the batch kernel alike. The results are TA-Lib's within a few units in the last place.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    inv_period: f64,
    decay: Decay,
    prev: f64,
    started: bool,
    /// Changes seen, up to `period` (the seed).
    changes: usize,
    /// The averages after the seed or after the last pair of steps.
    gain: f64,
    loss: f64,
    /// Terms of the first step of a pair whose second step has not come yet.
    pending_gain: f64,
    pending_loss: f64,
    half: bool,
}

impl Rsi {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Rsi {
        assert!(period >= 2, "RSI period must be at least 2");
        let p = period as f64;
        Rsi {
            period,
            inv_period: 1.0 / p,
            decay: Decay::new((p - 1.0) / p),
            prev: 0.0,
            started: false,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
            pending_gain: 0.0,
            pending_loss: 0.0,
            half: false,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        if !self.started {
            self.started = true;
            self.prev = x;
            return None;
        }
        let change = x - self.prev;
        self.prev = x;
        if self.changes < self.period {
            // Seeding: sums of the first `period` changes, then their means (as TA-Lib).
            self.changes += 1;
            if change < 0.0 {
                self.loss -= change;
            } else {
                self.gain += change;
            }
            if self.changes < self.period {
                return None;
            }
            let p = self.period as f64;
            self.loss /= p;
            self.gain /= p;
            return Some(ratio(self.gain, self.loss));
        }
        let (g, l) = terms(change, self.inv_period);
        if self.half {
            // Second step of a pair: fold both into the averages.
            self.half = false;
            self.gain = self.decay.two(self.gain, self.pending_gain, g);
            self.loss = self.decay.two(self.loss, self.pending_loss, l);
            Some(ratio(self.gain, self.loss))
        } else {
            // First step of a pair: its averages hang off the chain.
            self.half = true;
            (self.pending_gain, self.pending_loss) = (g, l);
            Some(ratio(
                self.decay.one(self.gain, g),
                self.decay.one(self.loss, l),
            ))
        }
    }
}

impl Rsi {
    /// Runs `update` over the warm-up and over an unfinished pair; returns how many inputs
    /// it took.
    #[inline(always)]
    fn lead_in(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) -> usize {
        let mut i = 0;
        while i < input.len() && (self.changes < self.period || self.half) {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
        }
        i
    }
}

impl Kernel for Rsi {
    #[inline(always)]
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        let i = self.lead_in(input, out);
        let (inv_period, decay) = (self.inv_period, self.decay);
        let (mut gain, mut loss, mut prev) = (self.gain, self.loss, self.prev);
        let mut pairs = input[i..].chunks_exact(2);
        let mut slots = out[i..].chunks_exact_mut(2);
        for (x, o) in (&mut pairs).zip(&mut slots) {
            let (g1, l1) = terms(x[0] - prev, inv_period);
            let (g2, l2) = terms(x[1] - x[0], inv_period);
            prev = x[1];
            let first = [decay.one(gain, g1), decay.one(loss, l1)];
            gain = decay.two(gain, g1, g2);
            loss = decay.two(loss, l1, l2);
            let r = ratio2([first[0], gain], [first[1], loss]);
            o[0].write(r[0]);
            o[1].write(r[1]);
        }
        (self.gain, self.loss, self.prev) = (gain, loss, prev);
        if let ([x], [o]) = (pairs.remainder(), slots.into_remainder()) {
            o.write(self.update(*x).unwrap_or(f64::NAN));
        }
    }

    /// [`Kernel::kernel`] with a pair of bars in the two lanes of a register: the same
    /// operations on the same values (so the same bits), in about half the instructions
    /// the compiler finds on its own.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn kernel_fma(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        use std::arch::x86_64::*;
        let mut i = self.lead_in(input, out);
        // The loop reads the input before each pair, so it needs one behind it.
        while i == 0 && i < input.len() {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
            i += self.lead_in(&input[i..], &mut out[i..]);
        }
        let n = input.len();
        let (a, a2) = self.decay.factors();
        // SAFETY: FMA is available (the caller's contract; SSE2 always is); every load is
        // of `input[i - 1..i + 2]` with `1 <= i` and `i + 2 <= n`, every store of
        // `out[i..i + 2]`.
        unsafe {
            // Lane 0 the first bar of a pair (one step), lane 1 the second (two steps).
            let factors = _mm_set_pd(a2, a);
            let shifted = _mm_set_pd(a, 0.0);
            let inv_period = _mm_set1_pd(self.inv_period);
            let (zero, eps, hundred) = (
                _mm_setzero_pd(),
                _mm_set1_pd(crate::EPSILON),
                _mm_set1_pd(100.0),
            );
            // The averages after the last pair, in both lanes.
            let mut gain = _mm_set1_pd(self.gain);
            let mut loss = _mm_set1_pd(self.loss);
            while i + 2 <= n {
                let x = _mm_loadu_pd(input.as_ptr().add(i));
                let before = _mm_loadu_pd(input.as_ptr().add(i - 1));
                let scaled = _mm_mul_pd(_mm_sub_pd(x, before), inv_period);
                // terms(): up = scaled > 0 ? scaled : 0 (maxpd returns its second operand
                // unless the first is greater), down = up - scaled.
                let up = _mm_max_pd(scaled, zero);
                let down = _mm_sub_pd(up, scaled);
                // Decay::one in lane 0, Decay::two in lane 1: [c1, a * c1 + c2] first
                // (lane 0 is 0 * 0 + c1, exactly c1), then a or a² times the average plus it.
                let up = _mm_fmadd_pd(_mm_unpacklo_pd(zero, up), shifted, up);
                let down = _mm_fmadd_pd(_mm_unpacklo_pd(zero, down), shifted, down);
                let g = _mm_fmadd_pd(gain, factors, up);
                let l = _mm_fmadd_pd(loss, factors, down);
                // ratio2(): gains over sums, times 100, 0 where a sum is below epsilon
                // (cmpnlt keeps a NaN sum's NaN, as the scalar comparison does).
                let sums = _mm_add_pd(g, l);
                let r = _mm_mul_pd(_mm_div_pd(g, sums), hundred);
                let r = _mm_and_pd(_mm_cmpnlt_pd(sums, eps), r);
                _mm_storeu_pd(out.as_mut_ptr().add(i).cast::<f64>(), r);
                gain = _mm_unpackhi_pd(g, g);
                loss = _mm_unpackhi_pd(l, l);
                i += 2;
            }
            self.gain = _mm_cvtsd_f64(gain);
            self.loss = _mm_cvtsd_f64(loss);
        }
        if i > 0 {
            self.prev = input[i - 1];
        }
        if i < n {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
        }
    }
}

/// Wilder RSI of `input` into `out` (same length); the first `period` outputs are NaN.
pub fn rsi_into(input: &[f64], period: usize, out: &mut [f64]) {
    kernel::run(&mut Rsi::new(period), input, kernel::as_slots(out));
}

/// Wilder RSI of `input`; the first `period` outputs are NaN.
pub fn rsi(input: &[f64], period: usize) -> Vec<f64> {
    let mut s = Rsi::new(period);
    kernel::collect(input.len(), |out| kernel::run(&mut s, input, out))
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
