//! On-balance volume (TA-Lib `OBV`): starts at the first bar's volume, then adds the volume
//! of a bar that closed higher and subtracts that of one that closed lower; no warm-up.

/// Streaming OBV.
#[derive(Debug, Clone, Default)]
pub struct Obv {
    prev_close: Option<f64>,
    value: f64,
}

impl Obv {
    pub fn new() -> Obv {
        Obv::default()
    }

    pub fn update(&mut self, close: f64, volume: f64) -> f64 {
        match self.prev_close {
            None => self.value = volume,
            Some(p) if close > p => self.value += volume,
            Some(p) if close < p => self.value -= volume,
            Some(_) => {}
        }
        self.prev_close = Some(close);
        self.value
    }
}

/// OBV of closes and volumes (of equal length).
pub fn obv(close: &[f64], volume: &[f64]) -> Vec<f64> {
    assert_eq!(close.len(), volume.len(), "close and volume lengths differ");
    let mut s = Obv::new();
    close
        .iter()
        .zip(volume)
        .map(|(&c, &v)| s.update(c, v))
        .collect()
}
