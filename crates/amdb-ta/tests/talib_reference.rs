//! Our indicators against TA-Lib's own outputs (tests/fixtures/talib_outputs.json, made by
//! tests/fixtures/make_talib_fixture.py with the `TA-Lib` Python package): the same warm-up
//! positions, and values within 1e-9 relative.

use amdb_ta::{atr, dema, ema, natr, obv, roc, rsi, sma, stddev, tema, willr, wma};
use serde_json::Value;

fn indicator(name: &str, x: &[f64]) -> Vec<f64> {
    match name {
        "SMA_5" => sma(x, 5),
        "SMA_20" => sma(x, 20),
        "EMA_7" => ema(x, 7),
        "EMA_25" => ema(x, 25),
        "RSI_14" => rsi(x, 14),
        "RSI_2" => rsi(x, 2),
        "STDDEV_20" => stddev(x, 20),
        "WMA_10" => wma(x, 10),
        "DEMA_10" => dema(x, 10),
        "TEMA_10" => tema(x, 10),
        "ROC_10" => roc(x, 10),
        other => panic!("fixture has an indicator this test does not know: {other}"),
    }
}

fn column(v: &Value, name: &str) -> Vec<f64> {
    v[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn compare(what: &str, ours: &[f64], want: &Value) -> usize {
    let want = want.as_array().unwrap();
    assert_eq!(ours.len(), want.len(), "{what}: length");
    let mut compared = 0;
    for (i, (o, w)) in ours.iter().zip(want).enumerate() {
        match w.as_f64() {
            None => assert!(o.is_nan(), "{what}[{i}]: TA-Lib has no value, we have {o}"),
            Some(w) => {
                let tol = 1e-9 * w.abs().max(1.0);
                assert!((o - w).abs() <= tol, "{what}[{i}]: ours {o}, TA-Lib {w}");
                compared += 1;
            }
        }
    }
    compared
}

#[test]
fn matches_talib_on_bar_series() {
    let doc: Value =
        serde_json::from_str(include_str!("fixtures/talib_outputs.json")).expect("fixture parses");
    let mut compared = 0;
    for (name, b) in doc["bars"].as_object().unwrap() {
        let (h, l, c, v) = (
            column(b, "high"),
            column(b, "low"),
            column(b, "close"),
            column(b, "volume"),
        );
        for (ind, expected) in doc["bar_outputs"][name].as_object().unwrap() {
            let ours = match ind.as_str() {
                "ATR_14" => atr(&h, &l, &c, 14),
                "NATR_14" => natr(&h, &l, &c, 14),
                "WILLR_14" => willr(&h, &l, &c, 14),
                "OBV" => obv(&c, &v),
                other => panic!("unknown fixture indicator {other}"),
            };
            compared += compare(&format!("{name} {ind}"), &ours, expected);
        }
    }
    assert!(compared > 10_000, "only {compared} values compared");
}

#[test]
fn matches_talib_on_every_fixture_series() {
    let doc: Value =
        serde_json::from_str(include_str!("fixtures/talib_outputs.json")).expect("fixture parses");
    let series = doc["series"].as_object().unwrap();
    let mut compared = 0;
    for (name, values) in series {
        let x: Vec<f64> = values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (ind, expected) in doc["outputs"][name].as_object().unwrap() {
            let ours = indicator(ind, &x);
            let want = expected.as_array().unwrap();
            assert_eq!(ours.len(), want.len(), "{name} {ind}: length");
            for (i, (o, w)) in ours.iter().zip(want).enumerate() {
                match w.as_f64() {
                    None => assert!(
                        o.is_nan(),
                        "{name} {ind}[{i}]: TA-Lib has no value, we have {o}"
                    ),
                    Some(w) => {
                        let tol = 1e-9 * w.abs().max(1.0);
                        assert!(
                            (o - w).abs() <= tol,
                            "{name} {ind}[{i}]: ours {o}, TA-Lib {w}"
                        );
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 20_000, "only {compared} values compared");
}
