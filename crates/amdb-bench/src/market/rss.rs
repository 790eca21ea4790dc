//! `rss_1m`: peak resident memory of a fresh process that reads 1,000,000 bars of one series
//! into columns and computes a 20-bar SMA of the close and the total volume.
//!
//! The parent stores the series for each system (untimed), then runs
//! `<child_exe> bench market --rss-child SYSTEM --dir DIR`; the child calls [`rss_child`] and
//! prints the [`RssChildReport`] as one JSON line, which the parent parses and verifies.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use amdb_market::{gen, Bars, Timeframe};
use serde::{Deserialize, Serialize};

use super::dataset::{Checksum, SEED};
use super::open_for_reading;
use crate::{BenchError, Result};

/// The series the child reads.
pub const RSS_SYMBOL: &str = "SYM000";
/// 1-minute bars: a million of them are about 1.9 years.
pub const RSS_TF: Timeframe = Timeframe::M1;
pub const RSS_BARS: usize = 1_000_000;
/// SMA period of the child's processing.
pub const SMA_PERIOD: usize = 20;

/// The series every system stores for the child.
pub fn rss_series() -> Bars {
    gen::generate(SEED, 0, RSS_TF, gen::DEFAULT_START_NS, RSS_BARS)
}

/// What the child prints (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RssChildReport {
    pub system: String,
    /// Rows read.
    pub rows: u64,
    /// [`Checksum`] of the columns read, as 16 hex digits.
    pub checksum: String,
    /// The last value of the 20-bar SMA of the close (NaN-free: 0 if fewer rows).
    pub sma20_last: f64,
    /// The sum of all defined SMA values, so none of them can be skipped.
    pub sma20_sum: f64,
    pub volume_total: f64,
    /// Open, read and compute, inside the child.
    pub seconds: f64,
    /// Peak resident set size of the child (`VmHWM`).
    pub rss_bytes: u64,
}

/// The child's work: open `system`'s store in `dir`, read the series into columns, compute,
/// report. The CLI calls this for `amdb bench market --rss-child SYSTEM --dir DIR` and prints
/// the report with `serde_json::to_string`.
pub fn rss_child(system: &str, dir: &Path) -> Result<RssChildReport> {
    let t = Instant::now();
    let store = open_for_reading(system, dir, RSS_TF)?;
    let bars = store.read(RSS_SYMBOL)?;
    let (sma20_last, sma20_sum) = sma_last_and_sum(&bars.close, SMA_PERIOD);
    let volume_total: f64 = bars.volume.iter().sum();
    let seconds = t.elapsed().as_secs_f64();
    let checksum = Checksum::of(&bars);
    store.close()?;
    Ok(RssChildReport {
        system: system.to_string(),
        rows: bars.len() as u64,
        checksum: checksum.hex(),
        sma20_last,
        sma20_sum,
        volume_total,
        seconds,
        rss_bytes: crate::sys::peak_rss_bytes(),
    })
}

/// Simple moving average computed as a stream, the way an agent processes bars: calls
/// `each` with one value per full window (`len - period + 1` values) without materialising
/// them.
fn sma_each(x: &[f64], period: usize, mut each: impl FnMut(f64)) {
    if period == 0 || x.len() < period {
        return;
    }
    let mut sum: f64 = x[..period].iter().sum();
    each(sum / period as f64);
    for i in period..x.len() {
        sum += x[i] - x[i - period];
        each(sum / period as f64);
    }
}

/// (last value, sum of all values) of the SMA.
fn sma_last_and_sum(x: &[f64], period: usize) -> (f64, f64) {
    let (mut last, mut total) = (0.0, 0.0);
    sma_each(x, period, |v| {
        last = v;
        total += v;
    });
    (last, total)
}

/// Runs the child for `system` and checks its answer against `want` (the stored series).
pub fn run_child(exe: &Path, system: &str, dir: &Path, want: &Bars) -> Result<RssChildReport> {
    let out = Command::new(exe)
        .args(["bench", "market", "--rss-child", system, "--dir"])
        .arg(dir)
        .output()
        .map_err(|e| super::io_err("run", exe, e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BenchError::Child(format!(
            "{} --rss-child {system} exited with {}: {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let report: RssChildReport = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l.trim()).ok())
        .ok_or_else(|| {
            BenchError::Child(format!(
                "{} --rss-child {system} printed no report line: {:?}",
                exe.display(),
                stdout.trim()
            ))
        })?;
    let sum = Checksum::of(want);
    let volume: f64 = want.volume.iter().sum();
    let (_, want_sma_sum) = sma_last_and_sum(&want.close, SMA_PERIOD);
    if report.rows != sum.rows
        || report.checksum != sum.hex()
        || report.volume_total.to_bits() != volume.to_bits()
        || report.sma20_sum.to_bits() != want_sma_sum.to_bits()
    {
        return Err(BenchError::Verify {
            case: "rss_1m".into(),
            detail: format!(
                "the {system} child read {} rows (checksum {}, volume {}), expected {} rows (checksum {}, volume {volume})",
                report.rows,
                report.checksum,
                report.volume_total,
                sum.rows,
                sum.hex()
            ),
        });
    }
    if report.rss_bytes == 0 {
        return Err(BenchError::Child(format!(
            "the {system} child could not read its peak RSS"
        )));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_matches_a_direct_mean() {
        let x: Vec<f64> = (0..50).map(|i| (i * 7 % 13) as f64).collect();
        let mut s = Vec::new();
        sma_each(&x, 20, |v| s.push(v));
        assert_eq!(s.len(), 31);
        for (i, v) in s.iter().enumerate() {
            let direct: f64 = x[i..i + 20].iter().sum::<f64>() / 20.0;
            assert!((v - direct).abs() < 1e-9);
        }
        let (last, sum) = sma_last_and_sum(&x, 20);
        assert_eq!((last, sum), (s[30], s.iter().sum::<f64>()));
        let mut none = 0;
        sma_each(&x[..5], 20, |_| none += 1);
        assert_eq!(none, 0);
    }
}
