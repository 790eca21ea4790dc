//! Keys and values the way LevelDB's `db_bench` makes them, so numbers compare.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Length of benchmark keys: the decimal index zero-padded to 16 digits.
pub const KEY_LEN: usize = 16;

/// Writes `index` as 16 zero-padded decimal digits (`db_bench`'s `%016d`). Indexes of 10^16
/// or more keep only their low 16 digits.
pub fn format_key(index: u64, out: &mut [u8; KEY_LEN]) {
    let mut n = index;
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// The key for `index` as a new array.
pub fn key(index: u64) -> [u8; KEY_LEN] {
    let mut k = [0; KEY_LEN];
    format_key(index, &mut k);
    k
}

/// Values like `db_bench`'s `RandomGenerator` with `--compression_ratio=0.5`: a fixed pool of
/// pseudo-random data (at least 1 MiB) built from 100-byte pieces, each 50 random printable
/// bytes followed by the same 50 again, so a compressor halves it. Values are successive
/// windows of the pool. Clones share the pool and keep their own position.
#[derive(Clone)]
pub struct ValueGenerator {
    pool: Arc<[u8]>,
    pos: usize,
}

impl ValueGenerator {
    /// A pool fit for values of `value_size` bytes, from a fixed seed (the same on every run).
    pub fn new(value_size: usize) -> Self {
        Self::with_ratio(value_size, 0.5, 301)
    }

    /// A pool whose 100-byte pieces are `ratio` random bytes, the rest repeating them.
    pub fn with_ratio(value_size: usize, ratio: f64, seed: u64) -> Self {
        const PIECE: usize = 100;
        let want = (1 << 20).max(value_size.saturating_mul(2));
        let raw_len = ((PIECE as f64 * ratio) as usize).clamp(1, PIECE);
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut pool = Vec::with_capacity(want + PIECE);
        let mut raw = vec![0u8; raw_len];
        while pool.len() < want {
            for b in raw.iter_mut() {
                *b = b' ' + rng.gen_range(0..95u8);
            }
            let start = pool.len();
            while pool.len() - start < PIECE {
                let n = raw_len.min(PIECE - (pool.len() - start));
                pool.extend_from_slice(&raw[..n]);
            }
        }
        ValueGenerator {
            pool: pool.into(),
            pos: 0,
        }
    }

    /// A generator on the same pool starting at another offset (for another thread).
    pub fn fork(&self, salt: usize) -> Self {
        ValueGenerator {
            pool: self.pool.clone(),
            pos: salt.wrapping_mul(7919) % self.pool.len(),
        }
    }

    /// The next value of `len` bytes (`len` at most half the pool).
    pub fn next_value(&mut self, len: usize) -> &[u8] {
        if self.pos + len > self.pool.len() {
            self.pos = 0;
        }
        self.pos += len;
        &self.pool[self.pos - len..self.pos]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded_decimal() {
        assert_eq!(&key(0), b"0000000000000000");
        assert_eq!(&key(1234567), b"0000000001234567");
        assert!(key(99) < key(100));
    }

    #[test]
    fn values_are_half_repeated() {
        let mut g = ValueGenerator::new(100);
        let v = g.next_value(100).to_vec();
        assert_eq!(v.len(), 100);
        assert_eq!(v[..50], v[50..]);
        assert!(v.iter().all(|b| (b' '..=b'~').contains(b)));
        let w = g.next_value(100).to_vec();
        assert_ne!(v, w);
    }

    #[test]
    fn large_values_fit() {
        let mut g = ValueGenerator::new(3 << 20);
        assert_eq!(g.next_value(3 << 20).len(), 3 << 20);
        assert_eq!(g.next_value(3 << 20).len(), 3 << 20);
    }
}
