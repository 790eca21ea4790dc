//! Shared machinery for the fast batch paths.
//!
//! The rule that keeps batch and streaming identical: a batch kernel and `update()` run the
//! same IEEE operations (add, sub, mul, div, sqrt, fused multiply-add) on the same values in
//! the same order. Each of those operations is correctly rounded, so it gives the same bits
//! whether it runs as a scalar instruction, as one lane of a packed instruction, or (for
//! `f64::mul_add` on a CPU build without FMA) as a call to a software `fma`. That is what
//! lets the batch kernels use FMA instructions (chosen at run time) and pack divisions and
//! square roots into vector instructions while `update()` stays plain scalar code.

use std::mem::MaybeUninit;

/// Exponential decay `s' = a * s + c`, one step at a time or two steps at once.
///
/// Both forms are single fused multiply-adds on the running value, so the loop-carried
/// dependency costs one FMA latency per step ([`Decay::one`]) or per two steps
/// ([`Decay::two`]); the terms in `c` are computed off that chain. The two-step form is
/// `s'' = a² * s + (a * c1 + c2)`: the same number up to rounding, but not the same bits as
/// two single steps, so every user of it fixes which steps are paired (counting from the
/// seed) and does the pairing identically in `update()` and in its batch kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decay {
    a: f64,
    a2: f64,
}

impl Decay {
    pub(crate) fn new(a: f64) -> Decay {
        Decay { a, a2: a * a }
    }

    /// `a * s + c`, rounded once.
    #[inline(always)]
    pub(crate) fn one(self, s: f64, c: f64) -> f64 {
        s.mul_add(self.a, c)
    }

    /// Two steps: `a² * s + (a * c1 + c2)`.
    #[inline(always)]
    pub(crate) fn two(self, s: f64, c1: f64, c2: f64) -> f64 {
        s.mul_add(self.a2, c1.mul_add(self.a, c2))
    }
}

/// [`Decay`] four steps at a time, for kernels whose chain is the bottleneck even when
/// paired (RSI): the chain then advances four steps per fused multiply-add.
///
/// The running value after step `k` (0-based) of a group is `a^(k+1) * s + p[k]`, where
/// `p` is an inclusive prefix scan of the terms `c` done in two rounds, as a vector unit does
/// it with two lane shifts: `t[k] = a * c[k-1] + c[k]`, then `p[k] = a² * t[k-2] + t[k]`
/// (a lane with nothing shifted in keeps its value). Lane `k` depends on `c[..=k]` only, so a
/// partial group (later terms anything) gives the same bits for the steps it has.
///
/// A vector unit computes "keeps its value" as `0 * a + c`, which is `c` for every `c` but
/// `-0.0`; callers pass terms that are never `-0.0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decay4 {
    /// `a`, `a²`, `a³`, `a⁴`: the factors of the running value after each step of a group
    /// (the first two are also the scan's).
    powers: [f64; 4],
}

impl Decay4 {
    pub(crate) fn new(a: f64) -> Decay4 {
        let a2 = a * a;
        Decay4 {
            powers: [a, a2, a2 * a, a2 * a2],
        }
    }

    /// `[a, a², a³, a⁴]`, for vector kernels.
    pub(crate) fn powers(self) -> [f64; 4] {
        self.powers
    }

    /// The running value after each of the four steps with terms `c` from `s`.
    #[inline(always)]
    pub(crate) fn steps(self, s: f64, c: [f64; 4]) -> [f64; 4] {
        let p = self.powers;
        let (a, a2) = (p[0], p[1]);
        let t = [
            c[0],
            c[0].mul_add(a, c[1]),
            c[1].mul_add(a, c[2]),
            c[2].mul_add(a, c[3]),
        ];
        let scan = [t[0], t[1], t[0].mul_add(a2, t[2]), t[1].mul_add(a2, t[3])];
        [
            s.mul_add(p[0], scan[0]),
            s.mul_add(p[1], scan[1]),
            s.mul_add(p[2], scan[2]),
            s.mul_add(p[3], scan[3]),
        ]
    }
}

/// `[a0 / b0, a1 / b1]` with one packed division where the target has one (division is
/// the slowest arithmetic here, and two in one instruction cost about as much as one).
#[inline(always)]
pub(crate) fn div2(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_div_pd, _mm_loadu_pd, _mm_storeu_pd};
        let mut out = [0.0; 2];
        // SAFETY: SSE2 is part of the x86_64 baseline; the pointers are to 2-element arrays.
        unsafe {
            let q = _mm_div_pd(_mm_loadu_pd(a.as_ptr()), _mm_loadu_pd(b.as_ptr()));
            _mm_storeu_pd(out.as_mut_ptr(), q);
        }
        out
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        [a[0] / b[0], a[1] / b[1]]
    }
}

/// Views an initialised output slice as slots to write, so `_into` functions and the
/// allocating ones share one kernel that writes through [`MaybeUninit::write`].
pub(crate) fn as_slots(out: &mut [f64]) -> &mut [MaybeUninit<f64>] {
    // SAFETY: `MaybeUninit<f64>` has the layout of `f64`. The slots are only ever written
    // with initialised values by this crate's kernels (never `MaybeUninit::uninit()`), so
    // the caller's slice stays initialised.
    unsafe { &mut *(out as *mut [f64] as *mut [MaybeUninit<f64>]) }
}

/// A vector of `n` outputs written by `fill`, which must write every slot. Allocating
/// without zeroing matters at a million rows: zeroing first would write the memory twice.
pub(crate) fn collect(n: usize, fill: impl FnOnce(&mut [MaybeUninit<f64>])) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(n);
    let slots = &mut out.spare_capacity_mut()[..n];
    fill(slots);
    // SAFETY: every kernel passed here writes each of the `n` slots exactly once (they
    // walk the whole input, writing NaN during the warm-up), so all are initialised.
    unsafe { out.set_len(n) };
    out
}

/// A batch kernel over one input slice: continues from the state it is called on and
/// writes one output per input (NaN where `update()` would return `None`). Implementations
/// mark `kernel` `#[inline(always)]`, so [`run`] can compile it a second time with FMA
/// instructions enabled.
pub(crate) trait Kernel {
    fn kernel(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]);

    /// The kernel as [`run`] calls it when the CPU has FMA: by default the same code,
    /// compiled with FMA instructions; a kernel may instead use FMA intrinsics here (with
    /// results identical to [`Kernel::kernel`]'s).
    ///
    /// # Safety
    /// Only callable where the CPU has FMA.
    #[inline(always)]
    unsafe fn kernel_fma(&mut self, input: &[f64], out: &mut [MaybeUninit<f64>]) {
        self.kernel(input, out)
    }
}

/// Runs a kernel, compiled with FMA instructions when the CPU has them. The results are the
/// same bits either way (see the module doc); only the speed differs: without the
/// instructions every `mul_add` is a call into the C library.
pub(crate) fn run<K: Kernel>(k: &mut K, input: &[f64], out: &mut [MaybeUninit<f64>]) {
    assert_eq!(input.len(), out.len(), "input and output lengths differ");
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has FMA, the only feature `run_fma` enables.
        unsafe { run_fma(k, input, out) };
        return;
    }
    k.kernel(input, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn run_fma<K: Kernel>(k: &mut K, input: &[f64], out: &mut [MaybeUninit<f64>]) {
    // SAFETY: this function only runs where the CPU has FMA.
    unsafe { k.kernel_fma(input, out) }
}

/// Whether [`run`] will use FMA instructions (detected once, then cached by std).
#[inline]
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
