//! Optimizers: what configuration to try next.
//!
//! Every optimizer works in the unit cube: an action is one number in `[0, 1]` per knob, and
//! the knob catalog (`crate::knob`) maps it to a setting. The tuning loop asks for an action
//! given the current state (the target's normalised metrics), measures it, and reports back
//! an [`Observation`]. Optimizers never see knob names, units or the database; that keeps
//! them testable on synthetic functions with known optima.

use serde::{Deserialize, Serialize};

/// Measured performance of one configuration (medians over repeated runs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perf {
    /// Throughput, higher is better (transactions per second).
    pub tps: f64,
    /// Latency, lower is better (p95, milliseconds).
    pub latency_ms: f64,
}

/// What happened when an action was tried.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The state the action was chosen in.
    pub state: &'a [f64],
    /// The action tried, in `[0, 1]^dims`.
    pub action: &'a [f64],
    /// The state after the run.
    pub next_state: &'a [f64],
    /// `None` when the configuration failed (refused, crashed the server, workload errors).
    pub perf: Option<Perf>,
}

/// Which optimizer; also the name the CLI and the run history use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Ddpg,
    Bo,
    Random,
}

pub trait Optimizer: Send {
    fn kind(&self) -> OptimizerKind;
    /// The next action to try, each coordinate in `[0, 1]`.
    fn suggest(&mut self, state: &[f64]) -> Vec<f64>;
    /// Learns from the outcome of an action (usually the last suggested one, but the loop may
    /// also report baseline or seed configurations it measured).
    fn observe(&mut self, obs: &Observation);
    /// Everything needed to resume: model weights, history, RNG state.
    fn snapshot(&self) -> serde_json::Value;
}

mod bo;
mod ddpg;
mod gp;
mod random;
pub mod reward;
mod rng;

pub use bo::BayesOpt;
pub use ddpg::Ddpg;
pub use random::RandomSearch;

/// How many spread-out (Latin hypercube) points BO and DDPG try before their models steer:
/// one per knob up to six. Enough to see each knob move; more would spend a small budget
/// (twenty trials of a real database) on sampling before learning anything, and the tuning
/// loop also hands them the measured baseline as a first point.
pub fn design_size(dims: usize) -> usize {
    dims.clamp(3, 6)
}

/// Version of the snapshot layout; a snapshot of another version is refused.
pub const SNAPSHOT_VERSION: u64 = 1;

/// The objective of a failed configuration: below anything a running configuration
/// scores in practice (−2 is a throughput and a latency both e² ≈ 7.4 times worse).
pub const FAILED_OBJECTIVE: f64 = -2.0;

/// What BO and random search maximise, and the best-so-far curve shows:
/// 0.4·ln(tps / tps₀) + 0.6·ln(latency₀ / latency), 0 at the baseline, the same weights as
/// CDBTune's reward. Logs make a doubling and a halving equally large moves.
pub fn objective(perf: Option<Perf>, baseline: Perf) -> f64 {
    match perf {
        Some(p) if p.tps > 0.0 && p.latency_ms > 0.0 => {
            let v = reward::THROUGHPUT_WEIGHT * (p.tps / baseline.tps).ln()
                + (1.0 - reward::THROUGHPUT_WEIGHT) * (baseline.latency_ms / p.latency_ms).ln();
            v.max(FAILED_OBJECTIVE)
        }
        _ => FAILED_OBJECTIVE,
    }
}

/// A fresh optimizer over `[0, 1]^dims` with states of length `state_dims`.
pub fn new(
    kind: OptimizerKind,
    dims: usize,
    state_dims: usize,
    baseline: Perf,
    seed: u64,
) -> Box<dyn Optimizer> {
    match kind {
        OptimizerKind::Random => Box::new(RandomSearch::new(dims, seed)),
        OptimizerKind::Bo => Box::new(BayesOpt::new(dims, baseline, seed)),
        OptimizerKind::Ddpg => Box::new(Ddpg::new(dims, state_dims, baseline, seed)),
    }
}

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("optimizer snapshot has version {found}, this amdb reads version {SNAPSHOT_VERSION}")]
    Version { found: u64 },
    #[error("optimizer snapshot is not valid: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Header {
    version: u64,
    kind: OptimizerKind,
}

/// An optimizer from its [`Optimizer::snapshot`]. `baseline` replaces the stored one: a
/// resumed or warm-started run measures its baseline afresh, and what was learnt (model
/// weights, history in relative terms) carries over.
pub fn restore(
    snapshot: &serde_json::Value,
    baseline: Perf,
) -> Result<Box<dyn Optimizer>, RestoreError> {
    let header: Header = serde_json::from_value(snapshot.clone())
        .map_err(|e| RestoreError::Invalid(e.to_string()))?;
    if header.version != SNAPSHOT_VERSION {
        return Err(RestoreError::Version {
            found: header.version,
        });
    }
    Ok(match header.kind {
        OptimizerKind::Random => Box::new(RandomSearch::restore(snapshot)?),
        OptimizerKind::Bo => Box::new(BayesOpt::restore(snapshot, baseline)?),
        OptimizerKind::Ddpg => Box::new(Ddpg::restore(snapshot, baseline)?),
    })
}

pub(crate) fn invalid(e: impl std::fmt::Display) -> RestoreError {
    RestoreError::Invalid(e.to_string())
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<OptimizerKind, String> {
        match s {
            "ddpg" => Ok(OptimizerKind::Ddpg),
            "bo" => Ok(OptimizerKind::Bo),
            "random" => Ok(OptimizerKind::Random),
            _ => Err(format!("optimizer {s:?}: expected ddpg, bo or random")),
        }
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptimizerKind::Ddpg => "ddpg",
            OptimizerKind::Bo => "bo",
            OptimizerKind::Random => "random",
        })
    }
}

#[cfg(test)]
pub(crate) mod synthetic {
    //! Synthetic targets with known optima for the optimizers' tests.
    use super::Perf;

    /// A throughput peak at `center` with per-knob sensitivities `weights`:
    /// tps = 1000·exp(−Σ wᵢ(xᵢ − cᵢ)²), latency = 10⁵ / tps. Its objective against
    /// `baseline()` is −Σ wᵢ(xᵢ − cᵢ)² + const, maximal at the centre.
    pub struct Peak {
        pub center: Vec<f64>,
        pub weights: Vec<f64>,
    }

    impl Peak {
        pub fn six() -> Peak {
            Peak {
                center: vec![0.2, 0.7, 0.4, 0.85, 0.3, 0.6],
                weights: vec![8.0, 4.0, 2.0, 6.0, 3.0, 5.0],
            }
        }

        pub fn perf(&self, x: &[f64]) -> Perf {
            let d: f64 = x
                .iter()
                .zip(&self.center)
                .zip(&self.weights)
                .map(|((x, c), w)| w * (x - c).powi(2))
                .sum();
            let tps = 1000.0 * (-d).exp();
            Perf {
                tps,
                latency_ms: 1e5 / tps,
            }
        }

        /// The performance at the centre of the cube (the "default configuration").
        pub fn baseline(&self) -> Perf {
            self.perf(&vec![0.5; self.center.len()])
        }

        /// How far the objective at `x` is below the maximum.
        pub fn regret(&self, x: &[f64]) -> f64 {
            let b = self.baseline();
            super::objective(Some(self.perf(&self.center)), b)
                - super::objective(Some(self.perf(x)), b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_is_zero_at_baseline_and_weights_latency_more() {
        let b = Perf {
            tps: 1000.0,
            latency_ms: 10.0,
        };
        assert_eq!(objective(Some(b), b), 0.0);
        let faster = objective(
            Some(Perf {
                tps: 2000.0,
                latency_ms: 10.0,
            }),
            b,
        );
        let lower = objective(
            Some(Perf {
                tps: 1000.0,
                latency_ms: 5.0,
            }),
            b,
        );
        assert!((faster - 0.4 * 2f64.ln()).abs() < 1e-12);
        assert!((lower - 0.6 * 2f64.ln()).abs() < 1e-12);
        assert_eq!(objective(None, b), FAILED_OBJECTIVE);
        assert_eq!(
            objective(
                Some(Perf {
                    tps: 0.0,
                    latency_ms: 1.0
                }),
                b
            ),
            FAILED_OBJECTIVE
        );
    }

    #[test]
    fn kinds_parse_and_print() {
        for k in [
            OptimizerKind::Ddpg,
            OptimizerKind::Bo,
            OptimizerKind::Random,
        ] {
            assert_eq!(k.to_string().parse::<OptimizerKind>().unwrap(), k);
        }
        assert!("sgd"
            .parse::<OptimizerKind>()
            .unwrap_err()
            .contains("ddpg, bo or random"));
    }

    #[test]
    fn restore_refuses_other_versions_and_garbage() {
        let b = Perf {
            tps: 1.0,
            latency_ms: 1.0,
        };
        let mut snap = new(OptimizerKind::Random, 3, 2, b, 1).snapshot();
        snap["version"] = 99.into();
        assert!(restore(&snap, b)
            .err()
            .unwrap()
            .to_string()
            .contains("version 99"));
        let e = restore(&serde_json::json!({"kind": "bo"}), b)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not valid"), "{e}");
    }

    #[test]
    fn every_optimizer_resumes_where_it_stopped_and_stays_in_the_cube() {
        let peak = synthetic::Peak::six();
        let b = peak.baseline();
        for kind in [
            OptimizerKind::Random,
            OptimizerKind::Bo,
            OptimizerKind::Ddpg,
        ] {
            let mut a = new(kind, 6, 3, b, 11);
            let state = vec![0.1, 0.2, 0.3];
            for _ in 0..8 {
                let x = a.suggest(&state);
                assert!(x.iter().all(|v| (0.0..=1.0).contains(v)), "{kind}: {x:?}");
                let perf = Some(peak.perf(&x));
                a.observe(&Observation {
                    state: &state,
                    action: &x,
                    next_state: &state,
                    perf,
                });
            }
            let snap = a.snapshot();
            let mut resumed = restore(&snap, b).unwrap();
            assert_eq!(resumed.kind(), kind);
            assert_eq!(a.suggest(&state), resumed.suggest(&state), "{kind}");
            // Same seed, same history: same suggestions.
            let mut twin = new(kind, 6, 3, b, 11);
            let mut again = new(kind, 6, 3, b, 11);
            for _ in 0..3 {
                let x = twin.suggest(&state);
                assert_eq!(x, again.suggest(&state), "{kind}");
                let perf = Some(peak.perf(&x));
                twin.observe(&Observation {
                    state: &state,
                    action: &x,
                    next_state: &state,
                    perf,
                });
                again.observe(&Observation {
                    state: &state,
                    action: &x,
                    next_state: &state,
                    perf,
                });
            }
        }
    }
}
