//! Rate of change (TA-Lib `ROC`): `(x / x[t - period] - 1) * 100`, 0 when the old value is 0
//! (as TA-Lib does); lookback `period`.

use std::collections::VecDeque;

/// Streaming ROC.
#[derive(Debug, Clone)]
pub struct Roc {
    period: usize,
    window: VecDeque<f64>,
}

impl Roc {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> Roc {
        assert!(period >= 1, "ROC period must be at least 1");
        Roc {
            period,
            window: VecDeque::with_capacity(period + 2),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push_back(x);
        if self.window.len() <= self.period {
            return None;
        }
        let old = self
            .window
            .pop_front()
            .expect("window holds period + 1 values");
        Some(if old != 0.0 {
            ((x / old) - 1.0) * 100.0
        } else {
            0.0
        })
    }
}

/// ROC of `input`; the first `period` outputs are NaN.
pub fn roc(input: &[f64], period: usize) -> Vec<f64> {
    crate::run(input, Roc::new(period), Roc::update)
}
