//! The replay memory: the agent's past trials, sampled uniformly for minibatch updates so
//! consecutive (strongly correlated) trials do not dominate a gradient step.

use std::collections::VecDeque;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::super::rng::Rng;

/// The most transitions kept; the oldest go first. Far above any tuning budget (trials take
/// minutes), so in practice nothing is forgotten; the bound only caps a snapshot's size.
pub const CAPACITY: usize = 10_000;

/// One trial: in `state`, `action` earned `reward` and led to `next_state`.
///
/// Invariant (checked on restore, kept by the agent): `state` and `next_state` have the
/// network's state width, `action` the number of knobs, all values finite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The state before the trial.
    pub state: Vec<f32>,
    /// The configuration tried.
    pub action: Vec<f32>,
    /// Its CDBTune reward.
    pub reward: f32,
    /// The state after the trial.
    pub next_state: Vec<f32>,
}

impl Transition {
    /// Whether the widths are `state_dims` and `dims` and every number is finite.
    pub fn fits(&self, state_dims: usize, dims: usize) -> bool {
        self.state.len() == state_dims
            && self.next_state.len() == state_dims
            && self.action.len() == dims
            && self.reward.is_finite()
            && self
                .state
                .iter()
                .chain(&self.next_state)
                .chain(&self.action)
                .all(|v| v.is_finite())
    }
}

/// A bounded first-in, first-out memory. Serialises as the list of its transitions, oldest
/// first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Replay {
    items: VecDeque<Transition>,
}

/// A minibatch as tensors: states `b × s`, actions `b × d`, rewards `b × 1`, next states.
pub struct Batch {
    /// States before.
    pub state: Tensor,
    /// Actions tried.
    pub action: Tensor,
    /// Rewards, one column.
    pub reward: Tensor,
    /// States after.
    pub next_state: Tensor,
}

impl Replay {
    /// Stores a transition, forgetting the oldest when full.
    pub fn push(&mut self, t: Transition) {
        if self.items.len() == CAPACITY {
            self.items.pop_front();
        }
        self.items.push_back(t);
    }

    /// The number of transitions held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every transition, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Transition> {
        self.items.iter()
    }

    /// Keeps only the newest [`CAPACITY`] transitions (a snapshot from an amdb with a larger
    /// bound).
    pub fn truncate_to_capacity(&mut self) {
        while self.items.len() > CAPACITY {
            self.items.pop_front();
        }
    }

    /// `size` transitions drawn uniformly with replacement, as tensors; `None` when empty.
    /// Widths are the transitions' own, which the invariant makes uniform.
    pub fn sample(&self, size: usize, rng: &mut Rng) -> Option<candle_core::Result<Batch>> {
        if self.is_empty() {
            return None;
        }
        let picks: Vec<&Transition> = (0..size)
            .map(|_| &self.items[rng.below(self.len())])
            .collect();
        let rows = |f: &dyn Fn(&Transition) -> &[f32]| {
            let width = picks.first().map_or(0, |t| f(t).len());
            let flat: Vec<f32> = picks.iter().flat_map(|t| f(t).iter().copied()).collect();
            Tensor::from_vec(flat, (size, width), &Device::Cpu)
        };
        let rewards: Vec<f32> = picks.iter().map(|t| t.reward).collect();
        let batch = (|| {
            Ok(Batch {
                state: rows(&|t| &t.state)?,
                action: rows(&|t| &t.action)?,
                reward: Tensor::from_vec(rewards, (size, 1), &Device::Cpu)?,
                next_state: rows(&|t| &t.next_state)?,
            })
        })();
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(i: usize) -> Transition {
        Transition {
            state: vec![i as f32],
            action: vec![0.5, 0.5],
            reward: i as f32,
            next_state: vec![i as f32 + 1.0],
        }
    }

    #[test]
    fn bounded_and_first_in_first_out() {
        let mut r = Replay::default();
        for i in 0..CAPACITY + 5 {
            r.push(t(i));
        }
        assert_eq!(r.len(), CAPACITY);
        assert_eq!(r.iter().next().unwrap().reward, 5.0);
        assert!(t(1).fits(1, 2) && !t(1).fits(2, 2) && !t(1).fits(1, 3));
    }

    #[test]
    fn samples_rows_that_belong_together() {
        let mut r = Replay::default();
        assert!(r.sample(4, &mut Rng::new(1)).is_none());
        for i in 0..10 {
            r.push(t(i));
        }
        let b = r.sample(16, &mut Rng::new(1)).unwrap().unwrap();
        assert_eq!(b.action.dims(), &[16, 2]);
        let s = b.state.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let rw = b.reward.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let s2 = b
            .next_state
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for i in 0..16 {
            assert_eq!(s[i], rw[i]);
            assert_eq!(s2[i], rw[i] + 1.0);
        }
    }
}
