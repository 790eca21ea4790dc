//! Streaming equals batch, bit for bit, also when the input arrives in chunks.

use amdb_ta::{ema, rsi, rsi_cutler, sma, stddev, Ema, Rsi, RsiCutler, Sma, StdDev};
use proptest::prelude::*;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn stream(mut update: impl FnMut(f64) -> Option<f64>, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| update(v).unwrap_or(f64::NAN)).collect()
}

proptest! {
    #[test]
    fn streaming_is_batch(
        x in prop::collection::vec(1.0f64..1000.0, 0..300),
        period in 2usize..40,
        cut in 0usize..300,
    ) {
        let cut = cut.min(x.len());
        let (a, b) = x.split_at(cut);
        // One state fed the two chunks in turn, against batch over the whole range.
        let mut s = Sma::new(period);
        let mut got = stream(|v| s.update(v), a);
        got.extend(stream(|v| s.update(v), b));
        prop_assert_eq!(bits(&got), bits(&sma(&x, period)));

        let mut s = Ema::new(period);
        let mut got = stream(|v| s.update(v), a);
        got.extend(stream(|v| s.update(v), b));
        prop_assert_eq!(bits(&got), bits(&ema(&x, period)));

        let mut s = Rsi::new(period);
        let mut got = stream(|v| s.update(v), a);
        got.extend(stream(|v| s.update(v), b));
        prop_assert_eq!(bits(&got), bits(&rsi(&x, period)));

        let mut s = RsiCutler::new(period);
        let mut got = stream(|v| s.update(v), a);
        got.extend(stream(|v| s.update(v), b));
        prop_assert_eq!(bits(&got), bits(&rsi_cutler(&x, period)));

        let mut s = StdDev::new(period);
        let mut got = stream(|v| s.update(v), a);
        got.extend(stream(|v| s.update(v), b));
        prop_assert_eq!(bits(&got), bits(&stddev(&x, period)));
    }
}
