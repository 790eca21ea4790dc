//! Every indicator against reference outputs (tests/fixtures/talib_outputs.json, made by
//! tests/fixtures/make_talib_fixture.py): TA-Lib's own outputs for what TA-Lib has, and
//! outputs computed from the definitions for the few it lacks (listed in the fixture's
//! "not_talib"). On real daily and hourly bars (tests/fixtures/*.csv, sources in
//! tests/fixtures/README.md) and on synthetic edge cases: the same warm-up positions (NaN
//! exactly where the reference has no value) and values within 1e-9 relative.

use std::collections::BTreeMap;

use amdb_ta::*;
use serde_json::Value;

struct Bars {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

fn csv_text(name: &str) -> &'static str {
    match name {
        "spy_daily.csv" => include_str!("fixtures/spy_daily.csv"),
        "btcusd_hourly.csv" => include_str!("fixtures/btcusd_hourly.csv"),
        other => panic!("fixture names a CSV this test does not embed: {other}"),
    }
}

fn parse_csv(text: &str) -> Bars {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (h, l, c, v) = (col("high"), col("low"), col("close"), col("volume"));
    let mut b = Bars {
        high: Vec::new(),
        low: Vec::new(),
        close: Vec::new(),
        volume: Vec::new(),
    };
    for line in lines {
        let f: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        b.high.push(f[h]);
        b.low.push(f[l]);
        b.close.push(f[c]);
        b.volume.push(f[v]);
    }
    b
}

fn bars(series: &Value) -> Bars {
    if let Some(name) = series["csv"].as_str() {
        return parse_csv(csv_text(name));
    }
    let col = |k: &str| -> Vec<f64> {
        series[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    Bars {
        high: col("high"),
        low: col("low"),
        close: col("close"),
        volume: col("volume"),
    }
}

/// Our output for a fixture key (`NAME_params` or `NAME_params.line`).
fn ours(key: &str, b: &Bars) -> Vec<f64> {
    let (h, l, c, v) = (&b.high[..], &b.low[..], &b.close[..], &b.volume[..]);
    match key {
        "SMA_5" => sma(c, 5),
        "SMA_20" => sma(c, 20),
        "EMA_7" => ema(c, 7),
        "EMA_25" => ema(c, 25),
        "RSI_14" => rsi(c, 14),
        "RSI_2" => rsi(c, 2),
        "STDDEV_20" => stddev(c, 20),
        "STDDEV_SAMPLE_20" => stddev_sample(c, 20),
        "WMA_10" => wma(c, 10),
        "DEMA_10" => dema(c, 10),
        "TEMA_10" => tema(c, 10),
        "ROC_10" => roc(c, 10),
        "RSI_CUTLER_14" => rsi_cutler(c, 14),
        "MACD_12_26_9.macd" => macd(c, 12, 26, 9).macd,
        "MACD_12_26_9.signal" => macd(c, 12, 26, 9).signal,
        "MACD_12_26_9.hist" => macd(c, 12, 26, 9).hist,
        "MACD_5_3_4.macd" => macd(c, 5, 3, 4).macd,
        "MACD_5_3_4.signal" => macd(c, 5, 3, 4).signal,
        "MACD_5_3_4.hist" => macd(c, 5, 3, 4).hist,
        "BBANDS_20_2_2.upper" => bbands(c, 20, 2.0, 2.0).upper,
        "BBANDS_20_2_2.middle" => bbands(c, 20, 2.0, 2.0).middle,
        "BBANDS_20_2_2.lower" => bbands(c, 20, 2.0, 2.0).lower,
        "BBANDS_5_1.5_2.5.upper" => bbands(c, 5, 1.5, 2.5).upper,
        "BBANDS_5_1.5_2.5.middle" => bbands(c, 5, 1.5, 2.5).middle,
        "BBANDS_5_1.5_2.5.lower" => bbands(c, 5, 1.5, 2.5).lower,
        "TRANGE" => (0..c.len())
            .map(|i| match i {
                0 => f64::NAN,
                _ => true_range(h[i], l[i], c[i - 1]),
            })
            .collect(),
        "ATR_14" => atr(h, l, c, 14),
        "NATR_14" => natr(h, l, c, 14),
        "WILLR_14" => willr(h, l, c, 14),
        "OBV" => obv(c, v),
        "STOCH_14_3_3.k" => stoch(h, l, c, 14, 3, 3).k,
        "STOCH_14_3_3.d" => stoch(h, l, c, 14, 3, 3).d,
        "STOCH_5_1_2.k" => stoch(h, l, c, 5, 1, 2).k,
        "STOCH_5_1_2.d" => stoch(h, l, c, 5, 1, 2).d,
        "STOCHF_14_3.k" => stochf(h, l, c, 14, 3).k,
        "STOCHF_14_3.d" => stochf(h, l, c, 14, 3).d,
        "CCI_20" => cci(h, l, c, 20),
        "ADX_14" => adx(h, l, c, 14),
        "ADX_5" => adx(h, l, c, 5),
        "PLUS_DI_14" => plus_di(h, l, c, 14),
        "MINUS_DI_14" => minus_di(h, l, c, 14),
        "MFI_14" => mfi(h, l, c, v, 14),
        "VOLUME_RATIO_20" => volume_ratio(v, 20),
        "VOLATILITY_20" => volatility(c, 20),
        "VWAP" => vwap(h, l, c, v),
        "VWAP_20" => vwap_rolling(h, l, c, v, 20),
        other => panic!("fixture has an indicator this test does not know: {other}"),
    }
}

/// Every fixture key: each must be in the fixture for every series, so an indicator cannot
/// silently drop out of the comparison.
const KEYS: &[&str] = &[
    "SMA_5",
    "SMA_20",
    "EMA_7",
    "EMA_25",
    "RSI_14",
    "RSI_2",
    "STDDEV_20",
    "STDDEV_SAMPLE_20",
    "WMA_10",
    "DEMA_10",
    "TEMA_10",
    "ROC_10",
    "RSI_CUTLER_14",
    "MACD_12_26_9.macd",
    "MACD_12_26_9.signal",
    "MACD_12_26_9.hist",
    "MACD_5_3_4.macd",
    "MACD_5_3_4.signal",
    "MACD_5_3_4.hist",
    "BBANDS_20_2_2.upper",
    "BBANDS_20_2_2.middle",
    "BBANDS_20_2_2.lower",
    "BBANDS_5_1.5_2.5.upper",
    "BBANDS_5_1.5_2.5.middle",
    "BBANDS_5_1.5_2.5.lower",
    "TRANGE",
    "ATR_14",
    "NATR_14",
    "WILLR_14",
    "OBV",
    "STOCH_14_3_3.k",
    "STOCH_14_3_3.d",
    "STOCH_5_1_2.k",
    "STOCH_5_1_2.d",
    "STOCHF_14_3.k",
    "STOCHF_14_3.d",
    "CCI_20",
    "ADX_14",
    "ADX_5",
    "PLUS_DI_14",
    "MINUS_DI_14",
    "MFI_14",
    "VOLUME_RATIO_20",
    "VOLATILITY_20",
    "VWAP",
    "VWAP_20",
];

/// Compares one output line; returns the number of values compared and the largest error
/// in units of the tolerance's scale, `|ours - reference| / max(|reference|, 1)`.
fn compare(what: &str, ours: &[f64], want: &Value) -> (usize, f64) {
    let want = want.as_array().unwrap();
    assert_eq!(ours.len(), want.len(), "{what}: length");
    let (mut compared, mut worst) = (0, 0.0f64);
    for (i, (o, w)) in ours.iter().zip(want).enumerate() {
        match w.as_f64() {
            None => assert!(
                o.is_nan(),
                "{what}[{i}]: the reference has no value, we have {o}"
            ),
            Some(w) => {
                let err = (o - w).abs() / w.abs().max(1.0);
                assert!(err <= 1e-9, "{what}[{i}]: ours {o}, reference {w}");
                worst = worst.max(err);
                compared += 1;
            }
        }
    }
    (compared, worst)
}

#[test]
fn matches_the_reference_on_every_series() {
    let doc: Value =
        serde_json::from_str(include_str!("fixtures/talib_outputs.json")).expect("fixture parses");
    assert!(
        doc["ta_lib_c"].as_str().unwrap().starts_with("0.8"),
        "made with TA-Lib 0.8"
    );
    let mut per_key: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    let mut per_series: BTreeMap<String, usize> = BTreeMap::new();
    for (name, series) in doc["series"].as_object().unwrap() {
        let b = bars(series);
        let outputs = doc["outputs"][name].as_object().unwrap();
        for key in KEYS {
            assert!(outputs.contains_key(*key), "{name}: fixture lacks {key}");
        }
        for (key, want) in outputs {
            let (n, worst) = compare(&format!("{name} {key}"), &ours(key, &b), want);
            *per_series.entry(name.clone()).or_default() += n;
            let k = per_key
                .entry(
                    KEYS.iter()
                        .find(|k| *k == key)
                        .unwrap_or_else(|| panic!("{key} is missing from KEYS")),
                )
                .or_default();
            if series["csv"].is_string() {
                k.0 += n;
            }
            k.1 = k.1.max(worst);
        }
    }
    // Not vacuous: every indicator compared on thousands of real bars, and every edge case
    // that has values at all compared.
    for key in KEYS {
        let (n, worst) = per_key.get(key).copied().unwrap_or_default();
        println!("{key:<26} {n:>6} real values, largest error {worst:.1e}");
        assert!(
            n >= 3_500,
            "{key}: only {n} values compared on the real series"
        );
    }
    let real = per_series["spy_daily"] + per_series["btcusd_hourly"];
    println!("{per_series:?}");
    assert!(
        real >= 170_000,
        "only {real} values compared on the real series"
    );
    for edge in ["flat", "gap", "tiny_moves", "zero_volume"] {
        assert!(
            per_series[edge] >= 1_000,
            "{edge}: only {} values",
            per_series[edge]
        );
    }
    assert!(per_series["short"] >= 50);
}

/// The real series are what the README says they are.
#[test]
fn real_series_are_real_bars() {
    for name in ["spy_daily.csv", "btcusd_hourly.csv"] {
        let b = parse_csv(csv_text(name));
        assert_eq!(b.close.len(), 2000, "{name}");
        for i in 0..b.close.len() {
            assert!(
                b.low[i] <= b.close[i] && b.close[i] <= b.high[i],
                "{name} row {i}"
            );
            assert!(b.volume[i] > 0.0, "{name} row {i}");
        }
    }
}
