//! pgbench as a workload: initialise its tables, run it, read its report.

use std::process::Command;

use super::Cluster;
use crate::{Error, Result};

/// One pgbench run's shape (TPC-B-like default script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    pub clients: u32,
    /// Worker threads of pgbench itself; at most `clients`.
    pub threads: u32,
    pub seconds: u32,
}

/// What a run reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Transactions per second, without the initial connection time.
    pub tps: f64,
    pub latency_avg_ms: f64,
    pub transactions: u64,
    pub failed: u64,
}

/// Creates (or recreates) pgbench's tables at `scale` (100,000 accounts per unit).
pub fn init(cluster: &Cluster, scale: u32) -> Result<()> {
    let mut c = command(cluster);
    c.args(["-i", "-q", "-s", &scale.to_string(), "postgres"]);
    cluster.run(c, "pgbench -i")?;
    Ok(())
}

/// Runs the workload and returns pgbench's report.
pub fn run(cluster: &Cluster, w: &Workload) -> Result<Report> {
    let mut c = command(cluster);
    c.args(["-c", &w.clients.to_string()])
        .args(["-j", &w.threads.clamp(1, w.clients.max(1)).to_string()])
        .args(["-T", &w.seconds.to_string(), "postgres"]);
    let out = cluster.run(c, "pgbench")?;
    parse_report(&String::from_utf8_lossy(&out.stdout))
}

fn command(cluster: &Cluster) -> Command {
    let mut c = Command::new(cluster.binaries().program("pgbench"));
    c.arg("-h")
        .arg(cluster.socket_dir())
        .arg("-p")
        .arg(cluster.port().to_string())
        .args(["-U", "postgres"]);
    c
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
    fn a_report_without_tps_is_an_error_naming_it() {
        let text = PG15.replace("tps = ", "rate = ");
        let e = parse_report(&text).unwrap_err().to_string();
        assert!(e.contains("cannot read tps"), "{e}");
    }
}
