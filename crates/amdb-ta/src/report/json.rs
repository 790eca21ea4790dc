//! JSON form of the reports: a stable, versioned shape for scripts, dashboards and for
//! re-rendering a saved result later.
//!
//! # Run report (`"schema": "amdb.report.run/1"`)
//!
//! ```text
//! {
//!   "schema":   "amdb.report.run/1",
//!   "title":    string,
//!   "params":   [ { "name": string, "value": string } ],              // display order
//!   "metrics":  [ { "name": string, "value": number|null,             // null = NaN
//!                   "unit": "ratio"|"percent"|"count"|"money"|"duration_s"|"number",
//!                   "display": string } ],                            // "12.34%"
//!   "period":   { "start_ns": int, "end_ns": int,
//!                 "start": RFC 3339, "end": RFC 3339 } | null,        // null = no equity
//!   "equity":   { "ts_ns": [int], "value": [number|null],
//!                 "drawdown": [number|null] },                        // fractions, <= 0
//!   "max_drawdown": number|null,                                      // e.g. -0.1234
//!   "benchmark": { "ts_ns": [int], "value": [number|null] } | null,
//!   "trades":   [ { "symbol": string, "side": "long"|"short",
//!                   "entry_ts_ns": int, "entry_time": RFC 3339, "entry_price": number|null,
//!                   "exit_ts_ns": int,  "exit_time": RFC 3339,  "exit_price": number|null,
//!                   "qty": number|null, "pnl": number|null,
//!                   "return": number|null } ]                         // fraction
//! }
//! ```
//!
//! Percent-unit values are fractions (`0.1234`), as in [`super::MetricUnit::Percent`].
//! Series are columnar (parallel arrays) to keep large curves compact. Timestamps are UTC
//! nanoseconds; they exceed 2^53, so JavaScript's `JSON.parse` rounds them to about
//! 0.25 µs — use the RFC 3339 strings where exact times matter there.
//!
//! # Grid report (`"schema": "amdb.report.grid/1"`)
//!
//! ```text
//! {
//!   "schema": "amdb.report.grid/1",
//!   "title":  string,
//!   "x":      { "name": string, "values": [number] },                 // columns
//!   "y":      { "name": string, "values": [number] },                 // rows
//!   "metric": { "name": string, "unit": string },
//!   "values": [[number|null]],                                        // values[y][x]
//!   "best":   { "xi": int, "yi": int, "x": number, "y": number,
//!               "value": number, "display": string } | null
//! }
//! ```
//!
//! Fields may be added in a later version of the same schema; existing ones keep their
//! meaning. [`from_json`] and [`grid_from_json`] read the input fields back and ignore the
//! derived ones (`display`, `drawdown`, `period`, ...).

use std::fmt;

use serde_json::{json, Map, Value};

use super::format::{format_rfc3339, format_value};
use super::series::{drawdown, max_drawdown};
use super::{GridReport, Metric, MetricUnit, RunReport, TradeRow, TradeSide};

pub const RUN_SCHEMA: &str = "amdb.report.run/1";
pub const GRID_SCHEMA: &str = "amdb.report.grid/1";

/// `NaN` and infinities have no JSON number; they become `null`.
fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn series(points: &[(i64, f64)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "ts_ns".into(),
        Value::Array(points.iter().map(|p| Value::from(p.0)).collect()),
    );
    m.insert(
        "value".into(),
        Value::Array(points.iter().map(|p| num(p.1)).collect()),
    );
    m
}

/// The run report in the `amdb.report.run/1` shape (see the module docs).
pub fn to_json(report: &RunReport) -> Value {
    let mut equity = series(&report.equity);
    equity.insert(
        "drawdown".into(),
        Value::Array(drawdown(&report.equity).iter().map(|p| num(p.1)).collect()),
    );
    let period = match (report.equity.first(), report.equity.last()) {
        (Some(first), Some(last)) => json!({
            "start_ns": first.0,
            "end_ns": last.0,
            "start": format_rfc3339(first.0),
            "end": format_rfc3339(last.0),
        }),
        _ => Value::Null,
    };
    json!({
        "schema": RUN_SCHEMA,
        "title": report.title,
        "params": report.params.iter()
            .map(|(k, v)| json!({ "name": k, "value": v }))
            .collect::<Vec<_>>(),
        "metrics": report.metrics.iter()
            .map(|m| json!({
                "name": m.name,
                "value": num(m.value),
                "unit": m.unit.as_str(),
                "display": format_value(m.value, m.unit),
            }))
            .collect::<Vec<_>>(),
        "period": period,
        "equity": equity,
        "max_drawdown": num(max_drawdown(&report.equity)),
        "benchmark": report.benchmark.as_deref().map_or(Value::Null, |b| Value::Object(series(b))),
        "trades": report.trades.iter().map(trade_json).collect::<Vec<_>>(),
    })
}

fn trade_json(t: &TradeRow) -> Value {
    json!({
        "symbol": t.symbol,
        "side": t.side.as_str(),
        "entry_ts_ns": t.entry_ts,
        "entry_time": format_rfc3339(t.entry_ts),
        "entry_price": num(t.entry_price),
        "exit_ts_ns": t.exit_ts,
        "exit_time": format_rfc3339(t.exit_ts),
        "exit_price": num(t.exit_price),
        "qty": num(t.qty),
        "pnl": num(t.pnl),
        "return": num(t.return_frac),
    })
}

/// The grid in the `amdb.report.grid/1` shape (see the module docs).
pub fn grid_to_json(grid: &GridReport) -> Value {
    let values: Vec<Value> = (0..grid.ys.len())
        .map(|yi| {
            Value::Array(
                (0..grid.xs.len())
                    .map(|xi| num(grid.value(xi, yi)))
                    .collect(),
            )
        })
        .collect();
    let best = grid.best().map_or(Value::Null, |(xi, yi, v)| {
        json!({
            "xi": xi, "yi": yi,
            "x": num(grid.xs[xi]), "y": num(grid.ys[yi]),
            "value": num(v),
            "display": format_value(v, grid.unit),
        })
    });
    json!({
        "schema": GRID_SCHEMA,
        "title": grid.title,
        "x": { "name": grid.x_name, "values": grid.xs.iter().map(|&v| num(v)).collect::<Vec<_>>() },
        "y": { "name": grid.y_name, "values": grid.ys.iter().map(|&v| num(v)).collect::<Vec<_>>() },
        "metric": { "name": grid.metric_name, "unit": grid.unit.as_str() },
        "values": values,
        "best": best,
    })
}

/// Indented JSON text in which arrays of plain values stay on one line, so a file with
/// long series is still short enough to read (`serde_json`'s pretty printer puts every
/// number of a 100,000-point curve on its own line). Object keys are sorted.
pub fn to_pretty_string(v: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out.push('\n');
    out
}

fn write_pretty(out: &mut String, v: &Value, depth: usize) {
    let indent = |out: &mut String, d: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(d));
    };
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_pretty(out, item, depth + 1);
            }
            indent(out, depth);
            out.push('}');
        }
        Value::Array(items) if items.iter().any(|x| x.is_object() || x.is_array()) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_pretty(out, item, depth + 1);
            }
            indent(out, depth);
            out.push(']');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&item.to_string());
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// JSON that does not have the documented shape: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonShapeError {
    /// A JSON-pointer-like path, e.g. `/trades/3/side`.
    pub path: String,
    pub expected: &'static str,
}

impl fmt::Display for JsonShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "report JSON: expected {} at {}",
            self.expected,
            if self.path.is_empty() {
                "/"
            } else {
                &self.path
            }
        )
    }
}

impl std::error::Error for JsonShapeError {}

type Result<T> = std::result::Result<T, JsonShapeError>;

/// A cursor that remembers its path, so errors say where the shape broke.
#[derive(Clone, Copy)]
struct At<'a> {
    v: &'a Value,
    path: &'a str,
}

impl<'a> At<'a> {
    fn err<T>(&self, expected: &'static str) -> Result<T> {
        Err(JsonShapeError {
            path: self.path.to_string(),
            expected,
        })
    }

    fn field<T>(&self, key: &str, f: impl FnOnce(At<'_>) -> Result<T>) -> Result<T> {
        let path = format!("{}/{key}", self.path);
        match self.v.get(key) {
            Some(v) => f(At { v, path: &path }),
            None => At {
                v: &Value::Null,
                path: &path,
            }
            .err("a field"),
        }
    }

    fn each<T>(&self, mut f: impl FnMut(At<'_>) -> Result<T>) -> Result<Vec<T>> {
        let items = match self.v.as_array() {
            Some(items) => items,
            None => return self.err("an array"),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let path = format!("{}/{i}", self.path);
                f(At { v, path: &path })
            })
            .collect()
    }

    fn str(&self) -> Result<String> {
        match self.v.as_str() {
            Some(s) => Ok(s.to_string()),
            None => self.err("a string"),
        }
    }

    fn i64(&self) -> Result<i64> {
        match self.v.as_i64() {
            Some(n) => Ok(n),
            None => self.err("an integer"),
        }
    }

    /// A number, or `null` for `NaN`.
    fn f64(&self) -> Result<f64> {
        match self.v {
            Value::Null => Ok(f64::NAN),
            v => match v.as_f64() {
                Some(n) => Ok(n),
                None => self.err("a number or null"),
            },
        }
    }

    fn schema(&self, expected: &'static str) -> Result<()> {
        self.field("schema", |s| {
            if s.v.as_str() == Some(expected) {
                Ok(())
            } else {
                s.err(expected)
            }
        })
    }

    fn series(&self) -> Result<Vec<(i64, f64)>> {
        let ts = self.field("ts_ns", |a| a.each(|t| t.i64()))?;
        let vals = self.field("value", |a| a.each(|v| v.f64()))?;
        if ts.len() != vals.len() {
            return self.err("ts_ns and value arrays of the same length");
        }
        Ok(ts.into_iter().zip(vals).collect())
    }
}

/// Reads a run report back from [`to_json`]'s shape.
pub fn from_json(v: &Value) -> Result<RunReport> {
    let root = At { v, path: "" };
    root.schema(RUN_SCHEMA)?;
    Ok(RunReport {
        title: root.field("title", |t| t.str())?,
        params: root.field("params", |a| {
            a.each(|p| {
                Ok((
                    p.field("name", |n| n.str())?,
                    p.field("value", |n| n.str())?,
                ))
            })
        })?,
        metrics: root.field("metrics", |a| {
            a.each(|m| {
                Ok(Metric {
                    name: m.field("name", |n| n.str())?,
                    value: m.field("value", |n| n.f64())?,
                    unit: m.field("unit", |u| {
                        MetricUnit::parse(&u.str()?).map_or_else(|| u.err("a metric unit"), Ok)
                    })?,
                })
            })
        })?,
        equity: root.field("equity", |e| e.series())?,
        benchmark: root.field("benchmark", |b| match b.v {
            Value::Null => Ok(None),
            _ => b.series().map(Some),
        })?,
        trades: root.field("trades", |a| a.each(trade_from_json))?,
    })
}

fn trade_from_json(t: At<'_>) -> Result<TradeRow> {
    Ok(TradeRow {
        symbol: t.field("symbol", |s| s.str())?,
        side: t.field("side", |s| match s.v.as_str() {
            Some("long") => Ok(TradeSide::Long),
            Some("short") => Ok(TradeSide::Short),
            _ => s.err("\"long\" or \"short\""),
        })?,
        entry_ts: t.field("entry_ts_ns", |n| n.i64())?,
        entry_price: t.field("entry_price", |n| n.f64())?,
        exit_ts: t.field("exit_ts_ns", |n| n.i64())?,
        exit_price: t.field("exit_price", |n| n.f64())?,
        qty: t.field("qty", |n| n.f64())?,
        pnl: t.field("pnl", |n| n.f64())?,
        return_frac: t.field("return", |n| n.f64())?,
    })
}

/// Reads a grid back from [`grid_to_json`]'s shape.
pub fn grid_from_json(v: &Value) -> Result<GridReport> {
    let root = At { v, path: "" };
    root.schema(GRID_SCHEMA)?;
    let axis = |key: &str| {
        root.field(key, |a| {
            Ok((
                a.field("name", |n| n.str())?,
                a.field("values", |vals| vals.each(|x| x.f64()))?,
            ))
        })
    };
    let (x_name, xs) = axis("x")?;
    let (y_name, ys) = axis("y")?;
    let (metric_name, unit) = root.field("metric", |m| {
        Ok((
            m.field("name", |n| n.str())?,
            m.field("unit", |u| {
                MetricUnit::parse(&u.str()?).map_or_else(|| u.err("a metric unit"), Ok)
            })?,
        ))
    })?;
    Ok(GridReport {
        title: root.field("title", |t| t.str())?,
        x_name,
        xs,
        y_name,
        ys,
        metric_name,
        unit,
        values: root.field("values", |rows| rows.each(|row| row.each(|x| x.f64())))?,
    })
}
