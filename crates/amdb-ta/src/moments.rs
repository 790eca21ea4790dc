//! Variance of a sliding window in O(1) a value, accurate where the textbook running sums
//! are not.
//!
//! `mean(x²) - mean(x)²` from running sums of x and x² subtracts two numbers of the size of
//! the squared price to get one of the size of the squared spread: at a price of 100 and a
//! spread of 0.01 that loses eight digits, and when a window goes flat its variance is
//! whatever rounding the sums carry. Here the sums are of deviations from an anchor `k`, a
//! value of the window itself (the newest at the last recomputation):
//! `s1 = Σ(x - k)`, `s2 = Σ(x - k)²`, variance `s2/n - (s1/n)²`. With `k` in the window,
//! `(mean - k)²` is at most `n` times the variance, so the subtraction loses at most
//! log10(n + 1) digits. The sums are recomputed exactly, with a fresh anchor, when the
//! variance falls below 1e-6 of the largest `s2/n` since the last recomputation (a burst
//! has left the window and the rest may be its rounding), when the window's mean has
//! drifted more than 32 standard deviations from the anchor (a trend), and in any case
//! every 1024 values. A window of equal values (anchored on one of them, all deviations
//! are 0) so has a variance of exactly 0. TA-Lib 0.8's `VAR`, which the standard
//! deviations here follow, is built on the same idea.

/// Values between unconditional recomputations.
const RESYNC: usize = 1024;
/// A variance below this fraction of the peak mean square triggers a recomputation.
const COLLAPSE: f64 = 1e-6;
/// So does a squared distance of the mean from the anchor above this many variances.
const DRIFT: f64 = 1024.0;

#[derive(Debug, Clone)]
pub(crate) struct Moments {
    /// The window, a ring: `st.pos` is the slot of the oldest value once it is full.
    buf: Box<[f64]>,
    st: State,
}

/// Everything but the window, kept apart so a batch loop can hold it in registers while it
/// writes the window.
#[derive(Debug, Clone, Copy)]
struct State {
    pos: usize,
    inv_n: f64,
    /// Values seen, up to the window length.
    seen: usize,
    anchor: f64,
    s1: f64,
    s2: f64,
    /// The largest `s2` since the last recomputation.
    peak: f64,
    /// Values since the last recomputation.
    since: usize,
}

impl Moments {
    /// Panics if `n` is 0.
    pub(crate) fn new(n: usize) -> Moments {
        assert!(n >= 1, "a window holds at least one value");
        Moments {
            buf: vec![0.0; n].into_boxed_slice(),
            st: State {
                pos: 0,
                inv_n: 1.0 / n as f64,
                seen: 0,
                anchor: 0.0,
                s1: 0.0,
                s2: 0.0,
                peak: 0.0,
                since: 0,
            },
        }
    }

    /// Whether the window is full, so that [`Moments::step_all`] may be called.
    #[inline(always)]
    pub(crate) fn full(&self) -> bool {
        self.st.seen == self.buf.len()
    }

    /// Adds a value; once the window is full, its population variance (never negative).
    #[inline]
    pub(crate) fn update(&mut self, x: f64) -> Option<f64> {
        let st = &mut self.st;
        if st.seen == self.buf.len() {
            return Some(step(st, &mut self.buf, x));
        }
        st.push(&mut self.buf, x);
        st.seen += 1;
        if st.seen < self.buf.len() {
            return None;
        }
        let (newer, older) = self.buf.split_at(st.pos);
        Some(st.recompute(older, newer, x))
    }

    /// [`Moments::update`] of a full window for each of `xs`, the variances into `out`:
    /// the same steps as `update`, with the state in registers and, once `n` values in,
    /// the value leaving the window read from `xs` instead of the ring.
    #[inline(always)]
    pub(crate) fn step_all(&mut self, xs: &[f64], out: &mut [f64]) {
        let n = self.buf.len();
        let mut st = self.st;
        let head = xs.len().min(n);
        for (&x, o) in xs[..head].iter().zip(&mut out[..head]) {
            *o = step(&mut st, &mut self.buf, x);
        }
        if xs.len() > n {
            // The ring's position as the steps below would leave it.
            let start = st.pos;
            for (j, ((&x, &old), o)) in xs[n..].iter().zip(xs).zip(&mut out[n..]).enumerate() {
                *o = advance(&mut st, x, old, || (&xs[j + 1..j + 1 + n], &[]));
            }
            // Replay the last pushes into the ring.
            let k = xs.len() - n;
            for m in k.saturating_sub(n)..k {
                self.buf[(start + m) % n] = xs[n + m];
            }
            st.pos = (start + k) % n;
        }
        self.st = st;
    }
}

/// [`Moments::update`] of a full window.
#[inline(always)]
fn step(st: &mut State, buf: &mut [f64], x: f64) -> f64 {
    let old = st.push(buf, x);
    let pos = st.pos;
    advance(st, x, old, || {
        let (newer, older) = buf.split_at(pos);
        (older, newer)
    })
}

/// A step after `x` entered the window and `old` left it; `window` gives the window's
/// values, oldest first, in two parts, should the sums be recomputed.
#[inline(always)]
fn advance<'w>(
    st: &mut State,
    x: f64,
    old: f64,
    window: impl FnOnce() -> (&'w [f64], &'w [f64]),
) -> f64 {
    let (new_dev, old_dev) = (x - st.anchor, old - st.anchor);
    st.s1 += new_dev - old_dev;
    st.s2 += new_dev.mul_add(new_dev, -(old_dev * old_dev));
    st.peak = if st.s2 > st.peak { st.s2 } else { st.peak };
    st.since += 1;
    let (offset, variance) = st.moments();
    // One branch for the three reasons to start afresh (all rare).
    let collapsed = variance < COLLAPSE * st.inv_n * st.peak;
    let drifted = offset * offset > DRIFT * variance;
    if collapsed | drifted | (st.since >= RESYNC) {
        let (older, newer) = window();
        return st.recompute(older, newer, x);
    }
    clamp(variance)
}

impl State {
    /// Stores `x` over the oldest value and returns that value.
    #[inline(always)]
    fn push(&mut self, buf: &mut [f64], x: f64) -> f64 {
        let pos = self.pos;
        let old = std::mem::replace(&mut buf[pos], x);
        self.pos = if pos + 1 == buf.len() { 0 } else { pos + 1 };
        old
    }

    /// The sums afresh over the window (`older` then `newer`, oldest first), anchored at
    /// its newest value `x`; the variance.
    #[inline(always)]
    fn recompute(&mut self, older: &[f64], newer: &[f64], x: f64) -> f64 {
        let (s1, s2) = fresh_sums(older, newer, x);
        self.anchor = x;
        (self.s1, self.s2, self.peak, self.since) = (s1, s2, s2, 0);
        clamp(self.moments().1)
    }

    /// The mean's distance from the anchor, and the variance.
    #[inline(always)]
    fn moments(&self) -> (f64, f64) {
        let offset = self.s1 * self.inv_n;
        (offset, self.s2 * self.inv_n - offset * offset)
    }
}

/// Σ(v - x) and Σ(v - x)² over the window, oldest first. Out of line and on values only,
/// so that the caller's state can stay in registers.
#[cold]
#[inline(never)]
fn fresh_sums(older: &[f64], newer: &[f64], x: f64) -> (f64, f64) {
    let (mut s1, mut s2) = (0.0, 0.0);
    for v in older.iter().chain(newer) {
        let d = v - x;
        s1 += d;
        s2 = d.mul_add(d, s2);
    }
    (s1, s2)
}

#[inline(always)]
fn clamp(variance: f64) -> f64 {
    if variance > 0.0 {
        variance
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_pass(w: &[f64]) -> f64 {
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n
    }

    #[test]
    fn follows_the_two_pass_variance_through_bursts_and_flats() {
        // Calm prices, a burst of large ones, flat, then tiny moves: each transition
        // leaves rounding behind in a running M2.
        let mut x: Vec<f64> = (0..300)
            .map(|i| 100.0 + ((i * 37) % 11) as f64 * 0.01)
            .collect();
        x.extend((0..5).map(|i| 1e6 + i as f64));
        x.extend([123.25; 50]);
        // Steps of 2^-30 (about 1e-9): exactly representable, so the reference is exact.
        x.extend((0..300).map(|i| 123.25 + ((i * 13) % 7) as f64 * (0.5f64).powi(30)));
        for n in [2, 5, 20] {
            let mut m = Moments::new(n);
            for t in 0..x.len() {
                let got = m.update(x[t]);
                if t + 1 < n {
                    assert!(got.is_none());
                    continue;
                }
                let want = two_pass(&x[t + 1 - n..=t]);
                let got = got.unwrap();
                assert!(
                    (got - want).abs() <= 1e-9 * want + 1e-30,
                    "n {n} t {t}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn equal_values_have_no_variance() {
        let mut m = Moments::new(4);
        let out: Vec<Option<f64>> = [1.0, 5.0, 0.1, 0.1, 0.1, 0.1, 0.1]
            .iter()
            .map(|&x| m.update(x))
            .collect();
        assert_eq!(out[6], Some(0.0));
    }
}
