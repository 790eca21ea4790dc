//! A bloom filter over the user keys of one table (docs/formats.md, "Filter block").
//!
//! `filter := bits[m/8] k:u8`. Probe `i` (0 ≤ i < k) tests bit `(h + i·δ) mod m`, where
//! `h = xxh3_64(user_key)` and `δ = h.rotate_right(33)`, all in wrapping 64-bit arithmetic.
//! Consulted before any data block is read, so a miss costs no I/O.

use xxhash_rust::xxh3::xxh3_64;

pub fn key_hash(user_key: &[u8]) -> u64 {
    xxh3_64(user_key)
}

/// Number of probes for a given bits-per-key budget (ln 2 · bits/key is optimal).
pub fn probes_for(bits_per_key: u32) -> u8 {
    ((bits_per_key as f64 * 0.69).round() as u32).clamp(1, 30) as u8
}

/// Builds a filter from key hashes.
pub fn build(hashes: &[u64], bits_per_key: u32) -> Vec<u8> {
    let k = probes_for(bits_per_key);
    let bits = (hashes.len() as u64 * bits_per_key as u64).max(64);
    let bytes = bits.div_ceil(8) as usize;
    let m = bytes as u64 * 8;
    let mut out = vec![0u8; bytes + 1];
    for &h0 in hashes {
        let mut h = h0;
        let delta = h0.rotate_right(33);
        for _ in 0..k {
            let bit = h % m;
            out[(bit / 8) as usize] |= 1 << (bit % 8);
            h = h.wrapping_add(delta);
        }
    }
    out[bytes] = k;
    out
}

/// A parsed filter, borrowed from the table's filter block.
pub struct BloomFilter {
    data: Vec<u8>,
}

impl BloomFilter {
    /// `None` if the block is malformed (the caller reports corruption).
    pub fn new(data: Vec<u8>) -> Option<BloomFilter> {
        if data.len() < 2 {
            return None;
        }
        let k = *data.last()?;
        if k == 0 || k > 30 {
            return None;
        }
        Some(BloomFilter { data })
    }

    /// False means the key is certainly absent.
    pub fn may_contain(&self, hash: u64) -> bool {
        let bytes = self.data.len() - 1;
        let m = bytes as u64 * 8;
        let k = self.data[bytes];
        let mut h = hash;
        let delta = hash.rotate_right(33);
        for _ in 0..k {
            let bit = h % m;
            if self.data[(bit / 8) as usize] & (1 << (bit % 8)) == 0 {
                return false;
            }
            h = h.wrapping_add(delta);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys: Vec<Vec<u8>> = (0..10_000u32)
            .map(|i| format!("key{i}").into_bytes())
            .collect();
        let hashes: Vec<u64> = keys.iter().map(|k| key_hash(k)).collect();
        let f = BloomFilter::new(build(&hashes, 10)).unwrap();
        for h in &hashes {
            assert!(f.may_contain(*h));
        }
        let fp = (0..10_000u32)
            .filter(|i| f.may_contain(key_hash(format!("absent{i}").as_bytes())))
            .count();
        assert!(fp < 250, "false positive rate {fp}/10000 is far above ~1%");
    }

    #[test]
    fn malformed_filters_are_rejected() {
        assert!(BloomFilter::new(vec![]).is_none());
        assert!(BloomFilter::new(vec![0xff, 0]).is_none());
        assert!(BloomFilter::new(vec![0xff, 31]).is_none());
    }
}
