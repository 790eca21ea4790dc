//! Streaming equals batch, bit for bit, also when the input arrives in chunks; and the
//! `_into` variants equal the allocating functions.
//!
//! The batch functions of the hot indicators run kernels compiled with FMA instructions
//! (on a CPU that has them) and packed divisions, while `update()` is plain scalar code
//! whose `mul_add` calls the C library: these tests are what holds the two to the same
//! bits.

use amdb_ta::*;
use proptest::prelude::*;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// One value a bar from a streaming indicator; NaN for `None`.
type Single<'a> = Box<dyn FnMut(f64) -> Option<f64> + 'a>;

/// One state fed the chunks in turn.
fn stream_chunks(mut update: Single<'_>, chunks: &[&[f64]]) -> Vec<f64> {
    chunks
        .iter()
        .flat_map(|c| c.iter())
        .map(|&v| update(v).unwrap_or(f64::NAN))
        .collect()
}

/// Splits `x` at the given cut points (clamped, in order).
fn cut<'a, T>(x: &'a [T], cuts: &[usize]) -> Vec<&'a [T]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(x.len())).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(&x[start..p]);
        start = p;
    }
    out.push(&x[start..]);
    out
}

/// Every single-input indicator: (name, streaming state, batch function).
#[allow(clippy::type_complexity)]
fn single_input(
    period: usize,
) -> Vec<(
    &'static str,
    Single<'static>,
    Box<dyn Fn(&[f64]) -> Vec<f64>>,
)> {
    let p = period;
    let mut v: Vec<(
        &'static str,
        Single<'static>,
        Box<dyn Fn(&[f64]) -> Vec<f64>>,
    )> = Vec::new();
    macro_rules! add {
        ($name:expr, $state:expr, $batch:expr) => {{
            let mut s = $state;
            v.push(($name, Box::new(move |x| s.update(x)), Box::new($batch)));
        }};
    }
    add!("sma", Sma::new(p), move |x| sma(x, p));
    add!("ema", Ema::new(p), move |x| ema(x, p));
    add!("rsi", Rsi::new(p), move |x| rsi(x, p));
    add!("rsi_cutler", RsiCutler::new(p), move |x| rsi_cutler(x, p));
    add!("stddev", StdDev::new(p), move |x| stddev(x, p));
    add!("stddev_sample", StdDevSample::new(p), move |x| {
        stddev_sample(x, p)
    });
    add!("wma", Wma::new(p), move |x| wma(x, p));
    add!("dema", Dema::new(p), move |x| dema(x, p));
    add!("tema", Tema::new(p), move |x| tema(x, p));
    add!("roc", Roc::new(p), move |x| roc(x, p));
    add!("volume_ratio", VolumeRatio::new(p), move |x| volume_ratio(
        x, p
    ));
    add!("volatility", Volatility::new(p), move |x| volatility(x, p));
    // Multi-output indicators, one line at a time.
    let (fast, slow, signal) = (2 + p / 3, p + 1, 1 + p / 4);
    {
        let mut s = Macd::new(fast, slow, signal);
        v.push((
            "macd",
            Box::new(move |x| s.update(x).map(|m| m.macd)),
            Box::new(move |x| macd(x, fast, slow, signal).macd),
        ));
        let mut s = Macd::new(fast, slow, signal);
        v.push((
            "macd.signal",
            Box::new(move |x| s.update(x).map(|m| m.signal)),
            Box::new(move |x| macd(x, fast, slow, signal).signal),
        ));
        let mut s = Macd::new(fast, slow, signal);
        v.push((
            "macd.hist",
            Box::new(move |x| s.update(x).map(|m| m.hist)),
            Box::new(move |x| macd(x, fast, slow, signal).hist),
        ));
    }
    {
        let (up, dn) = (2.0, 1.5);
        let mut s = Bbands::new(p, up, dn);
        v.push((
            "bbands.upper",
            Box::new(move |x| s.update(x).map(|b| b.upper)),
            Box::new(move |x| bbands(x, p, up, dn).upper),
        ));
        let mut s = Bbands::new(p, up, dn);
        v.push((
            "bbands.middle",
            Box::new(move |x| s.update(x).map(|b| b.middle)),
            Box::new(move |x| bbands(x, p, up, dn).middle),
        ));
        let mut s = Bbands::new(p, up, dn);
        v.push((
            "bbands.lower",
            Box::new(move |x| s.update(x).map(|b| b.lower)),
            Box::new(move |x| bbands(x, p, up, dn).lower),
        ));
    }
    v
}

/// A bar: high, low, close, volume.
type Bar = (f64, f64, f64, f64);
type BarStream<'a> = Box<dyn FnMut(Bar) -> Option<f64> + 'a>;
type BarBatch = Box<dyn Fn(&[f64], &[f64], &[f64], &[f64]) -> Vec<f64>>;

/// Every bar indicator: (name, streaming state, batch function of high, low, close, volume).
fn bar_input(period: usize) -> Vec<(&'static str, BarStream<'static>, BarBatch)> {
    let p = period;
    let mut v: Vec<(&'static str, BarStream<'static>, BarBatch)> = Vec::new();
    macro_rules! add {
        (
            $name:expr,
            $state:expr,
            |$s:ident, $b:ident| $update:expr,
            |$h:ident, $l:ident, $c:ident, $vol:ident| $batch:expr
        ) => {{
            let mut $s = $state;
            v.push((
                $name,
                Box::new(move |$b: Bar| $update),
                Box::new(move |$h: &[f64], $l: &[f64], $c: &[f64], $vol: &[f64]| {
                    let _ = (&$h, &$l, &$c, &$vol);
                    $batch
                }),
            ));
        }};
    }
    add!(
        "atr",
        Atr::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| atr(h, l, c, p)
    );
    add!(
        "natr",
        Natr::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| natr(h, l, c, p)
    );
    add!(
        "willr",
        WillR::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| willr(h, l, c, p)
    );
    add!(
        "obv",
        Obv::new(),
        |s, b| Some(s.update(b.2, b.3)),
        |h, l, c, vol| obv(c, vol)
    );
    add!(
        "cci",
        Cci::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| cci(h, l, c, p)
    );
    add!(
        "plus_di",
        PlusDi::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| plus_di(h, l, c, p)
    );
    add!(
        "minus_di",
        MinusDi::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| minus_di(h, l, c, p)
    );
    add!(
        "adx",
        Adx::new(p),
        |s, b| s.update(b.0, b.1, b.2),
        |h, l, c, vol| adx(h, l, c, p)
    );
    add!(
        "dmi.adx",
        Adx::new(p),
        |s, b| s.update_dmi(b.0, b.1, b.2).and_then(|d| d.adx),
        |h, l, c, vol| dmi(h, l, c, p).adx
    );
    add!(
        "dmi.plus",
        Adx::new(p),
        |s, b| s.update_dmi(b.0, b.1, b.2).map(|d| d.plus_di),
        |h, l, c, vol| dmi(h, l, c, p).plus_di
    );
    add!(
        "mfi",
        Mfi::new(p),
        |s, b| s.update(b.0, b.1, b.2, b.3),
        |h, l, c, vol| mfi(h, l, c, vol, p)
    );
    add!(
        "vwap",
        Vwap::new(),
        |s, b| s.update(b.0, b.1, b.2, b.3),
        |h, l, c, vol| vwap(h, l, c, vol)
    );
    add!(
        "vwap_rolling",
        RollingVwap::new(p),
        |s, b| s.update(b.0, b.1, b.2, b.3),
        |h, l, c, vol| vwap_rolling(h, l, c, vol, p)
    );
    let (k, sk, sd) = (p, 1 + p % 4, 1 + p % 3);
    add!(
        "stoch.k",
        Stoch::new(k, sk, sd),
        |s, b| s.update(b.0, b.1, b.2).map(|v| v.k),
        |h, l, c, vol| stoch(h, l, c, k, sk, sd).k
    );
    add!(
        "stoch.d",
        Stoch::new(k, sk, sd),
        |s, b| s.update(b.0, b.1, b.2).map(|v| v.d),
        |h, l, c, vol| stoch(h, l, c, k, sk, sd).d
    );
    add!(
        "stochf.k",
        StochF::new(k, sd),
        |s, b| s.update(b.0, b.1, b.2).map(|v| v.k),
        |h, l, c, vol| stochf(h, l, c, k, sd).k
    );
    add!(
        "stochf.d",
        StochF::new(k, sd),
        |s, b| s.update(b.0, b.1, b.2).map(|v| v.d),
        |h, l, c, vol| stochf(h, l, c, k, sd).d
    );
    v
}

fn check_single(x: &[f64], period: usize, cuts: &[usize]) -> Result<(), TestCaseError> {
    let chunks = cut(x, cuts);
    for (name, update, batch) in single_input(period) {
        let got = stream_chunks(update, &chunks);
        prop_assert_eq!(bits(&got), bits(&batch(x)), "{} period {}", name, period);
    }
    Ok(())
}

fn check_bars(rows: &[Bar], period: usize, cuts: &[usize]) -> Result<(), TestCaseError> {
    let high: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let low: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let close: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let volume: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let chunks = cut(rows, cuts);
    for (name, mut update, batch) in bar_input(period) {
        let got: Vec<f64> = chunks
            .iter()
            .flat_map(|c| c.iter())
            .map(|&b| update(b).unwrap_or(f64::NAN))
            .collect();
        prop_assert_eq!(
            bits(&got),
            bits(&batch(&high, &low, &close, &volume)),
            "{} period {}",
            name,
            period
        );
    }
    Ok(())
}

/// A random walk with the odd flat stretch, from proptest's raw draws.
fn walk(steps: &[f64]) -> Vec<f64> {
    let mut p = 100.0;
    steps
        .iter()
        .map(|&s| {
            // Draws near 0 repeat the last price: flat stretches and equal returns.
            if s.abs() > 0.002 {
                p *= 1.0 + s;
            }
            p
        })
        .collect()
}

proptest! {
    #[test]
    fn streaming_is_batch(
        steps in prop::collection::vec(-0.05f64..0.05, 0..400),
        period in 2usize..40,
        cuts in prop::collection::vec(0usize..400, 0..4),
    ) {
        check_single(&walk(&steps), period, &cuts)?;
    }

    #[test]
    fn streaming_is_batch_for_bar_indicators(
        rows in prop::collection::vec(
            (-0.05f64..0.05, 0.0f64..5.0, 0.0f64..5.0, 0.0f64..1e4),
            0..300,
        ),
        period in 2usize..30,
        cuts in prop::collection::vec(0usize..300, 0..4),
    ) {
        let close = walk(&rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let bars: Vec<Bar> = rows
            .iter()
            .zip(&close)
            // Every fourth bar or so without volume, to reach the zero-volume rules.
            .map(|(r, &c)| (c + r.1, c - r.2, c, if r.3 < 2500.0 { 0.0 } else { r.3 }))
            .collect();
        check_bars(&bars, period, &cuts)?;
    }
}

/// Long series, to reach the periodic fresh sums (every 1024 bars) and many pairs, cut at
/// odd and even places.
#[test]
fn long_series_in_chunks() {
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let n = 5000;
    let steps: Vec<f64> = (0..n).map(|_| (next() - 0.5) * 0.04).collect();
    let close = walk(&steps);
    let bars: Vec<Bar> = close
        .iter()
        .map(|&c| {
            let v = if next() < 0.1 {
                0.0
            } else {
                (next() * 1e6).round()
            };
            (c * (1.0 + next() * 0.01), c * (1.0 - next() * 0.01), c, v)
        })
        .collect();
    let cuts = [1, 2, 1023, 1024, 1025, 2048, 3001, 4999];
    for period in [2, 3, 14, 20, 25, 100] {
        check_single(&close, period, &cuts).unwrap();
        check_single(&bars.iter().map(|b| b.3).collect::<Vec<_>>(), period, &cuts).unwrap();
        check_bars(&bars, period, &cuts).unwrap();
    }
}

#[test]
fn into_variants_equal_the_allocating_functions() {
    let close = walk(
        &(0..3000)
            .map(|i| ((i * 7919 % 200) as f64 - 100.0) / 4000.0)
            .collect::<Vec<_>>(),
    );
    let volume: Vec<f64> = (0..3000).map(|i| ((i * 31 % 17) * 100) as f64).collect();
    for period in [2, 7, 14, 20, 25] {
        let mut out = vec![f64::NAN; close.len()];
        ema_into(&close, period, &mut out);
        assert_eq!(bits(&out), bits(&ema(&close, period)));
        rsi_into(&close, period, &mut out);
        assert_eq!(bits(&out), bits(&rsi(&close, period)));
        sma_into(&close, period, &mut out);
        assert_eq!(bits(&out), bits(&sma(&close, period)));
        volatility_into(&close, period, &mut out);
        assert_eq!(bits(&out), bits(&volatility(&close, period)));
        volume_ratio_into(&volume, period, &mut out);
        assert_eq!(bits(&out), bits(&volume_ratio(&volume, period)));
    }
}
