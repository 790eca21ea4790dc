//! A whole tuning run on a real throwaway cluster: search, finalists, store, resume, report.

use amdb_engine::{Db, Options};
use amdb_tune::knob::Value;
use amdb_tune::measure::Protocol;
use amdb_tune::optimize::OptimizerKind;
use amdb_tune::pg::{Cluster, PgTarget, Server};
use amdb_tune::session::{self, Event, RunMeta};
use amdb_tune::store::Store;
use amdb_tune::target::Target;
use amdb_tune::workload::Workload;

fn meta(target: &PgTarget, budget: usize) -> RunMeta {
    let workload: Workload = "pgbench:scale=1,clients=4,seconds=1".parse().unwrap();
    let mut protocol = Protocol::new(2, 1);
    protocol.warmup_seconds = 1;
    RunMeta {
        target: target.describe(),
        knobs: target.catalog().to_vec(),
        skipped: target.skipped().to_vec(),
        knob_set: "test".into(),
        workload,
        optimizer: OptimizerKind::Random,
        budget,
        search_runs: 1,
        finalists: 1,
        ablation: false,
        protocol,
        seed: 3,
        allow_unsafe: true,
        allow_restart: false,
        warm_start: None,
        started_unix: 0,
    }
}

#[test]
fn a_run_is_stored_resumed_and_reported() {
    let data = tempfile::tempdir().unwrap();
    let db = Db::open(
        data.path(),
        Options {
            create_if_missing: true,
            ..Options::default()
        },
    )
    .unwrap();
    let store = Store::new(db).unwrap();
    let cluster = Cluster::spawn().unwrap();
    // synchronous_commit has a large effect, so a recommendation is likely but not
    // required; the test checks the bookkeeping, not the optimizer.
    let mut target = PgTarget::new(
        Server::Spawned(cluster),
        &["synchronous_commit", "work_mem"],
        false,
        None,
    )
    .unwrap();
    let run = store.create_run(&meta(&target, 2)).unwrap();
    assert_eq!(run, 1);
    let mut events = Vec::new();
    session::tune(&mut target, &store, run, None, &mut |e| events.push(e)).unwrap();
    assert_eq!(store.trials(run).unwrap().len(), 2);
    assert!(events.contains(&Event::Baseline));
    assert!(events.contains(&Event::Trial { n: 1, budget: 2 }));
    assert!(store.model(run).unwrap().is_some());

    // Resume with a larger budget: the stored trials are kept, two more are added.
    let mut m = store.meta(run).unwrap();
    m.budget = 4;
    m.ablation = true;
    let run2 = store.create_run(&m).unwrap();
    for t in store.trials(run).unwrap() {
        store.put_trial(run2, &t).unwrap();
    }
    store
        .put_model(run2, &store.model(run).unwrap().unwrap())
        .unwrap();
    let outcome = session::tune(&mut target, &store, run2, None, &mut |_| {}).unwrap();
    let trials = store.trials(run2).unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(
        trials[0],
        store.trials(run).unwrap()[0],
        "stored trials are not re-run"
    );
    assert!(!outcome.finalists.is_empty());
    assert_eq!(store.outcome(run2).unwrap().as_ref(), Some(&outcome));
    // Recommendations name only knobs that differ from the baseline.
    if let Some(rec) = &outcome.recommended {
        for (name, v) in rec {
            assert_ne!(outcome.baseline_config.get(name), Some(v), "{name}");
        }
    }
    // The server is back on its own settings.
    assert_eq!(target.current("synchronous_commit").unwrap(), "on");
    assert_eq!(
        outcome.baseline_config.get("work_mem"),
        Some(&Value::Int(4096))
    );

    let dir = tempfile::tempdir().unwrap();
    let meta = store.meta(run2).unwrap();
    amdb_tune::report::write_dir(dir.path(), run2, &meta, &trials, Some(&outcome)).unwrap();
    let sql = std::fs::read_to_string(dir.path().join("recommendation.sql")).unwrap();
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("## Evidence") && md.contains("| 3 |"), "{md}");
    match &outcome.recommended {
        Some(rec) => {
            assert_eq!(sql.matches("ALTER SYSTEM SET").count(), rec.len(), "{sql}");
            if rec.get("synchronous_commit") == Some(&Value::Enum("off".into())) {
                assert!(sql.contains("-- UNSAFE: synchronous_commit"), "{sql}");
                assert!(md.contains("**Risk — synchronous_commit:**"), "{md}");
            }
        }
        None => assert!(sql.contains("nothing is recommended"), "{sql}"),
    }
    let png = std::fs::read(dir.path().join("best-so-far.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(json["trials"].as_array().unwrap().len(), 4);
}
