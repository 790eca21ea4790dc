//! Directional movement (TA-Lib `PLUS_DI`, `MINUS_DI`); lookback `period`. The ADX built
//! on it is in [`mod@crate::adx`].
//!
//! Per bar, with the previous bar's high and low:
//! - up move = high - previous high, down move = previous low - low;
//! - +DM = up move if it is positive and larger than the down move, else 0;
//!   -DM = down move if it is positive and larger than the up move, else 0;
//! - TR = the true range ([`crate::true_range`]).
//!
//! +DM, -DM and TR are smoothed Wilder's way exactly as TA-Lib does it: the first
//! `period - 1` bars after the first are summed (not averaged), then every bar
//! `s = s - s / period + today`. From bar `period` on, +DI = 100 × +DM / TR and -DI = 100 ×
//! -DM / TR (0 when TR is TA-Lib's zero); the sums' scale cancels in the ratio.

use crate::true_range;

/// The smoothed +DM, -DM and TR.
#[derive(Debug, Clone)]
pub(crate) struct DirectionalMovement {
    period: usize,
    /// Bars seen.
    bars: usize,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
}

/// +DI and -DI at one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Di {
    pub(crate) plus: f64,
    pub(crate) minus: f64,
}

impl DirectionalMovement {
    /// Panics if `period` is below 2.
    pub(crate) fn new(period: usize) -> DirectionalMovement {
        assert!(
            period >= 2,
            "directional movement period must be at least 2"
        );
        DirectionalMovement {
            period,
            bars: 0,
            prev_high: 0.0,
            prev_low: 0.0,
            prev_close: 0.0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
        }
    }

    /// Takes a bar; from bar `period` on, +DI and -DI.
    pub(crate) fn update(&mut self, high: f64, low: f64, close: f64) -> Option<Di> {
        let bar = self.bars;
        self.bars += 1;
        if bar == 0 {
            (self.prev_high, self.prev_low, self.prev_close) = (high, low, close);
            return None;
        }
        let up = high - self.prev_high;
        let down = self.prev_low - low;
        let tr = true_range(high, low, self.prev_close);
        (self.prev_high, self.prev_low, self.prev_close) = (high, low, close);
        let plus = up > 0.0 && up > down;
        let minus = down > 0.0 && up < down;
        if bar < self.period {
            if plus {
                self.plus_dm += up;
            }
            if minus {
                self.minus_dm += down;
            }
            self.tr += tr;
            return None;
        }
        let p = self.period as f64;
        self.plus_dm -= self.plus_dm / p;
        if plus {
            self.plus_dm += up;
        }
        self.minus_dm -= self.minus_dm / p;
        if minus {
            self.minus_dm += down;
        }
        self.tr = self.tr - self.tr / p + tr;
        Some(if crate::is_zero(self.tr) {
            Di {
                plus: 0.0,
                minus: 0.0,
            }
        } else {
            Di {
                plus: 100.0 * (self.plus_dm / self.tr),
                minus: 100.0 * (self.minus_dm / self.tr),
            }
        })
    }

    /// Whether TR is (TA-Lib's) zero: a bar with no DI to take a DX from.
    pub(crate) fn flat(&self) -> bool {
        crate::is_zero(self.tr)
    }
}

/// Streaming +DI.
#[derive(Debug, Clone)]
pub struct PlusDi {
    dm: DirectionalMovement,
}

impl PlusDi {
    /// Panics if `period` is below 2.
    pub fn new(period: usize) -> PlusDi {
        PlusDi {
            dm: DirectionalMovement::new(period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        self.dm.update(high, low, close).map(|di| di.plus)
    }
}

/// +DI (TA-Lib's default period: 14); the first `period` outputs are NaN.
pub fn plus_di(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, PlusDi::new(period), PlusDi::update)
}

/// Streaming -DI.
#[derive(Debug, Clone)]
pub struct MinusDi {
    dm: DirectionalMovement,
}

impl MinusDi {
    /// Panics if `period` is below 2.
    pub fn new(period: usize) -> MinusDi {
        MinusDi {
            dm: DirectionalMovement::new(period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        self.dm.update(high, low, close).map(|di| di.minus)
    }
}

/// -DI (TA-Lib's default period: 14); the first `period` outputs are NaN.
pub fn minus_di(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, MinusDi::new(period), MinusDi::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let high = [10.0, 11.0, 10.5, 12.0];
        let low = [9.0, 9.5, 9.0, 10.0];
        let close = [9.5, 10.5, 9.5, 11.5];
        // Bar 1: up 1, down -0.5 -> +DM 1; TR max(1.5, 1.5, 0) = 1.5.
        // Bar 2: up -0.5, down 0.5 -> -DM 0.5; TR max(1.5, 0, 1.5) = 1.5.
        // Period 2: bar 1 is summed, bar 2 smoothed: +DM 1 - 0.5 = 0.5, -DM 0 + 0.5 = 0.5,
        // TR 1.5 - 0.75 + 1.5 = 2.25.
        let p = plus_di(&high, &low, &close, 2);
        let m = minus_di(&high, &low, &close, 2);
        assert!(p[..2].iter().all(|v| v.is_nan()));
        assert_eq!(p[2], 100.0 * (0.5 / 2.25));
        assert_eq!(m[2], 100.0 * (0.5 / 2.25));
        // Bar 3: up 1.5, down -1 -> +DM 1.5; TR max(2, 2.5, 0.5) = 2.5.
        assert_eq!(p[3], 100.0 * ((0.5 - 0.25 + 1.5) / (2.25 - 1.125 + 2.5)));
        assert_eq!(m[3], 100.0 * ((0.5 - 0.25) / (2.25 - 1.125 + 2.5)));
    }
}
