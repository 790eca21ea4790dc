//! Knobs: typed configuration settings and their mapping to the optimizers' unit cube.
//!
//! Optimizers choose points in `[0, 1]^n`; a [`Knob`] turns one coordinate into a setting
//! and back. Integer and real knobs whose range spans more than two orders of magnitude
//! (memory sizes, delays) are mapped logarithmically, so "twice as much" is the same step
//! everywhere in the range; enumerations split `[0, 1]` into equal bins.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How a changed setting takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Apply {
    /// A configuration reload (PostgreSQL contexts `sighup`, `superuser`, `user`).
    Reload,
    /// Only a server restart (PostgreSQL context `postmaster`).
    Restart,
}

/// The values a knob may take, already narrowed to what is sensible on this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Bool,
    Int { min: i64, max: i64, log: bool },
    Real { min: f64, max: f64, log: bool },
    Enum { values: Vec<String> },
}

/// One setting's value, in the knob's own unit (e.g. 8 kB pages for `shared_buffers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Real(f64),
    Enum(String),
}

/// A tunable setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knob {
    pub name: String,
    pub domain: Domain,
    /// The unit values are expressed in, as the database names it (`8kB`, `kB`, `MB`, `ms`,
    /// `s`, `us`), or empty.
    pub unit: String,
    pub apply: Apply,
    /// The server's built-in default.
    pub default: Value,
    /// What this knob risks when changed from its default, for knobs that can lose
    /// acknowledged data; such knobs are only tuned when the user allows unsafe knobs.
    pub risk: Option<String>,
}

/// A configuration: knob name → value. Knobs not named keep the baseline's value.
pub type Config = BTreeMap<String, Value>;

impl Knob {
    /// The value at coordinate `x` (clamped to `[0, 1]`).
    pub fn value_at(&self, x: f64) -> Value {
        let x = if x.is_finite() {
            x.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match &self.domain {
            Domain::Bool => Value::Bool(x >= 0.5),
            Domain::Int { min, max, log } => {
                let v = interpolate(*min as f64, *max as f64, *log, x).round() as i64;
                Value::Int(v.clamp(*min, *max))
            }
            Domain::Real { min, max, log } => {
                // Three significant digits: finer steps are below any measurable effect and
                // make reports unreadable.
                let v = round_sig(interpolate(*min, *max, *log, x), 3);
                Value::Real(v.clamp(*min, *max))
            }
            Domain::Enum { values } => {
                let i = ((x * values.len() as f64) as usize).min(values.len().saturating_sub(1));
                Value::Enum(values.get(i).cloned().unwrap_or_default())
            }
        }
    }

    /// The coordinate of `v` (the inverse of [`Knob::value_at`], up to rounding); values
    /// outside the range map to its ends, unknown enumeration values to 0.
    pub fn coordinate(&self, v: &Value) -> f64 {
        match (&self.domain, v) {
            (Domain::Bool, Value::Bool(b)) => {
                if *b {
                    0.75
                } else {
                    0.25
                }
            }
            (Domain::Int { min, max, log }, v) => position(
                *min as f64,
                *max as f64,
                *log,
                v.as_f64().unwrap_or(*min as f64),
            ),
            (Domain::Real { min, max, log }, v) => {
                position(*min, *max, *log, v.as_f64().unwrap_or(*min))
            }
            (Domain::Enum { values }, Value::Enum(s)) => {
                let i = values.iter().position(|x| x == s).unwrap_or(0);
                (i as f64 + 0.5) / values.len().max(1) as f64
            }
            _ => 0.0,
        }
    }

    /// Whether `v` is a value of this knob's domain.
    pub fn admits(&self, v: &Value) -> bool {
        match (&self.domain, v) {
            (Domain::Bool, Value::Bool(_)) => true,
            (Domain::Int { min, max, .. }, Value::Int(i)) => (min..=max).contains(&i),
            (Domain::Real { min, max, .. }, v) => {
                v.as_f64().is_some_and(|f| f >= *min && f <= *max)
            }
            (Domain::Enum { values }, Value::Enum(s)) => values.contains(s),
            _ => false,
        }
    }

    /// Reads a value written the way PostgreSQL accepts it (`6GB`, `29127kB`, `5min`,
    /// `0.9`, `on`, `lz4`); a bare number is in the knob's unit. `None` when it does not
    /// parse or the unit does not fit the knob.
    pub fn parse_literal(&self, text: &str) -> Option<Value> {
        let t = text.trim();
        match &self.domain {
            Domain::Bool => match t {
                "on" | "true" | "yes" | "1" => Some(Value::Bool(true)),
                "off" | "false" | "no" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            Domain::Enum { .. } => Some(Value::Enum(t.to_string())),
            Domain::Real { .. } => t.parse().ok().map(Value::Real),
            Domain::Int { .. } => {
                let split = t
                    .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '.'))
                    .unwrap_or(t.len());
                let (number, suffix) = t.split_at(split);
                let number: f64 = number.parse().ok()?;
                let suffix = suffix.trim();
                if suffix.is_empty() {
                    return Some(Value::Int(number.round() as i64));
                }
                let scale = match (memory_unit_bytes(suffix), memory_unit_bytes(&self.unit)) {
                    (Some(from), Some(to)) => from as f64 / to as f64,
                    _ => time_unit_us(suffix)? / time_unit_us(&self.unit)?,
                };
                Some(Value::Int((number * scale).round() as i64))
            }
        }
    }

    /// The knob's domain for an error message: `64kB..1GB`, `on/off`, `pglz/lz4/zstd`.
    pub fn describe_domain(&self) -> String {
        match &self.domain {
            Domain::Bool => "on/off".into(),
            Domain::Int { min, max, .. } => format!(
                "{}..{}",
                self.literal(&Value::Int(*min)),
                self.literal(&Value::Int(*max))
            ),
            Domain::Real { min, max, .. } => format!("{min}..{max}"),
            Domain::Enum { values } => values.join("/"),
        }
    }

    /// The value as the database reads it: memory in kB/MB/GB, times with their unit,
    /// booleans as `on`/`off`.
    pub fn literal(&self, v: &Value) -> String {
        match v {
            Value::Int(i) => with_unit(*i, &self.unit),
            other => other.to_string(),
        }
    }
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(f) => Some(*f),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => f.write_str(if *b { "on" } else { "off" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r}"),
            Value::Enum(s) => f.write_str(s),
        }
    }
}

fn interpolate(min: f64, max: f64, log: bool, x: f64) -> f64 {
    if log && min > 0.0 {
        (min.ln() + x * (max.ln() - min.ln())).exp()
    } else {
        min + x * (max - min)
    }
}

fn position(min: f64, max: f64, log: bool, v: f64) -> f64 {
    if max <= min {
        return 0.0;
    }
    let v = v.clamp(min, max);
    if log && min > 0.0 {
        (v.ln() - min.ln()) / (max.ln() - min.ln())
    } else {
        (v - min) / (max - min)
    }
}

fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Bytes per unit for memory units, as PostgreSQL names them.
pub(crate) fn memory_unit_bytes(unit: &str) -> Option<u64> {
    match unit {
        "B" => Some(1),
        "kB" => Some(1 << 10),
        "8kB" => Some(8 << 10),
        "16kB" => Some(16 << 10),
        "MB" => Some(1 << 20),
        "GB" => Some(1 << 30),
        _ => None,
    }
}

/// Microseconds per time unit, as PostgreSQL names them.
fn time_unit_us(unit: &str) -> Option<f64> {
    Some(match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "min" => 60e6,
        "h" => 3600e6,
        "d" => 86400e6,
        _ => return None,
    })
}

/// `i` units of `unit` written the way a person (and PostgreSQL) reads it: memory in the
/// largest of kB/MB/GB that divides it exactly, times with their unit suffix.
fn with_unit(i: i64, unit: &str) -> String {
    if let Some(bytes) = memory_unit_bytes(unit) {
        if i < 0 {
            return i.to_string(); // -1 means "automatic" for wal_buffers and friends
        }
        let b = i as u64 * bytes;
        for (suffix, size) in [("GB", 1u64 << 30), ("MB", 1 << 20), ("kB", 1 << 10)] {
            if b >= size && b.is_multiple_of(size) {
                return format!("{}{suffix}", b / size);
            }
        }
        return format!("{b}B");
    }
    match unit {
        "ms" | "s" | "min" | "h" | "d" | "us" => format!("{i}{unit}"),
        _ => i.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knob(domain: Domain, unit: &str) -> Knob {
        Knob {
            name: "k".into(),
            domain,
            unit: unit.into(),
            apply: Apply::Reload,
            default: Value::Int(0),
            risk: None,
        }
    }

    #[test]
    fn log_scale_puts_the_geometric_midpoint_in_the_middle() {
        let k = knob(
            Domain::Int {
                min: 64,
                max: 65536,
                log: true,
            },
            "kB",
        );
        assert_eq!(k.value_at(0.0), Value::Int(64));
        assert_eq!(k.value_at(1.0), Value::Int(65536));
        assert_eq!(k.value_at(0.5), Value::Int(2048));
        assert!((k.coordinate(&Value::Int(2048)) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn coordinates_round_trip_through_values() {
        let k = knob(
            Domain::Real {
                min: 0.1,
                max: 0.9,
                log: false,
            },
            "",
        );
        for i in 0..=10 {
            let x = i as f64 / 10.0;
            let v = k.value_at(x);
            assert!(k.admits(&v));
            assert!((k.coordinate(&v) - x).abs() < 0.01, "{x} -> {v:?}");
        }
        let e = knob(
            Domain::Enum {
                values: vec!["off".into(), "lz4".into(), "zstd".into()],
            },
            "",
        );
        for v in ["off", "lz4", "zstd"] {
            let v = Value::Enum(v.into());
            assert_eq!(e.value_at(e.coordinate(&v)), v);
        }
        assert_eq!(e.value_at(1.0), Value::Enum("zstd".into()));
    }

    #[test]
    fn literals_use_the_largest_exact_unit() {
        let k = knob(
            Domain::Int {
                min: 16,
                max: 1 << 20,
                log: true,
            },
            "8kB",
        );
        assert_eq!(k.literal(&Value::Int(16384)), "128MB");
        assert_eq!(k.literal(&Value::Int(131072)), "1GB");
        assert_eq!(k.literal(&Value::Int(3)), "24kB");
        assert_eq!(k.literal(&Value::Int(-1)), "-1");
        let t = knob(
            Domain::Int {
                min: 1,
                max: 10000,
                log: true,
            },
            "ms",
        );
        assert_eq!(t.literal(&Value::Int(200)), "200ms");
        assert_eq!(knob(Domain::Bool, "").literal(&Value::Bool(false)), "off");
    }

    #[test]
    fn literals_parse_back_in_the_knobs_unit() {
        let pages = knob(
            Domain::Int {
                min: 16,
                max: 1 << 20,
                log: true,
            },
            "8kB",
        );
        assert_eq!(pages.parse_literal("6GB"), Some(Value::Int(786432)));
        assert_eq!(pages.parse_literal("16MB"), Some(Value::Int(2048)));
        assert_eq!(pages.parse_literal("512"), Some(Value::Int(512)));
        for v in [16, 2048, 131072, 3] {
            assert_eq!(
                pages.parse_literal(&pages.literal(&Value::Int(v))),
                Some(Value::Int(v))
            );
        }
        let kb = knob(
            Domain::Int {
                min: 64,
                max: 1 << 30,
                log: true,
            },
            "kB",
        );
        assert_eq!(kb.parse_literal("29127kB"), Some(Value::Int(29127)));
        let secs = knob(
            Domain::Int {
                min: 30,
                max: 3600,
                log: true,
            },
            "s",
        );
        assert_eq!(secs.parse_literal("5min"), Some(Value::Int(300)));
        assert_eq!(secs.parse_literal("5GB"), None);
        assert_eq!(
            knob(Domain::Bool, "").parse_literal("off"),
            Some(Value::Bool(false))
        );
        assert_eq!(
            knob(
                Domain::Real {
                    min: 0.0,
                    max: 1.0,
                    log: false
                },
                ""
            )
            .parse_literal("0.9"),
            Some(Value::Real(0.9))
        );
    }

    #[test]
    fn out_of_range_coordinates_clamp() {
        let k = knob(
            Domain::Int {
                min: 10,
                max: 20,
                log: false,
            },
            "",
        );
        assert_eq!(k.value_at(-3.0), Value::Int(10));
        assert_eq!(k.value_at(f64::NAN), Value::Int(10));
        assert_eq!(k.value_at(7.0), Value::Int(20));
        assert!(!k.admits(&Value::Int(21)));
    }
}
