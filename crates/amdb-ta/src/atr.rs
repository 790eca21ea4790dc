//! True range and average true range (TA-Lib `TRANGE`, `ATR`, `NATR`). The true range of a
//! bar needs the previous close, so the first bar has none. ATR is seeded with the mean of
//! the first `period` true ranges and then smoothed Wilder's way; lookback `period`. NATR is
//! ATR as a percentage of the close (0 for a zero close).

/// The largest of high - low, |high - previous close| and |low - previous close|.
pub fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut greatest = high - low;
    let up = (prev_close - high).abs();
    if up > greatest {
        greatest = up;
    }
    let down = (low - prev_close).abs();
    if down > greatest {
        greatest = down;
    }
    greatest
}

/// Streaming ATR.
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    ranges: usize,
    value: f64,
}

impl Atr {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Atr {
        assert!(period >= 1, "ATR period must be at least 1");
        Atr {
            period,
            prev_close: None,
            ranges: 0,
            value: 0.0,
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let prev = self.prev_close.replace(close)?;
        let tr = true_range(high, low, prev);
        self.ranges += 1;
        let p = self.period as f64;
        if self.ranges < self.period {
            self.value += tr;
            return None;
        }
        if self.ranges == self.period {
            self.value = (self.value + tr) / p;
        } else {
            self.value = (self.value * (p - 1.0) + tr) / p;
        }
        Some(self.value)
    }
}

/// ATR; the first `period` outputs are NaN.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, Atr::new(period), Atr::update)
}

/// Streaming NATR.
#[derive(Debug, Clone)]
pub struct Natr {
    atr: Atr,
}

impl Natr {
    pub fn new(period: usize) -> Natr {
        Natr {
            atr: Atr::new(period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let atr = self.atr.update(high, low, close)?;
        Some(if crate::is_zero(close) {
            0.0
        } else {
            (atr / close) * 100.0
        })
    }
}

/// NATR; the first `period` outputs are NaN.
pub fn natr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, Natr::new(period), Natr::update)
}
