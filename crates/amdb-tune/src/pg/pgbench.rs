//! pgbench as a workload: initialise its tables, run it, read its report.

use std::path::Path;

use super::Conn;
use crate::target::RunResult;
use crate::workload::{Script, Workload};
use crate::{Error, Result};

/// What pgbench's summary says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Transactions per second, without the initial connection time.
    pub tps: f64,
    pub latency_avg_ms: f64,
    pub transactions: u64,
    pub failed: u64,
}

/// Creates (or recreates) pgbench's tables at `scale` (100,000 accounts per unit).
pub fn init(conn: &Conn, scale: u32) -> Result<()> {
    let mut c = conn.pgbench();
    c.args(["-i", "-q", "-s", &scale.to_string()]);
    conn.run_pgbench(c, "pgbench -i")?;
    Ok(())
}

/// The scale pgbench's tables were initialised at, or `None` when they do not exist.
pub fn current_scale(conn: &Conn) -> Result<Option<u32>> {
    let exists = conn.psql("SELECT to_regclass('pgbench_branches') IS NOT NULL")?;
    if exists != "t" {
        return Ok(None);
    }
    let n = conn.psql("SELECT count(*) FROM pgbench_branches")?;
    Ok(n.parse().ok())
}

/// Runs the workload for `seconds` and returns the summary plus the 95th percentile of
/// per-transaction latency, read from pgbench's transaction log (`-l`).
pub fn run(conn: &Conn, w: &Workload, seconds: u32) -> Result<RunResult> {
    let logs = tempfile::Builder::new()
        .prefix("amdb-pgbench-")
        .tempdir()
        .map_err(|e| Error::io("create temporary directory in", std::env::temp_dir(), e))?;
    let mut c = conn.pgbench();
    c.args(["-c", &w.clients.to_string()])
        .args(["-j", &w.threads.clamp(1, w.clients.max(1)).to_string()])
        .args(["-T", &seconds.to_string(), "-l"])
        .arg(format!("--log-prefix={}", logs.path().join("tx").display()));
    if let Script::Sql { file, .. } = &w.script {
        let file = std::path::absolute(file).map_err(|e| Error::io("resolve", file, e))?;
        c.arg("-f").arg(file);
    }
    let out = conn.run_pgbench(c, "pgbench")?;
    let report = parse_report(&String::from_utf8_lossy(&out.stdout))?;
    let mut latencies_us = read_transaction_logs(logs.path())?;
    let latency_p95_ms = percentile(&mut latencies_us, 0.95).map_or(f64::NAN, |us| us / 1000.0);
    Ok(RunResult {
        tps: report.tps,
        latency_avg_ms: report.latency_avg_ms,
        latency_p95_ms,
        transactions: report.transactions,
        failed: report.failed,
    })
}

/// Per-transaction latencies (µs) from every `tx.*` log file in `dir`. Each line is
/// `client_id transaction_no time script_no time_epoch time_us [schedule_lag]`, where
/// `time` is the latency in µs, or `failed`/`skipped` for transactions without one.
fn read_transaction_logs(dir: &Path) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read", dir, e))?.path();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        out.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok()),
        );
    }
    Ok(out)
}

/// The `q` quantile by the nearest-rank method; `None` for no samples.
pub(crate) fn percentile(samples: &mut [f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    Some(samples[rank - 1])
}

/// Reads pgbench's summary: `number of transactions actually processed: N`, `number of
/// failed transactions: N (...)`, `latency average = X ms` and `tps = X (without initial
/// connection time)`.
pub fn parse_report(text: &str) -> Result<Report> {
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
    };
    let first_number = |s: &str| {
        s.split_whitespace()
            .next()
            .and_then(|n| n.parse::<f64>().ok())
    };
    let bad = |what| Error::Parse {
        what,
        text: text.lines().rev().take(6).collect::<Vec<_>>().join(" | "),
    };
    let tps = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tps = "))
        .find(|rest| rest.contains("without initial connection time"))
        .and_then(first_number)
        .ok_or_else(|| bad("tps"))?;
    let latency_avg_ms = field("latency average =")
        .and_then(first_number)
        .ok_or_else(|| bad("latency average"))?;
    let transactions = field("number of transactions actually processed:")
        .and_then(|s| s.split('/').next()?.trim().parse().ok())
        .ok_or_else(|| bad("transactions processed"))?;
    // Older pgbench versions do not print failures; absent means none were counted.
    let failed = match field("number of failed transactions:") {
        Some(s) => first_number(s).ok_or_else(|| bad("failed transactions"))? as u64,
        None => 0,
    };
    Ok(Report {
        tps,
        latency_avg_ms,
        transactions,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG15: &str = "pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 31234
number of failed transactions: 0 (0.000%)
latency average = 1.281 ms
initial connection time = 6.118 ms
tps = 3122.581144 (without initial connection time)
";

    #[test]
    fn reads_a_pgbench_15_report() {
        let r = parse_report(PG15).unwrap();
        assert_eq!(r.transactions, 31234);
        assert_eq!(r.failed, 0);
        assert!((r.tps - 3122.581144).abs() < 1e-9);
        assert!((r.latency_avg_ms - 1.281).abs() < 1e-12);
    }

    #[test]
    fn nearest_rank_percentile() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), Some(95.0));
        assert_eq!(percentile(&mut [7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&mut [], 0.95), None);
    }

    #[test]
    fn transaction_logs_skip_failed_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tx.1"),
            "0 0 1200 0 1700000000 5\n0 1 failed 0 1700000000 9\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("tx.1.1"), "1 0 800 0 1700000000 7\n").unwrap();
        let mut v = read_transaction_logs(dir.path()).unwrap();
        v.sort_by(f64::total_cmp);
        assert_eq!(v, vec![800.0, 1200.0]);
    }

    #[test]
    fn a_report_without_tps_is_an_error_naming_it() {
        let text = PG15.replace("tps = ", "rate = ");
        let e = parse_report(&text).unwrap_err().to_string();
        assert!(e.contains("cannot read tps"), "{e}");
    }
}
