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

    /// The factor of one step, `a`, and of two, `a²`.
    pub(crate) fn factors(self) -> (f64, f64) {
        (self.a, self.a2)
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
