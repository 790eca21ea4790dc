//! Where one line crosses another, found for a whole series at once.
//!
//! A cross up at bar `i` is `fast[i] > slow[i]` after `fast[i-1] <= slow[i-1]`, a cross down
//! the mirror image; a bar where either line is NaN (warm-up) starts no cross and ends none.
//! This is the per-bar rule of [`cross`](super::strategies) evaluated 64 bars at a time: the
//! three comparisons of each bar become bits of three words (two bars per SSE2
//! instruction on x86-64), and only the rare crosses take a branch.

use super::order::{OrderType, Signal};

/// Bits `j` of `(above, below, both)`: `fast[j] > slow[j]`, `fast[j] < slow[j]`, neither
/// is NaN. At most 64 bars.
#[inline(always)]
fn masks(fast: &[f64], slow: &[f64]) -> (u64, u64, u64) {
    debug_assert!(fast.len() == slow.len() && fast.len() <= 64);
    let (mut above, mut below, mut both) = (0u64, 0u64, 0u64);
    // Bars from `j` on are left to the portable loop.
    #[cfg(not(target_arch = "x86_64"))]
    let j = 0;
    #[cfg(target_arch = "x86_64")]
    let j = {
        use std::arch::x86_64::*;
        let j = fast.len() & !1;
        // Pairs from the last to the first, each shifted in at the bottom: a shift by a
        // constant, where shifting each pair's bits up to its place would take a variable
        // shift (three micro-ops on many x86 CPUs).
        for pair in (0..j).step_by(2).rev() {
            // SAFETY: SSE2 is part of the x86-64 baseline; the loads read
            // `[pair, pair + 2)` of two slices at least `j` long.
            unsafe {
                let f = _mm_loadu_pd(fast.as_ptr().add(pair));
                let s = _mm_loadu_pd(slow.as_ptr().add(pair));
                // Ordered comparisons: false when either side is NaN, as `>` and `<` are.
                above = above << 2 | _mm_movemask_pd(_mm_cmpgt_pd(f, s)) as u64;
                below = below << 2 | _mm_movemask_pd(_mm_cmplt_pd(f, s)) as u64;
                both = both << 2 | _mm_movemask_pd(_mm_cmpord_pd(f, s)) as u64;
            }
        }
        j
    };
    for (k, (f, s)) in fast.iter().zip(slow).enumerate().skip(j) {
        above |= u64::from(f > s) << k;
        below |= u64::from(f < s) << k;
        both |= u64::from(!(f.is_nan() || s.is_nan())) << k;
    }
    (above, below, both)
}

/// Every cross of `fast` over `slow` in bar order: `Long` for a cross up, `Short` for one
/// down, as market orders.
pub(crate) fn crosses(fast: &[f64], slow: &[f64]) -> Vec<(usize, Signal)> {
    assert_eq!(fast.len(), slow.len(), "line lengths differ");
    let mut out = Vec::new();
    // The previous block's masks; bit 63 is the bar before this block's first. None before
    // the first bar, so bar 0 starts no cross.
    let (mut prev_above, mut prev_below, mut prev_both) = (0u64, 0u64, 0u64);
    for (block, (f, s)) in fast.chunks(64).zip(slow.chunks(64)).enumerate() {
        let (above, below, both) = masks(f, s);
        // Bit j: the same comparison at bar j - 1.
        let was_above = above << 1 | prev_above >> 63;
        let was_below = below << 1 | prev_below >> 63;
        let was_both = both << 1 | prev_both >> 63;
        let up = above & !was_above & was_both;
        let down = below & !was_below & was_both;
        let mut any = up | down;
        while any != 0 {
            let j = any.trailing_zeros();
            let signal = if up >> j & 1 == 1 {
                Signal::Long(OrderType::Market)
            } else {
                Signal::Short(OrderType::Market)
            };
            out.push((block * 64 + j as usize, signal));
            any &= any - 1;
        }
        (prev_above, prev_below, prev_both) = (above, below, both);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule bar by bar, as `EmaCross::on_bar` applies it.
    fn by_bar(fast: &[f64], slow: &[f64]) -> Vec<(usize, Signal)> {
        (1..fast.len())
            .filter_map(|i| {
                let (f, s, pf, ps) = (fast[i], slow[i], fast[i - 1], slow[i - 1]);
                if f > s && pf <= ps {
                    Some((i, Signal::Long(OrderType::Market)))
                } else if f < s && pf >= ps {
                    Some((i, Signal::Short(OrderType::Market)))
                } else {
                    None
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn block_scan_equals_the_per_bar_rule(
            lines in prop::collection::vec((0u8..4, 0u8..4), 0..300),
        ) {
            // Few distinct values, so equal lines and crosses are common; 3 is NaN.
            let value = |v: u8| if v == 3 { f64::NAN } else { f64::from(v) };
            let fast: Vec<f64> = lines.iter().map(|l| value(l.0)).collect();
            let slow: Vec<f64> = lines.iter().map(|l| value(l.1)).collect();
            prop_assert_eq!(crosses(&fast, &slow), by_bar(&fast, &slow));
        }
    }
}
