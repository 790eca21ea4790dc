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
