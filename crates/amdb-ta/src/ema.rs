//! Exponential moving average (TA-Lib `EMA`, its default "classic" seeding): the smoothing
//! factor is k = 2 / (period + 1); the first output, at index `period - 1`, is the SMA of
//! the first `period` values; then `ema = (x - ema) * k + ema`, written as TA-Lib writes it.

/// Streaming EMA.
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    seen: usize,
    seed_total: f64,
    value: f64,
}

impl Ema {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Ema {
        assert!(period >= 1, "EMA period must be at least 1");
        Ema {
            period,
            k: 2.0 / (period as f64 + 1.0),
            seen: 0,
            seed_total: 0.0,
            value: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.seen += 1;
        if self.seen < self.period {
            self.seed_total += x;
            return None;
        }
        if self.seen == self.period {
            self.seed_total += x;
            self.value = self.seed_total / self.period as f64;
        } else {
            self.value = (x - self.value) * self.k + self.value;
        }
        Some(self.value)
    }
}

/// EMA of `input`; the first `period - 1` outputs are NaN.
pub fn ema(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Ema::new(period), Ema::update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_with_the_sma_then_smooths() {
        let out = ema(&[1.0, 2.0, 3.0, 4.0], 3);
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(out[2], 2.0);
        assert_eq!(out[3], (4.0 - 2.0) * 0.5 + 2.0);
    }
}
