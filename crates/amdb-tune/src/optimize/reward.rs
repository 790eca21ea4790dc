//! CDBTune's reward (Zhang et al., SIGMOD 2019), which the DDPG agent learns from.
//!
//! For each metric, Δ₀ is the relative change against the initial (baseline) performance and
//! Δb the relative change against the best performance so far; for latency the sign is
//! flipped so that positive means better. Then
//!
//! ```text
//! r = ((1 + Δ₀)² − 1) · |1 + Δb|     if Δ₀ > 0
//! r = −((1 − Δ₀)² − 1) · |1 − Δb|    otherwise
//! ```
//!
//! Squaring rewards large gains over the baseline more than small ones, and the factor
//! |1 ± Δb| scales the reward by how the configuration stands against the best so far. The
//! reward combines throughput and latency as 0.4·r_tps + 0.6·r_latency, CDBTune's weights,
//! and is kept within [[`FAILURE_REWARD`], [`REWARD_CEILING`]].
//!
//! CDBTune also sets r = 0 when r > 0 but Δb < 0. [`metric_reward`] implements that rule
//! (its `zero_below_best` argument), but [`reward`] leaves it out ([`ZERO_GAINS_BELOW_BEST`]
//! is `false`). CDBTune's Δb compares with the previous step; with the best so far as the
//! reference, the rule gives every configuration between the baseline and the best the same
//! zero, the critic sees a plateau there, and the actor drifts on it. Measured with the
//! agent of `ddpg/` (16 updates a trial), regret of the final greedy policy, seeds 1–10:
//!
//! | synthetic peak (`synthetic::Peak`)  | with the rule: mean / worst | without: mean / worst |
//! |-------------------------------------|-----------------------------|-----------------------|
//! | 3 knobs, 150 trials                 | 0.072 / 0.465               | 0.008 / 0.024         |
//! | 4 knobs, 150 trials                 | 0.236 / 0.637 (seeds 1–6)   | 0.050 / 0.149         |

use super::Perf;

/// The ceiling of every reward. Latency's Δ₀ is at most 1, but throughput's is unbounded and
/// enters cubed (squared, times |1 + Δb|): 1000 is about a fourteenfold throughput at equal
/// latency over a baseline that is also the best. Beyond that a measurement glitch is more
/// likely than a configuration, and an unbounded (or infinite) target would wreck the
/// critic's regression for the sake of one trial.
pub const REWARD_CEILING: f64 = 1000.0;

/// Weight of the throughput reward; latency gets the rest.
pub const THROUGHPUT_WEIGHT: f64 = 0.4;

/// Whether [`reward`] applies CDBTune's "a gain below the best earns nothing" rule; off, see
/// the module comment for the measurements.
pub const ZERO_GAINS_BELOW_BEST: bool = false;

/// The reward of a configuration that failed (refused, crashed, no transactions), and the
/// floor of every reward: worse than halving throughput and doubling latency at once
/// (−4.35 when the best is the baseline), so the agent learns to avoid failures more than
/// slow configurations, yet not so large that a few failures dominate the critic's loss.
pub const FAILURE_REWARD: f64 = -5.0;

/// One metric's reward from its relative changes, both already signed so positive is
/// better: `delta_initial` against the baseline, `delta_best` against the best so far. With
/// `zero_below_best`, a positive reward becomes 0 when `delta_best` is negative (CDBTune's
/// rule).
pub fn metric_reward(delta_initial: f64, delta_best: f64, zero_below_best: bool) -> f64 {
    let r = if delta_initial > 0.0 {
        ((1.0 + delta_initial).powi(2) - 1.0) * (1.0 + delta_best).abs()
    } else {
        -((1.0 - delta_initial).powi(2) - 1.0) * (1.0 - delta_best).abs()
    };
    if zero_below_best && r > 0.0 && delta_best < 0.0 {
        0.0
    } else {
        r
    }
}

/// The reward of `current` given the `initial` performance and the `best` so far (`None`
/// when nothing has beaten the initial performance yet; the initial one is then the best).
///
/// `None` and [invalid](Perf::is_valid) performances are failures and get
/// [`FAILURE_REWARD`]. `initial` and `best` must be valid (the tuning loop refuses a baseline
/// without transactions); were they not, the result is still finite: any non-finite
/// combination is reported as a failure, so no NaN ever reaches a replay memory.
pub fn reward(current: Option<Perf>, initial: Perf, best: Option<Perf>) -> f64 {
    let c = match current {
        Some(c) if c.is_valid() => c,
        _ => return FAILURE_REWARD,
    };
    let best = best.unwrap_or(initial);
    let tps = metric_reward(
        (c.tps - initial.tps) / initial.tps,
        (c.tps - best.tps) / best.tps,
        ZERO_GAINS_BELOW_BEST,
    );
    let latency = metric_reward(
        (initial.latency_ms - c.latency_ms) / initial.latency_ms,
        (best.latency_ms - c.latency_ms) / best.latency_ms,
        ZERO_GAINS_BELOW_BEST,
    );
    let r = THROUGHPUT_WEIGHT * tps + (1.0 - THROUGHPUT_WEIGHT) * latency;
    // Latency's Δ₀ is unbounded below (ten times slower is −9), and the square makes such
    // configurations cost dozens; nothing is worse than failing, so that is the floor. NaN
    // (∞ − ∞ from absurd inputs) counts as a failure.
    if r.is_nan() {
        FAILURE_REWARD
    } else {
        r.clamp(FAILURE_REWARD, REWARD_CEILING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf(tps: f64, latency_ms: f64) -> Perf {
        Perf { tps, latency_ms }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn better_than_initial() {
        for rule in [false, true] {
            // And better than the best: ((1.2)² − 1)·|1 + 0.1| = 0.44·1.1.
            assert!(close(metric_reward(0.2, 0.1, rule), 0.484));
            // Equal to the best: ((1.2)² − 1)·1.
            assert!(close(metric_reward(0.2, 0.0, rule), 0.44));
        }
        // Below the best: less credit, ((1.2)² − 1)·|1 − 0.1| = 0.396 ...
        assert!(close(metric_reward(0.2, -0.1, false), 0.396));
        // ... or, with CDBTune's rule, none.
        assert_eq!(metric_reward(0.2, -0.1, true), 0.0);
        assert_eq!(metric_reward(0.01, -0.5, true), 0.0);
    }

    #[test]
    fn worse_than_initial() {
        for rule in [false, true] {
            // −((1.1)² − 1)·|1 − (−0.3)| = −0.21·1.3; the rule never touches a negative r.
            assert!(close(metric_reward(-0.1, -0.3, rule), -0.273));
            // Below the initial but above a best that is below it (possible per metric: the
            // best is chosen on both metrics together): −0.21·|1 − 0.2|.
            assert!(close(metric_reward(-0.1, 0.2, rule), -0.168));
            // −((1.5)² − 1)·|1 + 0.5|.
            assert!(close(metric_reward(-0.5, -0.5, rule), -1.875));
            // Δ₀ = 0 takes the second branch, and is worth nothing whatever Δb is.
            assert_eq!(metric_reward(0.0, 0.0, rule), 0.0);
            assert_eq!(metric_reward(0.0, -0.4, rule), 0.0);
        }
    }

    #[test]
    fn combines_throughput_and_latency() {
        let initial = perf(1000.0, 10.0);
        let best = perf(1100.0, 9.0);
        // +20 % TPS: Δ₀ 0.2, Δb 100/1100 → 0.44·12/11 = 0.48.
        // 8 ms: Δ₀ (10 − 8)/10 = 0.2, Δb (9 − 8)/9 → 0.44·10/9 = 0.4888….
        let r = reward(Some(perf(1200.0, 8.0)), initial, Some(best));
        assert!(close(r, 0.4 * 0.48 + 0.6 * 0.44 * 10.0 / 9.0), "{r}");
        // Better TPS than the best (0.48) but latency 9.5 ms, below the best:
        // Δ₀ 0.05, Δb −0.5/9 → (1.05² − 1)·(1 − 1/18) = 0.1025·17/18, or 0 under the rule.
        let r = reward(Some(perf(1200.0, 9.5)), initial, Some(best));
        let latency = if ZERO_GAINS_BELOW_BEST {
            0.0
        } else {
            0.1025 * 17.0 / 18.0
        };
        assert!(close(r, 0.4 * 0.48 + 0.6 * latency), "{r}");
    }

    #[test]
    fn failures_and_the_floor() {
        let initial = perf(1000.0, 10.0);
        assert_eq!(reward(None, initial, None), FAILURE_REWARD);
        assert_eq!(reward(Some(perf(0.0, 10.0)), initial, None), FAILURE_REWARD);
        assert_eq!(
            reward(Some(perf(f64::NAN, 10.0)), initial, None),
            FAILURE_REWARD
        );
        // Without a best so far, the initial performance is the best.
        assert_eq!(reward(Some(initial), initial, None), 0.0);
        // Half the TPS (−1.25·1.5) and twice the latency (−3·2): 0.4·−1.875 + 0.6·−6.
        let halved = reward(Some(perf(500.0, 20.0)), initial, None);
        assert!(close(halved, -4.35) && halved > FAILURE_REWARD, "{halved}");
        // Ten times slower would be far below; nothing scores below a failure.
        assert_eq!(
            reward(Some(perf(100.0, 100.0)), initial, None),
            FAILURE_REWARD
        );
        // An invalid reference cannot produce NaN.
        let r = reward(Some(initial), perf(0.0, 0.0), None);
        assert!(r.is_finite(), "{r}");
        // Nor can an absurd measurement produce more than the ceiling.
        assert_eq!(
            reward(Some(perf(1e200, 10.0)), initial, None),
            REWARD_CEILING
        );
    }
}
