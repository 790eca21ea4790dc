//! Random search: every coordinate uniform in `[0, 1]`. The honest floor any learning
//! optimizer must beat at the same budget.

use serde::{Deserialize, Serialize};

use super::rng::Rng;
use super::{invalid, Observation, Optimizer, OptimizerKind, RestoreError, SNAPSHOT_VERSION};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomSearch {
    dims: usize,
    rng: Rng,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u64,
    kind: OptimizerKind,
    #[serde(flatten)]
    search: RandomSearch,
}

impl RandomSearch {
    pub fn new(dims: usize, seed: u64) -> RandomSearch {
        RandomSearch {
            dims,
            rng: Rng::new(seed),
        }
    }

    pub(crate) fn restore(snapshot: &serde_json::Value) -> Result<RandomSearch, RestoreError> {
        let s: Snapshot = serde_json::from_value(snapshot.clone()).map_err(invalid)?;
        Ok(s.search)
    }
}

impl Optimizer for RandomSearch {
    fn kind(&self) -> OptimizerKind {
        OptimizerKind::Random
    }

    fn suggest(&mut self, _state: &[f64]) -> Vec<f64> {
        (0..self.dims).map(|_| self.rng.uniform()).collect()
    }

    fn observe(&mut self, _obs: &Observation) {}

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(Snapshot {
            version: SNAPSHOT_VERSION,
            kind: OptimizerKind::Random,
            search: self.clone(),
        })
        .expect("plain data serializes")
    }
}
