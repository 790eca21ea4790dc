//! What the tuner tunes: a database it can configure, observe and load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::knob::{Config, Knob};
use crate::workload::Workload;
use crate::Result;

/// One workload run's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Transactions per second.
    pub tps: f64,
    pub latency_avg_ms: f64,
    /// 95th percentile of per-transaction latency.
    pub latency_p95_ms: f64,
    pub transactions: u64,
    pub failed: u64,
}

/// Cumulative counters of the target (name → value) at one moment; the difference of two
/// snapshots over a run is what the optimizer sees as the state.
pub type Metrics = BTreeMap<String, f64>;

/// A database the tuner can drive.
///
/// Invariant the tuning loop relies on: after [`Target::rollback`] returns `Ok`, the target
/// runs with exactly the settings it had before the first [`Target::apply`].
pub trait Target {
    /// The knobs this target offers, with ranges bounded by the machine.
    fn catalog(&self) -> &[Knob];
    /// Applies `config` on top of the original settings (knobs not named go back to their
    /// original values). An error means the target refused or could not run the
    /// configuration; the target is then back on its original settings.
    fn apply(&mut self, config: &Config) -> Result<()>;
    /// The values the catalog's knobs have now.
    fn current_config(&mut self) -> Result<Config>;
    /// Returns every knob to its original setting.
    fn rollback(&mut self) -> Result<()>;
    /// Cumulative activity counters.
    fn metrics(&mut self) -> Result<Metrics>;
    /// The optimizer's state for a run of `seconds` between two metrics snapshots: a
    /// fixed-length vector of normalised rates.
    fn state(&self, before: &Metrics, after: &Metrics, seconds: f64) -> Vec<f64>;
    /// Prepares the workload's data (idempotent: cheap when already prepared).
    fn prepare(&mut self, workload: &Workload) -> Result<()>;
    /// Runs the workload for `seconds` (overriding the workload's own duration).
    fn run(&mut self, workload: &Workload, seconds: u32) -> Result<RunResult>;
    /// A name for reports, e.g. `PostgreSQL 15.18 (throwaway cluster)`.
    fn describe(&self) -> String;
}
