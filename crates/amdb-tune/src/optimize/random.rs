//! Random search: every coordinate uniform in `[0, 1]`, from the seeded generator. The
//! honest floor any learning optimizer must beat at the same budget.

use serde::{Deserialize, Serialize};

use super::rng::Rng;
use super::{
    cube_point, invalid, objective, placeholder_baseline, Observation, Optimizer, OptimizerKind,
    Perf, RestoreError, SNAPSHOT_VERSION,
};

/// Uniform random search that remembers the best configuration it was told about.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomSearch {
    dims: usize,
    /// Not stored: a restored search gets the baseline of the run that resumes it.
    #[serde(skip, default = "placeholder_baseline")]
    baseline: Perf,
    rng: Rng,
    /// The best successful action observed and its [`objective`] (relative to the baseline
    /// in force when it was observed).
    best: Option<(Vec<f64>, f64)>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u64,
    kind: OptimizerKind,
    #[serde(flatten)]
    search: RandomSearch,
}

impl RandomSearch {
    /// A search over `[0, 1]^dims` whose draws are fixed by `seed`.
    pub fn new(dims: usize, baseline: Perf, seed: u64) -> RandomSearch {
        RandomSearch {
            dims,
            baseline,
            rng: Rng::new(seed),
            best: None,
        }
    }

    pub(crate) fn restore(
        snapshot: &serde_json::Value,
        baseline: Perf,
    ) -> Result<RandomSearch, RestoreError> {
        let s: Snapshot = serde_json::from_value(snapshot.clone()).map_err(invalid)?;
        let mut search = s.search;
        if let Some((x, y)) = &search.best {
            if x.len() != search.dims {
                return Err(invalid(format!(
                    "best action has {} coordinates but dims is {}",
                    x.len(),
                    search.dims
                )));
            }
            if !y.is_finite() {
                return Err(invalid("best objective is not a finite number"));
            }
        }
        search.baseline = baseline;
        Ok(search)
    }

    /// The best successful action observed so far and its objective, if any succeeded.
    pub fn best(&self) -> Option<(&[f64], f64)> {
        self.best.as_ref().map(|(x, y)| (x.as_slice(), *y))
    }
}

impl Optimizer for RandomSearch {
    fn kind(&self) -> OptimizerKind {
        OptimizerKind::Random
    }

    fn suggest(&mut self, _state: &[f64]) -> Vec<f64> {
        (0..self.dims).map(|_| self.rng.uniform()).collect()
    }

    fn observe(&mut self, obs: &Observation) {
        if obs.perf.is_none_or(|p| !p.is_valid()) {
            return;
        }
        let y = objective(obs.perf, self.baseline);
        if self.best.as_ref().is_none_or(|(_, b)| y > *b) {
            self.best = Some((cube_point(obs.action, self.dims), y));
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(Snapshot {
            version: SNAPSHOT_VERSION,
            kind: OptimizerKind::Random,
            search: self.clone(),
        })
        .expect("a snapshot is plain numbers and strings, which always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::Peak;
    use super::*;

    #[test]
    fn draws_are_uniform_and_the_best_is_remembered() {
        let peak = Peak::six();
        let mut r = RandomSearch::new(6, peak.baseline(), 3);
        let mut seen = Vec::new();
        for _ in 0..400 {
            let x = r.suggest(&[]);
            assert_eq!(x.len(), 6);
            let y = objective(Some(peak.perf(&x)), peak.baseline());
            seen.push((y, x.clone()));
            r.observe(&Observation {
                state: &[],
                action: &x,
                next_state: &[],
                perf: Some(peak.perf(&x)),
            });
            // A failure never replaces the best.
            r.observe(&Observation {
                state: &[],
                action: &[0.0; 6],
                next_state: &[],
                perf: None,
            });
        }
        let top = seen.iter().max_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
        let (x, y) = r.best().unwrap();
        assert_eq!((x, y), (top.1.as_slice(), top.0));
        // Every coordinate's mean is near 1/2 and each tenth of [0, 1] is visited.
        for d in 0..6 {
            let xs: Vec<f64> = seen.iter().map(|(_, x)| x[d]).collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            assert!((mean - 0.5).abs() < 0.05, "coordinate {d}: mean {mean}");
            for bin in 0..10 {
                assert!(xs.iter().any(|v| (v * 10.0) as usize == bin), "{d} {bin}");
            }
        }
    }
}
