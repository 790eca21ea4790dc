//! Deterministic synthetic bars for demos, tests and benchmarks: a geometric random walk per
//! symbol with intrabar ranges, prices on a 0.01 tick and whole-number volumes with an
//! intraday rhythm. The same (seed, symbol index, timeframe, start, count) always gives the
//! same bars.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::bar::{Bar, Bars};
use crate::timeframe::Timeframe;

/// 2022-01-01T00:00:00Z: the default start, so 4 years of 15m bars are 140,256 bars.
pub const DEFAULT_START_NS: i64 = 1_640_995_200 * 1_000_000_000;
const TICK: f64 = 0.01;
const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;

/// The name of generated symbol `i`: `SYM000`, `SYM001`, ...
pub fn symbol_name(i: usize) -> String {
    format!("SYM{i:03}")
}

/// Bars covering `years` of `tf` from `start_ns`.
pub fn bars_for_years(tf: Timeframe, years: f64) -> usize {
    (years * SECONDS_PER_YEAR * 1e9 / tf.nanos() as f64).round() as usize
}

/// `count` bars of symbol number `symbol` for `seed`, `tf` apart from `start_ns`.
pub fn generate(seed: u64, symbol: usize, tf: Timeframe, start_ns: i64, count: usize) -> Bars {
    let mut rng = StdRng::seed_from_u64(seed ^ (symbol as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    // Each symbol its own price level (10 to 1000) and annual volatility (20% to 90%).
    let mut price = round_tick(10.0 * 100f64.powf(rng.gen::<f64>()));
    let annual_vol = 0.2 + 0.7 * rng.gen::<f64>();
    let bar_vol = annual_vol * (tf.nanos() as f64 / 1e9 / SECONDS_PER_YEAR).sqrt();
    let base_volume = 1_000.0 * 10f64.powf(2.0 * rng.gen::<f64>());
    let mut bars = Bars::with_capacity(count);
    for i in 0..count {
        let ts = start_ns + i as i64 * tf.nanos();
        let open = price;
        let close = round_tick((open * (bar_vol * normal(&mut rng)).exp()).max(TICK));
        let wick = |rng: &mut StdRng| (bar_vol * 0.6 * normal(rng).abs()).min(0.5);
        let high = round_up_tick(open.max(close) * (1.0 + wick(&mut rng)));
        let low = round_down_tick(open.min(close) * (1.0 - wick(&mut rng)))
            .max(TICK)
            .min(open.min(close));
        // Busier around 14:00-21:00 UTC, as equity and crypto volumes are.
        let hour = (ts.rem_euclid(86_400_000_000_000) / 3_600_000_000_000) as f64;
        let rhythm = 1.0 + 0.8 * (((hour - 17.0) / 24.0) * std::f64::consts::TAU).cos();
        let volume = (base_volume * rhythm * (0.5 * normal(&mut rng)).exp()).round();
        bars.push(Bar {
            ts,
            open,
            high,
            low,
            close,
            volume,
        });
        price = close;
    }
    bars
}

fn round_tick(p: f64) -> f64 {
    (p / TICK).round() / 100.0
}

fn round_up_tick(p: f64) -> f64 {
    (p / TICK - 1e-9).ceil() / 100.0
}

fn round_down_tick(p: f64) -> f64 {
    (p / TICK + 1e-9).floor() / 100.0
}

/// A standard normal variate (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_valid_and_on_tick() {
        let a = generate(1, 3, Timeframe::M15, DEFAULT_START_NS, 5_000);
        assert_eq!(a, generate(1, 3, Timeframe::M15, DEFAULT_START_NS, 5_000));
        assert_ne!(a, generate(2, 3, Timeframe::M15, DEFAULT_START_NS, 5_000));
        a.check().unwrap();
        for b in a.iter() {
            assert!(
                b.high >= b.open.max(b.close) && b.low <= b.open.min(b.close),
                "{b:?}"
            );
            for p in [b.open, b.high, b.low, b.close] {
                assert_eq!(((p * 100.0).round() / 100.0).to_bits(), p.to_bits());
            }
            assert_eq!(b.volume.fract(), 0.0);
        }
        assert_eq!(bars_for_years(Timeframe::M15, 4.0), 140_256);
    }
}
