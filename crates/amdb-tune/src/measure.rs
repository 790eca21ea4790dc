//! The measurement protocol: when may we say a configuration is better?
//!
//! pgbench's throughput moves by several percent between identical runs on a quiet machine
//! and by tens of percent when anything else runs, so one run proves nothing. A comparison
//! of a candidate with the baseline therefore
//!
//! 1. alternates the two in the order B C C B B C C B …, so that slow drift in the
//!    machine's load hits both equally and each pair shares its conditions;
//! 2. warms up after every switch of configuration with a short discarded run;
//! 3. takes each pair's ratio (candidate / baseline) of TPS and of p95 latency;
//! 4. bootstraps the geometric mean of those ratios (resampling pairs) for a confidence
//!    interval, widened to Student's t interval of the mean log ratio where that is wider:
//!    with the four to six pairs a comparison can afford, the percentile bootstrap alone
//!    is too narrow (in an A/A test on this machine, 4 pairs of identical configurations
//!    came out "worse" at 0.940 [0.888, 0.994]; the t interval is [0.84, 1.05]);
//! 5. calls the candidate better only when the TPS interval lies entirely above 1 and the
//!    p95 interval does not lie entirely above 1 (latency not significantly worse).
//!
//! An interval that contains 1 is "within noise": no recommendation is made from it.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::knob::Config;
use crate::target::{RunResult, Target};
use crate::workload::Workload;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Pairs of runs per comparison.
    pub pairs: usize,
    /// Length of each measured run.
    pub seconds: u32,
    /// Length of the discarded run after each configuration switch (0: none).
    pub warmup_seconds: u32,
    /// Confidence level of the intervals, e.g. 0.95.
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    pub seed: u64,
}

impl Protocol {
    pub fn new(pairs: usize, seconds: u32) -> Protocol {
        Protocol {
            pairs: pairs.max(2),
            seconds,
            warmup_seconds: (seconds / 4).clamp(1, 5),
            confidence: 0.95,
            resamples: 4000,
            seed: 0x5eed,
        }
    }
}

/// A ratio (candidate / baseline) with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Geometric mean of the pair ratios.
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn excludes_one(&self) -> bool {
        self.low > 1.0 || self.high < 1.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// TPS significantly higher and p95 latency not significantly higher.
    Better,
    /// TPS significantly lower, or p95 significantly higher.
    Worse,
    /// Neither: the difference is within the noise of the runs.
    WithinNoise,
    /// The configuration could not be applied or run.
    Failed(String),
}

/// The evidence for one candidate against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline: Vec<RunResult>,
    pub candidate: Vec<RunResult>,
    pub tps: Option<Interval>,
    pub p95: Option<Interval>,
    pub verdict: Verdict,
}

impl Comparison {
    fn failed(why: String, baseline: Vec<RunResult>, candidate: Vec<RunResult>) -> Comparison {
        Comparison {
            baseline,
            candidate,
            tps: None,
            p95: None,
            verdict: Verdict::Failed(why),
        }
    }
}

/// Something the protocol is doing, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Apply { candidate: bool },
    WarmUp { candidate: bool },
    Run { candidate: bool, pair: usize },
}

/// Compares `candidate` with `baseline` on `target` by the protocol; the target is left on
/// its original settings. Errors are reserved for a target that can no longer be used
/// (the baseline itself fails); a failing candidate is a [`Verdict::Failed`].
pub fn compare(
    target: &mut dyn Target,
    workload: &Workload,
    baseline: &Config,
    candidate: &Config,
    protocol: &Protocol,
    progress: &mut dyn FnMut(Step),
) -> Result<Comparison> {
    target.prepare(workload)?;
    let mut base_runs = Vec::new();
    let mut cand_runs = Vec::new();
    let mut on: Option<bool> = None; // which configuration is applied
                                     // B C C B B C C B ...: position i of the sequence runs the candidate when i % 4 is 1 or 2.
    for i in 0..2 * protocol.pairs {
        let is_candidate = matches!(i % 4, 1 | 2);
        if on != Some(is_candidate) {
            progress(Step::Apply {
                candidate: is_candidate,
            });
            let config = if is_candidate { candidate } else { baseline };
            if let Err(e) = target.apply(config) {
                if is_candidate {
                    target.rollback()?;
                    return Ok(Comparison::failed(e.to_string(), base_runs, cand_runs));
                }
                return Err(e);
            }
            on = Some(is_candidate);
            if protocol.warmup_seconds > 0 {
                progress(Step::WarmUp {
                    candidate: is_candidate,
                });
                let warm = target.run(workload, protocol.warmup_seconds);
                stop_if_interrupted(target)?;
                if let Err(e) = warm {
                    if is_candidate {
                        target.rollback()?;
                        return Ok(Comparison::failed(e.to_string(), base_runs, cand_runs));
                    }
                    return Err(e);
                }
            }
        }
        progress(Step::Run {
            candidate: is_candidate,
            pair: i / 2,
        });
        let result = target.run(workload, protocol.seconds);
        stop_if_interrupted(target)?;
        match result {
            Ok(r) if is_candidate => cand_runs.push(r),
            Ok(r) => base_runs.push(r),
            Err(e) if is_candidate => {
                target.rollback()?;
                return Ok(Comparison::failed(e.to_string(), base_runs, cand_runs));
            }
            Err(e) => return Err(e),
        }
    }
    target.rollback()?;
    Ok(judge(base_runs, cand_runs, protocol))
}

/// The verdict on paired runs (`baseline[i]` and `candidate[i]` form pair `i`).
pub fn judge(
    baseline: Vec<RunResult>,
    candidate: Vec<RunResult>,
    protocol: &Protocol,
) -> Comparison {
    let n = baseline.len().min(candidate.len());
    if n < 2 {
        return Comparison::failed("fewer than two pairs of runs".into(), baseline, candidate);
    }
    let tps: Vec<f64> = (0..n)
        .map(|i| (candidate[i].tps / baseline[i].tps).ln())
        .collect();
    let p95: Vec<f64> = (0..n)
        .map(|i| (candidate[i].latency_p95_ms / baseline[i].latency_p95_ms).ln())
        .collect();
    let tps = interval(&tps, protocol, protocol.seed);
    let p95 = interval(&p95, protocol, protocol.seed ^ 0x9e37_79b9);
    let verdict = match (tps, p95) {
        (Some(t), p) if t.low > 1.0 && !p.is_some_and(|p| p.low > 1.0) => Verdict::Better,
        (Some(t), p) if t.high < 1.0 || p.is_some_and(|p| p.low > 1.0) => Verdict::Worse,
        (Some(_), _) => Verdict::WithinNoise,
        (None, _) => Verdict::Failed("runs without a usable throughput".into()),
    };
    Comparison {
        baseline,
        candidate,
        tps,
        p95,
        verdict,
    }
}

/// The interval of the geometric mean ratio from paired log ratios: the percentile
/// bootstrap's, widened to Student's t interval where that reaches further. `None` when a
/// ratio is not finite.
fn interval(log_ratios: &[f64], p: &Protocol, seed: u64) -> Option<Interval> {
    let b = bootstrap(log_ratios, p, seed)?;
    Some(match student_t(log_ratios, p.confidence) {
        Some(t) => Interval {
            ratio: b.ratio,
            low: b.low.min(t.low),
            high: b.high.max(t.high),
        },
        None => b,
    })
}

/// Student's t interval of the mean log ratio, as ratios; `None` for fewer than two.
fn student_t(log_ratios: &[f64], confidence: f64) -> Option<Interval> {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = log_ratios.len();
    if n < 2 {
        return None;
    }
    let mean = log_ratios.iter().sum::<f64>() / n as f64;
    let var = log_ratios.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .ok()?
        .inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let half = t * (var / n as f64).sqrt();
    Some(Interval {
        ratio: mean.exp(),
        low: (mean - half).exp(),
        high: (mean + half).exp(),
    })
}

/// Percentile-bootstrap interval of the geometric mean ratio from log ratios; `None` when
/// a ratio is not finite (a run without transactions or latencies).
fn bootstrap(log_ratios: &[f64], p: &Protocol, seed: u64) -> Option<Interval> {
    if log_ratios.is_empty() || log_ratios.iter().any(|r| !r.is_finite()) {
        return None;
    }
    let n = log_ratios.len();
    let mean = |xs: &mut dyn Iterator<Item = f64>| xs.sum::<f64>() / n as f64;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..p.resamples.max(100))
        .map(|_| mean(&mut (0..n).map(|_| log_ratios[rng.gen_range(0..n)])))
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - p.confidence) / 2.0;
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    Some(Interval {
        ratio: mean(&mut log_ratios.iter().copied()).exp(),
        low: at(tail).exp(),
        high: at(1.0 - tail).exp(),
    })
}

/// After a run: if the user interrupted, puts the target back and stops (a run cut short
/// by Ctrl-C is not a failed configuration).
pub fn stop_if_interrupted(target: &mut dyn Target) -> Result<()> {
    if crate::interrupt::requested() {
        target.rollback()?;
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// The median of `xs` (NaN for none).
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Runs `config` for `runs` measured runs after a warm-up (the search phase's cheap
/// measurement), returning the runs or why the configuration failed.
pub fn measure(
    target: &mut dyn Target,
    workload: &Workload,
    config: &Config,
    runs: usize,
    protocol: &Protocol,
) -> Result<std::result::Result<Vec<RunResult>, String>> {
    if let Err(e) = target.apply(config) {
        return match e {
            Error::Refused(m) => Ok(Err(m)),
            other => Ok(Err(other.to_string())),
        };
    }
    let mut out = Vec::new();
    if protocol.warmup_seconds > 0 {
        let warm = target.run(workload, protocol.warmup_seconds);
        stop_if_interrupted(target)?;
        if let Err(e) = warm {
            target.rollback()?;
            return Ok(Err(e.to_string()));
        }
    }
    for _ in 0..runs.max(1) {
        let result = target.run(workload, protocol.seconds);
        stop_if_interrupted(target)?;
        match result {
            Ok(r) => out.push(r),
            Err(e) => {
                target.rollback()?;
                return Ok(Err(e.to_string()));
            }
        }
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tps: f64, p95: f64) -> RunResult {
        RunResult {
            tps,
            latency_avg_ms: p95 / 2.0,
            latency_p95_ms: p95,
            transactions: 1,
            failed: 0,
        }
    }

    #[test]
    fn a_consistent_gain_is_better_and_noise_is_not() {
        let p = Protocol::new(6, 10);
        let base: Vec<_> = [100.0, 80.0, 120.0, 90.0, 110.0, 100.0]
            .iter()
            .map(|t| run(*t, 10.0))
            .collect();
        let gain: Vec<_> = base.iter().map(|r| run(r.tps * 1.2, 9.0)).collect();
        let c = judge(base.clone(), gain, &p);
        assert_eq!(c.verdict, Verdict::Better);
        let t = c.tps.unwrap();
        assert!(
            (t.ratio - 1.2).abs() < 1e-9 && t.low > 1.19 && t.high < 1.21,
            "{t:?}"
        );

        let jitter = [1.03, 0.97, 1.02, 0.99, 1.01, 0.98];
        let same: Vec<_> = base
            .iter()
            .zip(jitter)
            .map(|(r, j)| run(r.tps * j, 10.0 / j))
            .collect();
        let c = judge(base.clone(), same, &p);
        assert_eq!(c.verdict, Verdict::WithinNoise, "{:?}", c.tps);
        assert!(!c.tps.unwrap().excludes_one());

        let slower: Vec<_> = base.iter().map(|r| run(r.tps * 0.8, 10.0)).collect();
        assert_eq!(judge(base.clone(), slower, &p).verdict, Verdict::Worse);
        // Faster but with a clearly worse tail is not a recommendation.
        let tail: Vec<_> = base.iter().map(|r| run(r.tps * 1.2, 15.0)).collect();
        assert_eq!(judge(base, tail, &p).verdict, Verdict::Worse);
    }

    #[test]
    fn pairing_removes_drift_that_unpaired_medians_would_see() {
        // The machine slows down by half over the comparison; the candidate is 5 % faster in
        // every pair. Pairs still show the gain with a tight interval.
        let p = Protocol::new(8, 10);
        let base: Vec<_> = (0..8)
            .map(|i| run(1000.0 * (1.0 - 0.06 * i as f64), 5.0))
            .collect();
        let cand: Vec<_> = base.iter().map(|r| run(r.tps * 1.05, 5.0)).collect();
        let c = judge(base, cand, &p);
        assert_eq!(c.verdict, Verdict::Better);
        assert!(c.tps.unwrap().low > 1.04);
    }

    #[test]
    fn four_pairs_of_identical_configurations_are_within_noise() {
        // Measured here: the candidate was random_page_cost=4, the default, so both sides
        // ran the same configuration (pgbench scale 50, 8 clients, 10 s runs). The
        // percentile bootstrap of these four pairs excludes 1; the t interval does not.
        let p = Protocol::new(4, 10);
        let base: Vec<_> = [3030.0, 3346.0, 3452.0, 4146.0]
            .iter()
            .map(|t| run(*t, 5.0))
            .collect();
        let cand: Vec<_> = [3091.0, 3034.0, 3344.0, 3605.0]
            .iter()
            .map(|t| run(*t, 5.0))
            .collect();
        let logs: Vec<f64> = (0..4).map(|i| (cand[i].tps / base[i].tps).ln()).collect();
        assert!(bootstrap(&logs, &p, p.seed).unwrap().high < 1.0);
        let c = judge(base, cand, &p);
        assert_eq!(c.verdict, Verdict::WithinNoise, "{:?}", c.tps);
        let t = c.tps.unwrap();
        assert!(t.low < 0.86 && t.high > 1.04, "{t:?}");
    }

    #[test]
    fn student_t_interval_matches_hand_computation() {
        // Logs 0, 0.1, 0.2: mean 0.1, sd 0.1, se 0.0577; t(0.975, 2) = 4.3027.
        let t = student_t(&[0.0, 0.1, 0.2], 0.95).unwrap();
        assert!((t.low.ln() - (0.1 - 4.302653 * 0.1 / 3f64.sqrt())).abs() < 1e-5);
        assert!((t.high.ln() - (0.1 + 4.302653 * 0.1 / 3f64.sqrt())).abs() < 1e-5);
        assert!(student_t(&[0.1], 0.95).is_none());
    }

    #[test]
    fn too_few_pairs_or_empty_runs_fail() {
        let p = Protocol::new(2, 10);
        assert!(matches!(
            judge(vec![run(1.0, 1.0)], vec![run(2.0, 1.0)], &p).verdict,
            Verdict::Failed(_)
        ));
        let c = judge(
            vec![run(1.0, 1.0), run(0.0, 1.0)],
            vec![run(2.0, 1.0), run(2.0, 1.0)],
            &p,
        );
        assert!(matches!(c.verdict, Verdict::Failed(_)), "{c:?}");
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
