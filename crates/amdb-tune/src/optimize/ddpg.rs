//! DDPG (deep deterministic policy gradient), as CDBTune applies it to knob tuning: an actor
//! network maps the database's state to a configuration, a critic network estimates how good
//! a configuration is in a state, both learn from a replay memory of past trials, and slowly
//! following target copies keep the critic's targets stable.
//!
//! - actor: state → 64 → 64 → knobs (ReLU, then a sigmoid into `[0, 1]`);
//! - critic: (state, action) → 64 → 64 → 1 (ReLU);
//! - reward: CDBTune's ([`super::reward`]), against the baseline and the best so far;
//! - exploration: Ornstein–Uhlenbeck noise on the actor's output, its scale decaying per
//!   trial; the first [`super::design_size`] trials are a Latin hypercube, to fill the replay
//!   memory with spread-out experience before the networks mean anything;
//! - learning: after every trial, [`UPDATES_PER_TRIAL`] minibatch steps of Adam on the
//!   critic (towards r + γ·Q′(s′, μ′(s′))) and the actor (up the critic's gradient), then a
//!   soft update (τ) of the targets.
//!
//! γ is low (0.3): a trial's effect shows up in its own run; later trials depend on the
//! state only through the database's caches and counters.
//!
//! candle's CPU random generator cannot be seeded, so every weight and every noise draw
//! comes from our own [`Rng`]; two runs with the same seed and the same measurements make
//! the same suggestions. Snapshots keep the weights of all four networks, the replay memory,
//! the noise and RNG state and the step counter; Adam's moment estimates are not kept (a
//! resumed run restarts them, which only changes the first few steps' sizes).

use candle_core::{Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer as _, ParamsAdamW};
use serde::{Deserialize, Serialize};

use super::reward::reward;
use super::rng::Rng;
use super::{invalid, Observation, Optimizer, OptimizerKind, Perf, RestoreError, SNAPSHOT_VERSION};

const HIDDEN: usize = 64;
const GAMMA: f64 = 0.3;
const TAU: f64 = 0.05;
const ACTOR_LR: f64 = 1e-4;
const CRITIC_LR: f64 = 3e-3;
/// Minibatch steps after each trial.
pub const UPDATES_PER_TRIAL: usize = 64;
const BATCH: usize = 32;
const MEMORY: usize = 10_000;
const NOISE_THETA: f64 = 0.15;
const NOISE_START: f64 = 0.25;
const NOISE_DECAY: f64 = 0.97;
const NOISE_FLOOR: f64 = 0.03;

/// A fully connected network whose layers are `(weight out×in, bias out)` variables.
struct Mlp {
    layers: Vec<(Var, Var)>,
    sigmoid_output: bool,
}

/// Weights as plain numbers, for snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MlpWeights {
    shapes: Vec<(usize, usize)>,
    values: Vec<Vec<f32>>,
}

fn candle_err(e: candle_core::Error) -> String {
    e.to_string()
}

impl Mlp {
    /// Layers of `sizes[i] → sizes[i+1]`, weights uniform in ±1/√fan_in (the last layer in
    /// ±3·10⁻³, as DDPG's authors do, so initial outputs sit near the middle).
    fn new(sizes: &[usize], sigmoid_output: bool, rng: &mut Rng) -> Mlp {
        let mut layers = Vec::new();
        for (i, w) in sizes.windows(2).enumerate() {
            let (fan_in, out) = (w[0], w[1]);
            let bound = if i + 2 == sizes.len() {
                3e-3
            } else {
                1.0 / (fan_in as f64).sqrt()
            };
            let mut draw = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32)
                    .collect()
            };
            let weight = Var::from_vec(draw(out * fan_in), (out, fan_in), &Device::Cpu)
                .expect("CPU allocation");
            let bias = Var::from_vec(draw(out), out, &Device::Cpu).expect("CPU allocation");
            layers.push((weight, bias));
        }
        Mlp {
            layers,
            sigmoid_output,
        }
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            x = x
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            if i + 1 < self.layers.len() {
                x = x.tanh()?;
            }
        }
        if self.sigmoid_output {
            x = candle_nn::ops::sigmoid(&x)?;
        }
        Ok(x)
    }

    fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    fn weights(&self) -> MlpWeights {
        let mut shapes = Vec::new();
        let mut values = Vec::new();
        for (w, b) in &self.layers {
            let (o, i) = w.as_tensor().dims2().expect("weights are matrices");
            shapes.push((o, i));
            values.push(
                w.as_tensor()
                    .flatten_all()
                    .and_then(|t| t.to_vec1())
                    .expect("f32 weights"),
            );
            values.push(b.as_tensor().to_vec1().expect("f32 biases"));
        }
        MlpWeights { shapes, values }
    }

    fn load(&self, w: &MlpWeights) -> Result<(), String> {
        if w.shapes.len() != self.layers.len() || w.values.len() != 2 * self.layers.len() {
            return Err("network layout differs".into());
        }
        for (k, ((wv, bv), &(o, i))) in self.layers.iter().zip(&w.shapes).enumerate() {
            if wv.as_tensor().dims2().map_err(candle_err)? != (o, i) {
                return Err(format!(
                    "layer {k} is {:?}, snapshot has {o}×{i}",
                    wv.as_tensor().dims()
                ));
            }
            let weight = Tensor::from_vec(w.values[2 * k].clone(), (o, i), &Device::Cpu)
                .map_err(candle_err)?;
            let bias = Tensor::from_vec(w.values[2 * k + 1].clone(), o, &Device::Cpu)
                .map_err(candle_err)?;
            wv.set(&weight).map_err(candle_err)?;
            bv.set(&bias).map_err(candle_err)?;
        }
        Ok(())
    }

    /// `self ← τ·online + (1 − τ)·self`.
    fn follow(&self, online: &Mlp, tau: f64) -> candle_core::Result<()> {
        for ((tw, tb), (ow, ob)) in self.layers.iter().zip(&online.layers) {
            for (t, o) in [(tw, ow), (tb, ob)] {
                let mixed = ((o.as_tensor() * tau)? + (t.as_tensor() * (1.0 - tau))?)?;
                t.set(&mixed)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Transition {
    state: Vec<f32>,
    action: Vec<f32>,
    reward: f32,
    next_state: Vec<f32>,
}

/// Everything but the networks, which are stored as weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Memory {
    dims: usize,
    state_dims: usize,
    rng: Rng,
    design: Vec<Vec<f64>>,
    suggested: usize,
    noise: Vec<f64>,
    replay: Vec<Transition>,
    /// Best performance so far relative to the baseline (tps ratio, latency ratio).
    best_relative: Option<(f64, f64)>,
}

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

impl Ddpg {
    pub fn new(dims: usize, state_dims: usize, baseline: Perf, seed: u64) -> Ddpg {
        let mut rng = Rng::new(seed);
        let design = rng.latin_hypercube(super::design_size(dims), dims);
        let actor = Mlp::new(&[state_dims, HIDDEN, HIDDEN, dims], true, &mut rng);
        let critic = Mlp::new(&[state_dims + dims, HIDDEN, HIDDEN, 1], false, &mut rng);
        let copy = |net: &Mlp| {
            let t = Mlp::new(&[1, 1], net.sigmoid_output, &mut Rng::new(0));
            let layers = net
                .layers
                .iter()
                .map(|(w, b)| {
                    let w = Var::from_tensor(&w.as_tensor().copy().expect("copy")).expect("var");
                    let b = Var::from_tensor(&b.as_tensor().copy().expect("copy")).expect("var");
                    (w, b)
                })
                .collect();
            Mlp { layers, ..t }
        };
        let actor_target = copy(&actor);
        let critic_target = copy(&critic);
        let params = |lr| ParamsAdamW {
            lr,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        };
        let actor_opt = AdamW::new(actor.vars(), params(ACTOR_LR)).expect("AdamW over CPU vars");
        let critic_opt = AdamW::new(critic.vars(), params(CRITIC_LR)).expect("AdamW over CPU vars");
        Ddpg {
            m: Memory {
                dims,
                state_dims,
                rng,
                design,
                suggested: 0,
                noise: vec![0.0; dims],
                replay: Vec::new(),
                best_relative: None,
            },
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
        let mut d = Ddpg::new(s.memory.dims, s.memory.state_dims, baseline, 0);
        d.actor.load(&s.actor).map_err(invalid)?;
        d.critic.load(&s.critic).map_err(invalid)?;
        d.actor_target.load(&s.actor_target).map_err(invalid)?;
        d.critic_target.load(&s.critic_target).map_err(invalid)?;
        if s.memory
            .replay
            .iter()
            .any(|t| t.action.len() != s.memory.dims || t.state.len() != s.memory.state_dims)
        {
            return Err(invalid("replay memory does not match the dimensions"));
        }
        d.m = s.memory;
        Ok(d)
    }

    /// The actor's action for `state`, without exploration noise.
    pub fn greedy(&self, state: &[f64]) -> Vec<f64> {
        let s = self.state_tensor(&[state]);
        self.actor
            .forward(&s)
            .and_then(|a| a.squeeze(0)?.to_vec1::<f32>())
            .map(|v| {
                v.into_iter()
                    .map(|x| f64::from(x).clamp(0.0, 1.0))
                    .collect()
            })
            .unwrap_or_else(|_| vec![0.5; self.m.dims])
    }

    fn state_tensor(&self, states: &[&[f64]]) -> Tensor {
        let flat: Vec<f32> = states
            .iter()
            .flat_map(|s| (0..self.m.state_dims).map(|i| s.get(i).copied().unwrap_or(0.0) as f32))
            .collect();
        Tensor::from_vec(flat, (states.len(), self.m.state_dims), &Device::Cpu)
            .expect("CPU allocation")
    }

    fn train_step(&mut self) -> candle_core::Result<()> {
        let n = self.m.replay.len().min(BATCH);
        let picks: Vec<usize> = (0..n)
            .map(|_| self.m.rng.below(self.m.replay.len()))
            .collect();
        let rows = |f: &dyn Fn(&Transition) -> &Vec<f32>, width: usize| {
            let flat: Vec<f32> = picks
                .iter()
                .flat_map(|&i| f(&self.m.replay[i]).clone())
                .collect();
            Tensor::from_vec(flat, (n, width), &Device::Cpu)
        };
        let s = rows(&|t| &t.state, self.m.state_dims)?;
        let a = rows(&|t| &t.action, self.m.dims)?;
        let s2 = rows(&|t| &t.next_state, self.m.state_dims)?;
        let r: Vec<f32> = picks.iter().map(|&i| self.m.replay[i].reward).collect();
        let r = Tensor::from_vec(r, (n, 1), &Device::Cpu)?;

        let next_q = self.critic_target.forward(&Tensor::cat(
            &[&s2, &self.actor_target.forward(&s2)?],
            D::Minus1,
        )?)?;
        let y = (r + (next_q * GAMMA)?)?.detach();
        let q = self.critic.forward(&Tensor::cat(&[&s, &a], D::Minus1)?)?;
        let critic_loss = (q - y)?.sqr()?.mean_all()?;
        self.critic_opt.backward_step(&critic_loss)?;

        let q_pi = self
            .critic
            .forward(&Tensor::cat(&[&s, &self.actor.forward(&s)?], D::Minus1)?)?;
        let actor_loss = q_pi.mean_all()?.neg()?;
        self.actor_opt.backward_step(&actor_loss)?;

        self.actor_target.follow(&self.actor, TAU)?;
        self.critic_target.follow(&self.critic, TAU)?;
        Ok(())
    }
}

impl Optimizer for Ddpg {
    fn kind(&self) -> OptimizerKind {
        OptimizerKind::Ddpg
    }

    fn suggest(&mut self, state: &[f64]) -> Vec<f64> {
        let n = self.m.suggested;
        self.m.suggested += 1;
        if n < self.m.design.len() {
            return self.m.design[n].clone();
        }
        let explored = n - self.m.design.len();
        let sigma = (NOISE_START * NOISE_DECAY.powi(explored as i32)).max(NOISE_FLOOR);
        let greedy = self.greedy(state);
        let mut out = Vec::with_capacity(self.m.dims);
        for (x, noise) in greedy.iter().zip(self.m.noise.iter_mut()) {
            *noise += -NOISE_THETA * *noise + sigma * self.m.rng.normal();
            out.push((x + *noise).clamp(0.0, 1.0));
        }
        out
    }

    fn observe(&mut self, obs: &Observation) {
        let best = self.m.best_relative.map(|(t, l)| Perf {
            tps: t * self.baseline.tps,
            latency_ms: l * self.baseline.latency_ms,
        });
        let r = reward(obs.perf, self.baseline, best);
        if let Some(p) = obs.perf {
            let rel = (
                p.tps / self.baseline.tps,
                p.latency_ms / self.baseline.latency_ms,
            );
            let better = self.m.best_relative.is_none_or(|(t, l)| {
                super::objective(Some(p), self.baseline)
                    > super::objective(
                        Some(Perf {
                            tps: t * self.baseline.tps,
                            latency_ms: l * self.baseline.latency_ms,
                        }),
                        self.baseline,
                    )
            });
            if better {
                self.m.best_relative = Some(rel);
            }
        }
        let pad = |v: &[f64], n: usize| {
            (0..n)
                .map(|i| v.get(i).copied().unwrap_or(0.0) as f32)
                .collect::<Vec<f32>>()
        };
        if self.m.replay.len() == MEMORY {
            self.m.replay.remove(0);
        }
        self.m.replay.push(Transition {
            state: pad(obs.state, self.m.state_dims),
            action: pad(obs.action, self.m.dims),
            reward: r as f32,
            next_state: pad(obs.next_state, self.m.state_dims),
        });
        for _ in 0..UPDATES_PER_TRIAL {
            // A failed step leaves the networks as they were; the next trial still gets a
            // suggestion, and the error cannot come from input (shapes are fixed above).
            if self.train_step().is_err() {
                break;
            }
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
        .expect("plain data serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::Peak;
    use super::super::RandomSearch;
    use super::*;

    /// Runs `opt` on `peak` for `budget` trials and returns the regret of the best trial.
    fn best_regret(opt: &mut dyn Optimizer, peak: &Peak, budget: usize) -> f64 {
        let state = vec![0.0; 4];
        let mut best = f64::INFINITY;
        for _ in 0..budget {
            let x = opt.suggest(&state);
            best = best.min(peak.regret(&x));
            let perf = Some(peak.perf(&x));
            opt.observe(&Observation {
                state: &state,
                action: &x,
                next_state: &state,
                perf,
            });
        }
        best
    }

    fn three() -> Peak {
        Peak {
            center: vec![0.25, 0.7, 0.8],
            weights: vec![6.0, 4.0, 5.0],
        }
    }

    #[test]
    fn learns_the_peak_of_a_three_knob_function() {
        let peak = three();
        let budget = 150;
        let mut ddpg = Ddpg::new(3, 4, peak.baseline(), 1);
        let found = best_regret(&mut ddpg, &peak, budget);
        let greedy = peak.regret(&ddpg.greedy(&[0.0; 4]));
        let mut random: Vec<f64> = (0..5)
            .map(|s| best_regret(&mut RandomSearch::new(3, 100 + s), &peak, budget))
            .collect();
        random.sort_by(f64::total_cmp);
        eprintln!("ddpg best {found}, greedy {greedy}, random {random:?}");
        // The baseline (the centre) has regret 0.985 here, a random point about 2.
        assert!(
            greedy < 0.1,
            "the policy did not learn the peak: regret {greedy}"
        );
        assert!(
            found < random[2],
            "DDPG {found} vs random median {}",
            random[2]
        );
    }
}
