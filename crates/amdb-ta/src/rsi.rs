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

use crate::kernel::{self, Decay4, Kernel};

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
/// `avg = a * avg + change / period` with `a = (period - 1) / period`, four bars at a time
/// ([`Decay4`]): the loop-carried chain is one fused multiply-add per four bars instead of a
/// multiplication, an addition and a division per bar. Groups start at the first bar after
/// the seed, in `update` and in the batch kernels alike, so both give the same bits. The
/// results are TA-Lib's within a few units in the last place.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    inv_period: f64,
    decay: Decay4,
    prev: f64,
    started: bool,
    /// Changes seen, up to `period` (the seed).
    changes: usize,
    /// The averages after the seed or after the last full group of four bars.
    gain: f64,
    loss: f64,
    /// Terms of the current group's bars so far (`phase` of them).
    pending_gain: [f64; 4],
    pending_loss: [f64; 4],
    phase: usize,
}

impl Rsi {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Rsi {
        assert!(period >= 2, "RSI period must be at least 2");
        let p = period as f64;
        Rsi {
            period,
            inv_period: 1.0 / p,
            decay: Decay4::new((p - 1.0) / p),
            prev: 0.0,
            started: false,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
            pending_gain: [0.0; 4],
            pending_loss: [0.0; 4],
            phase: 0,
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
        let k = self.phase;
        (self.pending_gain[k], self.pending_loss[k]) = terms(change, self.inv_period);
        // Lane k of the group depends on the terms so far only (see Decay4).
        let gains = self.decay.steps(self.gain, self.pending_gain);
        let losses = self.decay.steps(self.loss, self.pending_loss);
        if k == 3 {
            (self.gain, self.loss, self.phase) = (gains[3], losses[3], 0);
        } else {
            self.phase = k + 1;
        }
        Some(ratio(gains[k], losses[k]))
    }

    /// Runs `update` over the warm-up and over an unfinished group; returns how many inputs
    /// it took.
    #[inline(always)]
    fn lead_in(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) -> usize {
        let mut i = 0;
        while i < input.len() && (self.changes < self.period || self.phase != 0) {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
        }
        i
    }

    /// Runs `update` over the inputs from `i` on (a tail shorter than a group).
    #[inline(always)]
    fn finish(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>], i: usize) {
        for (x, o) in input[i..].iter().zip(&mut out[i..]) {
            o.write(self.update(*x).unwrap_or(f64::NAN));
        }
    }

    /// The batch loop with four bars in the four lanes of a 256-bit register: the same
    /// operations on the same values as [`Kernel::kernel`] (so the same bits).
    ///
    /// # Safety
    /// Only callable where the CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_avx2(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        use std::arch::x86_64::*;
        let mut i = self.lead_in(input, out);
        // The loop reads the input before each group, so it needs one behind it.
        while i == 0 && i < input.len() {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
            i += self.lead_in(&input[i..], &mut out[i..]);
        }
        let n = input.len();
        let powers = self.decay.powers();
        // SAFETY: AVX2 and FMA are available (the caller's contract); every load is of
        // `input[i - 1..i + 4]` with `1 <= i` and `i + 4 <= n`, every store of
        // `out[i..i + 4]`.
        unsafe {
            let (a, a2) = (_mm256_set1_pd(powers[0]), _mm256_set1_pd(powers[1]));
            let powers = _mm256_loadu_pd(powers.as_ptr());
            let inv_period = _mm256_set1_pd(self.inv_period);
            let (zero, eps, hundred) = (
                _mm256_setzero_pd(),
                _mm256_set1_pd(crate::EPSILON),
                _mm256_set1_pd(100.0),
            );
            // Decay4::steps' scan: lanes shifted up by one (then two) with zeros shifted in.
            let scan = |c: __m256d| {
                let by_one = _mm256_blend_pd(_mm256_permute4x64_pd(c, 0b10_01_00_00), zero, 1);
                let t = _mm256_fmadd_pd(by_one, a, c);
                _mm256_fmadd_pd(_mm256_permute2f128_pd(t, t, 0x08), a2, t)
            };
            // The averages after the last group, in every lane.
            let mut gain = _mm256_set1_pd(self.gain);
            let mut loss = _mm256_set1_pd(self.loss);
            while i + 4 <= n {
                let x = _mm256_loadu_pd(input.as_ptr().add(i));
                let before = _mm256_loadu_pd(input.as_ptr().add(i - 1));
                let scaled = _mm256_mul_pd(_mm256_sub_pd(x, before), inv_period);
                // terms(): up = scaled > 0 ? scaled : 0 (maxpd returns its second operand
                // unless the first is greater), down = up - scaled.
                let up = _mm256_max_pd(scaled, zero);
                let down = _mm256_sub_pd(up, scaled);
                let g = _mm256_fmadd_pd(gain, powers, scan(up));
                let l = _mm256_fmadd_pd(loss, powers, scan(down));
                // ratio(): gains over sums, times 100, 0 where a sum is below epsilon
                // (NLT_UQ keeps a NaN sum's NaN, as the scalar comparison does).
                let sums = _mm256_add_pd(g, l);
                let r = _mm256_mul_pd(_mm256_div_pd(g, sums), hundred);
                let r = _mm256_and_pd(_mm256_cmp_pd::<_CMP_NLT_UQ>(sums, eps), r);
                _mm256_storeu_pd(out.as_mut_ptr().add(i).cast::<f64>(), r);
                gain = _mm256_permute4x64_pd(g, 0b11_11_11_11);
                loss = _mm256_permute4x64_pd(l, 0b11_11_11_11);
                i += 4;
            }
            self.gain = _mm256_cvtsd_f64(gain);
            self.loss = _mm256_cvtsd_f64(loss);
        }
        if i > 0 {
            self.prev = input[i - 1];
        }
        self.finish(input, out, i);
    }
}

impl Kernel for Rsi {
    #[inline(always)]
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        let i = self.lead_in(input, out);
        let (inv_period, decay) = (self.inv_period, self.decay);
        let (mut gain, mut loss, mut prev) = (self.gain, self.loss, self.prev);
        let mut groups = input[i..].chunks_exact(4);
        let mut slots = out[i..].chunks_exact_mut(4);
        for (x, o) in (&mut groups).zip(&mut slots) {
            let (mut up, mut down) = ([0.0; 4], [0.0; 4]);
            for k in 0..4 {
                (up[k], down[k]) = terms(x[k] - prev, inv_period);
                prev = x[k];
            }
            let g = decay.steps(gain, up);
            let l = decay.steps(loss, down);
            for k in 0..4 {
                o[k].write(ratio(g[k], l[k]));
            }
            (gain, loss) = (g[3], l[3]);
        }
        (self.gain, self.loss, self.prev) = (gain, loss, prev);
        let done = input.len() - groups.remainder().len();
        self.finish(input, out, done);
    }

    /// [`Rsi::kernel_avx2`] where the CPU has AVX2 (every FMA CPU but a few older AMD ones).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn kernel_fma(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has FMA (the caller's contract) and AVX2 (just checked).
            unsafe { self.kernel_avx2(input, out) }
        } else {
            self.kernel(input, out)
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

    /// `run` takes the vector kernel on this machine; the portable one serves CPUs without
    /// AVX2 and FMA, so it is checked here directly: both, fed in chunks, give `update`'s
    /// bits.
    #[test]
    fn portable_and_vector_kernels_give_updates_bits() {
        use proptest::prelude::*;
        let walks = (
            prop::collection::vec(-1.0f64..1.0, 0..200),
            2usize..30,
            prop::collection::vec(0usize..200, 0..4),
        );
        proptest!(|((steps, period, mut cuts) in walks)| {
            let mut price = 100.0;
            let input: Vec<f64> = steps.iter().map(|s| { price += s; price }).collect();
            let mut streamed = Rsi::new(period);
            let want: Vec<u64> = input
                .iter()
                .map(|&x| streamed.update(x).unwrap_or(f64::NAN).to_bits())
                .collect();
            cuts.push(0);
            cuts.push(input.len());
            cuts.iter_mut().for_each(|c| *c = (*c).min(input.len()));
            cuts.sort_unstable();
            let chunked = |portable: bool| {
                let (mut state, mut out) = (Rsi::new(period), vec![0.0; input.len()]);
                for w in cuts.windows(2) {
                    let slots = kernel::as_slots(&mut out[w[0]..w[1]]);
                    if portable {
                        state.kernel(&input[w[0]..w[1]], slots);
                    } else {
                        kernel::run(&mut state, &input[w[0]..w[1]], slots);
                    }
                }
                out.iter().map(|v| v.to_bits()).collect::<Vec<u64>>()
            };
            prop_assert_eq!(&chunked(true), &want);
            prop_assert_eq!(&chunked(false), &want);
        });
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
