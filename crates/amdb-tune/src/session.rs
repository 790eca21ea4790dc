//! A tuning run: search with an optimizer, then prove the best candidates with the
//! measurement protocol.
//!
//! 1. **Baseline.** The target's original configuration is measured; its median TPS and
//!    p95 latency are what every trial is scaled against.
//! 2. **Search** (`budget` trials). The optimizer proposes a point of the unit cube; the
//!    catalog turns it into a configuration; it runs `search_runs` times after a warm-up,
//!    then the baseline runs once more. A trial's performance is its median divided by the
//!    mean of the baseline runs on either side of it, times the first baseline: drift of
//!    the machine's speed between trials cancels. The optimizer learns from it, and the
//!    trial and the optimizer's snapshot are stored, so a run can resume.
//! 3. **Finalists.** The best `finalists` trials are compared with the baseline by the
//!    full protocol (`measure::compare`).
//! 4. **Confirmation.** The finalist with the highest significant gain is compared again,
//!    from scratch. Only if it is again significantly better is it recommended.
//! 5. **Ablation.** Each knob of the recommendation that differs from the baseline is put
//!    back to its baseline value, and that configuration is compared with the
//!    recommendation: a ratio below 1 means the knob mattered.

use serde::{Deserialize, Serialize};

use crate::knob::{Config, Knob, Value};
use crate::measure::{self, median, Comparison, Protocol, Verdict};
use crate::optimize::{self, Observation, Optimizer, OptimizerKind, Perf};
use crate::store::Store;
use crate::target::{RunResult, Target};
use crate::workload::Workload;
use crate::{Error, Result};

/// What a run was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub target: String,
    /// The knobs tuned, in the order of the optimizer's coordinates.
    pub knobs: Vec<Knob>,
    /// Knobs asked for but not tuned, with why.
    pub skipped: Vec<(String, String)>,
    pub knob_set: String,
    pub workload: Workload,
    pub optimizer: OptimizerKind,
    pub budget: usize,
    pub search_runs: usize,
    pub finalists: usize,
    pub ablation: bool,
    pub protocol: Protocol,
    pub seed: u64,
    pub allow_unsafe: bool,
    pub allow_restart: bool,
    /// The run whose model this one started from.
    pub warm_start: Option<u64>,
    pub started_unix: u64,
}

/// One search step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub n: usize,
    pub action: Vec<f64>,
    pub config: Config,
    pub runs: Vec<RunResult>,
    /// The baseline run after this trial.
    pub baseline: Option<RunResult>,
    /// Median TPS over the mean of the bracketing baseline runs (`None`: failed).
    pub tps_ratio: Option<f64>,
    pub p95_ratio: Option<f64>,
    /// [`optimize::objective`] of the scaled performance.
    pub objective: f64,
    pub failure: Option<String>,
    pub state: Vec<f64>,
    pub next_state: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finalist {
    pub trial: usize,
    pub config: Config,
    pub comparison: Comparison,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ablation {
    pub knob: String,
    /// The value the knob goes back to.
    pub baseline_value: Value,
    /// The recommendation without this knob, against the recommendation.
    pub comparison: Comparison,
}

/// What a run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The target's configuration before tuning.
    pub baseline_config: Config,
    pub baseline_runs: Vec<RunResult>,
    pub finalists: Vec<Finalist>,
    pub confirmation: Option<Finalist>,
    /// Only the knobs that differ from the baseline; `None` when nothing beat the baseline
    /// beyond noise.
    pub recommended: Option<Config>,
    pub ablation: Vec<Ablation>,
}

/// Progress of a run, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Baseline,
    Trial { n: usize, budget: usize },
    Finalist { i: usize, of: usize },
    Confirm,
    Ablation { i: usize, of: usize },
    Step(measure::Step),
}

/// The knobs' configuration at point `x` of the unit cube.
pub fn config_at(knobs: &[Knob], x: &[f64]) -> Config {
    knobs
        .iter()
        .zip(x)
        .map(|(k, x)| (k.name.clone(), k.value_at(*x)))
        .collect()
}

/// The knobs of `config` whose value differs from `baseline`.
pub fn changes(config: &Config, baseline: &Config) -> Config {
    config
        .iter()
        .filter(|(n, v)| baseline.get(*n) != Some(*v))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// Runs (or resumes) run `run` of `store` on `target` and returns its outcome, also stored.
/// `warm_model` is an optimizer snapshot to start from instead of a fresh optimizer.
pub fn tune(
    target: &mut dyn Target,
    store: &Store,
    run: u64,
    warm_model: Option<serde_json::Value>,
    progress: &mut dyn FnMut(Event),
) -> Result<Outcome> {
    let meta = store.meta(run)?;
    let knobs = target.catalog().to_vec();
    if knobs
        .iter()
        .map(|k| &k.name)
        .ne(meta.knobs.iter().map(|k| &k.name))
    {
        return Err(Error::Store(format!(
            "run {run} tuned other knobs than this target offers; start a new run"
        )));
    }
    let w = &meta.workload;
    let p = &meta.protocol;
    target.prepare(w)?;
    let baseline_config = target.current_config()?;
    target.rollback()?;

    progress(Event::Baseline);
    let m0 = target.metrics()?;
    let t0 = std::time::Instant::now();
    let base_runs = match measure::measure(target, w, &Config::new(), meta.search_runs, p)? {
        Ok(r) => r,
        Err(why) => {
            return Err(Error::Refused(format!(
                "the baseline configuration fails: {why}"
            )))
        }
    };
    let m1 = target.metrics()?;
    let base = perf_of(&base_runs)
        .ok_or_else(|| Error::Refused("the baseline runs measured no transactions".into()))?;
    let mut state = target.state(&m0, &m1, t0.elapsed().as_secs_f64());

    let mut trials = store.trials(run)?;
    let mut opt: Box<dyn Optimizer> = match store.model(run)?.or(warm_model) {
        Some(snapshot) => {
            optimize::restore(&snapshot, base).map_err(|e| Error::Store(e.to_string()))?
        }
        None => optimize::new(meta.optimizer, knobs.len(), state.len(), base, meta.seed),
    };
    match trials.last() {
        Some(last) => state = last.next_state.clone(),
        // The baseline is a measured point too: the optimizers start from what they know
        // (objective 0 there), so a search in many dimensions can improve on it locally
        // instead of only sampling far away.
        None => {
            let at: Vec<f64> = knobs
                .iter()
                .map(|k| {
                    baseline_config
                        .get(&k.name)
                        .map_or(0.5, |v| k.coordinate(v))
                })
                .collect();
            opt.observe(&Observation {
                state: &state,
                action: &at,
                next_state: &state,
                perf: Some(base),
            });
        }
    }
    let mut last_base = *base_runs.last().expect("measure returns at least one run");

    for n in trials.len()..meta.budget {
        measure::stop_if_interrupted(target)?;
        progress(Event::Trial {
            n,
            budget: meta.budget,
        });
        let action = opt.suggest(&state);
        let config = config_at(&knobs, &action);
        let m0 = target.metrics()?;
        let t0 = std::time::Instant::now();
        let measured = measure::measure(target, w, &config, meta.search_runs, p)?;
        let m1 = target.metrics()?;
        let next_state = target.state(&m0, &m1, t0.elapsed().as_secs_f64());
        target.rollback()?;
        // The baseline gets the same warm-up as the candidate: after a restart or a big
        // change both start from the same kind of caches.
        let after = match measure::measure(target, w, &Config::new(), 1, p)? {
            Ok(runs) => runs[0],
            Err(why) => {
                return Err(Error::Refused(format!(
                    "the baseline configuration fails: {why}"
                )))
            }
        };
        let mut trial = Trial {
            n,
            action: action.clone(),
            config,
            runs: vec![],
            baseline: Some(after),
            tps_ratio: None,
            p95_ratio: None,
            objective: 0.0,
            failure: None,
            state: state.clone(),
            next_state: next_state.clone(),
        };
        let perf = match measured {
            Ok(runs) => {
                let tps_ratio = median(&runs.iter().map(|r| r.tps).collect::<Vec<_>>())
                    / ((last_base.tps + after.tps) / 2.0);
                let p95_ratio = median(&runs.iter().map(|r| r.latency_p95_ms).collect::<Vec<_>>())
                    / ((last_base.latency_p95_ms + after.latency_p95_ms) / 2.0);
                trial.runs = runs;
                if tps_ratio.is_finite() && p95_ratio.is_finite() && tps_ratio > 0.0 {
                    trial.tps_ratio = Some(tps_ratio);
                    trial.p95_ratio = Some(p95_ratio);
                    Some(Perf {
                        tps: base.tps * tps_ratio,
                        latency_ms: base.latency_ms * p95_ratio,
                    })
                } else {
                    trial.failure = Some("no transactions completed".into());
                    None
                }
            }
            Err(why) => {
                trial.failure = Some(why);
                None
            }
        };
        last_base = after;
        trial.objective = optimize::objective(perf, base);
        opt.observe(&Observation {
            state: &state,
            action: &action,
            next_state: &next_state,
            perf,
        });
        store.put_trial(run, &trial)?;
        store.put_model(run, &opt.snapshot())?;
        state = next_state;
        trials.push(trial);
    }

    // Finalists: the best distinct successful trials.
    let mut ranked: Vec<&Trial> = trials.iter().filter(|t| t.failure.is_none()).collect();
    ranked.sort_by(|a, b| b.objective.total_cmp(&a.objective));
    let mut picked: Vec<&Trial> = Vec::new();
    for t in ranked {
        if picked.len() < meta.finalists && !picked.iter().any(|p| p.config == t.config) {
            picked.push(t);
        }
    }
    let empty = Config::new();
    let mut finalists = Vec::new();
    for (i, t) in picked.iter().enumerate() {
        progress(Event::Finalist {
            i,
            of: picked.len(),
        });
        let c = measure::compare(target, w, &empty, &t.config, p, &mut |s| {
            progress(Event::Step(s))
        })?;
        finalists.push(Finalist {
            trial: t.n,
            config: t.config.clone(),
            comparison: c,
        });
    }
    let best = finalists
        .iter()
        .filter(|f| f.comparison.verdict == Verdict::Better)
        .max_by(|a, b| gain(&a.comparison).total_cmp(&gain(&b.comparison)));
    let mut outcome = Outcome {
        baseline_config: baseline_config.clone(),
        baseline_runs: base_runs,
        finalists: finalists.clone(),
        confirmation: None,
        recommended: None,
        ablation: vec![],
    };
    if let Some(best) = best {
        progress(Event::Confirm);
        let c = measure::compare(
            target,
            w,
            &empty,
            &best.config,
            &confirm_protocol(p),
            &mut |s| progress(Event::Step(s)),
        )?;
        let confirmed = c.verdict == Verdict::Better;
        outcome.confirmation = Some(Finalist {
            trial: best.trial,
            config: best.config.clone(),
            comparison: c,
        });
        if confirmed {
            let recommended = changes(&best.config, &baseline_config);
            if meta.ablation {
                outcome.ablation = ablate(
                    target,
                    w,
                    p,
                    &best.config,
                    &recommended,
                    &baseline_config,
                    progress,
                )?;
            }
            outcome.recommended = Some(recommended);
        }
    }
    store.put_outcome(run, &outcome)?;
    Ok(outcome)
}

/// The confirmation repeats the comparison with fresh bootstrap draws.
fn confirm_protocol(p: &Protocol) -> Protocol {
    Protocol {
        seed: p.seed.wrapping_add(1),
        ..*p
    }
}

fn ablate(
    target: &mut dyn Target,
    w: &Workload,
    p: &Protocol,
    winner: &Config,
    changed: &Config,
    baseline: &Config,
    progress: &mut dyn FnMut(Event),
) -> Result<Vec<Ablation>> {
    let quick = Protocol {
        pairs: (p.pairs / 2).max(2),
        ..*p
    };
    let mut out = Vec::new();
    for (i, (name, _)) in changed.iter().enumerate() {
        progress(Event::Ablation {
            i,
            of: changed.len(),
        });
        let Some(base_value) = baseline.get(name) else {
            continue;
        };
        let mut without = winner.clone();
        without.insert(name.clone(), base_value.clone());
        let c = measure::compare(target, w, winner, &without, &quick, &mut |s| {
            progress(Event::Step(s))
        })?;
        out.push(Ablation {
            knob: name.clone(),
            baseline_value: base_value.clone(),
            comparison: c,
        });
    }
    Ok(out)
}

fn gain(c: &Comparison) -> f64 {
    c.tps.map_or(f64::NEG_INFINITY, |t| t.ratio)
}

/// Median TPS and p95 of runs.
pub fn perf_of(runs: &[RunResult]) -> Option<Perf> {
    let tps = median(&runs.iter().map(|r| r.tps).collect::<Vec<_>>());
    let p95 = median(&runs.iter().map(|r| r.latency_p95_ms).collect::<Vec<_>>());
    (tps > 0.0 && p95 > 0.0).then_some(Perf {
        tps,
        latency_ms: p95,
    })
}
