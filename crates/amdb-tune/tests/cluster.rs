//! A real throwaway PostgreSQL: spawned, queried, restarted, benchmarked, removed.

use amdb_tune::pg::{pgbench, Cluster};
use amdb_tune::workload::Workload;

#[test]
fn a_spawned_cluster_runs_pgbench_restarts_and_leaves_nothing_behind() {
    let mut cluster = Cluster::spawn().expect("spawn a PostgreSQL cluster");
    let dir = cluster.socket_dir().to_path_buf();
    assert!(cluster.data_dir().join("PG_VERSION").is_file());
    let version: u32 = cluster
        .psql("SHOW server_version_num")
        .unwrap()
        .parse()
        .unwrap();
    assert!(version >= 120000, "{version}");

    // A reload-context knob applies with ALTER SYSTEM and a reload; a postmaster one only
    // after a restart.
    cluster.psql("ALTER SYSTEM SET work_mem = '8MB'").unwrap();
    cluster
        .psql("ALTER SYSTEM SET shared_buffers = '64MB'")
        .unwrap();
    cluster.psql("SELECT pg_reload_conf()").unwrap();
    assert_eq!(cluster.psql("SHOW work_mem").unwrap(), "8MB");
    assert_eq!(
        cluster
            .psql("SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'")
            .unwrap(),
        "t"
    );
    cluster.restart().unwrap();
    assert_eq!(cluster.psql("SHOW shared_buffers").unwrap(), "64MB");

    let conn = cluster.conn();
    pgbench::init(&conn, 1).unwrap();
    assert_eq!(pgbench::current_scale(&conn).unwrap(), Some(1));
    let w: Workload = "pgbench:scale=1,clients=2,threads=2,seconds=2"
        .parse()
        .unwrap();
    let r = pgbench::run(&conn, &w, 2).unwrap();
    assert!(r.tps > 0.0 && r.transactions > 0, "{r:?}");
    assert_eq!(r.failed, 0);
    // p95 comes from the per-transaction log: at least the average's order of magnitude.
    assert!(
        r.latency_p95_ms.is_finite() && r.latency_p95_ms > 0.2 * r.latency_avg_ms,
        "{r:?}"
    );

    // Bad SQL is an error that says what psql said.
    let e = cluster.psql("SELEC 1").unwrap_err().to_string();
    assert!(e.contains("syntax error"), "{e}");

    drop(cluster);
    assert!(!dir.exists(), "{} left behind", dir.display());
}
