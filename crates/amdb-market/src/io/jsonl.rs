//! JSON Lines bars: one object per line,
//! `{"ts":"2024-01-02T13:45:00Z","open":1.5,"high":2,"low":1,"close":1.75,"volume":100}`.
//!
//! Writing is the export path for tools that eat JSON; reading exists so exports round-trip
//! (and accepts keys by the same detection as every other reader, epoch or ISO times).

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::csv::push_f64;
use super::{check_bar, detect_columns, ColumnMap, ImportError, TimeColumns};
use crate::bar::{Bar, Bars};
use crate::time::{
    epoch_f64_to_nanos, parse_date_and_time_bytes, parse_time_bytes, TimeFormatter, TimeUnit,
};

/// Writes one JSON object per bar, in the given order. Numbers use the shortest text that
/// reads back to the same bits; non-finite numbers (not valid JSON) become `null`.
pub fn write_jsonl<W: Write>(bars: &Bars, mut w: W) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut fb = ryu::Buffer::new();
    let mut tf = TimeFormatter::default();
    for i in 0..bars.len() {
        buf.extend_from_slice(b"{\"ts\":\"");
        tf.push(bars.ts[i], &mut buf);
        buf.push(b'"');
        for (key, v) in [
            (&b",\"open\":"[..], bars.open[i]),
            (b",\"high\":", bars.high[i]),
            (b",\"low\":", bars.low[i]),
            (b",\"close\":", bars.close[i]),
            (b",\"volume\":", bars.volume[i]),
        ] {
            buf.extend_from_slice(key);
            if v.is_finite() {
                push_f64(v, &mut buf, &mut fb);
            } else {
                buf.extend_from_slice(b"null");
            }
        }
        buf.extend_from_slice(b"}\n");
        if buf.len() >= (1 << 20) - 512 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    w.flush()
}

/// Reads bars from a JSON Lines file, in file order; the first object's keys decide which
/// key is which field. Blank lines are skipped. Progress is in bytes.
pub fn read_jsonl(
    path: impl AsRef<Path>,
    map: &ColumnMap,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Bars, ImportError> {
    let path = path.as_ref();
    let data = std::fs::read(path).map_err(|e| ImportError::io(path, e))?;
    let total = data.len() as u64;
    progress(0, total);
    let mut out = Bars::new();
    let mut keys: Option<[Option<String>; 7]> = None;
    let mut pos = 0usize;
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        pos += line.len() + 1;
        let at = |msg: String| ImportError::line(path, line_no, msg);
        let line = if i == 0 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: Value =
            serde_json::from_slice(line).map_err(|e| at(format!("invalid JSON: {e}")))?;
        let Value::Object(obj) = v else {
            return Err(at("expected a JSON object".into()));
        };
        // Field keys: date, time (DateTime only), open, high, low, close, volume.
        let k = match &keys {
            Some(k) => k,
            None => {
                let names: Vec<&str> = obj.keys().map(String::as_str).collect();
                let l = detect_columns(&names, map).map_err(at)?;
                let name = |i: usize| Some(names[i].to_string());
                let (a, b) = match l.time {
                    TimeColumns::One(t) => (name(t), None),
                    TimeColumns::DateTime(d, t) => (name(d), name(t)),
                };
                keys.insert([
                    a,
                    b,
                    name(l.open),
                    name(l.high),
                    name(l.low),
                    name(l.close),
                    l.volume.and_then(name),
                ])
            }
        };
        let get = |key: &Option<String>| -> Result<&Value, ImportError> {
            let key = key.as_deref().unwrap_or_default();
            obj.get(key).ok_or_else(|| at(format!("no key {key:?}")))
        };
        let ts = match &k[1] {
            None => time_value(get(&k[0])?),
            Some(_) => match (get(&k[0])?, get(&k[1])?) {
                (Value::String(d), Value::String(t)) => {
                    parse_date_and_time_bytes(d.as_bytes(), t.as_bytes())
                }
                _ => None,
            },
        }
        .ok_or_else(|| {
            at(format!(
                "unparsable time {}",
                get(&k[0]).map(|v| v.to_string()).unwrap_or_default()
            ))
        })?;
        let num = |key: &Option<String>, field: &str| -> Result<f64, ImportError> {
            let v = get(key)?;
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            n.ok_or_else(|| at(format!("unparsable {field} {v}")))
        };
        let bar = Bar {
            ts,
            open: num(&k[2], "open")?,
            high: num(&k[3], "high")?,
            low: num(&k[4], "low")?,
            close: num(&k[5], "close")?,
            volume: if k[6].is_some() {
                num(&k[6], "volume")?
            } else {
                0.0
            },
        };
        check_bar(&bar).map_err(at)?;
        out.push(bar);
        if out.len().is_multiple_of(65_536) {
            progress((pos as u64).min(total), total);
        }
    }
    progress(total, total);
    Ok(out)
}

fn time_value(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_time_bytes(s.as_bytes(), TimeUnit::Auto),
        Value::Number(n) => match n.as_i64() {
            Some(i) => TimeUnit::Auto.to_nanos(i),
            None => epoch_f64_to_nanos(n.as_f64()?, TimeUnit::Auto),
        },
        _ => None,
    }
}
