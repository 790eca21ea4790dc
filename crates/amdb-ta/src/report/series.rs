//! Series derived from the equity curve: drawdown, and thinning for charts.

/// Drawdown at each point as a fraction of the running peak: `0` at a new high, `-0.25`
/// a quarter below it. `NaN` where the value is `NaN` or no positive peak has been seen
/// yet (a drawdown from a non-positive peak has no meaning).
pub fn drawdown(equity: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&(t, v)| {
            if v.is_nan() {
                return (t, f64::NAN);
            }
            peak = peak.max(v);
            let dd = if peak > 0.0 { v / peak - 1.0 } else { f64::NAN };
            (t, dd)
        })
        .collect()
}

/// The deepest drawdown as a negative fraction (`-0.25` for 25% below the peak), `0` if
/// equity never fell, `NaN` if there is no defined drawdown at all.
pub fn max_drawdown(equity: &[(i64, f64)]) -> f64 {
    drawdown(equity)
        .iter()
        .map(|&(_, d)| d)
        .filter(|d| d.is_finite())
        .fold(f64::NAN, f64::min)
}

/// Finite points only, thinned to at most about `2 * buckets` points for drawing: each of
/// `buckets` equal time slices keeps its lowest and highest point in time order. At one
/// slice per pixel column the line looks the same as with every point, and a deep
/// drawdown spike is never dropped (as it could be by taking every n-th point).
pub(crate) fn thin_for_chart(points: &[(i64, f64)], buckets: usize) -> Vec<(i64, f64)> {
    let finite: Vec<(i64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let buckets = buckets.max(1);
    if finite.len() <= 2 * buckets + 2 {
        return finite;
    }
    let (t0, t1) = (finite[0].0, finite[finite.len() - 1].0);
    let span = (i128::from(t1) - i128::from(t0)).max(1);
    let bucket_of =
        |t: i64| ((i128::from(t) - i128::from(t0)) * buckets as i128 / (span + 1)) as usize;

    let mut out = Vec::with_capacity(2 * buckets + 2);
    out.push(finite[0]);
    let mut i = 1;
    while i < finite.len() - 1 {
        let b = bucket_of(finite[i].0);
        let (mut lo, mut hi) = (i, i);
        let mut j = i;
        while j < finite.len() - 1 && bucket_of(finite[j].0) == b {
            if finite[j].1 < finite[lo].1 {
                lo = j;
            }
            if finite[j].1 > finite[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let (a, c) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(finite[a]);
        if c != a {
            out.push(finite[c]);
        }
        i = j;
    }
    out.push(finite[finite.len() - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_from_running_peak() {
        let eq = [(0, 100.0), (1, 120.0), (2, 90.0), (3, 130.0), (4, 117.0)];
        let dd: Vec<f64> = drawdown(&eq).iter().map(|p| p.1).collect();
        assert_eq!(dd[0], 0.0);
        assert_eq!(dd[1], 0.0);
        assert!((dd[2] + 0.25).abs() < 1e-12);
        assert_eq!(dd[3], 0.0);
        assert!((dd[4] + 0.1).abs() < 1e-12);
        assert!((max_drawdown(&eq) + 0.25).abs() < 1e-12);
        assert!(max_drawdown(&[]).is_nan());
    }

    #[test]
    fn thinning_keeps_extremes_and_ends() {
        let pts: Vec<(i64, f64)> = (0..10_000)
            .map(|i| (i, if i == 5_000 { -50.0 } else { (i as f64).sin() }))
            .collect();
        let thin = thin_for_chart(&pts, 100);
        assert!(thin.len() <= 202);
        assert_eq!(thin[0], pts[0]);
        assert_eq!(*thin.last().unwrap(), pts[9_999]);
        assert!(thin.contains(&(5_000, -50.0)));
        assert!(thin.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
