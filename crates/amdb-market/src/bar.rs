//! Bars: one open-high-low-close-volume record per time bucket, and `Bars`, the columnar
//! form every read, write, codec and file format of this crate works on.

use std::fmt;

/// One bar. `ts` is the bucket's open time, UTC nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub ts: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// Why a bar is refused. Rows that fail these checks never reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarProblem {
    /// A price or the volume is NaN or infinite; names the field.
    NotFinite(&'static str),
    HighBelowLow,
    NegativeVolume,
}

impl fmt::Display for BarProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarProblem::NotFinite(field) => write!(f, "{field} is not a finite number"),
            BarProblem::HighBelowLow => f.write_str("high is below low"),
            BarProblem::NegativeVolume => f.write_str("volume is negative"),
        }
    }
}

impl Bar {
    /// Checks the invariants a stored bar keeps: finite prices and volume, high ≥ low,
    /// volume ≥ 0. (Open and close outside [low, high] are kept: vendors' feeds have them
    /// and dropping them would silently change the data.)
    pub fn check(&self) -> Result<(), BarProblem> {
        for (name, v) in [
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
            ("volume", self.volume),
        ] {
            if !v.is_finite() {
                return Err(BarProblem::NotFinite(name));
            }
        }
        if self.high < self.low {
            return Err(BarProblem::HighBelowLow);
        }
        if self.volume < 0.0 {
            return Err(BarProblem::NegativeVolume);
        }
        Ok(())
    }
}

/// Bars as columns of equal length. Reads return timestamps in ascending order without
/// duplicates; input to writes may be in any order and may repeat timestamps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bars {
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

impl Bars {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Bars {
            ts: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn reserve(&mut self, n: usize) {
        self.ts.reserve(n);
        for c in self.value_columns_mut() {
            c.reserve(n);
        }
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Grows every column to `n` rows with zeros (timestamp 0, prices 0.0), or shortens
    /// them to `n`.
    pub fn resize_zeroed(&mut self, n: usize) {
        self.ts.resize(n, 0);
        for c in self.value_columns_mut() {
            c.resize(n, 0.0);
        }
    }

    /// Keeps the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        self.ts.truncate(n);
        for c in self.value_columns_mut() {
            c.truncate(n);
        }
    }

    /// open, high, low, close, volume.
    fn value_columns_mut(&mut self) -> [&mut Vec<f64>; 5] {
        [
            &mut self.open,
            &mut self.high,
            &mut self.low,
            &mut self.close,
            &mut self.volume,
        ]
    }

    pub fn push(&mut self, b: Bar) {
        self.ts.push(b.ts);
        self.open.push(b.open);
        self.high.push(b.high);
        self.low.push(b.low);
        self.close.push(b.close);
        self.volume.push(b.volume);
    }

    /// The bar at row `i`. Panics if `i >= len()`.
    pub fn get(&self, i: usize) -> Bar {
        Bar {
            ts: self.ts[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Bar> + DoubleEndedIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Rows `range` as new columns.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Bars {
        Bars {
            ts: self.ts[range.clone()].to_vec(),
            open: self.open[range.clone()].to_vec(),
            high: self.high[range.clone()].to_vec(),
            low: self.low[range.clone()].to_vec(),
            close: self.close[range.clone()].to_vec(),
            volume: self.volume[range].to_vec(),
        }
    }

    /// Appends all rows of `other`.
    pub fn extend_from(&mut self, other: &Bars) {
        self.ts.extend_from_slice(&other.ts);
        self.open.extend_from_slice(&other.open);
        self.high.extend_from_slice(&other.high);
        self.low.extend_from_slice(&other.low);
        self.close.extend_from_slice(&other.close);
        self.volume.extend_from_slice(&other.volume);
    }

    /// Keeps only rows whose timestamp is in `[from, to)`. Requires ascending timestamps.
    pub fn retain_range(&mut self, from: i64, to: i64) {
        let lo = self.ts.partition_point(|&t| t < from);
        let hi = self.ts.partition_point(|&t| t < to);
        if lo == 0 && hi == self.len() {
            return;
        }
        *self = self.slice(lo..hi);
    }

    /// True when timestamps strictly increase (sorted, no duplicates).
    pub fn is_strictly_ascending(&self) -> bool {
        self.ts.windows(2).all(|w| w[0] < w[1])
    }

    /// Sorts by timestamp and keeps the last row of each timestamp (input order decides:
    /// later rows win), so the result is strictly ascending.
    pub fn sort_dedup_last_wins(&mut self) {
        if self.is_strictly_ascending() {
            return;
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        // Stable sort keeps input order among equal timestamps; the last one wins.
        order.sort_by_key(|&i| self.ts[i]);
        let mut out = Bars::with_capacity(order.len());
        for (k, &i) in order.iter().enumerate() {
            let last_of_its_ts = order
                .get(k + 1)
                .is_none_or(|&next| self.ts[next] != self.ts[i]);
            if last_of_its_ts {
                out.push(self.get(i));
            }
        }
        *self = out;
    }

    /// Checks every row; returns the first bad row's index and problem.
    pub fn check(&self) -> Result<(), (usize, BarProblem)> {
        for i in 0..self.len() {
            self.get(i).check().map_err(|p| (i, p))?;
        }
        Ok(())
    }
}

impl FromIterator<Bar> for Bars {
    fn from_iter<I: IntoIterator<Item = Bar>>(iter: I) -> Self {
        let mut out = Bars::new();
        for b in iter {
            out.push(b);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: i64, close: f64) -> Bar {
        Bar {
            ts,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        }
    }

    #[test]
    fn dedup_keeps_the_last_written_row_of_each_timestamp() {
        let mut b: Bars = [
            bar(3, 1.0),
            bar(1, 2.0),
            bar(3, 3.0),
            bar(2, 4.0),
            bar(1, 5.0),
        ]
        .into_iter()
        .collect();
        b.sort_dedup_last_wins();
        assert_eq!(b.ts, vec![1, 2, 3]);
        assert_eq!(b.close, vec![5.0, 4.0, 3.0]);
    }

    #[test]
    fn check_names_the_problem() {
        let mut b = bar(0, 1.0);
        assert_eq!(b.check(), Ok(()));
        b.high = 0.5;
        assert_eq!(b.check(), Err(BarProblem::HighBelowLow));
        b.high = 1.0;
        b.volume = -1.0;
        assert_eq!(b.check(), Err(BarProblem::NegativeVolume));
        b.volume = 1.0;
        b.close = f64::NAN;
        assert_eq!(b.check(), Err(BarProblem::NotFinite("close")));
    }

    #[test]
    fn retain_range_is_half_open() {
        let mut b: Bars = (0..10).map(|t| bar(t, t as f64)).collect();
        b.retain_range(2, 5);
        assert_eq!(b.ts, vec![2, 3, 4]);
    }
}
