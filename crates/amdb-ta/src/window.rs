//! Fixed-size windows over the last `period` values: a ring buffer and a tracker of the
//! highest high and lowest low. A ring instead of a `VecDeque`: no capacity checks or
//! reallocation in the per-bar path, and the slot of a bar is fixed by its index.

/// The last `len` values; a new value replaces the oldest.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    buf: Box<[f64]>,
    /// The slot the next value goes to, which holds the oldest value once the ring is full.
    pos: usize,
}

impl Ring {
    /// A ring of `len` zeros (`len` at least 1).
    pub(crate) fn new(len: usize) -> Ring {
        assert!(len >= 1, "a window holds at least one value");
        Ring {
            buf: vec![0.0; len].into_boxed_slice(),
            pos: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Stores `x` over the oldest value and returns that value (0 while the ring was not
    /// yet full).
    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) -> f64 {
        let old = std::mem::replace(&mut self.buf[self.pos], x);
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        old
    }

    /// The value `push` will replace next: the oldest once the ring is full.
    #[inline(always)]
    pub(crate) fn oldest(&self) -> f64 {
        self.buf[self.pos]
    }

    /// The values from oldest to newest (of a full ring).
    pub(crate) fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        oldest_first(&self.buf, self.pos)
    }

    /// The slots and the position of the next write, for a kernel that keeps the position
    /// in a local (and stores it back) while it writes the slots.
    pub(crate) fn parts(&mut self) -> (&mut [f64], &mut usize) {
        (&mut self.buf, &mut self.pos)
    }

    /// The values in slot order (not time order): how TA-Lib walks its circular buffers,
    /// which fixes the order of its sums.
    pub(crate) fn slots(&self) -> &[f64] {
        &self.buf
    }
}

/// The values of ring slots `buf` whose next write goes to `pos`, oldest first.
pub(crate) fn oldest_first(buf: &[f64], pos: usize) -> impl Iterator<Item = f64> + '_ {
    buf[pos..].iter().chain(&buf[..pos]).copied()
}

/// The highest high and lowest low of the last `period` bars. Each extreme remembers the
/// bar it came from and the window is rescanned only when that bar leaves it, as TA-Lib
/// does: amortised O(1) on market data, and the values are exact maxima and minima, so the
/// result does not depend on how they are found.
#[derive(Debug, Clone)]
pub(crate) struct Extremes {
    highs: Ring,
    lows: Ring,
    /// Bars seen.
    bars: usize,
    highest: f64,
    highest_at: usize,
    lowest: f64,
    lowest_at: usize,
}

impl Extremes {
    pub(crate) fn new(period: usize) -> Extremes {
        Extremes {
            highs: Ring::new(period),
            lows: Ring::new(period),
            bars: 0,
            highest: f64::NAN,
            highest_at: 0,
            lowest: f64::NAN,
            lowest_at: 0,
        }
    }

    /// Adds a bar; once `period` bars are in, returns (highest high, lowest low) of the
    /// last `period`.
    #[inline]
    pub(crate) fn update(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
        let period = self.highs.len();
        let now = self.bars;
        self.bars += 1;
        self.highs.push(high);
        self.lows.push(low);
        // The first bar of the current window; bars before it have left.
        let first = (now + 1).saturating_sub(period);
        if now == 0 || self.highest_at < first {
            (self.highest, self.highest_at) = rescan(&self.highs, now, first, |a, b| a >= b);
        } else if high >= self.highest {
            (self.highest, self.highest_at) = (high, now);
        }
        if now == 0 || self.lowest_at < first {
            (self.lowest, self.lowest_at) = rescan(&self.lows, now, first, |a, b| a <= b);
        } else if low <= self.lowest {
            (self.lowest, self.lowest_at) = (low, now);
        }
        (self.bars >= period).then_some((self.highest, self.lowest))
    }
}

/// The extreme of bars `first..=now` (the latest one on a tie, so it stays longest) and
/// the bar it is at. Bar `i` is in slot `i % len`.
fn rescan(
    ring: &Ring,
    now: usize,
    first: usize,
    better: impl Fn(f64, f64) -> bool,
) -> (f64, usize) {
    let slots = ring.slots();
    let len = slots.len();
    let mut best = slots[first % len];
    let mut at = first;
    for i in first + 1..=now {
        let v = slots[i % len];
        if better(v, best) {
            best = v;
            at = i;
        }
    }
    (best, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_replaces_the_oldest() {
        let mut r = Ring::new(3);
        for x in [1.0, 2.0, 3.0] {
            r.push(x);
        }
        assert_eq!(r.oldest(), 1.0);
        assert_eq!(r.push(4.0), 1.0);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![2.0, 3.0, 4.0]);
    }

    #[test]
    fn extremes_match_a_fresh_scan() {
        let highs: Vec<f64> = (0..200).map(|i| ((i * 37) % 23) as f64).collect();
        let lows: Vec<f64> = highs
            .iter()
            .map(|h| h - ((*h as i64 * 7) % 5) as f64)
            .collect();
        for period in 1..12 {
            let mut e = Extremes::new(period);
            for t in 0..highs.len() {
                let got = e.update(highs[t], lows[t]);
                if t + 1 < period {
                    assert!(got.is_none());
                    continue;
                }
                let w = t + 1 - period..=t;
                let hi = highs[w.clone()].iter().copied().fold(f64::MIN, f64::max);
                let lo = lows[w].iter().copied().fold(f64::MAX, f64::min);
                assert_eq!(got, Some((hi, lo)), "period {period} bar {t}");
            }
        }
    }
}
