//! Average directional index (TA-Lib `ADX`); lookback `2 * period - 1`. With +DI and -DI as
//! in [`mod@crate::dmi`]:
//!
//! - DX = 100 × |+DI - -DI| / (+DI + -DI);
//! - the first ADX, at bar `2 * period - 1`, is the mean of the DX of bars `period` to
//!   `2 * period - 1`; after that `ADX = (ADX * (period - 1) + DX) / period`.
//!
//! TA-Lib's handling of bars without a DX is kept: when TR or +DI + -DI is (TA-Lib's) zero,
//! that bar adds nothing to the first mean (still divided by `period`) and later leaves
//! the ADX unchanged. [`dmi`] gives +DI, -DI and ADX in one pass.

use crate::dmi::DirectionalMovement;

/// Streaming ADX.
#[derive(Debug, Clone)]
pub struct Adx {
    dm: DirectionalMovement,
    period: usize,
    /// DX values seen (bars with DI), up to `period` (the seed).
    dis: usize,
    sum_dx: f64,
    adx: f64,
}

/// +DI, -DI and (once its longer warm-up is over) ADX at one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DmiValue {
    pub plus_di: f64,
    pub minus_di: f64,
    pub adx: Option<f64>,
}

/// +DI, -DI and ADX of a whole series; NaN over each one's warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct DmiOutput {
    pub plus_di: Vec<f64>,
    pub minus_di: Vec<f64>,
    pub adx: Vec<f64>,
}

impl Adx {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> Adx {
        Adx {
            dm: DirectionalMovement::new(period),
            period,
            dis: 0,
            sum_dx: 0.0,
            adx: 0.0,
        }
    }

    /// +DI, -DI and ADX: what [`dmi`] computes, one bar at a time.
    pub fn update_dmi(&mut self, high: f64, low: f64, close: f64) -> Option<DmiValue> {
        let di = self.dm.update(high, low, close)?;
        // DX, if this bar has one.
        let sum = di.minus + di.plus;
        let dx = (!self.dm.flat() && !crate::is_zero(sum))
            .then(|| 100.0 * ((di.minus - di.plus).abs() / sum));
        let p = self.period as f64;
        let adx = if self.dis < self.period {
            self.dis += 1;
            if let Some(dx) = dx {
                self.sum_dx += dx;
            }
            if self.dis == self.period {
                self.adx = self.sum_dx / p;
                Some(self.adx)
            } else {
                None
            }
        } else {
            if let Some(dx) = dx {
                self.adx = (self.adx * (p - 1.0) + dx) / p;
            }
            Some(self.adx)
        };
        Some(DmiValue {
            plus_di: di.plus,
            minus_di: di.minus,
            adx,
        })
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        self.update_dmi(high, low, close)?.adx
    }
}

/// ADX (TA-Lib's default period: 14); the first `2 * period - 1` outputs are NaN.
pub fn adx(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    crate::run_hlc(high, low, close, Adx::new(period), Adx::update)
}

/// +DI, -DI (first `period` outputs NaN) and ADX (first `2 * period - 1` NaN) in one pass.
pub fn dmi(high: &[f64], low: &[f64], close: &[f64], period: usize) -> DmiOutput {
    assert!(
        high.len() == close.len() && low.len() == close.len(),
        "high, low and close lengths differ"
    );
    let mut s = Adx::new(period);
    let [plus_di, minus_di, adx] = crate::collect_lines(close.len(), |i| {
        s.update_dmi(high[i], low[i], close[i])
            .map(|v| [v.plus_di, v.minus_di, v.adx.unwrap_or(f64::NAN)])
    });
    DmiOutput {
        plus_di,
        minus_di,
        adx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{minus_di, plus_di};

    #[test]
    fn dmi_agrees_with_the_single_lines() {
        let high: Vec<f64> = (0..80)
            .map(|i| 50.0 + ((i * 13) % 17) as f64 * 0.5)
            .collect();
        let low: Vec<f64> = high
            .iter()
            .enumerate()
            .map(|(i, h)| h - 1.0 - (i % 3) as f64)
            .collect();
        let close: Vec<f64> = high.iter().zip(&low).map(|(h, l)| (h + l) / 2.0).collect();
        let d = dmi(&high, &low, &close, 5);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&d.plus_di), bits(&plus_di(&high, &low, &close, 5)));
        assert_eq!(bits(&d.minus_di), bits(&minus_di(&high, &low, &close, 5)));
        assert_eq!(bits(&d.adx), bits(&adx(&high, &low, &close, 5)));
        assert!(d.adx[..9].iter().all(|v| v.is_nan()) && d.adx[9].is_finite());
        // A flat market has no direction: DI 0 and ADX 0.
        let flat = dmi(&[5.0; 30], &[5.0; 30], &[5.0; 30], 5);
        assert!(flat.plus_di[5..].iter().all(|&v| v == 0.0));
        assert!(flat.adx[9..].iter().all(|&v| v == 0.0));
    }
}
