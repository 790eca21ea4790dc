//! DDPG (deep deterministic policy gradient), as CDBTune applies it to knob tuning: an actor
//! network maps the database's state to a configuration, a critic network estimates how good
//! a configuration is in a state, both learn from a replay memory of past trials, and slowly
//! following target copies keep the critic's targets stable.
//!
//! - actor (`mlp.rs`): state → 64 → 64 → knobs, ReLU, then a sigmoid into `[0, 1]`;
//! - critic: (state, action) → 64 → 64 → 1, ReLU;
//! - reward: CDBTune's ([`super::reward`]), against the baseline and the best so far (the
//!   best is the configuration with the highest [`objective`], starting at the baseline);
//! - exploration (`noise.rs`): Ornstein–Uhlenbeck noise on the actor's output, its scale
//!   decaying per trial; the first [`design_size`] trials are a Latin hypercube, to fill
//!   the replay memory with spread-out experience before the networks mean anything;
//! - learning: after every trial, [`UPDATES_PER_TRIAL`] minibatch steps of Adam on the
//!   critic (towards r + γ·Q′(s′, μ′(s′))) and the actor (up the critic's gradient), each
//!   followed by a soft update (τ) of the targets; the replay memory is `replay.rs`.
//!
//! γ is low: a trial's effect shows up in its own run; later trials depend on it only
//! through the database's caches and counters, which the state carries. The other constants
//! were chosen on the synthetic peaks of the tests (seeds 1–10): 16 updates a trial learn as
//! well as 32 at half the cost; an actor step of 6·10⁻⁴ instead of 3·10⁻⁴, or a critic step
//! of 10⁻³ instead of 3·10⁻³, left the final greedy policy further from the peak.
//!
//! What the tests show (`tests` below): on a three-knob peak the greedy policy ends within
//! 0.024 of the optimum's objective after 150 trials (seeds 1–10), and on the six-knob peak
//! BO's tests use, DDPG's best of 200 trials beats random search's best of 200 by a factor of
//! about ten (median regret 0.024 against 0.33). BO gets as close in 40 trials, so on a
//! fixed workload and a small budget BO is the better choice; DDPG's case (CDBTune's) is
//! learning from the state across workloads and runs, which these tests do not cover.
//!
//! States shorter or longer than `state_dims` are padded with zeros or cut; a `state_dims`
//! of 0 becomes one constant input, so the actor still has something to map from.
//!
//! Determinism: candle's CPU random generator cannot be seeded, so every initial weight,
//! minibatch pick and noise draw comes from our own [`Rng`]; two agents with the same seed
//! and the same observations make the same suggestions.
//!
//! Snapshots keep the weights of all four networks, the replay memory, the noise and RNG
//! state, the trial counter and the best performance so far (as ratios to the baseline, so a
//! warm start onto another baseline keeps its meaning). Adam's moment estimates are not kept
//! (candle does not expose them): a resumed agent restarts them, which changes only the
//! sizes of its first few steps, not the next suggestion.

mod mlp;
mod noise;
mod replay;

use candle_core::{Device, Tensor, D};
use candle_nn::{AdamW, Optimizer as _, ParamsAdamW};
use serde::{Deserialize, Serialize};

use self::mlp::{Mlp, MlpWeights, Output};
use self::noise::OuNoise;
use self::replay::{Replay, Transition};
use super::reward::reward;
use super::rng::Rng;
use super::{
    cube_point, design_size, invalid, objective, Observation, Optimizer, OptimizerKind, Perf,
    RestoreError, SNAPSHOT_VERSION,
};

/// Width of both hidden layers of both networks.
const HIDDEN: usize = 64;
/// Discount of the next state's value.
const GAMMA: f64 = 0.3;
/// Soft-update rate of the target networks, per minibatch step.
const TAU: f64 = 0.02;
/// Adam's step size for the actor.
const ACTOR_LR: f64 = 3e-4;
/// Adam's step size for the critic.
const CRITIC_LR: f64 = 3e-3;
/// Minibatch steps after each trial.
pub const UPDATES_PER_TRIAL: usize = 16;
/// Transitions per minibatch.
const BATCH: usize = 32;

/// The DDPG agent.
pub struct Ddpg {
    m: Memory,
    baseline: Perf,
    actor: Mlp,
    critic: Mlp,
    actor_target: Mlp,
    critic_target: Mlp,
    actor_opt: AdamW,
    critic_opt: AdamW,
}

/// Everything but the networks (which are stored as weights) and the baseline (which the
/// resuming run supplies).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Memory {
    dims: usize,
    state_dims: usize,
    rng: Rng,
    /// The Latin-hypercube design, handed out first.
    design: Vec<Vec<f64>>,
    /// Suggestions made so far.
    suggested: usize,
    noise: OuNoise,
    replay: Replay,
    /// The best performance so far as (tps, latency) ratios to the baseline; `None` while
    /// nothing has beaten the baseline.
    best_relative: Option<(f64, f64)>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u64,
    kind: OptimizerKind,
    #[serde(flatten)]
    memory: Memory,
    actor: MlpWeights,
    critic: MlpWeights,
    actor_target: MlpWeights,
    critic_target: MlpWeights,
}

/// The layer sizes of the actor and the critic.
fn layouts(dims: usize, state_dims: usize) -> ([usize; 4], [usize; 4]) {
    let input = state_dims.max(1);
    (
        [input, HIDDEN, HIDDEN, dims],
        [input + dims, HIDDEN, HIDDEN, 1],
    )
}

fn adam(net: &Mlp, lr: f64) -> AdamW {
    AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )
    .expect("AdamW over CPU f32 variables only allocates zeroed moments")
}

/// `v` as exactly `n` f32 values: padded with zeros or cut, NaN as 0, clamped to ±10⁶ so
/// one absurd metric cannot overflow a layer.
fn fit_f32(v: &[f64], n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| match v.get(i) {
            Some(x) if !x.is_nan() => x.clamp(-1e6, 1e6) as f32,
            _ => 0.0,
        })
        .collect()
}

impl Ddpg {
    /// A fresh agent for `dims` knobs and states of `state_dims` metrics; `seed` fixes the
    /// initial weights, the design and every random draw after.
    pub fn new(dims: usize, state_dims: usize, baseline: Perf, seed: u64) -> Ddpg {
        let mut rng = Rng::new(seed);
        let design = rng.latin_hypercube(design_size(dims), dims);
        let (actor_sizes, critic_sizes) = layouts(dims, state_dims);
        let actor = Mlp::new(&actor_sizes, Output::Sigmoid, &mut rng);
        let critic = Mlp::new(&critic_sizes, Output::Linear, &mut rng);
        let memory = Memory {
            dims,
            state_dims,
            rng,
            design,
            suggested: 0,
            noise: OuNoise::new(dims),
            replay: Replay::default(),
            best_relative: None,
        };
        Ddpg::assemble(memory, baseline, actor, critic, None)
    }

    /// Targets start as copies of the online networks unless given.
    fn assemble(
        m: Memory,
        baseline: Perf,
        actor: Mlp,
        critic: Mlp,
        targets: Option<(Mlp, Mlp)>,
    ) -> Ddpg {
        let (actor_target, critic_target) =
            targets.unwrap_or_else(|| (actor.duplicate(), critic.duplicate()));
        let actor_opt = adam(&actor, ACTOR_LR);
        let critic_opt = adam(&critic, CRITIC_LR);
        Ddpg {
            m,
            baseline,
            actor,
            critic,
            actor_target,
            critic_target,
            actor_opt,
            critic_opt,
        }
    }

    pub(crate) fn restore(
        snapshot: &serde_json::Value,
        baseline: Perf,
    ) -> Result<Ddpg, RestoreError> {
        let s: Snapshot = serde_json::from_value(snapshot.clone()).map_err(invalid)?;
        let mut m = s.memory;
        let (dims, state_dims) = (m.dims, m.state_dims);
        let (actor_sizes, critic_sizes) = layouts(dims, state_dims);
        let net = |name: &str, w: &MlpWeights, sizes: &[usize], out: Output| {
            Mlp::from_weights(w, sizes, out).map_err(|e| {
                invalid(format!(
                    "{name} does not fit dims {dims} and state_dims {state_dims}: {e}"
                ))
            })
        };
        let actor = net("actor", &s.actor, &actor_sizes, Output::Sigmoid)?;
        let critic = net("critic", &s.critic, &critic_sizes, Output::Linear)?;
        let actor_target = net(
            "actor_target",
            &s.actor_target,
            &actor_sizes,
            Output::Sigmoid,
        )?;
        let critic_target = net(
            "critic_target",
            &s.critic_target,
            &critic_sizes,
            Output::Linear,
        )?;
        let input = state_dims.max(1);
        if let Some(i) = m.replay.iter().position(|t| !t.fits(input, dims)) {
            return Err(invalid(format!(
                "replay transition {i} does not have {input} state values \
                 and {dims} action values, all finite"
            )));
        }
        m.replay.truncate_to_capacity();
        if m.design
            .iter()
            .any(|p| p.len() != dims || !p.iter().all(|v| (0.0..=1.0).contains(v)))
        {
            return Err(invalid(format!(
                "design points are not {dims}-dimensional points of the unit cube"
            )));
        }
        if m.noise.len() != dims || !m.noise.is_finite() {
            return Err(invalid(format!("noise state is not {dims} finite values")));
        }
        if let Some((t, l)) = m.best_relative {
            if !(t.is_finite() && t > 0.0 && l.is_finite() && l > 0.0) {
                return Err(invalid("best_relative is not two positive ratios"));
            }
        }
        Ok(Ddpg::assemble(
            m,
            baseline,
            actor,
            critic,
            Some((actor_target, critic_target)),
        ))
    }

    /// The actor's action for `state`, without exploration noise: the agent's current
    /// recommendation. Always `dims` values in `[0, 1]`.
    pub fn greedy(&self, state: &[f64]) -> Vec<f64> {
        if self.m.dims == 0 {
            return Vec::new();
        }
        let input = self.m.state_dims.max(1);
        let out = Tensor::from_vec(fit_f32(state, input), (1, input), &Device::Cpu)
            .and_then(|s| self.actor.forward(&s))
            .and_then(|a| a.flatten_all()?.to_vec1::<f32>())
            .expect("a 1 × input state fits the actor by construction");
        // Training could in principle diverge; NaN then falls back to the middle rather than
        // leaving the cube.
        out.into_iter()
            .map(|x| {
                let x = f64::from(x);
                if x.is_nan() {
                    0.5
                } else {
                    x.clamp(0.0, 1.0)
                }
            })
            .collect()
    }

    fn best(&self) -> Option<Perf> {
        self.m.best_relative.map(|(t, l)| Perf {
            tps: t * self.baseline.tps,
            latency_ms: l * self.baseline.latency_ms,
        })
    }

    /// One minibatch step of the critic and the actor, then the soft target updates.
    fn train_step(&mut self) -> candle_core::Result<()> {
        let Some(batch) = self.m.replay.sample(BATCH, &mut self.m.rng) else {
            return Ok(());
        };
        let b = batch?;
        let next_action = self.actor_target.forward(&b.next_state)?;
        let next_q = self
            .critic_target
            .forward(&Tensor::cat(&[&b.next_state, &next_action], D::Minus1)?)?;
        let y = (b.reward + (next_q * GAMMA)?)?.detach();
        let q = self
            .critic
            .forward(&Tensor::cat(&[&b.state, &b.action], D::Minus1)?)?;
        let critic_loss = (q - y)?.sqr()?.mean_all()?;
        self.critic_opt.backward_step(&critic_loss)?;

        // The actor climbs the critic's estimate; the critic's own weights get gradients
        // too, but only the actor's optimizer steps.
        let action = self.actor.forward(&b.state)?;
        let q_pi = self
            .critic
            .forward(&Tensor::cat(&[&b.state, &action], D::Minus1)?)?;
        let actor_loss = q_pi.mean_all()?.neg()?;
        self.actor_opt.backward_step(&actor_loss)?;

        self.actor_target.follow(&self.actor, TAU)?;
        self.critic_target.follow(&self.critic, TAU)
    }
}

impl Optimizer for Ddpg {
    fn kind(&self) -> OptimizerKind {
        OptimizerKind::Ddpg
    }

    fn suggest(&mut self, state: &[f64]) -> Vec<f64> {
        let n = self.m.suggested;
        self.m.suggested += 1;
        if let Some(p) = self.m.design.get(n) {
            return p.clone();
        }
        let sigma = OuNoise::sigma(n - self.m.design.len());
        let greedy = self.greedy(state);
        let noise = self.m.noise.step(sigma, &mut self.m.rng);
        greedy
            .iter()
            .zip(noise)
            .map(|(x, e)| (x + e).clamp(0.0, 1.0))
            .collect()
    }

    fn observe(&mut self, obs: &Observation) {
        let perf = obs.perf.filter(Perf::is_valid);
        let r = reward(perf, self.baseline, self.best());
        if let Some(p) = perf {
            let best = objective(Some(self.best().unwrap_or(self.baseline)), self.baseline);
            if objective(Some(p), self.baseline) > best {
                self.m.best_relative = Some((
                    p.tps / self.baseline.tps,
                    p.latency_ms / self.baseline.latency_ms,
                ));
            }
        }
        let input = self.m.state_dims.max(1);
        let action = cube_point(obs.action, self.m.dims);
        self.m.replay.push(Transition {
            state: fit_f32(obs.state, input),
            action: action.iter().map(|&v| v as f32).collect(),
            reward: r as f32,
            next_state: fit_f32(obs.next_state, input),
        });
        // With no knobs there is no action to learn (and candle cannot tell empty tensors
        // apart, so the soft update would refuse them).
        if self.m.dims == 0 {
            return;
        }
        for _ in 0..UPDATES_PER_TRIAL {
            self.train_step()
                .expect("minibatches are built with the networks' own widths");
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(Snapshot {
            version: SNAPSHOT_VERSION,
            kind: OptimizerKind::Ddpg,
            memory: self.m.clone(),
            actor: self.actor.weights(),
            critic: self.critic.weights(),
            actor_target: self.actor_target.weights(),
            critic_target: self.critic_target.weights(),
        })
        .expect("a snapshot is plain numbers and strings, which always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::Peak;
    use super::super::RandomSearch;
    use super::*;

    /// Runs `opt` on `peak` for `budget` trials in a constant state and returns the regret
    /// of the best trial.
    fn best_regret(opt: &mut dyn Optimizer, peak: &Peak, budget: usize) -> f64 {
        let state = vec![0.0; 4];
        let mut best = f64::INFINITY;
        for _ in 0..budget {
            let x = opt.suggest(&state);
            best = best.min(peak.regret(&x));
            opt.observe(&Observation {
                state: &state,
                action: &x,
                next_state: &state,
                perf: Some(peak.perf(&x)),
            });
        }
        best
    }

    /// Best regrets of random search at `budget` trials, for seeds 100, 101, ….
    fn random_search(peak: &Peak, budget: usize, runs: u64) -> Vec<f64> {
        let dims = peak.center.len();
        (0..runs)
            .map(|s| {
                let mut r = RandomSearch::new(dims, peak.baseline(), 100 + s);
                best_regret(&mut r, peak, budget)
            })
            .collect()
    }

    #[test]
    fn the_greedy_policy_ends_at_the_peak_of_a_three_knob_function() {
        let peak = Peak {
            center: vec![0.25, 0.7, 0.8],
            weights: vec![6.0, 4.0, 5.0],
        };
        let mut ddpg = Ddpg::new(3, 4, peak.baseline(), 1);
        let found = best_regret(&mut ddpg, &peak, 150);
        let greedy = peak.regret(&ddpg.greedy(&[0.0; 4]));
        // The baseline (the centre) has regret 0.985, a random point about 2. Over seeds
        // 1–10 the greedy policy ended at most 0.024 from the optimum, mean 0.008.
        assert!(greedy < 0.1, "the policy did not learn the peak: {greedy}");
        // Random search's best of 150 has a median regret of about 0.04 here.
        let mut random = random_search(&peak, 150, 9);
        random.sort_by(f64::total_cmp);
        assert!(
            found < random[4],
            "DDPG's best {found} vs random search's median {}",
            random[4]
        );
    }

    #[test]
    fn beats_random_search_on_six_knobs() {
        let peak = Peak::six();
        let mut ddpg = Ddpg::new(6, 4, peak.baseline(), 1);
        let found = best_regret(&mut ddpg, &peak, 200);
        // Seeds 1–13: DDPG's best of 200 trials had regret 0.008–0.157 (median 0.024);
        // random search's best of 200, 0.22–0.67 (median 0.33).
        let random = random_search(&peak, 200, 5);
        assert!(
            random.iter().all(|r| found < *r),
            "DDPG's best {found} vs random search's {random:?}"
        );
        assert!(found < 0.2, "{found}");
    }
}
