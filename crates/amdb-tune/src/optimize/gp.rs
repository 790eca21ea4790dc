//! A Gaussian-process regressor for Bayesian optimisation: Matérn-5/2 kernel with one length
//! scale per coordinate (ARD), a signal variance and an observation-noise variance, targets
//! standardised, hyperparameters chosen by maximising the log marginal likelihood (plus a
//! weak prior on the length scales, see [`log_prior`]).
//!
//! Why ARD: most knobs barely move throughput and a few move it a lot. One length scale per
//! knob lets the model be smooth along the former and sharp along the latter, and the
//! likelihood finds out which is which; an isotropic kernel must compromise and then either
//! over-explores the flat knobs or under-fits the sharp ones.
//!
//! Why Matérn-5/2 rather than the squared exponential: performance surfaces have kinks
//! (a buffer that suddenly fits, a checkpoint that starts to overlap), and the squared
//! exponential's infinite smoothness makes it overconfident between observations.
//!
//! Fitting: hyperparameters live in log space, inside fixed bounds. A coarse isotropic grid
//! picks a start; that start and [`RESTARTS`] random ones are each improved by a pattern
//! search (one coordinate at a time, steps halving), and the best wins. Each evaluation is
//! one Cholesky factorisation; a fit costs a few hundred of them, milliseconds for the 40
//! points of a test and about a second at 200 points, next to benchmark runs of minutes.
//! The fit is deterministic given the caller's generator.

use super::rng::Rng;

/// Random starting points of the hyperparameter search, besides the best grid point.
pub const RESTARTS: usize = 2;

/// Bounds of a length scale, in units of the cube's side. Below 0.02 a knob would have to
/// matter on a scale finer than the spacing of any budget's points; above 20 the kernel is
/// constant along the knob, which is how ARD switches a knob off.
const LENGTH_BOUNDS: (f64, f64) = (0.02, 20.0);
/// Bounds of the noise variance, as a fraction of the (standardised, so unit) target variance.
const NOISE_BOUNDS: (f64, f64) = (1e-6, 1.0);
/// Bounds of the signal variance, likewise.
const SIGNAL_BOUNDS: (f64, f64) = (0.1, 10.0);
/// Log-normal prior on each length scale: ln l ~ N(ln 0.5, 1). See [`log_prior`].
const LENGTH_PRIOR: (f64, f64) = (0.5, 1.0);
/// Added to the diagonal whatever the noise, so duplicated points still factorise.
const JITTER: f64 = 1e-9;

/// Kernel hyperparameters, all in the standardised units of the targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    /// One length scale per coordinate.
    pub length: Vec<f64>,
    /// Observation-noise variance.
    pub noise: f64,
    /// Signal (prior) variance of the latent function.
    pub signal: f64,
}

impl Hyper {
    /// The log-space vector the search moves in: ln lengths, ln noise, ln signal.
    fn to_log(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.length.iter().map(|l| l.ln()).collect();
        t.push(self.noise.ln());
        t.push(self.signal.ln());
        t
    }

    /// The inverse of [`to_log`](Hyper::to_log), clamping into the bounds.
    fn from_log(t: &[f64]) -> Hyper {
        let d = t.len() - 2;
        let clamp = |v: f64, (lo, hi): (f64, f64)| v.exp().clamp(lo, hi);
        Hyper {
            length: t[..d].iter().map(|&v| clamp(v, LENGTH_BOUNDS)).collect(),
            noise: clamp(t[d], NOISE_BOUNDS),
            signal: clamp(t[d + 1], SIGNAL_BOUNDS),
        }
    }
}

/// Matérn-5/2 correlation at scaled squared distance `r2` = Σ ((aᵢ − bᵢ)/lᵢ)².
fn matern52(r2: f64) -> f64 {
    let s = (5.0 * r2).sqrt();
    (1.0 + s + 5.0 * r2 / 3.0) * (-s).exp()
}

fn scaled_r2(a: &[f64], b: &[f64], length: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(length)
        .map(|((a, b), l)| ((a - b) / l).powi(2))
        .sum()
}

/// The log density (up to a constant) of the length scales' prior, added to the marginal
/// likelihood: the fit is a maximum a posteriori estimate.
///
/// Why a prior: along a knob the points have hardly varied yet, the likelihood is flat in its
/// length scale, and pure maximum likelihood is free to pick a long one. The model then
/// believes that knob does not matter, is confident about it, and EI never moves it: on the
/// six-knob test peak with 3 % noise, BO without the prior sat at a bound of one knob for 30
/// trials (seed 5, regret 0.36 after 40). The prior (median 0.5, a factor e either way within
/// one standard deviation) costs 1.5 nats at l = 2.8 and 7 at l = 20, little against the
/// evidence of a few dozen points that really show a knob to be irrelevant.
fn log_prior(h: &Hyper) -> f64 {
    let (median, sd) = LENGTH_PRIOR;
    h.length
        .iter()
        .map(|l| -0.5 * ((l / median).ln() / sd).powi(2))
        .sum()
}

/// Cholesky factor (lower, row-major `n × n`) of a symmetric matrix; `None` unless it is
/// numerically positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
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

/// Solves Lᵀ·v = b for lower-triangular L.
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

/// The training inputs' per-coordinate squared differences, computed once per fit so each
/// likelihood evaluation only rescales them: `sq[d][i·n + j]` for `j ≤ i`.
struct Distances {
    n: usize,
    sq: Vec<Vec<f64>>,
}

impl Distances {
    fn new(x: &[Vec<f64>], dims: usize) -> Distances {
        let n = x.len();
        let sq = (0..dims)
            .map(|d| {
                let mut m = vec![0.0; n * n];
                for i in 0..n {
                    for j in 0..=i {
                        m[i * n + j] = (x[i][d] - x[j][d]).powi(2);
                    }
                }
                m
            })
            .collect();
        Distances { n, sq }
    }

    /// Factorises K + noise·I for `h`; returns (chol, alpha = (K + noise·I)⁻¹·y, log marginal
    /// likelihood), or `None` if the matrix does not factorise.
    fn factor(&self, y: &[f64], h: &Hyper) -> Option<(Vec<f64>, Vec<f64>, f64)> {
        let n = self.n;
        let inv_l2: Vec<f64> = h.length.iter().map(|l| 1.0 / (l * l)).collect();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let r2: f64 = self
                    .sq
                    .iter()
                    .zip(&inv_l2)
                    .map(|(m, w)| m[i * n + j] * w)
                    .sum();
                let v = h.signal * matern52(r2);
                k[i * n + j] = v;
                k[j * n + i] = v;
            }
            k[i * n + i] += h.noise + JITTER;
        }
        let l = cholesky(&k, n)?;
        let alpha = backward(&l, n, &forward(&l, n, y));
        let fit: f64 = y.iter().zip(&alpha).map(|(y, a)| y * a).sum();
        let log_det: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
        let lml = -0.5 * fit - log_det - 0.5 * n as f64 * std::f64::consts::TAU.ln();
        lml.is_finite().then_some((l, alpha, lml))
    }
}

/// A fitted Gaussian process.
pub struct Gp {
    x: Vec<Vec<f64>>,
    /// Lower Cholesky factor of K + noise·I, row-major n × n.
    chol: Vec<f64>,
    /// (K + noise·I)⁻¹ · y, y standardised.
    alpha: Vec<f64>,
    hyper: Hyper,
    y_mean: f64,
    y_std: f64,
}

impl Gp {
    /// Fits `y = f(x) + noise`. `x` holds points of the unit cube, all of one length, and `y`
    /// finite values, one per point; `rng` draws the random restarts.
    pub fn fit(x: &[Vec<f64>], y: &[f64], rng: &mut Rng) -> Gp {
        let dims = x.first().map_or(0, Vec::len);
        let n = y.len().max(1) as f64;
        let y_mean = y.iter().sum::<f64>() / n;
        let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n;
        // Constant targets: nothing to scale; the model is then its prior around the mean.
        let y_std = if var > 1e-24 { var.sqrt() } else { 1.0 };
        let ys: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_std).collect();
        let dist = Distances::new(x, dims);
        let objective = |t: &[f64]| {
            let h = Hyper::from_log(t);
            dist.factor(&ys, &h)
                .map_or(f64::NEG_INFINITY, |f| f.2 + log_prior(&h))
        };

        let mut grid_best = (f64::NEG_INFINITY, Vec::new());
        for l in [0.1, 0.2, 0.4, 0.8, 1.6] {
            for noise in [1e-4, 1e-2, 0.1] {
                let t = Hyper {
                    length: vec![l; dims],
                    noise,
                    signal: 1.0,
                }
                .to_log();
                let v = objective(&t);
                if v > grid_best.0 {
                    grid_best = (v, t);
                }
            }
        }
        let mut starts = vec![grid_best.1];
        for _ in 0..RESTARTS {
            let mut t: Vec<f64> = (0..dims).map(|_| log_uniform(rng, 0.1, 2.0)).collect();
            t.push(log_uniform(rng, 1e-4, 0.1));
            t.push(log_uniform(rng, 0.5, 2.0));
            starts.push(t);
        }
        let mut best = (f64::NEG_INFINITY, Vec::new());
        for start in starts {
            if start.is_empty() {
                continue; // no grid point factorised; the random starts remain
            }
            let found = pattern_search(start, &objective);
            if found.0 > best.0 {
                best = found;
            }
        }
        let hyper = if best.1.is_empty() {
            // Nothing factorised (cannot happen with the noise floor and the jitter, short
            // of non-finite inputs): the prior with a lot of noise.
            Hyper {
                length: vec![LENGTH_PRIOR.0; dims],
                noise: NOISE_BOUNDS.1,
                signal: 1.0,
            }
        } else {
            Hyper::from_log(&best.1)
        };
        let (chol, alpha) = match dist.factor(&ys, &hyper) {
            Some((c, a, _)) => (c, a),
            None => {
                // K is positive semi-definite and the diagonal gets at least 1e-6 + jitter,
                // so only non-finite inputs land here; then predict the prior everywhere.
                let n = x.len();
                let mut eye = vec![0.0; n * n];
                for i in 0..n {
                    eye[i * n + i] = 1.0;
                }
                (eye, vec![0.0; n])
            }
        };
        Gp {
            x: x.to_vec(),
            chol,
            alpha,
            hyper,
            y_mean,
            y_std,
        }
    }

    /// Posterior mean and standard deviation of the latent function at `p`, in the units of
    /// `y` (the noise is not included: EI asks what the configuration is worth, not what
    /// one noisy measurement of it will read).
    pub fn predict(&self, p: &[f64]) -> (f64, f64) {
        let n = self.x.len();
        let k: Vec<f64> = self
            .x
            .iter()
            .map(|x| self.hyper.signal * matern52(scaled_r2(x, p, &self.hyper.length)))
            .collect();
        let mean: f64 = k.iter().zip(&self.alpha).map(|(k, a)| k * a).sum();
        let v = forward(&self.chol, n, &k);
        let var = (self.hyper.signal - v.iter().map(|v| v * v).sum::<f64>()).max(1e-12);
        (self.y_mean + self.y_std * mean, self.y_std * var.sqrt())
    }

    /// The fitted hyperparameters (the tests look at them; BO needs only predictions).
    #[cfg(test)]
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }
}

fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo.ln() + rng.uniform() * (hi.ln() - lo.ln())
}

/// Coordinate-wise pattern search maximising `f` from `t`: try ±step along each coordinate,
/// keep any improvement, sweep again while something improved (at most four sweeps a step
/// size), then halve the step. Steps 1, ½, ¼ in log units: factors of 2.7 down to 1.3, fine
/// enough for hyperparameters that EI is not sensitive to.
fn pattern_search(mut t: Vec<f64>, f: &dyn Fn(&[f64]) -> f64) -> (f64, Vec<f64>) {
    let mut value = f(&t);
    for step in [1.0, 0.5, 0.25] {
        for _ in 0..4 {
            let mut improved = false;
            for k in 0..t.len() {
                for sign in [1.0, -1.0] {
                    let mut c = t.clone();
                    c[k] += sign * step;
                    // Clamp in log space too, so the search does not wander past a bound.
                    c = Hyper::from_log(&c).to_log();
                    if c[k] == t[k] {
                        continue;
                    }
                    let v = f(&c);
                    if v > value {
                        (value, t) = (v, c);
                        improved = true;
                        break;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    (value, t)
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, absolute error below 1.5e-7).
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

/// Standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / std::f64::consts::TAU.sqrt()
}

/// Expected improvement over `best` of a Gaussian with `mean` and `std` (maximising), with
/// exploration margin `xi`: E[max(f − best − xi, 0)].
pub fn expected_improvement(mean: f64, std: f64, best: f64, xi: f64) -> f64 {
    let gain = mean - best - xi;
    if std <= 0.0 {
        return gain.max(0.0);
    }
    let z = gain / std;
    // The A&S tail of the CDF is absolute-accurate only, so far below the incumbent the
    // formula can dip a hair under zero; EI is non-negative by definition.
    (gain * normal_cdf(z) + std * normal_pdf(z)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_a_smooth_function_and_is_unsure_far_away() {
        let f = |x: &[f64]| (3.0 * x[0]).sin() + 0.1 * x[1];
        let xs: Vec<Vec<f64>> = (0..12).map(|i| vec![i as f64 / 11.0, 0.5]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
        let gp = Gp::fit(&xs, &ys, &mut Rng::new(1));
        let (m, s) = gp.predict(&[0.35, 0.5]);
        assert!((m - f(&[0.35, 0.5])).abs() < 0.02, "{m}");
        assert!(s < 0.05, "{s}");
        // Away from the observed line, along the coordinate that never varied, the model
        // knows less.
        let (_, far) = gp.predict(&[0.35, 0.0]);
        assert!(far > 2.0 * s, "{far} vs {s}");
    }

    #[test]
    fn ard_tells_a_relevant_knob_from_an_irrelevant_one() {
        // y depends on x0 only; 30 scattered points.
        let mut rng = Rng::new(5);
        let xs: Vec<Vec<f64>> = (0..30)
            .map(|_| vec![rng.uniform(), rng.uniform()])
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| (6.0 * x[0]).cos()).collect();
        let gp = Gp::fit(&xs, &ys, &mut Rng::new(2));
        let l = &gp.hyper().length;
        assert!(l[1] > 5.0 * l[0], "{l:?}");
        // Predictions ignore x1.
        let (a, _) = gp.predict(&[0.3, 0.1]);
        let (b, _) = gp.predict(&[0.3, 0.9]);
        assert!(
            (a - b).abs() < 0.05 && (a - 1.8f64.cos()).abs() < 0.05,
            "{a} {b}"
        );
    }

    #[test]
    fn noise_is_estimated_not_interpolated() {
        // A line plus noise of standard deviation 0.1: the fitted noise variance should be
        // of the order of 0.01 (in original units), and the mean should smooth the noise.
        let mut rng = Rng::new(9);
        let xs: Vec<Vec<f64>> = (0..40).map(|i| vec![i as f64 / 39.0]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 2.0 * x[0] + 0.1 * rng.normal()).collect();
        let gp = Gp::fit(&xs, &ys, &mut Rng::new(3));
        let var = ys.iter().map(|y| (y - 1.0).powi(2)).sum::<f64>() / 40.0;
        let noise = gp.hyper().noise * var;
        assert!((0.002..0.05).contains(&noise), "noise variance {noise}");
        let (m, _) = gp.predict(&[0.5]);
        assert!((m - 1.0).abs() < 0.1, "{m}");
    }

    #[test]
    fn degenerate_inputs_still_fit() {
        // One point, duplicated points, constant targets.
        let gp = Gp::fit(&[vec![0.3, 0.3]], &[1.5], &mut Rng::new(1));
        let (m, s) = gp.predict(&[0.3, 0.3]);
        assert!((m - 1.5).abs() < 1e-6 && s.is_finite(), "{m} {s}");
        let xs = vec![vec![0.5], vec![0.5], vec![0.5]];
        let gp = Gp::fit(&xs, &[1.0, 1.0, 1.0], &mut Rng::new(1));
        let (m, s) = gp.predict(&[0.1]);
        assert!((m - 1.0).abs() < 1e-6 && s.is_finite(), "{m} {s}");
    }

    #[test]
    fn normal_functions_and_ei() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
        assert!((normal_pdf(0.0) - 0.398_942_28).abs() < 1e-8);
        // EI of N(0, 1) over 0: φ(0) = 0.3989.
        assert!((expected_improvement(0.0, 1.0, 0.0, 0.0) - 0.398_942).abs() < 1e-5);
        assert!(expected_improvement(1.0, 0.1, 0.0, 0.0) > 0.99);
        assert!(expected_improvement(-1.0, 0.1, 0.0, 0.0) < 1e-6);
        assert!(expected_improvement(-50.0, 1.0, 0.0, 0.0) >= 0.0);
        assert!(
            expected_improvement(0.0, 1.0, 0.0, 0.0) > expected_improvement(0.0, 0.1, 0.0, 0.0)
        );
    }
}
