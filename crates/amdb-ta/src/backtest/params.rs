//! Strategy parameters and parameter grids (`fast=5..14,slow=20..29`).

use super::BacktestError;

/// Named numeric parameters, in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, f64)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().rev().find(|(n, _)| n == name).map(|p| p.1)
    }

    /// Sets `name`, replacing an earlier value.
    pub fn set(&mut self, name: &str, value: f64) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub(crate) fn get_or(&self, name: &str, defaults: &[(&str, f64)]) -> f64 {
        self.get(name).unwrap_or_else(|| {
            defaults
                .iter()
                .find(|d| d.0 == name)
                .map(|d| d.1)
                .unwrap_or(f64::NAN)
        })
    }

    pub(crate) fn check_names(
        &self,
        strategy: &str,
        known: &[(&str, f64)],
    ) -> Result<(), BacktestError> {
        for (name, _) in &self.0 {
            if !known.iter().any(|k| k.0 == name) {
                let names: Vec<_> = known.iter().map(|k| k.0).collect();
                return Err(BacktestError::Config(format!(
                    "{strategy} has no parameter {name:?}; its parameters are {}",
                    names.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Parses `name=value`.
    pub fn parse_one(text: &str) -> Result<(String, f64), BacktestError> {
        let (name, value) = split_assignment(text)?;
        let v = parse_number(name, value)?;
        Ok((name.to_string(), v))
    }

    /// `fast=7 slow=25` style, for labels.
    pub fn label(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn split_assignment(text: &str) -> Result<(&str, &str), BacktestError> {
    match text.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() && !v.trim().is_empty() => Ok((n.trim(), v.trim())),
        _ => Err(BacktestError::Config(format!(
            "parameter {text:?} is not name=value"
        ))),
    }
}

fn parse_number(name: &str, text: &str) -> Result<f64, BacktestError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(BacktestError::Config(format!(
            "parameter {name}: {text:?} is not a number"
        ))),
    }
}

/// One grid dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<f64>,
}

/// A parameter grid: the cartesian product of its axes (the last axis varies fastest).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

/// More points than anyone means to run; a typo like `1..100000` fails fast.
const MAX_POINTS: usize = 1_000_000;

impl Grid {
    /// Parses `name=A..B[:STEP],name=V1/V2/V3,...`: inclusive ranges (step 1 unless given)
    /// or explicit values separated by `/`.
    pub fn parse(spec: &str) -> Result<Grid, BacktestError> {
        let mut grid = Grid::default();
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, values) = split_assignment(part)?;
            if grid.axes.iter().any(|a| a.name == name) {
                return Err(BacktestError::Config(format!("grid names {name} twice")));
            }
            let values = if let Some((from, rest)) = values.split_once("..") {
                let (to, step) = match rest.split_once(':') {
                    Some((to, step)) => (to, parse_number(name, step)?),
                    None => (rest, 1.0),
                };
                let (from, to) = (parse_number(name, from)?, parse_number(name, to)?);
                if step <= 0.0 || to < from {
                    return Err(BacktestError::Config(format!(
                        "grid {name}={values}: needs from <= to and a positive step"
                    )));
                }
                let steps = ((to - from) / step + 1e-9).floor();
                // Checked as a float first: a huge range must not wrap the count.
                let count = if steps < MAX_POINTS as f64 {
                    steps as usize + 1
                } else {
                    usize::MAX
                };
                if count > MAX_POINTS {
                    return Err(BacktestError::Config(format!(
                        "grid {name}={values} has more than {MAX_POINTS} values"
                    )));
                }
                // from + k·step, not repeated addition, so 0.1 steps do not drift.
                (0..count).map(|k| from + k as f64 * step).collect()
            } else {
                values
                    .split('/')
                    .map(|v| parse_number(name, v.trim()))
                    .collect::<Result<Vec<_>, _>>()?
            };
            grid.axes.push(Axis {
                name: name.to_string(),
                values,
            });
        }
        if grid.axes.is_empty() {
            return Err(BacktestError::Config(format!("grid {spec:?} has no axes")));
        }
        let points = grid.axes.iter().map(|a| a.values.len()).product::<usize>();
        if points > MAX_POINTS {
            return Err(BacktestError::Config(format!(
                "grid {spec:?} has {points} points; at most {MAX_POINTS}"
            )));
        }
        Ok(grid)
    }

    pub fn len(&self) -> usize {
        if self.axes.is_empty() {
            0
        } else {
            self.axes.iter().map(|a| a.values.len()).product()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every point, each as `base` with the grid's values set.
    pub fn points(&self, base: &Params) -> Vec<Params> {
        let mut out = Vec::with_capacity(self.len());
        let mut index = vec![0usize; self.axes.len()];
        for _ in 0..self.len() {
            let mut p = base.clone();
            for (axis, &k) in self.axes.iter().zip(&index) {
                p.set(&axis.name, axis.values[k]);
            }
            out.push(p);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < self.axes[d].values.len() {
                    break;
                }
                index[d] = 0;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_steps_and_lists() {
        let g = Grid::parse("fast=5..14,slow=20..29").unwrap();
        assert_eq!(g.len(), 100);
        let pts = g.points(&Params::default());
        assert_eq!(pts[0].0, vec![("fast".into(), 5.0), ("slow".into(), 20.0)]);
        assert_eq!(pts[1].get("slow"), Some(21.0));
        assert_eq!(pts[99].get("fast"), Some(14.0));
        let g = Grid::parse("k=1.5..3:0.5,period=10/20").unwrap();
        assert_eq!(g.axes[0].values, vec![1.5, 2.0, 2.5, 3.0]);
        assert_eq!(g.axes[1].values, vec![10.0, 20.0]);
        let g = Grid::parse("x=0..0.3:0.1").unwrap();
        assert_eq!(g.axes[0].values.len(), 4);
    }

    #[test]
    fn rejects_bad_grids() {
        for bad in [
            "fast",
            "fast=",
            "fast=9..5",
            "fast=1..5:0",
            "a=1,a=2",
            "x=abc",
            "",
            "x=1..1e9",
        ] {
            assert!(Grid::parse(bad).is_err(), "{bad}");
        }
    }
}
