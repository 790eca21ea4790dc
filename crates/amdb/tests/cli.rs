//! End-to-end tests of the `amdb` binary: real processes on real directories.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::Env;

impl Env {
    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.root.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn put_get_del_round_trip() {
    let e = Env::new();
    e.ok(&["kv", "put", "AAPL:last", "189.91"]);
    e.ok(&["kv", "put", "sym bol", "spaced value ünï"]);
    assert_eq!(e.ok(&["kv", "get", "AAPL:last"]), "189.91\n");
    assert_eq!(e.ok(&["kv", "get", "sym bol"]), "spaced value ünï\n");
    e.ok(&["kv", "put", "AAPL:last", "190.02"]);
    assert_eq!(e.ok(&["kv", "get", "AAPL:last"]), "190.02\n");
    e.ok(&["kv", "del", "AAPL:last"]);
    let out = e.run(&["kv", "get", "AAPL:last"]);
    assert_eq!(out.status.code(), Some(1));
    // Deleting a missing key is fine; other keys are untouched.
    e.ok(&["kv", "del", "never-there"]);
    assert_eq!(e.ok(&["kv", "get", "sym bol"]), "spaced value ünï\n");
}

#[test]
fn get_missing_key_exits_1_with_message() {
    let e = Env::new();
    e.ok(&["kv", "put", "a", "1"]);
    let out = e.run(&["kv", "get", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.starts_with("amdb: error: "), "{err}");
    assert!(err.contains("\"nope\" not found"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn reads_of_missing_database_or_keyspace_fail_with_2() {
    let e = Env::new();
    let out = e.run(&["kv", "get", "a"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&e.data.display().to_string()),
        "{}",
        stderr(&out)
    );
    assert!(!e.data.exists(), "a read must not create the database");
    e.ok(&["kv", "put", "a", "1"]);
    for args in [
        &["kv", "--keyspace", "nope", "get", "a"][..],
        &["kv", "scan", "--keyspace", "nope"][..],
        &["kv", "stats", "--keyspace", "nope"][..],
    ] {
        let out = e.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("no keyspace named \"nope\""),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let e = Env::new();
    assert_eq!(e.run(&["kv", "put", "only-key"]).status.code(), Some(2));
    assert_eq!(
        e.run(&["--durability", "fast", "kv", "put", "a", "b"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(e.run(&["frobnicate"]).status.code(), Some(2));
    let help = e.ok(&["kv", "scan", "--help"]);
    assert!(help.contains("\\xNN"), "{help}");
}

#[test]
fn scan_prefix_limit_reverse_bounds() {
    let e = Env::new();
    let input = "a:1\tA1\nb:1\tB1\nb:2\tB2\nb:3\tB3\nc:1\tC1\n";
    e.run_stdin(&["kv", "load", "-"], input.as_bytes());
    assert_eq!(
        lines(&e.ok(&["kv", "scan"])),
        ["a:1\tA1", "b:1\tB1", "b:2\tB2", "b:3\tB3", "c:1\tC1"]
    );
    assert_eq!(
        lines(&e.ok(&["kv", "scan", "--prefix", "b:"])),
        ["b:1\tB1", "b:2\tB2", "b:3\tB3"]
    );
    assert_eq!(
        lines(&e.ok(&["kv", "scan", "--prefix", "b:", "--limit", "2"])),
        ["b:1\tB1", "b:2\tB2"]
    );
    assert_eq!(
        lines(&e.ok(&["kv", "scan", "--prefix", "b:", "--reverse", "--limit", "2"])),
        ["b:3\tB3", "b:2\tB2"]
    );
    assert_eq!(
        lines(&e.ok(&["kv", "scan", "--reverse"])),
        ["c:1\tC1", "b:3\tB3", "b:2\tB2", "b:1\tB1", "a:1\tA1"]
    );
    assert_eq!(
        lines(&e.ok(&["kv", "scan", "--from", "b:2", "--to", "c:1"])),
        ["b:2\tB2", "b:3\tB3"]
    );
    assert_eq!(
        lines(&e.ok(&["kv", "scan", "--prefix", "b:", "--from", "a", "--to", "b:3"])),
        ["b:1\tB1", "b:2\tB2"]
    );
    assert_eq!(e.ok(&["kv", "scan", "--prefix", "zzz"]), "");
    assert_eq!(e.ok(&["kv", "scan", "--from", "c", "--to", "b"]), "");
}

#[test]
fn scan_escapes_binary_and_load_escaped_round_trips() {
    let e = Env::new();
    // Key with a backslash, value with tab, newline-free raw bytes via --escaped.
    let f = e.file(
        "bin.tsv",
        b"k\\\\1\tv\\x00\\xff\\tend\nplain\ttext \xc3\xa9\n",
    );
    e.ok(&["kv", "load", "--escaped", f.to_str().unwrap()]);
    let dump = e.ok(&["kv", "scan"]);
    assert_eq!(lines(&dump), ["k\\\\1\tv\\x00\\xff\\tend", "plain\ttext é"]);
    // Raw (not --escaped) loads keep backslashes literally; scan escapes them.
    let e2 = Env::new();
    let f2 = e2.file("raw.tsv", b"k\\1\tv\xff\x01\n");
    e2.ok(&["kv", "load", f2.to_str().unwrap()]);
    assert_eq!(e2.ok(&["kv", "scan"]), "k\\\\1\tv\\xff\\x01\n");
    let raw = e2.run(&["kv", "get", "k\\1"]);
    assert_eq!(raw.stdout, b"v\xff\x01\n");
    // The dump of one database loads into another with identical bytes.
    let e3 = Env::new();
    let d = e3.file("dump.tsv", dump.as_bytes());
    e3.ok(&["kv", "load", "--escaped", d.to_str().unwrap()]);
    assert_eq!(e3.ok(&["kv", "scan"]), dump);
    // A bad escape names file:line.
    let bad = e3.file("bad.tsv", b"a\tb\nc\td\\q\n");
    let out = e3.run(&["kv", "load", "--escaped", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.tsv:2:"), "{}", stderr(&out));
}

#[test]
fn load_from_file_and_stdin() {
    let e = Env::new();
    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!("key{i:04}\tvalue\twith tab {i}\r\n"));
    }
    let f = e.file("in.tsv", text.as_bytes());
    let out = e.ok(&["kv", "load", f.to_str().unwrap()]);
    assert!(out.contains("loaded 1,000 entries"), "{out}");
    assert!(out.contains("entries/s"), "{out}");
    assert_eq!(e.ok(&["kv", "get", "key0999"]), "value\twith tab 999\n");
    let out = e.run_stdin(&["kv", "load", "-", "--keyspace", "piped"], b"x\t1\ny\t2");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("loaded 2 entries"));
    assert_eq!(e.ok(&["kv", "--keyspace", "piped", "scan"]), "x\t1\ny\t2\n");
    let out = e.run(&["kv", "load", e.root.join("missing.tsv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.tsv"), "{}", stderr(&out));
}

#[test]
fn load_with_malformed_line_names_it_and_writes_nothing_of_its_batch() {
    let e = Env::new();
    let f = e.file("bad.tsv", b"good1\tv1\ngood2\tv2\nno tab here\ngood3\tv3\n");
    let out = e.run(&["kv", "load", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("amdb: error: "), "{err}");
    assert!(err.contains("bad.tsv:3:"), "{err}");
    assert!(err.contains("no TAB"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(e.run(&["kv", "get", "good1"]).status.code(), Some(1));
    assert_eq!(e.ok(&["kv", "scan"]), "");

    // A bad line after a full batch: the full batch is stored, the partial one is not.
    let e = Env::new();
    let value = "v".repeat(1000);
    let mut text = String::new();
    let n = 5000; // ~5 MB: one full 4 MiB batch, then the start of a second
    for i in 0..n {
        text.push_str(&format!("k{i:05}\t{value}\n"));
    }
    text.push_str("broken\n");
    let out = e.run_stdin(&["kv", "load", "-"], text.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("<stdin>:{}:", n + 1)), "{err}");
    let stored = e.ok(&["kv", "scan"]).lines().count();
    assert!(stored > 0 && stored < n, "stored {stored}");
    let stored_text = format!("{},{:03}", stored / 1000, stored % 1000);
    assert!(
        err.contains(&format!(
            "({stored_text} entries from earlier batches were)"
        )),
        "{err}"
    );
    assert_eq!(
        e.run(&["kv", "get", &format!("k{:05}", n - 1)])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn keyspaces_are_isolated() {
    let e = Env::new();
    e.ok(&["kv", "put", "k", "in-default"]);
    e.ok(&["kv", "--keyspace", "bars", "put", "k", "in-bars"]);
    e.ok(&["kv", "put", "-k", "quotes", "q", "1"]);
    assert_eq!(e.ok(&["kv", "get", "k"]), "in-default\n");
    assert_eq!(e.ok(&["kv", "get", "k", "--keyspace", "bars"]), "in-bars\n");
    assert_eq!(e.run(&["kv", "get", "q"]).status.code(), Some(1));
    assert_eq!(e.ok(&["kv", "scan", "-k", "quotes"]), "q\t1\n");
    e.ok(&["kv", "del", "k", "--keyspace", "bars"]);
    assert_eq!(e.ok(&["kv", "get", "k"]), "in-default\n");
    assert_eq!(e.ok(&["kv", "scan", "--keyspace", "bars"]), "");
}

#[test]
fn stats_json_parses_and_table_prints() {
    let e = Env::new();
    e.ok(&["kv", "put", "a", "1"]);
    e.ok(&["kv", "put", "--keyspace", "other", "b", "2"]);
    let out = e.ok(&["kv", "stats", "--json"]);
    assert_eq!(out.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["last_sequence"].as_u64().unwrap() >= 2);
    assert!(v["counters"]["entries_written"].is_u64());
    assert!(v["block_cache"]["capacity_bytes"].as_u64().unwrap() > 0);
    let names: Vec<&str> = v["keyspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "other"]);
    assert_eq!(v["keyspaces"][0]["levels"].as_array().unwrap().len(), 7);
    let one: serde_json::Value =
        serde_json::from_str(&e.ok(&["kv", "stats", "--json", "-k", "other"])).unwrap();
    assert_eq!(one["keyspaces"].as_array().unwrap().len(), 1);
    let table = e.ok(&["kv", "stats"]);
    assert!(table.contains("keyspace \"other\""), "{table}");
    assert!(table.contains("block cache"), "{table}");
}

fn wait_for_lock_holder(data: &Path, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let want = format!("pid {pid}\n");
    loop {
        if let Ok(s) = std::fs::read_to_string(data.join("LOCK")) {
            // The holder writes LOCK first, then creates the database (CURRENT).
            if s.starts_with(&want) && data.join("CURRENT").exists() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "child never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn second_writer_gets_error_naming_directory_and_holder() {
    let e = Env::new();
    let mut child = e
        .cmd(&["kv", "load", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_lock_holder(&e.data, child.id());
    let out = e.run(&["kv", "put", "x", "y"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("amdb: error: "), "{err}");
    assert!(err.contains(&e.data.display().to_string()), "{err}");
    assert!(err.contains("locked"), "{err}");
    assert!(err.contains(&format!("pid {}", child.id())), "{err}");
    // Reads open read-only and work while the writer holds the lock.
    assert_eq!(e.run(&["kv", "get", "x"]).status.code(), Some(1));
    // The holder finishes normally once its input ends.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"from\tchild\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(e.ok(&["kv", "get", "from"]), "child\n");
    e.ok(&["kv", "put", "x", "y"]);
}

#[test]
fn kv_demo_runs_and_reruns() {
    let e = Env::new();
    for n in ["3000", "2000"] {
        let out = e.ok(&["kv", "demo", "--entries", n, "--batch", "700"]);
        assert!(out.contains("all values match"), "{out}");
        assert!(out.contains("entries/s") && out.contains("gets/s"), "{out}");
    }
    assert_eq!(
        e.ok(&["kv", "-k", "demo", "scan", "--limit", "1"])
            .split('\t')
            .next(),
        Some("0000000000000000")
    );
}

#[test]
fn bench_engine_json_lines() {
    let e = Env::new();
    let out = e.ok(&[
        "bench",
        "engine",
        "--workload",
        "fillseq,readrandom",
        "--num",
        "2000",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|err| panic!("{err}: {l}")))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, case) in rows.iter().zip(["fillseq", "readrandom"]) {
        assert_eq!(row["suite"], "engine");
        assert_eq!(row["case"], case);
        assert_eq!(row["system"], "amdb");
        assert_eq!(row["ops"], 2000);
        assert_eq!(row["threads"], 1);
        assert_eq!(row["value_size"], 100);
        assert_eq!(row["bytes"], 2000 * 116);
        let f = |k: &str| {
            row[k]
                .as_f64()
                .unwrap_or_else(|| panic!("{k} missing in {row}"))
        };
        assert!(f("seconds") > 0.0 && f("seconds") < 60.0, "{row}");
        assert!(f("ops_per_s") > 100.0, "{row}");
        assert!(
            (f("ops_per_s") * f("seconds") - 2000.0).abs() < 20.0,
            "{row}"
        );
        assert!(f("p50_us") > 0.0, "{row}");
        assert!(
            f("p50_us") <= f("p95_us") && f("p95_us") <= f("p99_us"),
            "{row}"
        );
        assert!(f("rss_bytes") > 1e6, "{row}");
    }
    // A step's own count; reads after it see the keys it wrote.
    let out = e.ok(&[
        "bench",
        "engine",
        "--workload",
        "fillsync:20,readseq",
        "--num",
        "1000",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["case"], "fillsync");
    assert_eq!(rows[0]["ops"], 20);
    assert_eq!(rows[0]["durability"], "sync");
    assert_eq!(rows[1]["ops"], 20);
    // With --ledger the rows name the system that paid for it.
    let out = e.ok(&[
        "bench",
        "engine",
        "--workload",
        "fillsync:20,fillbatch",
        "--num",
        "2000",
        "--json",
        "--ledger",
    ]);
    let systems: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["system"].to_string())
        .collect();
    assert_eq!(systems, ["\"amdb_ledger\"", "\"amdb_ledger\""], "{out}");
    // The human table has one line per workload, and bad workloads are usage errors.
    let table = e.ok(&[
        "bench",
        "engine",
        "--workload",
        "fillbatch",
        "--num",
        "1000",
    ]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("fillbatch") && l.contains("ops/sec")),
        "{table}"
    );
    let out = e.run(&["bench", "engine", "--workload", "fillseq,nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"nope\""), "{}", stderr(&out));
    // A peer in the same run: same workload, same operations, AmDb's ratio on its row.
    let out = e.ok(&[
        "bench",
        "engine",
        "--workload",
        "fillbatch,readrandom",
        "--num",
        "2000",
        "--vs",
        "sqlite",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["case"].to_string(), r["system"].to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("\"fillbatch\"", "\"amdb\""),
            ("\"fillbatch\"", "\"sqlite\""),
            ("\"readrandom\"", "\"amdb\""),
            ("\"readrandom\"", "\"sqlite\""),
        ]
        .map(|(c, s)| (c.to_string(), s.to_string())),
        "{out}"
    );
    for pair in rows.chunks(2) {
        assert!(pair[0]["amdb_ratio"].is_null());
        let want = pair[0]["ops_per_s"].as_f64().unwrap() / pair[1]["ops_per_s"].as_f64().unwrap();
        let got = pair[1]["amdb_ratio"].as_f64().unwrap();
        assert!((got - want).abs() < 0.002 + want * 1e-3, "{got} vs {want}");
    }
    // A peer this binary was built without is named with the feature that brings it.
    let out = e.run(&[
        "bench",
        "engine",
        "--workload",
        "fillseq",
        "--vs",
        "rocksdb",
    ]);
    if cfg!(not(feature = "rocksdb")) {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("--features rocksdb"),
            "{}",
            stderr(&out)
        );
    }
    let out = e.run(&["bench", "engine", "--workload", "fillseq", "--vs", "mysql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"mysql\""), "{}", stderr(&out));
}
