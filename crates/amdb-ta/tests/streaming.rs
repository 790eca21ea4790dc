//! Streaming equals batch, bit for bit, also when the input arrives in chunks.

use amdb_ta::*;
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
        let split = |mut update: Box<dyn FnMut(f64) -> Option<f64>>| -> Vec<u64> {
            let mut got = stream(&mut update, a);
            got.extend(stream(&mut update, b));
            bits(&got)
        };
        let mut s = Sma::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&sma(&x, period)));
        let mut s = Ema::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&ema(&x, period)));
        let mut s = Rsi::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&rsi(&x, period)));
        let mut s = RsiCutler::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&rsi_cutler(&x, period)));
        let mut s = StdDev::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&stddev(&x, period)));
        let mut s = Wma::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&wma(&x, period)));
        let mut s = Dema::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&dema(&x, period)));
        let mut s = Tema::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&tema(&x, period)));
        let mut s = Roc::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&roc(&x, period)));
        let mut s = VolumeRatio::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&volume_ratio(&x, period)));
        let mut s = Volatility::new(period);
        prop_assert_eq!(split(Box::new(move |v| s.update(v))), bits(&volatility(&x, period)));
    }

    #[test]
    fn streaming_is_batch_for_bar_indicators(
        rows in prop::collection::vec((1.0f64..1000.0, 0.0f64..5.0, 0.0f64..5.0, 0.0f64..1e4), 0..200),
        period in 2usize..30,
        cut in 0usize..200,
    ) {
        let close: Vec<f64> = rows.iter().map(|r| r.0).collect();
        let high: Vec<f64> = rows.iter().map(|r| r.0 + r.1).collect();
        let low: Vec<f64> = rows.iter().map(|r| r.0 - r.2).collect();
        let volume: Vec<f64> = rows.iter().map(|r| r.3).collect();
        let cut = cut.min(rows.len());
        let hlc = |i: usize| (high[i], low[i], close[i]);
        let stream3 = |update: &mut dyn FnMut(f64, f64, f64) -> Option<f64>| -> Vec<f64> {
            let mut out: Vec<f64> = (0..cut).map(|i| { let (h, l, c) = hlc(i); update(h, l, c).unwrap_or(f64::NAN) }).collect();
            out.extend((cut..rows.len()).map(|i| { let (h, l, c) = hlc(i); update(h, l, c).unwrap_or(f64::NAN) }));
            out
        };
        let mut s = Atr::new(period);
        prop_assert_eq!(bits(&stream3(&mut |h, l, c| s.update(h, l, c))), bits(&atr(&high, &low, &close, period)));
        let mut s = Natr::new(period);
        prop_assert_eq!(bits(&stream3(&mut |h, l, c| s.update(h, l, c))), bits(&natr(&high, &low, &close, period)));
        let mut s = WillR::new(period);
        prop_assert_eq!(bits(&stream3(&mut |h, l, c| s.update(h, l, c))), bits(&willr(&high, &low, &close, period)));
        let mut s = Obv::new();
        let got: Vec<f64> = close.iter().zip(&volume).map(|(&c, &v)| s.update(c, v)).collect();
        prop_assert_eq!(bits(&got), bits(&obv(&close, &volume)));
    }
}
