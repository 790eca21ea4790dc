//! A small seeded random number generator whose whole state is one `u64`, so optimizer
//! snapshots can store it and a resumed run draws exactly what an uninterrupted one would.
//! SplitMix64 (Steele, Lea and Flood, 2014): fast, well mixed, and more than enough for
//! exploration noise, minibatch sampling, weight initialisation and designs.
//!
//! Why not `rand`'s `SmallRng` or `StdRng`: their state cannot be serialised without extra
//! crate features, a snapshot would have to store the seed and the number of draws and
//! replay them on restore, and `rand` documents both algorithms as free to change between
//! releases, which would silently change what a stored seed means. Every random number the
//! optimizers use, including the DDPG networks' initial weights (candle's own CPU generator
//! cannot be seeded), comes from this generator.

use serde::{Deserialize, Serialize};

/// The generator; serialises as its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed`; different seeds give unrelated streams.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed ^ 0x6a09_e667_f3bc_c909,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `n` points of a Latin hypercube in `[0, 1]^dims`: each coordinate's `n` values fall
    /// one in each of `n` equal strata, so even a few points cover every knob's range.
    pub fn latin_hypercube(&mut self, n: usize, dims: usize) -> Vec<Vec<f64>> {
        let mut points = vec![vec![0.0; dims]; n];
        for d in 0..dims {
            let mut strata: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = self.below(i + 1);
                strata.swap(i, j);
            }
            for (p, s) in points.iter_mut().zip(strata) {
                p[d] = (s as f64 + self.uniform()) / n as f64;
            }
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_sane_moments() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
        let mut r = Rng::new(1);
        let xs: Vec<f64> = (0..20000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
        assert!((0..1000).all(|_| (0.0..1.0).contains(&r.uniform())));
    }

    #[test]
    fn latin_hypercube_fills_every_stratum() {
        let pts = Rng::new(3).latin_hypercube(8, 3);
        for d in 0..3 {
            let mut strata: Vec<usize> = pts.iter().map(|p| (p[d] * 8.0) as usize).collect();
            strata.sort();
            assert_eq!(strata, (0..8).collect::<Vec<_>>());
        }
    }
}
