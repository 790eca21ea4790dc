//! End-to-end tests of the market commands: real `amdb` processes on real files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        Env {
            root: tmp.path().to_path_buf(),
            _tmp: tmp,
        }
    }

    fn run_in(&self, db: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_amdb"))
            .arg("--data")
            .arg(self.root.join(db))
            .args(args)
            .current_dir(&self.root)
            .env_remove("AMDB_DATA")
            .output()
            .unwrap()
    }

    fn ok_in(&self, db: &str, args: &[&str]) -> String {
        common::stdout_of_success(args, self.run_in(db, args))
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_in("db", args)
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run_in("db", args);
        assert_eq!(out.status.code(), Some(2), "amdb {args:?} should fail");
        common::one_line_error(args, out)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.root.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const CSV: &str = "\
Date,Open,High,Low,Close,Volume
2024-01-01 00:30:00,3,4,2,3.5,30
2024-01-01 00:00:00,1,2,0.5,1.5,10
2024-01-01 00:15:00,2,3,1.5,2.5,20
2024-01-01 01:15:00,5,6,4,5.5,50
";

#[test]
fn import_then_read_sorted_in_every_output_format() {
    let e = Env::new();
    let f = e.file("ABC_15m.csv", CSV);
    let out = e.ok(&["import", "bars", s(&f)]);
    assert!(out.contains("4 rows into ABC 15m (version 1"), "{out}");
    let csv = e.ok(&["bars", "ABC", "15m", "--format", "csv"]);
    assert_eq!(
        csv,
        "time,open,high,low,close,volume\n\
         2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n\
         2024-01-01T00:15:00Z,2,3,1.5,2.5,20\n\
         2024-01-01T00:30:00Z,3,4,2,3.5,30\n\
         2024-01-01T01:15:00Z,5,6,4,5.5,50\n"
    );
    let json = e.ok(&[
        "bars",
        "ABC",
        "15m",
        "--format",
        "json",
        "--from",
        "2024-01-01T00:15:00Z",
        "--to",
        "2024-01-01T00:30:00Z",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["close"], 2.5);
    let table = e.ok(&["bars", "ABC", "15m", "--tail", "1"]);
    assert!(
        table.contains("2024-01-01T01:15:00Z") && table.lines().count() == 2,
        "{table}"
    );
    let gaps = e.ok(&["bars", "gaps", "ABC", "15m"]);
    assert!(
        gaps.contains("2024-01-01T00:45:00Z") && gaps.contains("1 gaps, 2 missing bars"),
        "{gaps}"
    );
    let symbols = e.ok(&["symbols", "--json"]);
    let v: serde_json::Value = serde_json::from_str(symbols.trim()).unwrap();
    assert_eq!(
        (v["symbol"].as_str(), v["bars"].as_u64()),
        (Some("ABC"), Some(4))
    );
}

#[test]
fn every_export_format_imports_back_identically() {
    let e = Env::new();
    e.ok(&[
        "gen",
        "bars",
        "--symbols",
        "2",
        "--years",
        "0.05",
        "--timeframe",
        "1h",
    ]);
    let original = e.ok(&["bars", "SYM001", "1h", "--format", "csv"]);
    assert!(original.lines().count() > 400);
    for format in ["csv", "parquet", "arrow", "json"] {
        let dir = e.path(format);
        e.ok(&["export", "--all", "--format", format, "--dir", s(&dir)]);
        let ext = if format == "json" { "jsonl" } else { format };
        let file = dir.join(format!("SYM001_1h.{ext}"));
        let db = format!("db-{format}");
        e.ok_in(&db, &["import", "bars", s(&file)]);
        let back = e.ok_in(&db, &["bars", "SYM001", "1h", "--format", "csv"]);
        assert_eq!(back, original, "{format}");
    }
}

#[test]
fn a_bad_row_names_file_and_line_and_writes_nothing() {
    let e = Env::new();
    let good = e.file("ABC_15m.csv", CSV);
    e.ok(&["import", "bars", s(&good)]);
    let bad = e.file(
        "ABC_15m_bad.csv",
        "time,open,high,low,close,volume\n\
         2024-01-02T00:00:00Z,1,2,0.5,1.5,10\n\
         2024-01-02T00:15:00Z,1,2,0.5,1.5,-3\n",
    );
    let err = e.fails(&[
        "import",
        "bars",
        s(&bad),
        "--symbol",
        "ABC",
        "--timeframe",
        "15m",
    ]);
    assert!(
        err.contains("ABC_15m_bad.csv:3:")
            && err.contains("volume")
            && err.contains("nothing from"),
        "{err}"
    );
    let versions = e.ok(&["bars", "versions", "ABC", "15m", "--json"]);
    assert_eq!(versions.lines().count(), 1, "no new version: {versions}");
    let unparsable = e.file(
        "X_1m.csv",
        "time,open,high,low,close,volume\nyesterday,1,2,0.5,1.5,1\n",
    );
    let err = e.fails(&["import", "bars", s(&unparsable)]);
    assert!(err.contains("X_1m.csv:2:"), "{err}");
    let err = e.fails(&["bars", "NOPE", "15m"]);
    assert!(err.contains("no series NOPE 15m"), "{err}");
    // Usage errors come from clap: exit 2, the reason on the first line.
    let out = e.run_in("db", &["bars", "ABC", "15x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines().next().unwrap().contains("invalid timeframe"),
        "{err}"
    );
}

#[test]
fn versions_as_of_and_prune() {
    let e = Env::new();
    let f = e.file("ABC_15m.csv", CSV);
    e.ok(&["import", "bars", s(&f)]);
    let update = e.file(
        "upd.csv",
        "time,open,high,low,close,volume\n2024-01-01T00:00:00Z,9,9,9,9,9\n",
    );
    e.ok(&[
        "import",
        "bars",
        s(&update),
        "--symbol",
        "ABC",
        "--timeframe",
        "15m",
    ]);
    e.ok(&[
        "import",
        "bars",
        s(&update),
        "--symbol",
        "ABC",
        "--timeframe",
        "15m",
    ]);
    let first_close = |args: &[&str]| -> String {
        let mut a = vec!["bars", "ABC", "15m", "--format", "csv"];
        a.extend_from_slice(args);
        e.ok(&a)
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(4)
            .unwrap()
            .to_string()
    };
    assert_eq!(first_close(&[]), "9");
    assert_eq!(first_close(&["--as-of", "1"]), "1.5");
    assert_eq!(first_close(&["--as-of", "v2"]), "9");
    let out = e.ok(&["bars", "prune", "ABC", "15m", "--keep-last", "1"]);
    assert!(out.contains("deleted 2 versions"), "{out}");
    let err = e.fails(&["bars", "ABC", "15m", "--as-of", "1"]);
    assert!(err.contains("no version 1"), "{err}");
    assert_eq!(first_close(&[]), "9");
}

#[test]
fn resample_prints_and_stores() {
    let e = Env::new();
    let f = e.file("ABC_15m.csv", CSV);
    e.ok(&["import", "bars", s(&f)]);
    let out = e.ok(&["resample", "ABC", "15m", "1h", "--format", "csv"]);
    assert_eq!(
        out,
        "time,open,high,low,close,volume\n\
         2024-01-01T00:00:00Z,1,4,0.5,3.5,60\n\
         2024-01-01T01:00:00Z,5,6,4,5.5,50\n"
    );
    let complete = e.ok(&[
        "resample",
        "ABC",
        "15m",
        "1h",
        "--format",
        "csv",
        "--complete-only",
    ]);
    assert_eq!(
        complete.lines().count(),
        2,
        "the forming 01:00 bar is dropped: {complete}"
    );
    e.ok(&["resample", "ABC", "15m", "1h", "--store"]);
    assert_eq!(e.ok(&["bars", "ABC", "1h", "--format", "csv"]), out);
}

#[test]
fn events_put_and_list() {
    let e = Env::new();
    let seq = e.ok(&[
        "events",
        "put",
        "signals",
        "--agent",
        "a1",
        "--symbol",
        "ABC",
        "--ts",
        "2024-01-01T00:00:00Z",
        "--field",
        "side=buy",
        "--field",
        "strength=0.7",
    ]);
    assert_eq!(seq.trim(), "1");
    e.ok(&[
        "events",
        "put",
        "signals",
        "--agent",
        "a2",
        "--symbol",
        "XYZ",
        "--ts",
        "2024-01-01T00:01:00Z",
        "--json",
        "{\"side\":\"sell\",\"n\":3}",
    ]);
    let all = e.ok(&["events", "list", "signals"]);
    assert_eq!(all.lines().count(), 2);
    let one = e.ok(&["events", "list", "signals", "--agent", "a2"]);
    let v: serde_json::Value = serde_json::from_str(one.trim()).unwrap();
    assert_eq!(v["payload"]["side"], "sell");
    assert_eq!(v["payload"]["n"], 3);
    assert_eq!(v["ts"], "2024-01-01T00:01:00Z");
    let none = e.ok(&["events", "list", "signals", "--from", "2024-01-02"]);
    assert!(none.is_empty());
    let err = e.fails(&["events", "put", "signals", "--agent", "a", "--json", "[1]"]);
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn demo_runs_small_and_reruns() {
    let e = Env::new();
    let args = [
        "demo",
        "--symbols",
        "3",
        "--years",
        "0.1",
        "--agents",
        "4",
        "--signals",
        "10",
    ];
    e.ok(&args);
    let out = e.ok(&args);
    for needle in [
        "read one",
        "identical to what was written",
        "read all",
        "insert",
        "signals",
        "csv",
        "0 errors",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
}

#[test]
fn bench_market_json_lines() {
    let e = Env::new();
    let out = e.ok(&[
        "bench",
        "market",
        "--symbols",
        "2",
        "--years",
        "0.01",
        "--reps",
        "2",
        "--agent-seconds",
        "0.2",
        "--agents",
        "2",
        "--agent-rate",
        "200",
        "--cases",
        "load_all,read_one,insert_10k,agents_p95,rss_1m",
        "--systems",
        "amdb,sqlite_tuned",
        "--json",
        "--dir",
        e.root.to_str().unwrap(),
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for case in ["load_all", "read_one", "insert_10k", "agents_p95", "rss_1m"] {
        for system in ["amdb", "sqlite_tuned"] {
            let row = rows
                .iter()
                .find(|r| r["case"] == case && r["system"] == system)
                .unwrap_or_else(|| panic!("no {case}/{system} in {out}"));
            assert_eq!(row["suite"], "market");
            assert!(row["seconds"].as_f64().unwrap() > 0.0, "{row}");
        }
    }
    let rss = rows
        .iter()
        .find(|r| r["case"] == "rss_1m" && r["system"] == "amdb")
        .unwrap();
    assert!(rss["rss_bytes"].as_u64().unwrap() > 1 << 20, "{rss}");
}

#[test]
fn symbols_with_slashes_export_and_import_under_their_own_names() {
    let e = Env::new();
    for sym in ["BTC/USDT", "BTC-USDT"] {
        let f = e.file("in.csv", CSV);
        e.ok(&[
            "import",
            "bars",
            s(&f),
            "--symbol",
            sym,
            "--timeframe",
            "15m",
        ]);
    }
    let dir = e.path("out");
    e.ok(&["export", "--all", "--dir", s(&dir)]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["BTC%2FUSDT_15m.csv", "BTC-USDT_15m.csv"]);
    let out = e.ok_in(
        "db2",
        &["import", "bars", s(&dir.join("BTC%2FUSDT_15m.csv"))],
    );
    assert!(out.contains("into BTC/USDT 15m"), "{out}");
    // A failed export of a missing series leaves an existing file alone.
    let keep = e.file("keep.csv", "precious\n");
    let out = e.run_in("db", &["export", "NOPE", "15m", "-o", s(&keep)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "precious\n");
}

#[test]
fn resample_from_mid_bucket_uses_the_whole_bucket() {
    let e = Env::new();
    let f = e.file("ABC_15m.csv", CSV);
    e.ok(&["import", "bars", s(&f)]);
    let out = e.ok(&[
        "resample",
        "ABC",
        "15m",
        "1h",
        "--from",
        "2024-01-01T00:30:00Z",
        "--format",
        "csv",
    ]);
    assert_eq!(
        out.lines().nth(1),
        Some("2024-01-01T00:00:00Z,1,4,0.5,3.5,60"),
        "{out}"
    );
}

#[test]
fn event_fields_keep_text_that_only_looks_numeric() {
    let e = Env::new();
    e.ok(&[
        "events",
        "put",
        "orders",
        "--agent",
        "a",
        "--field",
        "order_id=007",
        "--field",
        "qty=3",
        "--field",
        "px=1.5",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(e.ok(&["events", "list", "orders"]).trim()).unwrap();
    assert_eq!(v["payload"]["order_id"], "007");
    assert_eq!(v["payload"]["qty"], 3);
    assert_eq!(v["payload"]["px"], 1.5);
    let err = e.fails(&["events", "put", "orders", "--agent", "", "--field", "x=1"]);
    assert!(err.contains("--agent"), "{err}");
}
