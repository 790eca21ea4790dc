//! Ornstein–Uhlenbeck exploration noise, as DDPG's authors use: each coordinate follows
//! x ← x − θ·x + σ·N(0, 1), a mean-reverting random walk, so consecutive trials explore in
//! a consistent direction for a while instead of jittering around the actor's choice. σ
//! decays with every exploring trial, from wide search to fine adjustment.

use serde::{Deserialize, Serialize};

use super::super::rng::Rng;

/// Mean reversion per trial.
pub const THETA: f64 = 0.15;
/// σ of the first exploring trial, in units of the cube's side.
pub const SIGMA_START: f64 = 0.25;
/// σ's factor per exploring trial.
pub const SIGMA_DECAY: f64 = 0.98;
/// σ never falls below this: some exploration is always left, so a resumed or warm-started
/// agent can still move.
pub const SIGMA_FLOOR: f64 = 0.03;

/// The noise process's state: one value per knob. Serialises as that list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OuNoise {
    x: Vec<f64>,
}

impl OuNoise {
    /// The process at rest, for `dims` knobs.
    pub fn new(dims: usize) -> OuNoise {
        OuNoise { x: vec![0.0; dims] }
    }

    /// σ after `explored` exploring trials.
    pub fn sigma(explored: usize) -> f64 {
        let k = i32::try_from(explored).unwrap_or(i32::MAX);
        (SIGMA_START * SIGMA_DECAY.powi(k)).max(SIGMA_FLOOR)
    }

    /// Advances one step with scale `sigma` and returns the new values.
    pub fn step(&mut self, sigma: f64, rng: &mut Rng) -> &[f64] {
        for x in &mut self.x {
            *x += -THETA * *x + sigma * rng.normal();
        }
        &self.x
    }

    /// The number of knobs.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether every value is finite (a restored snapshot's noise is checked with it).
    pub fn is_finite(&self) -> bool {
        self.x.iter().all(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_decays_to_its_floor() {
        assert_eq!(OuNoise::sigma(0), SIGMA_START);
        assert!((OuNoise::sigma(10) - SIGMA_START * SIGMA_DECAY.powi(10)).abs() < 1e-15);
        assert_eq!(OuNoise::sigma(100_000), SIGMA_FLOOR);
        assert_eq!(OuNoise::sigma(usize::MAX), SIGMA_FLOOR);
    }

    #[test]
    fn reverts_to_zero_and_is_correlated() {
        let mut n = OuNoise::new(1);
        let mut rng = Rng::new(4);
        let xs: Vec<f64> = (0..20_000).map(|_| n.step(0.1, &mut rng)[0]).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        // Stationary variance σ²/(1 − (1 − θ)²) = 0.01/0.2775.
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((var - 0.01 / 0.2775).abs() < 0.006, "{var}");
        // Lag-1 autocorrelation 1 − θ.
        let lag: f64 = xs
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / (xs.len() - 1) as f64
            / var;
        assert!((lag - (1.0 - THETA)).abs() < 0.03, "{lag}");
    }
}
