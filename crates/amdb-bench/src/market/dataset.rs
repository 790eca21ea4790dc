//! The benchmark's data: `symbols` series of 15-minute bars from `amdb_market::gen`, and the
//! checksums every system's reads are compared with.

use amdb_market::gen;
use amdb_market::{Bars, Timeframe};
use rayon::prelude::*;

use crate::{BenchError, Result};

/// Seed of every generated series.
pub const SEED: u64 = 1;
/// Timeframe of the dataset.
pub const TF: Timeframe = Timeframe::M15;

/// The generated series, in symbol order.
pub struct Dataset {
    pub symbols: Vec<String>,
    pub bars: Vec<Bars>,
    pub sums: Vec<Checksum>,
    pub bars_per_symbol: usize,
}

impl Dataset {
    /// `symbols` series of `years` of 15m bars each (generated in parallel, untimed).
    pub fn generate(symbols: usize, years: f64) -> Result<Dataset> {
        let per = gen::bars_for_years(TF, years);
        if symbols == 0 || per == 0 {
            return Err(BenchError::InvalidArgument(format!(
                "the dataset is empty: {symbols} symbols of {years} years ({per} bars each)"
            )));
        }
        let bars: Vec<Bars> = (0..symbols)
            .into_par_iter()
            .map(|i| gen::generate(SEED, i, TF, gen::DEFAULT_START_NS, per))
            .collect();
        let sums = bars.par_iter().map(Checksum::of).collect();
        Ok(Dataset {
            symbols: (0..symbols).map(gen::symbol_name).collect(),
            bars,
            sums,
            bars_per_symbol: per,
        })
    }

    pub fn total_rows(&self) -> u64 {
        self.bars.iter().map(|b| b.len() as u64).sum()
    }
}

/// Row count and a position-sensitive hash of every column's exact bits: two `Bars` agree
/// only if they hold the same values in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    pub hash: u64,
}

impl Checksum {
    pub fn of(b: &Bars) -> Checksum {
        let n = b.len();
        let lens = [
            b.open.len(),
            b.high.len(),
            b.low.len(),
            b.close.len(),
            b.volume.len(),
        ];
        // Ragged columns are a wrong answer too: make them hash differently.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325
            ^ lens.iter().fold(0u64, |a, &l| {
                a.wrapping_mul(31).wrapping_add((l != n) as u64)
            });
        let mix = |h: u64, v: u64| (h.rotate_left(23) ^ v).wrapping_mul(0x0000_0100_0000_01b3);
        for i in 0..n {
            h = mix(h, b.ts[i] as u64);
            for col in [&b.open, &b.high, &b.low, &b.close, &b.volume] {
                h = mix(h, col.get(i).map_or(u64::MAX, |v| v.to_bits()));
            }
        }
        Checksum {
            rows: n as u64,
            hash: h,
        }
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.hash)
    }
}

/// Fails with `BenchError::Verify` unless `got` matches `want`.
pub fn verify(case: &str, system: &str, what: &str, got: &Bars, want: &Checksum) -> Result<()> {
    let sum = Checksum::of(got);
    if sum == *want {
        return Ok(());
    }
    let detail = if sum.rows != want.rows {
        format!(
            "{system} returned {} rows of {what}, expected {}",
            sum.rows, want.rows
        )
    } else {
        format!(
            "{system} returned {} rows of {what} whose values differ from the generated data (checksum {} != {})",
            sum.rows,
            sum.hex(),
            want.hex()
        )
    };
    Err(BenchError::Verify {
        case: case.to_string(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_sees_order_values_and_length() {
        let a = gen::generate(SEED, 0, TF, gen::DEFAULT_START_NS, 100);
        let s = Checksum::of(&a);
        assert_eq!(s, Checksum::of(&a.clone()));
        let mut b = a.clone();
        b.close[50] = f64::from_bits(b.close[50].to_bits() + 1);
        assert_ne!(Checksum::of(&b), s);
        let mut c = a.clone();
        c.open.swap(3, 4);
        assert_ne!(Checksum::of(&c), s);
        let mut d = a.clone();
        d.volume.pop();
        assert_ne!(Checksum::of(&d), s);
        assert!(verify("x", "y", "z", &a.slice(0..99), &s)
            .unwrap_err()
            .to_string()
            .contains("99 rows"));
    }
}
