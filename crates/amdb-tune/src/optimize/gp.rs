//! A Gaussian-process regressor for Bayesian optimisation: Matérn-5/2 kernel with one
//! length scale per coordinate (ARD), observation noise, targets standardised, and
//! hyperparameters chosen by the log marginal likelihood.
//!
//! ARD matters here: most knobs barely move throughput and a few move it a lot; separate
//! length scales let the model be smooth along the former and sharp along the latter.
//! Hyperparameters come from a coarse isotropic grid refined one coordinate at a time —
//! a few dozen Cholesky factorisations of at most a few hundred points, cheap next to a
//! benchmark run, and deterministic.

/// A fitted Gaussian process.
pub struct Gp {
    x: Vec<Vec<f64>>,
    /// Lower Cholesky factor of K + noise·I, row-major n × n.
    chol: Vec<f64>,
    /// (K + noise·I)⁻¹ · y (standardised).
    alpha: Vec<f64>,
    length: Vec<f64>,
    y_mean: f64,
    y_std: f64,
}

fn matern52(a: &[f64], b: &[f64], length: &[f64]) -> f64 {
    let r2: f64 = a
        .iter()
        .zip(b)
        .zip(length)
        .map(|((a, b), l)| ((a - b) / l).powi(2))
        .sum();
    let s = (5.0 * r2).sqrt();
    (1.0 + s + 5.0 * r2 / 3.0) * (-s).exp()
}

/// Cholesky of a symmetric positive-definite `n × n` matrix; `None` if it is not.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves L·v = b for lower-triangular L.
fn forward(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut v = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            v[i] -= l[i * n + k] * v[k];
        }
        v[i] /= l[i * n + i];
    }
    v
}

/// Solves Lᵀ·v = b.
fn backward(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut v = b.to_vec();
    for i in (0..n).rev() {
        for k in i + 1..n {
            v[i] -= l[k * n + i] * v[k];
        }
        v[i] /= l[i * n + i];
    }
    v
}

/// Factorises for given hyperparameters; returns (chol, alpha, log marginal likelihood).
fn factor(
    x: &[Vec<f64>],
    y: &[f64],
    length: &[f64],
    noise: f64,
) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let n = x.len();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = matern52(&x[i], &x[j], length);
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
        k[i * n + i] += noise + 1e-9;
    }
    let l = cholesky(&k, n)?;
    let alpha = backward(&l, n, &forward(&l, n, y));
    let fit: f64 = y.iter().zip(&alpha).map(|(y, a)| y * a).sum();
    let log_det: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
    let lml = -0.5 * fit - log_det - 0.5 * n as f64 * std::f64::consts::TAU.ln();
    Some((l, alpha, lml))
}

impl Gp {
    /// Fits `y = f(x)` (`x` in the unit cube, at least one point).
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Gp {
        let dims = x.first().map_or(0, Vec::len);
        let n = y.len() as f64;
        let y_mean = y.iter().sum::<f64>() / n;
        let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n;
        let y_std = if var > 1e-24 { var.sqrt() } else { 1.0 };
        let ys: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_std).collect();

        let mut best: Option<(f64, Vec<f64>, f64)> = None; // (lml, length, noise)
        let consider = |length: Vec<f64>, noise: f64, best: &mut Option<(f64, Vec<f64>, f64)>| {
            if let Some((_, _, lml)) = factor(x, &ys, &length, noise) {
                if best.as_ref().is_none_or(|b| lml > b.0) {
                    *best = Some((lml, length, noise));
                }
            }
        };
        for l in [0.08, 0.15, 0.3, 0.5, 0.8, 1.5] {
            for noise in [1e-4, 1e-3, 1e-2, 0.05, 0.2] {
                consider(vec![l; dims], noise, &mut best);
            }
        }
        // Refine each coordinate's length scale, then the noise.
        for _ in 0..2 {
            for d in 0..dims {
                for factor in [0.5, 2.0, 4.0] {
                    if let Some((_, length, noise)) = best.clone() {
                        let mut l = length.clone();
                        l[d] = (l[d] * factor).clamp(0.02, 10.0);
                        consider(l, noise, &mut best);
                    }
                }
            }
            if let Some((_, length, noise)) = best.clone() {
                for f in [0.3, 3.0] {
                    consider(length.clone(), (noise * f).clamp(1e-6, 1.0), &mut best);
                }
            }
        }
        let (length, noise) = best.map_or((vec![0.5; dims], 0.1), |(_, l, n)| (l, n));
        // Large noise always factorises; fall back to it if the chosen one fails.
        let (chol, alpha, _) = factor(x, &ys, &length, noise)
            .or_else(|| factor(x, &ys, &length, 1.0))
            .expect("a kernel matrix plus unit noise is positive definite");
        Gp {
            x: x.to_vec(),
            chol,
            alpha,
            length,
            y_mean,
            y_std,
        }
    }

    /// Posterior mean and standard deviation at `p`, in the units of `y`.
    pub fn predict(&self, p: &[f64]) -> (f64, f64) {
        let n = self.x.len();
        let k: Vec<f64> = self
            .x
            .iter()
            .map(|x| matern52(x, p, &self.length))
            .collect();
        let mean: f64 = k.iter().zip(&self.alpha).map(|(k, a)| k * a).sum();
        let v = forward(&self.chol, n, &k);
        let var = (1.0 - v.iter().map(|v| v * v).sum::<f64>()).max(1e-12);
        (self.y_mean + self.y_std * mean, self.y_std * var.sqrt())
    }

    #[cfg(test)]
    pub fn length_scales(&self) -> &[f64] {
        &self.length
    }
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, error below 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (std::f64::consts::TAU).sqrt()
}

/// Expected improvement over `best` of a Gaussian with `mean` and `std` (maximising), with
/// exploration margin `xi`.
pub fn expected_improvement(mean: f64, std: f64, best: f64, xi: f64) -> f64 {
    if std <= 0.0 {
        return (mean - best - xi).max(0.0);
    }
    let z = (mean - best - xi) / std;
    (mean - best - xi) * normal_cdf(z) + std * normal_pdf(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_a_smooth_function_and_is_unsure_far_away() {
        let f = |x: &[f64]| (3.0 * x[0]).sin() + 0.1 * x[1];
        let xs: Vec<Vec<f64>> = (0..12).map(|i| vec![i as f64 / 11.0, 0.5]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
        let gp = Gp::fit(&xs, &ys);
        let (m, s) = gp.predict(&[0.35, 0.5]);
        assert!((m - f(&[0.35, 0.5])).abs() < 0.02, "{m}");
        assert!(s < 0.05, "{s}");
        let (_, far) = gp.predict(&[0.35, 0.0]);
        assert!(far >= s, "{far} < {s}");
        // The second coordinate never varied, so its length scale is not the binding one.
        assert!(gp.length_scales()[1] >= gp.length_scales()[0]);
    }

    #[test]
    fn normal_functions_and_ei() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
        assert!(expected_improvement(1.0, 0.1, 0.0, 0.0) > 0.99);
        assert!(expected_improvement(-1.0, 0.1, 0.0, 0.0) < 1e-6);
        assert!(
            expected_improvement(0.0, 1.0, 0.0, 0.0) > expected_improvement(0.0, 0.1, 0.0, 0.0)
        );
    }
}
