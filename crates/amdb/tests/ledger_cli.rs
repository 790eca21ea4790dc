//! End-to-end tests of `amdb ledger ...`, `amdb audit`, `kv history` and audited kv writes:
//! the real binary on real directories.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::Env;

impl Env {
    /// Runs, asserts a one-line error with exit status `code`; returns stderr.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(code), "amdb {args:?}: {out:?}");
        common::one_line_error(args, out)
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).to_str().unwrap().to_string()
    }

    fn file(&self, name: &str, contents: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// `ledger root --json`: (tx, root hex).
    fn root(&self) -> (u64, String) {
        let v: Value = serde_json::from_str(&self.ok(&["ledger", "root", "--json"])).unwrap();
        (
            v["tx"].as_u64().unwrap(),
            v["root"].as_str().unwrap().to_string(),
        )
    }

    /// `amdb verify-proof` with --data pointing at a directory that does not exist: the
    /// verifier must not need (or create) a database.
    fn verify_proof(&self, args: &[&str]) -> Output {
        let nowhere = self.root.join("no-database-here");
        let out = self
            .cmd_on(&nowhere, &[&["ledger", "verify-proof"][..], args].concat())
            .output()
            .unwrap();
        assert!(!nowhere.exists(), "verify-proof created a directory");
        out
    }
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn entry_and_consistency_proofs_verify_offline_and_catch_edits() {
    let e = Env::new();
    let init = e.ok(&["ledger", "init"]);
    assert!(init.contains("created a database with a ledger"), "{init}");
    assert!(init.contains("tx 0  root "), "{init}");
    for (i, price) in ["189.91", "190.02"].iter().enumerate() {
        let cid = format!("req-{i}");
        e.ok(&[
            "kv",
            "put",
            "AAPL:last",
            price,
            "--who",
            "alice",
            "--correlation-id",
            &cid,
        ]);
    }
    // The root a user kept yesterday.
    let (old_size, old_root) = e.root();
    assert_eq!(old_size, 2);
    e.ok(&["kv", "put", "MSFT:last", "413.52", "--who", "bob"]);
    e.ok(&["kv", "put", "AAPL:last", "191.10", "--who", "alice"]);
    let line = e.ok(&["ledger", "root"]);
    let (size, root) = e.root();
    assert_eq!(size, 4);
    assert!(
        line.starts_with(&format!("tx 4  root {root}  time 20")),
        "{line}"
    );
    assert!(line.trim_end().ends_with('Z'), "{line}");

    // An entry proof, checked with no database around.
    let proof = e.ok(&["ledger", "proof", "MSFT:last"]);
    let p: Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(p["kind"], "entry");
    assert_eq!(p["version"], 2);
    assert_eq!(p["op"], "put");
    assert_eq!(p["key"], "4d5346543a6c617374");
    assert_eq!(p["key_utf8"], "MSFT:last");
    assert_eq!(p["value_utf8"], "413.52");
    assert_eq!(p["tx"], 3);
    assert_eq!(p["tree_size"], 4);
    let file = e.file("proof.json", proof.as_bytes());
    let ok = common::stdout_of_success(&[], e.verify_proof(&[&file, "--root", &root]));
    assert!(
        ok.contains("key \"MSFT:last\" in keyspace id 0 had value \"413.52\" in tx 3 at 20"),
        "{ok}"
    );
    assert!(ok.contains("covers 4 transactions"), "{ok}");
    let ok = common::stdout_of_success(
        &[],
        e.verify_proof(&[&file, "--root", &root, "--size", "4"]),
    );
    assert!(ok.starts_with("verified: "), "{ok}");
    // From standard input too.
    let out = e.run_stdin(
        &["ledger", "verify-proof", "-", "--root", &root],
        proof.as_bytes(),
    );
    common::stdout_of_success(&[], out);

    // Convenience fields are not part of the proof; the hex fields are.
    let edit = |field: &str, to: Value| {
        let mut v = p.clone();
        v[field] = to;
        e.file("edited.json", v.to_string().as_bytes())
    };
    let ignored = edit("value_utf8", "999.99".into());
    common::stdout_of_success(&[], e.verify_proof(&[&ignored, "--root", &root]));
    for (field, to) in [
        ("value", Value::from(hex(b"999.99"))),
        ("key", hex(b"AAPL:last").into()),
        ("tx", 2.into()),
        ("time_ns", (p["time_ns"].as_i64().unwrap() + 1).into()),
        ("op", "delete".into()),
    ] {
        let forged = edit(field, to);
        let out = e.verify_proof(&[&forged, "--root", &root]);
        assert_eq!(out.status.code(), Some(3), "edited {field}: {out:?}");
        let err = common::one_line_error(&[field], out);
        assert!(
            err.starts_with("amdb: proof verification failed: "),
            "{err}"
        );
        assert!(err.contains("edited.json"), "{err}");
    }
    // The genuine proof against a wrong root, or a root of another size.
    for args in [
        vec![file.as_str(), "--root", old_root.as_str()],
        vec![file.as_str(), "--root", root.as_str(), "--size", "2"],
    ] {
        let out = e.verify_proof(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let err = common::one_line_error(&args, out);
        assert!(err.contains("proof verification failed"), "{err}");
    }
    // Not a proof at all: an error naming the file and the field, status 2.
    let bad = edit("entry_path", "nope".into());
    let out = e.verify_proof(&[&bad, "--root", &root]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::one_line_error(&[], out);
    assert!(err.contains("edited.json: field \"entry_path\""), "{err}");
    let out = e.verify_proof(&[&e.path("missing.json"), "--root", &root]);
    assert!(common::one_line_error(&[], out).contains("missing.json"));

    // An older version, against the root of its time.
    let proof = e.ok(&["ledger", "proof", "AAPL:last", "--tx", "2", "--size", "2"]);
    let p: Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(p["value_utf8"], "190.02");
    let file = e.file("old.json", proof.as_bytes());
    let ok = common::stdout_of_success(
        &[],
        e.verify_proof(&[&file, "--root", &old_root, "--size", "2"]),
    );
    assert!(ok.contains("had value \"190.02\" in tx 2"), "{ok}");

    // Today's root extends the one kept yesterday.
    let proof = e.ok(&["ledger", "consistency", "--from", "2", "--to", "4"]);
    let c: Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(c["kind"], "consistency");
    assert_eq!(c["old_root"], old_root.as_str());
    assert_eq!(c["new_root"], root.as_str());
    assert_eq!(proof, e.ok(&["ledger", "consistency", "--from", "2"]));
    let file = e.file("consistency.json", proof.as_bytes());
    let ok = common::stdout_of_success(
        &[],
        e.verify_proof(&[&file, "--root", &old_root, "--size", "2"]),
    );
    assert!(
        ok.contains(&format!(
            "the ledger of 4 transactions with root {root} extends the trusted root of 2"
        )),
        "{ok}"
    );
    // Against a root that is not the kept one, or with a forged new root.
    let out = e.verify_proof(&[&file, "--root", &root]);
    assert_eq!(out.status.code(), Some(3));
    common::one_line_error(&[], out);
    let mut forged = c.clone();
    forged["new_root"] = old_root.as_str().into();
    let forged = e.file("forged.json", forged.to_string().as_bytes());
    let out = e.verify_proof(&[&forged, "--root", &old_root]);
    assert_eq!(out.status.code(), Some(3));
    common::one_line_error(&[], out);

    // Root at an earlier size.
    let at2 = e.ok(&["ledger", "root", "--at", "2"]);
    assert!(
        at2.starts_with(&format!("tx 2  root {old_root}  time ")),
        "{at2}"
    );
    e.fails(2, &["ledger", "root", "--at", "9"]);
    e.fails(2, &["ledger", "consistency", "--from", "9"]);
    e.fails(2, &["ledger", "proof", "never-written"]);
    let err = e.fails(2, &["ledger", "proof", "AAPL:last", "--keyspace", "nope"]);
    assert!(err.contains("no keyspace named \"nope\""), "{err}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn kv_history_lists_versions_with_their_transactions() {
    let e = Env::new();
    e.ok(&["ledger", "init"]);
    e.ok(&["kv", "put", "k", "v1"]);
    e.ok(&["kv", "put", "other", "x"]);
    e.ok(&["kv", "put", "k", "two\twords"]);
    e.ok(&["kv", "del", "k"]);
    let out = e.ok(&["kv", "history", "k"]);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{out}");
    let txs: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(txs, ["4", "3", "1"], "{out}");
    assert_eq!(rows[0][3], "<deleted>");
    assert_eq!(rows[1][3], "two\\twords", "escaped as kv scan does");
    assert_eq!(rows[2][3], "v1");
    for r in &rows {
        assert!(r[1].starts_with("20") && r[1].ends_with('Z'), "{r:?}");
        r[2].parse::<u64>().unwrap();
    }
    let json = json_lines(&e.ok(&["kv", "history", "k", "--json"]));
    assert_eq!(json.len(), 3);
    assert_eq!(json[0]["op"], "delete");
    assert_eq!(json[0]["value"], Value::Null);
    assert_eq!(json[1]["tx"], 3);
    assert_eq!(json[1]["value_utf8"], "two\twords");
    assert_eq!(json[2]["value"], hex(b"v1"));
    assert!(json[0]["sequence"].as_u64() > json[1]["sequence"].as_u64());
    let err = e.fails(1, &["kv", "history", "never"]);
    assert!(err.contains("\"never\""), "{err}");

    // Without a ledger: no transactions, the rest as before.
    let plain = Env::new();
    plain.ok(&["kv", "put", "k", "v"]);
    let out = plain.ok(&["kv", "history", "k"]);
    assert!(out.starts_with("-\t-\t"), "{out}");
    assert!(out.ends_with("\tv\n"), "{out}");
}

#[test]
fn audit_lists_who_wrote_what_in_a_time_range() {
    let e = Env::new();
    e.ok(&["ledger", "init"]);
    e.ok(&[
        "kv",
        "put",
        "a",
        "1",
        "--who",
        "alice",
        "--correlation-id",
        "req-1",
    ]);
    e.ok(&["kv", "put", "b", "2", "--what", "nightly fix"]);
    e.ok(&[
        "kv",
        "del",
        "a",
        "--who",
        "bob",
        "--correlation-id",
        "req-3",
    ]);
    let tsv = e.file("load.tsv", b"x\t1\ny\t2\n");
    e.ok(&["kv", "load", &tsv, "--correlation-id", "req-4"]);

    let all = json_lines(&e.ok(&["audit", "--json"]));
    assert_eq!(all.len(), 4);
    let field = |i: usize, f: &str| all[i][f].as_str().unwrap().to_string();
    assert_eq!(
        (
            field(0, "who"),
            field(0, "what"),
            field(0, "correlation_id")
        ),
        ("alice".into(), "kv put a".into(), "req-1".into())
    );
    assert_eq!(
        (
            field(1, "who"),
            field(1, "what"),
            field(1, "correlation_id")
        ),
        ("tester".into(), "nightly fix".into(), "".into()),
        "who defaults to $USER"
    );
    assert_eq!(
        (field(2, "who"), field(2, "what")),
        ("bob".into(), "kv del a".into())
    );
    assert_eq!(field(3, "what"), format!("kv load {tsv}"));
    assert_eq!(field(3, "correlation_id"), "req-4");
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r["tx"], i as u64 + 1);
    }

    let text = e.ok(&["audit"]);
    let first: Vec<&str> = text.lines().next().unwrap().split('\t').collect();
    assert_eq!(first[1..], ["1", "alice", "kv put a", "req-1"]);
    assert_eq!(first[0], field(0, "time"));

    // [from, to): from tx 2's time up to tx 4's, in ns and in RFC 3339.
    let t2 = all[1]["time_ns"].as_i64().unwrap().to_string();
    let t4 = field(3, "time");
    let range = json_lines(&e.ok(&["audit", "--json", "--from", &t2, "--to", &t4]));
    let txs: Vec<u64> = range.iter().map(|r| r["tx"].as_u64().unwrap()).collect();
    assert_eq!(txs, [2, 3]);
    assert_eq!(e.ok(&["audit", "--from", "2000-01-01"]).lines().count(), 4);
    assert_eq!(e.ok(&["audit", "--to", "2000-01-01"]), "");
    assert_eq!(e.ok(&["audit", "--from", &t4, "--to", &t2]), "");
    let out = e.run(&["audit", "--from", "yesterday-ish"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn audit_options_need_a_ledger_database() {
    let e = Env::new();
    // No database yet: refused without creating one.
    let err = e.fails(2, &["kv", "put", "a", "1", "--who", "alice"]);
    assert!(err.contains("amdb ledger init"), "{err}");
    assert!(
        !e.data.exists(),
        "a refused write must not create the database"
    );
    // A database without a ledger: refused, nothing written; plain writes still work.
    e.ok(&["kv", "put", "a", "1"]);
    for args in [
        &["kv", "put", "a", "2", "--correlation-id", "r"][..],
        &["kv", "del", "a", "--what", "x"][..],
    ] {
        let err = e.fails(2, args);
        assert!(err.contains("need a database with a ledger"), "{err}");
        assert!(err.contains("amdb ledger init"), "{err}");
    }
    assert_eq!(e.ok(&["kv", "get", "a"]), "1\n");
    let err = e.fails(2, &["audit"]);
    assert!(err.contains("has no ledger"), "{err}");
    for args in [
        &["ledger", "root"][..],
        &["ledger", "proof", "a"][..],
        &["ledger", "verify"][..],
    ] {
        e.fails(2, args);
    }
    // ledger init refuses it.
    let err = e.fails(2, &["ledger", "init"]);
    assert!(
        err.contains("already holds a database without a ledger"),
        "{err}"
    );
}

#[test]
fn init_is_idempotent_and_reads_need_a_database() {
    let e = Env::new();
    let err = e.fails(2, &["ledger", "root"]);
    assert!(err.contains("no database at"), "{err}");
    assert!(!e.data.exists());
    let first = e.ok(&["ledger", "init"]);
    let empty_root = first.lines().nth(1).unwrap().to_string();
    assert!(empty_root.starts_with("tx 0  root "), "{first}");
    assert!(empty_root.ends_with("time -"), "{first}");
    let again = e.ok(&["ledger", "init"]);
    assert!(again.contains("already has a ledger"), "{again}");
    assert!(again.contains(&empty_root), "{again}");
    let v: Value = serde_json::from_str(&e.ok(&["ledger", "root", "--json"])).unwrap();
    assert_eq!(v["tx"], 0);
    assert_eq!(v["time"], Value::Null);
    // A database with a ledger keeps it: later writes are transactions.
    e.ok(&["kv", "put", "a", "1"]);
    assert_eq!(e.root().0, 1);
    let again = e.ok(&["ledger", "init"]);
    assert!(again.contains("tx 1  root "), "{again}");
}

/// Byte offsets where each record of ledger/LEDGER starts (16-byte file header, then
/// `payload_crc:u32le len:u32le header_crc:u32le payload`).
fn ledger_records(file: &Path) -> (Vec<u64>, u64) {
    let b = std::fs::read(file).unwrap();
    let mut off = 16usize;
    let mut starts = Vec::new();
    while off + 12 <= b.len() {
        let len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
        starts.push(off as u64);
        off += 12 + len;
    }
    assert_eq!(off, b.len(), "LEDGER ends with a whole record");
    (starts, b.len() as u64)
}

#[test]
fn verify_passes_a_clean_database_and_names_the_tampered_transaction() {
    let e = Env::new();
    e.ok(&["ledger", "init"]);
    for i in 0..5 {
        e.ok(&["kv", "put", &format!("k{i}"), &format!("v{i}")]);
    }
    let (size, root) = e.root();
    assert_eq!(size, 5);
    let out = e.ok(&["ledger", "verify"]);
    assert!(out.contains("verified: 5 transactions"), "{out}");
    assert!(out.contains(&format!("tx 5  root {root}")), "{out}");
    let out = e.ok(&[
        "ledger",
        "verify",
        "--trusted-root",
        &root,
        "--trusted-size",
        "5",
    ]);
    assert!(
        out.contains("extends the trusted root of 5 transactions"),
        "{out}"
    );
    let v: Value = serde_json::from_str(&e.ok(&["ledger", "verify", "--json"])).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["tx"], 5);
    assert_eq!(v["fault"], Value::Null);
    // A trusted root the ledger does not have.
    let at3 = {
        let line = e.ok(&["ledger", "root", "--at", "3"]);
        line.split_whitespace().nth(3).unwrap().to_string()
    };
    let err = e.fails(
        3,
        &[
            "ledger",
            "verify",
            "--trusted-root",
            &at3,
            "--trusted-size",
            "4",
        ],
    );
    assert!(err.starts_with("amdb: ledger verification failed"), "{err}");
    assert!(err.contains("(check trusted-root)"), "{err}");
    // --trusted-root needs --trusted-size.
    let out = e.run(&["ledger", "verify", "--trusted-root", &root]);
    assert_eq!(out.status.code(), Some(2));

    // A write-less writable open moves the last transaction from the WAL into a table, so
    // the LEDGER file alone must account for it; then drop its record.
    let empty = e.file("empty.tsv", b"");
    e.ok(&["kv", "load", &empty]);
    let ledger = e.data.join("ledger").join("LEDGER");
    let (starts, _) = ledger_records(&ledger);
    assert_eq!(starts.len(), 5);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&ledger)
        .unwrap();
    f.set_len(*starts.last().unwrap()).unwrap();
    drop(f);
    let err = e.fails(3, &["ledger", "verify"]);
    assert!(
        err.starts_with("amdb: ledger verification failed in "),
        "{err}"
    );
    assert!(err.contains("tx 5: "), "{err}");
    assert!(
        err.contains("(check not-in-ledger)") || err.contains("(check marker)"),
        "{err}"
    );
    let out = e.run(&["ledger", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["fault"]["tx"], 5);
    assert!(v["fault"]["check"].is_string());
    common::one_line_error(&[], out);
}

#[test]
fn help_texts_describe_the_commands() {
    let e = Env::new();
    let help = e.ok(&["ledger", "--help"]);
    for cmd in [
        "init",
        "root",
        "verify",
        "proof",
        "consistency",
        "verify-proof",
    ] {
        assert!(help.contains(cmd), "{help}");
    }
    let help = e.ok(&["ledger", "verify-proof", "--help"]);
    assert!(help.contains("Opens no database"), "{help}");
    let help = e.ok(&["kv", "put", "--help"]);
    assert!(help.contains("--correlation-id"), "{help}");
    let help = e.ok(&["audit", "--help"]);
    assert!(help.contains("--from"), "{help}");
}
