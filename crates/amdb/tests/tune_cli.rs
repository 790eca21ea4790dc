//! `amdb tune` end to end on a real throwaway PostgreSQL: a short run, its report, the
//! stored run, and errors for bad input.

mod common;

use common::{one_line_error, stdout_of_success, Env};

#[test]
fn a_short_tuning_run_writes_its_report_and_is_listed() {
    let e = Env::new();
    let args = [
        "tune",
        "postgres",
        "--optimizer",
        "random",
        "--budget",
        "2",
        "--workload",
        "pgbench:scale=1,clients=2,seconds=1",
        "--pairs",
        "2",
        "--finalists",
        "1",
        "--no-ablation",
        "--warmup",
        "0",
        "--report",
        "rep",
    ];
    let out = stdout_of_success(&args, e.run(&args));
    assert!(out.starts_with("run 1: "), "{out}");
    assert!(out.contains("report: rep"), "{out}");
    for f in [
        "recommendation.sql",
        "report.md",
        "run.json",
        "best-so-far.png",
    ] {
        assert!(e.root.join("rep").join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(e.root.join("rep/report.md")).unwrap();
    assert!(md.starts_with("# Tuning run 1: PostgreSQL "), "{md}");
    assert!(
        md.contains("knobs (seed): work_mem, maintenance_work_mem"),
        "{md}"
    );

    let list = stdout_of_success(&["tune", "show"], e.run(&["tune", "show"]));
    assert!(
        list.starts_with("1\trandom\tpgbench:scale=1,clients=2"),
        "{list}"
    );
    let shown = stdout_of_success(&["tune", "show", "1"], e.run(&["tune", "show", "1"]));
    assert_eq!(shown, md, "show prints the stored report");
}

#[test]
fn bad_tuning_input_is_one_clear_error() {
    let e = Env::new();
    let out = e.run(&["tune", "show", "7"]);
    let err = one_line_error(&["tune", "show", "7"], out);
    assert!(err.contains("no tuning run 7"), "{err}");
    let args = ["tune", "compare"];
    let err = one_line_error(&args, e.run(&args));
    assert!(err.contains("no tuning run with a recommendation"), "{err}");
    let out = e.run(&["tune", "postgres", "--workload", "pgbench:scale=0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("scale=\"0\" is not a positive integer"),
        "{err}"
    );
    let out = e.run(&["tune", "postgres", "--optimizer", "sgd"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected ddpg, bo or random"));
}

#[test]
fn a_bad_config_file_for_compare_names_the_file_and_line() {
    let e = Env::new();
    let missing = e.root.join("nope.conf");
    let args = ["tune", "compare", "--config", missing.to_str().unwrap()];
    let err = one_line_error(&args, e.run(&args));
    assert!(err.contains("nope.conf"), "{err}");

    let cases = [
        // Caught while reading the file, before any server starts.
        (
            "work_mem = 64MB\nwork_mem = 32MB\n",
            ":2: work_mem is already set on line 1",
        ),
        (
            "# nothing but a comment\n",
            ": no settings (expected lines like",
        ),
        // Caught against the spawned server's catalog, before any benchmark runs.
        ("work_mem = 4MB\nno_such_knob = 3\n", ":2: no_such_knob: "),
        (
            "work_mem = 'lots'\n",
            ":1: work_mem = \"lots\" is not a value of this setting",
        ),
        (
            "ALTER SYSTEM SET work_mem = '4MB';\ncheckpoint_completion_target = 7\n",
            ":2: checkpoint_completion_target = 7 is outside the range",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = e.root.join(format!("bad{i}.conf"));
        std::fs::write(&file, text).unwrap();
        let args = ["tune", "compare", "--config", file.to_str().unwrap()];
        let out = e.run(&args);
        assert!(!out.status.success(), "{text:?} was accepted");
        // Progress lines (the cluster starting) may come first; the error is the last line.
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let err = stderr.trim_end().lines().last().unwrap_or("");
        assert_eq!(stderr.matches("error").count(), 1, "{stderr}");
        assert!(
            err.contains(&format!("bad{i}.conf{want}")),
            "{text:?}: expected {want:?} in {err}"
        );
    }
}

#[test]
fn a_terminated_run_stops_cleanly_and_removes_its_cluster() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};
    let e = Env::new();
    // The cluster's directory goes in TMPDIR, which the postgres user must be able to reach.
    let tmp = e.root.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    for d in [&e.root, &tmp] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let args = [
        "tune",
        "postgres",
        "--budget",
        "50",
        "--workload",
        "pgbench:scale=1,clients=2,seconds=2",
    ];
    let child = e
        .cmd(&args)
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let clusters = || {
        std::fs::read_dir(&tmp)
            .unwrap()
            .filter(|d| {
                d.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("amdb-pg-")
            })
            .count()
    };
    let start = Instant::now();
    while clusters() == 0 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(clusters(), 1, "the run made its cluster");
    std::thread::sleep(Duration::from_secs(4)); // into the baseline's runs
                                                // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("interrupted; the server's original settings were restored"),
        "{err}"
    );
    assert_eq!(clusters(), 0, "the cluster's directory is removed");
}
