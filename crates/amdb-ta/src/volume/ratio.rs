//! Volume ratio (ours, not in TA-Lib): a bar's volume over the mean volume of the last
//! `period` bars, itself included; 0 when that mean is 0; lookback `period - 1`.
//!
//! Computed as `volume * period / total` with `total` a running sum of the window, so one
//! division per bar. The running sum adds the change `volume - leaving volume`, two bars'
//! changes at a time on the loop-carried chain, and is summed afresh from the window every
//! 1024 bars so rounding cannot build up (a burst of huge volumes leaving the window would
//! otherwise leave its rounding error behind in the total).

use std::mem::MaybeUninit;

use crate::kernel::{self, div2, Kernel};
use crate::window::{oldest_first, Ring};

/// Bars between fresh sums of the window; even, so a fresh sum always ends a pair.
const RESYNC: usize = 1024;

/// Streaming volume ratio.
#[derive(Debug, Clone)]
pub struct VolumeRatio {
    period: f64,
    window: Ring,
    /// Bars seen, up to the window length.
    seen: usize,
    /// Sum of the window after the seed or after the last pair of steps.
    total: f64,
    /// Change of the first step of a pair whose second step has not come yet.
    pending: f64,
    /// Steps after the seed (pairs and fresh sums count from here).
    steps: usize,
}

/// The window's sum, oldest first.
#[cold]
fn fresh_total(window: impl Iterator<Item = f64>) -> f64 {
    window.fold(0.0, |a, v| a + v)
}

/// `q` (volume × period / total), or 0 for a window without volume.
#[inline(always)]
fn ratio(total: f64, q: f64) -> f64 {
    if total == 0.0 {
        0.0
    } else {
        q
    }
}

impl VolumeRatio {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> VolumeRatio {
        assert!(period >= 1, "volume ratio period must be at least 1");
        VolumeRatio {
            period: period as f64,
            window: Ring::new(period),
            seen: 0,
            total: 0.0,
            pending: 0.0,
            steps: 0,
        }
    }

    pub fn update(&mut self, volume: f64) -> Option<f64> {
        let leaving = self.window.push(volume);
        if self.seen < self.window.len() {
            self.seen += 1;
            self.total += volume;
            if self.seen < self.window.len() {
                return None;
            }
            let total = self.total;
            return Some(ratio(total, volume * self.period / total));
        }
        let change = volume - leaving;
        self.steps += 1;
        let total = if self.steps % 2 == 1 {
            // First step of a pair: its total hangs off the chain.
            self.pending = change;
            self.total + change
        } else {
            self.total += self.pending + change;
            if self.steps.is_multiple_of(RESYNC) {
                self.total = fresh_total(self.window.iter());
            }
            self.total
        };
        Some(ratio(total, volume * self.period / total))
    }
}

impl Kernel for VolumeRatio {
    #[inline(always)]
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        let mut i = 0;
        // Warm-up and an unfinished pair go through `update`.
        while i < input.len() && (self.seen < self.window.len() || self.steps % 2 == 1) {
            out[i].write(self.update(input[i]).unwrap_or(f64::NAN));
            i += 1;
        }
        let p = self.period;
        let (mut total, mut steps) = (self.total, self.steps);
        let (buf, pos_ref) = self.window.parts();
        let mut pos = *pos_ref;
        let len = buf.len();
        // The ring's push, on the local position.
        let next = |pos: usize| if pos + 1 == len { 0 } else { pos + 1 };
        let mut pairs = input[i..].chunks_exact(2);
        let mut slots = out[i..].chunks_exact_mut(2);
        for (v, o) in (&mut pairs).zip(&mut slots) {
            let d1 = v[0] - std::mem::replace(&mut buf[pos], v[0]);
            pos = next(pos);
            let d2 = v[1] - std::mem::replace(&mut buf[pos], v[1]);
            pos = next(pos);
            let first = total + d1;
            total += d1 + d2;
            steps += 2;
            if steps % RESYNC == 0 {
                total = fresh_total(oldest_first(buf, pos));
            }
            let q = div2([v[0] * p, v[1] * p], [first, total]);
            o[0].write(ratio(first, q[0]));
            o[1].write(ratio(total, q[1]));
        }
        *pos_ref = pos;
        (self.total, self.steps) = (total, steps);
        if let ([v], [o]) = (pairs.remainder(), slots.into_remainder()) {
            o.write(self.update(*v).unwrap_or(f64::NAN));
        }
    }
}

/// Volume ratio into `out` (same length); the first `period - 1` outputs are NaN.
pub fn volume_ratio_into(volume: &[f64], period: usize, out: &mut [f64]) {
    kernel::run(&mut VolumeRatio::new(period), volume, kernel::as_slots(out));
}

/// Volume ratio; the first `period - 1` outputs are NaN.
pub fn volume_ratio(volume: &[f64], period: usize) -> Vec<f64> {
    let mut s = VolumeRatio::new(period);
    kernel::collect(volume.len(), |out| kernel::run(&mut s, volume, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_by_hand() {
        let r = volume_ratio(&[10.0, 20.0, 30.0, 0.0, 0.0, 0.0, 4.0], 3);
        assert!(r[0].is_nan() && r[1].is_nan());
        assert_eq!(r[2], 30.0 * 3.0 / 60.0);
        assert_eq!(r[3], 0.0);
        assert_eq!(r[5], 0.0, "an all-zero window is 0, not NaN");
        assert_eq!(r[6], 3.0);
    }

    #[test]
    fn fresh_sums_keep_the_total_exact() {
        // Volumes above 2^53 leave rounding behind in a running total when they leave the
        // window; the next fresh sum (every 1024 bars after the seed at bar 19, so at bar
        // 4115 here) clears it, and small integers then add up exactly again.
        let v: Vec<f64> = (0..5000)
            .map(|i| {
                if i % 700 < 3 {
                    1e17 + i as f64
                } else {
                    (i % 13) as f64
                }
            })
            .collect();
        let r = volume_ratio(&v, 20);
        let i = 4150;
        assert!(v[4115 - 20..=i].iter().all(|&x| x < 1e3));
        let mean = v[i - 19..=i].iter().sum::<f64>() / 20.0;
        assert_eq!(r[i], v[i] * 20.0 / (mean * 20.0));
    }
}
