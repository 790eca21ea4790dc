//! Activity counters from PostgreSQL's statistics views, and the optimizer's state made
//! from them.
//!
//! A snapshot holds cumulative counters; the state for a run is each counter's increase
//! per second over the run, compressed with `ln(1 + rate) / 5` so that rates from 0 to
//! millions land roughly in `[0, 3]` and no single counter dominates.

use super::Conn;
use crate::target::Metrics;
use crate::{Error, Result};

/// Counters of `pg_stat_database` (this database), `pg_stat_bgwriter`, `pg_stat_wal`
/// (PostgreSQL 14 and later) and `pg_stat_statements` (when installed), in a fixed order:
/// the optimizer's state has one coordinate per name, absent views giving zeros.
pub const COUNTERS: &[&str] = &[
    "db.xact_commit",
    "db.xact_rollback",
    "db.blks_read",
    "db.blks_hit",
    "db.tup_returned",
    "db.tup_fetched",
    "db.tup_inserted",
    "db.tup_updated",
    "db.tup_deleted",
    "db.temp_bytes",
    "db.deadlocks",
    "bgwriter.checkpoints_timed",
    "bgwriter.checkpoints_req",
    "bgwriter.buffers_checkpoint",
    "bgwriter.buffers_clean",
    "bgwriter.maxwritten_clean",
    "bgwriter.buffers_backend",
    "bgwriter.buffers_alloc",
    "wal.wal_records",
    "wal.wal_fpi",
    "wal.wal_bytes",
    "wal.wal_buffers_full",
    "wal.wal_write",
    "wal.wal_sync",
    "statements.calls",
    "statements.total_exec_time",
    "statements.shared_blks_hit",
    "statements.shared_blks_read",
];

const DATABASE: &str =
    "SELECT 'db', xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, \
    tup_fetched, tup_inserted, tup_updated, tup_deleted, temp_bytes, deadlocks \
    FROM pg_stat_database WHERE datname = current_database()";
const BGWRITER: &str =
    "SELECT 'bgwriter', checkpoints_timed, checkpoints_req, buffers_checkpoint, \
    buffers_clean, maxwritten_clean, buffers_backend, buffers_alloc FROM pg_stat_bgwriter";
const WAL: &str = "SELECT 'wal', wal_records, wal_fpi, wal_bytes, wal_buffers_full, wal_write, \
    wal_sync FROM pg_stat_wal";
const STATEMENTS: &str = "SELECT 'statements', coalesce(sum(calls), 0), \
    coalesce(sum(total_exec_time), 0), coalesce(sum(shared_blks_hit), 0), \
    coalesce(sum(shared_blks_read), 0) FROM pg_stat_statements";

/// Reads every available counter.
pub fn snapshot(conn: &Conn) -> Result<Metrics> {
    let mut m = Metrics::new();
    let has = |relation: &str| -> Result<bool> {
        Ok(conn.psql(&format!("SELECT to_regclass('{relation}') IS NOT NULL"))? == "t")
    };
    let mut queries = vec![DATABASE];
    // PostgreSQL 17 moved the checkpoint counters out of pg_stat_bgwriter.
    let bgwriter_has_checkpoints = conn.psql(
        "SELECT count(*) FROM information_schema.columns \
         WHERE table_name = 'pg_stat_bgwriter' AND column_name = 'checkpoints_timed'",
    )? == "1";
    if bgwriter_has_checkpoints {
        queries.push(BGWRITER);
    }
    if has("pg_stat_wal")? {
        queries.push(WAL);
    }
    if has("pg_stat_statements")? {
        queries.push(STATEMENTS);
    }
    for q in queries {
        let row = conn.psql(q)?;
        let mut fields = row.split('\x1f');
        let view = fields.next().unwrap_or_default();
        let names = COUNTERS
            .iter()
            .filter(|n| n.split('.').next() == Some(view));
        for (name, value) in names.zip(fields) {
            let v: f64 = value.trim().parse().map_err(|_| Error::Parse {
                what: "a statistics counter",
                text: format!("{name} = {value:?}"),
            })?;
            m.insert(name.to_string(), v);
        }
    }
    Ok(m)
}

/// The optimizer's state for a run of `seconds` between two snapshots (see the module
/// documentation); one coordinate per name in [`COUNTERS`].
pub fn state(before: &Metrics, after: &Metrics, seconds: f64) -> Vec<f64> {
    COUNTERS
        .iter()
        .map(|name| {
            let (Some(a), Some(b)) = (before.get(*name), after.get(*name)) else {
                return 0.0;
            };
            // Counters only grow; a decrease means they were reset, which says nothing.
            let rate = ((b - a) / seconds.max(1e-9)).max(0.0);
            (1.0 + rate).ln() / 5.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_compressed_rate_per_counter() {
        let mut a = Metrics::new();
        let mut b = Metrics::new();
        a.insert("db.xact_commit".into(), 1000.0);
        b.insert("db.xact_commit".into(), 1000.0 + 10.0 * 3000.0);
        a.insert("wal.wal_bytes".into(), 5e9);
        b.insert("wal.wal_bytes".into(), 1.0); // reset
        let s = state(&a, &b, 10.0);
        assert_eq!(s.len(), COUNTERS.len());
        assert!((s[0] - (3001f64).ln() / 5.0).abs() < 1e-12);
        let wal = COUNTERS.iter().position(|n| *n == "wal.wal_bytes").unwrap();
        assert_eq!(s[wal], 0.0);
        assert!(s.iter().all(|v| (0.0..4.0).contains(v)));
    }
}
