//! Double and triple exponential moving averages (TA-Lib `DEMA`, `TEMA`): EMAs of EMAs, each
//! seeded like [`crate::Ema`] from the first outputs of the one before; lookbacks
//! `2 * (period - 1)` and `3 * (period - 1)`.

use crate::Ema;

/// Streaming DEMA: `2 * e1 - e2`.
#[derive(Debug, Clone)]
pub struct Dema {
    e1: Ema,
    e2: Ema,
}

impl Dema {
    pub fn new(period: usize) -> Dema {
        Dema {
            e1: Ema::new(period),
            e2: Ema::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let e1 = self.e1.update(x)?;
        let e2 = self.e2.update(e1)?;
        Some(2.0 * e1 - e2)
    }
}

/// DEMA of `input`; the first `2 * (period - 1)` outputs are NaN.
pub fn dema(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Dema::new(period), Dema::update)
}

/// Streaming TEMA: `3 * e1 - 3 * e2 + e3`.
#[derive(Debug, Clone)]
pub struct Tema {
    e1: Ema,
    e2: Ema,
    e3: Ema,
}

impl Tema {
    pub fn new(period: usize) -> Tema {
        Tema {
            e1: Ema::new(period),
            e2: Ema::new(period),
            e3: Ema::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let e1 = self.e1.update(x)?;
        let e2 = self.e2.update(e1)?;
        let e3 = self.e3.update(e2)?;
        Some(3.0 * e1 - 3.0 * e2 + e3)
    }
}

/// TEMA of `input`; the first `3 * (period - 1)` outputs are NaN.
pub fn tema(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Tema::new(period), Tema::update)
}
