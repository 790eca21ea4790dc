//! Bayesian optimisation: a Gaussian process (`gp.rs`) over the configurations tried, and
//! the next one where the expected improvement over the best so far is largest.
//!
//! - The first [`design_size`] suggestions come from a seeded Latin hypercube, so the model
//!   starts from points spread over every knob's range.
//! - The model is refitted from scratch at every suggestion (hyperparameters included): at
//!   most a few hundred trials, each far slower than a fit.
//! - Expected improvement is maximised over [`RANDOM_CANDIDATES`] uniform points plus
//!   Gaussian perturbations of the best few points at three scales (the optimum of EI is
//!   usually near the incumbent once the model is good, and uniform points in six or more
//!   dimensions rarely land there), then the winner is polished by small perturbations.
//! - The incumbent EI improves on is the best posterior mean at an observed success, not the
//!   best raw measurement: with noisy measurements the luckiest draw would otherwise set a
//!   bar the model itself does not believe in.
//! - Failed configurations enter the model at a value just below the worst success
//!   (worst − 10 % of the observed range, at least 0.01 below): they must repel the search,
//!   but a −2 outlier ([`FAILED_OBJECTIVE`](super::FAILED_OBJECTIVE)) would stretch the
//!   standardised targets so far that every success looks alike.
//! - Objectives are stored as observed, relative to the baseline of the run that observed
//!   them; a restored optimizer keeps them (see [`super::restore`]).

use serde::{Deserialize, Serialize};

use super::gp::{expected_improvement, Gp};
use super::rng::Rng;
use super::{
    cube_point, design_size, invalid, objective, placeholder_baseline, Observation, Optimizer,
    OptimizerKind, Perf, RestoreError, SNAPSHOT_VERSION,
};

/// Uniform candidates per suggestion.
pub const RANDOM_CANDIDATES: usize = 1000;
/// Perturbations of each of the best points, per scale.
const LOCAL_CANDIDATES: usize = 60;
/// How many of the best observed points seed local candidates.
const TOP_POINTS: usize = 5;
/// Exploration margin of EI, in objective units (1 % better than the incumbent).
const XI: f64 = 0.01;

/// Bayesian optimisation over `[0, 1]^dims`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BayesOpt {
    dims: usize,
    /// Not stored: a restored optimizer gets the baseline of the run that resumes it.
    #[serde(skip, default = "placeholder_baseline")]
    baseline: Perf,
    rng: Rng,
    /// The Latin-hypercube design, handed out first.
    design: Vec<Vec<f64>>,
    /// Suggestions made so far (the next design point's index while below `design.len()`).
    suggested: usize,
    /// Points observed, in the cube.
    xs: Vec<Vec<f64>>,
    /// Objective of each point; `None` for failures. Same length as `xs`.
    ys: Vec<Option<f64>>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u64,
    kind: OptimizerKind,
    #[serde(flatten)]
    bo: BayesOpt,
}

impl BayesOpt {
    /// A fresh optimizer; `seed` fixes the design and every candidate drawn later.
    pub fn new(dims: usize, baseline: Perf, seed: u64) -> BayesOpt {
        let mut rng = Rng::new(seed);
        let design = rng.latin_hypercube(design_size(dims), dims);
        BayesOpt {
            dims,
            baseline,
            rng,
            design,
            suggested: 0,
            xs: vec![],
            ys: vec![],
        }
    }

    pub(crate) fn restore(
        snapshot: &serde_json::Value,
        baseline: Perf,
    ) -> Result<BayesOpt, RestoreError> {
        let s: Snapshot = serde_json::from_value(snapshot.clone()).map_err(invalid)?;
        let mut bo = s.bo;
        let in_cube =
            |x: &Vec<f64>| x.len() == bo.dims && x.iter().all(|v| (0.0..=1.0).contains(v));
        if !bo.design.iter().all(in_cube) {
            return Err(invalid(format!(
                "design points are not {}-dimensional points of the unit cube",
                bo.dims
            )));
        }
        if !bo.xs.iter().all(in_cube) {
            return Err(invalid(format!(
                "history points are not {}-dimensional points of the unit cube",
                bo.dims
            )));
        }
        if bo.xs.len() != bo.ys.len() {
            return Err(invalid(format!(
                "history has {} points but {} objectives",
                bo.xs.len(),
                bo.ys.len()
            )));
        }
        if bo.ys.iter().flatten().any(|y| !y.is_finite()) {
            return Err(invalid("history has a non-finite objective"));
        }
        bo.baseline = baseline;
        Ok(bo)
    }

    /// The best successful point observed so far and its objective.
    pub fn best(&self) -> Option<(&[f64], f64)> {
        self.xs
            .iter()
            .zip(&self.ys)
            .filter_map(|(x, y)| y.map(|y| (x.as_slice(), y)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The model's training targets with failures imputed; `None` before any success.
    fn training(&self) -> Option<Vec<f64>> {
        let ok: Vec<f64> = self.ys.iter().flatten().copied().collect();
        if ok.is_empty() {
            return None;
        }
        let (lo, hi) = ok
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let failed = lo - 0.1 * (hi - lo).max(0.1);
        Some(self.ys.iter().map(|y| y.unwrap_or(failed)).collect())
    }

    fn maximise_ei(&mut self, gp: &Gp) -> Vec<f64> {
        // Successful points, best first by the model's mean (see the module comment).
        let mut ranked: Vec<(f64, Vec<f64>)> = self
            .xs
            .iter()
            .zip(&self.ys)
            .filter(|(_, y)| y.is_some())
            .map(|(x, _)| (gp.predict(x).0, x.clone()))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let incumbent = ranked.first().map_or(0.0, |r| r.0);

        let mut candidates: Vec<Vec<f64>> = (0..RANDOM_CANDIDATES)
            .map(|_| self.random_point())
            .collect();
        for (_, top) in ranked.iter().take(TOP_POINTS) {
            for sigma in [0.02, 0.06, 0.15] {
                for _ in 0..LOCAL_CANDIDATES {
                    candidates.push(self.perturb(top, sigma));
                }
            }
        }
        let score = |p: &[f64]| {
            let (m, s) = gp.predict(p);
            expected_improvement(m, s, incumbent, XI)
        };
        let mut best = (f64::NEG_INFINITY, Vec::new());
        for p in candidates {
            let ei = score(&p);
            if ei > best.0 {
                best = (ei, p);
            }
        }
        // A short local polish of the winner.
        for _ in 0..100 {
            let p = self.perturb(&best.1, 0.01);
            let ei = score(&p);
            if ei > best.0 {
                best = (ei, p);
            }
        }
        best.1
    }

    fn random_point(&mut self) -> Vec<f64> {
        (0..self.dims).map(|_| self.rng.uniform()).collect()
    }

    fn perturb(&mut self, x: &[f64], sigma: f64) -> Vec<f64> {
        x.iter()
            .map(|v| (v + sigma * self.rng.normal()).clamp(0.0, 1.0))
            .collect()
    }
}

impl Optimizer for BayesOpt {
    fn kind(&self) -> OptimizerKind {
        OptimizerKind::Bo
    }

    fn suggest(&mut self, _state: &[f64]) -> Vec<f64> {
        let n = self.suggested;
        self.suggested += 1;
        if let Some(p) = self.design.get(n) {
            return p.clone();
        }
        let Some(ys) = self.training() else {
            // Nothing has succeeded yet, so there is nothing to model: keep exploring.
            return self.random_point();
        };
        let gp = Gp::fit(&self.xs, &ys, &mut self.rng);
        self.maximise_ei(&gp)
    }

    fn observe(&mut self, obs: &Observation) {
        self.xs.push(cube_point(obs.action, self.dims));
        self.ys.push(
            obs.perf
                .filter(Perf::is_valid)
                .map(|p| objective(Some(p), self.baseline)),
        );
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(Snapshot {
            version: SNAPSHOT_VERSION,
            kind: OptimizerKind::Bo,
            bo: self.clone(),
        })
        .expect("a snapshot is plain numbers and strings, which always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::Peak;
    use super::*;

    /// Runs BO for `budget` trials on `peak` with multiplicative noise of relative size
    /// `noise` (TPS times 1 + ε, latency divided by it), and returns the true (noise-free)
    /// regret of the point it measured best.
    pub(super) fn run(peak: &Peak, seed: u64, budget: usize, noise: f64) -> f64 {
        let b = peak.baseline();
        let mut bo = BayesOpt::new(peak.center.len(), b, seed);
        let mut noise_rng = Rng::new(seed ^ 99);
        for _ in 0..budget {
            let x = bo.suggest(&[0.0; 3]);
            let mut p = peak.perf(&x);
            let f = 1.0 + noise * noise_rng.normal();
            p.tps *= f;
            p.latency_ms /= f;
            bo.observe(&Observation {
                state: &[0.0; 3],
                action: &x,
                next_state: &[0.0; 3],
                perf: Some(p),
            });
        }
        let (x, _) = bo.best().expect("every trial succeeded");
        peak.regret(x)
    }

    #[test]
    fn finds_the_peak_of_a_six_knob_function_in_forty_trials() {
        let peak = Peak::six();
        for seed in [1, 2, 3] {
            let regret = run(&peak, seed, 40, 0.0);
            // The baseline (centre) has regret 1.0 here; a random point about 3.
            assert!(regret < 0.05, "seed {seed}: regret {regret}");
        }
    }

    #[test]
    fn still_gets_close_with_three_percent_noise() {
        let peak = Peak::six();
        for seed in [5, 6] {
            // Picking the best of 40 noisy measurements (σ ≈ 0.03 in objective units) costs
            // about 0.06 by itself.
            let regret = run(&peak, seed, 40, 0.03);
            assert!(regret < 0.15, "seed {seed}: regret {regret}");
        }
    }

    #[test]
    fn failures_repel_without_breaking_the_model() {
        let b = Perf {
            tps: 100.0,
            latency_ms: 10.0,
        };
        let mut bo = BayesOpt::new(2, b, 4);
        for _ in 0..20 {
            let x = bo.suggest(&[]);
            // Everything with x0 > 0.5 fails; the optimum is at (0.4, 0.5), next to the edge.
            let perf = (x[0] <= 0.5).then(|| Perf {
                tps: 100.0 * (-(10.0 * ((x[0] - 0.4).powi(2) + (x[1] - 0.5).powi(2)))).exp(),
                latency_ms: 10.0,
            });
            bo.observe(&Observation {
                state: &[],
                action: &x,
                next_state: &[],
                perf,
            });
        }
        assert!(
            bo.ys.iter().any(Option::is_none),
            "the test must include failures"
        );
        let guided = &bo.ys[bo.design.len()..];
        let failures = guided.iter().filter(|y| y.is_none()).count();
        assert!(
            failures <= 4,
            "{failures} of {} model-guided trials failed",
            guided.len()
        );
        // Objective 0.4·ln(tps/100): −0.04 is a distance of 0.1 from the optimum.
        let (x, y) = bo.best().unwrap();
        assert!(y > -0.04, "best {y} at {x:?}");
    }

    #[test]
    fn restore_checks_the_history() {
        let b = Peak::six().baseline();
        let mut bo = BayesOpt::new(2, b, 1);
        let x = bo.suggest(&[]);
        bo.observe(&Observation {
            state: &[],
            action: &x,
            next_state: &[],
            perf: Some(b),
        });
        let snap = bo.snapshot();
        assert!(BayesOpt::restore(&snap, b).is_ok());
        let mut bad = snap.clone();
        bad["xs"][0] = serde_json::json!([0.5, 0.5, 0.5]);
        let e = BayesOpt::restore(&bad, b).unwrap_err().to_string();
        assert!(e.contains("2-dimensional"), "{e}");
        let mut bad = snap;
        bad["ys"] = serde_json::json!([]);
        let e = BayesOpt::restore(&bad, b).unwrap_err().to_string();
        assert!(e.contains("1 points but 0 objectives"), "{e}");
    }
}
