//! Bollinger Bands (TA-Lib `BBANDS` with its default SMA middle band); lookback
//! `period - 1`.
//!
//! - middle = SMA(period) of the input;
//! - upper = middle + `nbdev_up` × σ, lower = middle - `nbdev_dn` × σ, where σ is the
//!   population standard deviation of the same `period` values, as [`mod@crate::stddev`]
//!   computes it (accurate also where a window goes flat, as TA-Lib 0.8's).
//!
//! The middle band is [`crate::Sma`], TA-Lib's running total, to the last bit.

use crate::moments::Moments;
use crate::Sma;

/// The three bands of a whole series; NaN over the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct BbandsOutput {
    pub upper: Vec<f64>,
    pub middle: Vec<f64>,
    pub lower: Vec<f64>,
}

/// The three bands at one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BbandsValue {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}

/// Streaming Bollinger Bands.
#[derive(Debug, Clone)]
pub struct Bbands {
    nbdev_up: f64,
    nbdev_dn: f64,
    middle: Sma,
    variance: Moments,
}

impl Bbands {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize, nbdev_up: f64, nbdev_dn: f64) -> Bbands {
        assert!(period >= 2, "Bollinger Bands period must be at least 2");
        Bbands {
            nbdev_up,
            nbdev_dn,
            middle: Sma::new(period),
            variance: Moments::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<BbandsValue> {
        let middle = self.middle.update(x);
        let sd = self.variance.update(x)?.sqrt();
        let middle = middle?;
        Some(BbandsValue {
            upper: middle + sd * self.nbdev_up,
            middle,
            lower: middle - sd * self.nbdev_dn,
        })
    }
}

/// Bollinger Bands of `input` (TA-Lib's defaults are `period` 5, `nbdev_up` and
/// `nbdev_dn` 2; 20 periods is the usual choice on charts); the first `period - 1` outputs
/// are NaN.
pub fn bbands(input: &[f64], period: usize, nbdev_up: f64, nbdev_dn: f64) -> BbandsOutput {
    let mut s = Bbands::new(period, nbdev_up, nbdev_dn);
    let [upper, middle, lower] = crate::collect_lines(input.len(), |i| {
        s.update(input[i]).map(|v| [v.upper, v.middle, v.lower])
    });
    BbandsOutput {
        upper,
        middle,
        lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_by_hand() {
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let b = bbands(&x, 8, 2.0, 1.0);
        assert!(b.middle[..7].iter().all(|v| v.is_nan()));
        assert_eq!(b.middle[7], 5.0);
        assert!((b.upper[7] - 9.0).abs() < 1e-12);
        assert!((b.lower[7] - 3.0).abs() < 1e-12);
        let flat = bbands(&[3.5; 6], 3, 2.0, 2.0);
        assert!(flat.upper[2..].iter().all(|&v| v == 3.5));
        assert!(flat.lower[2..].iter().all(|&v| v == 3.5));
    }
}
