//! A small fully connected network on candle's CPU device, whose weights come from our own
//! seeded generator (candle's CPU generator cannot be seeded) and can be saved as plain
//! numbers and loaded back.

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::super::rng::Rng;

/// What the last layer's output goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Into `(0, 1)`: the actor's knobs.
    Sigmoid,
    /// Unchanged: the critic's value.
    Linear,
}

/// Layers `sizes[i] → sizes[i+1]`, ReLU between them.
///
/// Invariant: layer `i`'s weight is a `sizes[i+1] × sizes[i]` f32 matrix and its bias a
/// `sizes[i+1]` f32 vector on the CPU; every constructor checks it, so the tensor operations
/// below can fail only on an input of the wrong width, which the agent never builds.
pub struct Mlp {
    sizes: Vec<usize>,
    /// `(weight, bias)` per layer.
    layers: Vec<(Var, Var)>,
    output: Output,
}

/// A network's weights as plain numbers, the form snapshots store: `shapes[i]` is layer
/// `i`'s `[out, in]`, and `values` holds, per layer, its weight (row-major) then its bias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpWeights {
    shapes: Vec<[usize; 2]>,
    values: Vec<Vec<f32>>,
}

/// A CPU variable from numbers whose count the caller has matched to the shape.
fn var(values: Vec<f32>, shape: &[usize]) -> Var {
    Var::from_vec(values, shape, &Device::Cpu)
        .expect("the value count matches the shape, and CPU allocation does not fail")
}

impl Mlp {
    /// Fresh weights: uniform in ±1/√fan_in, except the last layer's in ±3·10⁻³ (as DDPG's
    /// authors do), so initial outputs sit near the middle: the actor starts at about 0.5
    /// for every knob and the critic at about 0.
    pub fn new(sizes: &[usize], output: Output, rng: &mut Rng) -> Mlp {
        let mut layers = Vec::new();
        for (i, w) in sizes.windows(2).enumerate() {
            let (fan_in, out) = (w[0], w[1]);
            let bound = if i + 2 == sizes.len() {
                3e-3
            } else {
                1.0 / (fan_in.max(1) as f64).sqrt()
            };
            let mut draw = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32)
                    .collect()
            };
            let weight = var(draw(out * fan_in), &[out, fan_in]);
            let bias = var(draw(out), &[out]);
            layers.push((weight, bias));
        }
        Mlp {
            sizes: sizes.to_vec(),
            layers,
            output,
        }
    }

    /// A network of `sizes` with the stored weights; the error names the first layer whose
    /// shape or value count differs, or a non-finite value.
    pub fn from_weights(w: &MlpWeights, sizes: &[usize], output: Output) -> Result<Mlp, String> {
        let layers = sizes.len().saturating_sub(1);
        if w.shapes.len() != layers || w.values.len() != 2 * layers {
            return Err(format!(
                "{} layers stored, {} expected",
                w.shapes.len(),
                layers
            ));
        }
        let mut vars = Vec::new();
        for (k, pair) in sizes.windows(2).enumerate() {
            let want = [pair[1], pair[0]];
            if w.shapes[k] != want {
                return Err(format!(
                    "layer {k} is {}×{}, expected {}×{}",
                    w.shapes[k][0], w.shapes[k][1], want[0], want[1]
                ));
            }
            let (weight, bias) = (&w.values[2 * k], &w.values[2 * k + 1]);
            if weight.len() != want[0] * want[1] || bias.len() != want[0] {
                return Err(format!("layer {k} has the wrong number of values"));
            }
            if !weight.iter().chain(bias).all(|v| v.is_finite()) {
                return Err(format!("layer {k} has a non-finite weight"));
            }
            vars.push((var(weight.clone(), &want), var(bias.clone(), &want[..1])));
        }
        Ok(Mlp {
            sizes: sizes.to_vec(),
            layers: vars,
            output,
        })
    }

    /// An independent copy (new variables with the same values): how target networks start.
    pub fn duplicate(&self) -> Mlp {
        Mlp::from_weights(&self.weights(), &self.sizes, self.output)
            .expect("a network's own weights match its own layout")
    }

    /// The network applied to a batch, `x` being `batch × sizes[0]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            x = x
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            if i + 1 < self.layers.len() {
                x = x.relu()?;
            }
        }
        if self.output == Output::Sigmoid {
            x = candle_nn::ops::sigmoid(&x)?;
        }
        Ok(x)
    }

    /// The trainable variables, for the optimizer.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    /// The weights as plain numbers.
    pub fn weights(&self) -> MlpWeights {
        let mut shapes = Vec::new();
        let mut values = Vec::new();
        for ((w, b), pair) in self.layers.iter().zip(self.sizes.windows(2)) {
            shapes.push([pair[1], pair[0]]);
            for t in [w.as_tensor(), b.as_tensor()] {
                values.push(
                    t.flatten_all()
                        .and_then(|t| t.to_vec1::<f32>())
                        .expect("CPU f32 variables flatten to f32 vectors"),
                );
            }
        }
        MlpWeights { shapes, values }
    }

    /// Soft update towards `online` (same layout): `self ← τ·online + (1 − τ)·self`.
    pub fn follow(&self, online: &Mlp, tau: f64) -> candle_core::Result<()> {
        for ((tw, tb), (ow, ob)) in self.layers.iter().zip(&online.layers) {
            for (t, o) in [(tw, ow), (tb, ob)] {
                let mixed = ((o.as_tensor() * tau)? + (t.as_tensor() * (1.0 - tau))?)?;
                t.set(&mixed)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip_and_layouts_are_checked() {
        let net = Mlp::new(&[3, 5, 2], Output::Sigmoid, &mut Rng::new(1));
        let w = net.weights();
        let back = Mlp::from_weights(&w, &[3, 5, 2], Output::Sigmoid).unwrap();
        assert_eq!(back.weights(), w);
        let x = Tensor::from_vec(vec![0.1f32, -0.2, 0.3], (1, 3), &Device::Cpu).unwrap();
        let (a, b) = (net.forward(&x).unwrap(), back.forward(&x).unwrap());
        assert_eq!(
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        let e = Mlp::from_weights(&w, &[3, 5, 4], Output::Sigmoid)
            .err()
            .unwrap();
        assert_eq!(e, "layer 1 is 2×5, expected 4×5");
        let mut nan = w.clone();
        nan.values[0][0] = f32::NAN;
        assert!(Mlp::from_weights(&nan, &[3, 5, 2], Output::Sigmoid)
            .err()
            .unwrap()
            .contains("non-finite"));
    }

    #[test]
    fn same_seed_same_weights_and_the_actor_starts_in_the_middle() {
        let a = Mlp::new(&[4, 64, 64, 3], Output::Sigmoid, &mut Rng::new(7));
        let b = Mlp::new(&[4, 64, 64, 3], Output::Sigmoid, &mut Rng::new(7));
        assert_eq!(a.weights(), b.weights());
        let x = Tensor::from_vec(vec![1.0f32, -2.0, 0.5, 3.0], (1, 4), &Device::Cpu).unwrap();
        let out = a.forward(&x).unwrap().flatten_all().unwrap();
        for v in out.to_vec1::<f32>().unwrap() {
            assert!((v - 0.5).abs() < 0.01, "{v}");
        }
    }

    #[test]
    fn follow_mixes_towards_the_online_network() {
        let online = Mlp::new(&[1, 2], Output::Linear, &mut Rng::new(1));
        let target = Mlp::new(&[1, 2], Output::Linear, &mut Rng::new(2));
        let (o, t) = (online.weights(), target.weights());
        target.follow(&online, 0.25).unwrap();
        let m = target.weights();
        for (k, vals) in m.values.iter().enumerate() {
            for (i, v) in vals.iter().enumerate() {
                let want = 0.25 * o.values[k][i] + 0.75 * t.values[k][i];
                assert!((v - want).abs() < 1e-6, "{v} {want}");
            }
        }
    }
}
