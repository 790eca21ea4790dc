//! Rolling standard deviation; lookback `period - 1`.
//!
//! - [`stddev`] is TA-Lib's `STDDEV` with `nbdev = 1`: the population standard deviation
//!   of the last `period` values.
//! - [`stddev_sample`] is the sample standard deviation (divisor `period - 1`, numpy's
//!   `ddof=1`): the population variance times `period / (period - 1)`. Not in TA-Lib.
//!
//! The variance comes from `moments.rs`: O(1) a value and accurate to about 1e-10
//! relative, so a window whose prices have gone flat gives 0 (or its true tiny spread), not
//! the leftover rounding of a burst that has left the window. TA-Lib 0.8 does the same;
//! releases before it used running sums of x and x², whose rounding could leave a standard
//! deviation of 1e-6 on a flat window, and cut variances below 1e-14 to 0.

use crate::moments::Moments;

/// Streaming population standard deviation.
#[derive(Debug, Clone)]
pub struct StdDev {
    variance: Moments,
}

impl StdDev {
    /// Panics if `period` is below 2 (TA-Lib's minimum).
    pub fn new(period: usize) -> StdDev {
        assert!(period >= 2, "standard deviation period must be at least 2");
        StdDev {
            variance: Moments::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.variance.update(x).map(f64::sqrt)
    }
}

/// Population standard deviation of `input` over `period`; the first `period - 1` outputs
/// are NaN.
pub fn stddev(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, StdDev::new(period), StdDev::update)
}

/// Streaming sample standard deviation.
#[derive(Debug, Clone)]
pub struct StdDevSample {
    variance: Moments,
    /// `period / (period - 1)`: population variance to sample variance.
    bessel: f64,
}

impl StdDevSample {
    /// Panics if `period` is below 2 (one value has no sample deviation).
    pub fn new(period: usize) -> StdDevSample {
        assert!(period >= 2, "standard deviation period must be at least 2");
        let p = period as f64;
        StdDevSample {
            variance: Moments::new(period),
            bessel: p / (p - 1.0),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let bessel = self.bessel;
        self.variance.update(x).map(|v| (v * bessel).sqrt())
    }
}

/// Sample standard deviation (divisor `period - 1`) of `input` over `period`; the first
/// `period - 1` outputs are NaN.
pub fn stddev_sample(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, StdDevSample::new(period), StdDevSample::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_and_sample_deviation() {
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!((stddev(&x, 8)[7] - 2.0).abs() < 1e-12);
        // Sum of squared deviations is 32: sample variance 32 / 7.
        assert!((stddev_sample(&x, 8)[7] - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!(stddev(&[3.0; 5], 3)[2..].iter().all(|&v| v == 0.0));
        assert!(stddev_sample(&[3.0; 5], 3)[2..].iter().all(|&v| v == 0.0));
    }
}
