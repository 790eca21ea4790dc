//! Import → store → read → export equals the input, for every format: the store keeps
//! every bar bit for bit, and each exporter writes what its importer reads.

use std::path::Path;

use amdb_engine::{Db, Options};
use amdb_market::gen::{generate, DEFAULT_START_NS};
use amdb_market::io::arrow::{read_arrow_ipc, write_arrow_ipc};
use amdb_market::io::csv::{read_csv, write_csv, CsvOptions, CsvWriteOptions};
use amdb_market::io::jsonl::{read_jsonl, write_jsonl};
use amdb_market::io::parquet::{read_parquet, write_parquet, ParquetCompression};
use amdb_market::io::sqlite::read_sqlite;
use amdb_market::io::ColumnMap;
use amdb_market::{Bar, Bars, Market, MarketOptions, Query, Timeframe};

fn sample() -> Bars {
    let mut bars = generate(7, 0, Timeframe::M15, DEFAULT_START_NS, 3_000);
    // Values the decimal codec cannot take, so the fallbacks are exercised end to end.
    bars.close[10] = 0.1 + 0.2;
    bars.high[10] = bars.high[10].max(0.30000000000000004);
    bars.volume[11] = 1e-300;
    bars.volume[12] = 123_456_789.123_456_79;
    bars.check().unwrap();
    bars
}

fn market(dir: &Path) -> Market {
    let db = Db::open(dir.join("db"), Options::default()).unwrap();
    Market::new(
        db,
        MarketOptions {
            chunk_rows: 1_000,
            ..MarketOptions::default()
        },
    )
    .unwrap()
}

/// Writes `bars` in shuffled order to a file with `write`, imports it with `read`, stores,
/// reads back, exports with `write` again and re-imports: all must equal the sorted input.
fn round_trip(name: &str, write: impl Fn(&Bars, &Path), read: impl Fn(&Path) -> Bars) {
    let dir = tempfile::tempdir().unwrap();
    let sorted = sample();
    // Reverse the order so the store's sort is part of the trip.
    let shuffled: Bars = (0..sorted.len()).rev().map(|i| sorted.get(i)).collect();
    let input = dir.path().join(format!("in.{name}"));
    write(&shuffled, &input);
    let imported = read(&input);
    assert_eq!(imported, shuffled, "{name}: import");

    let m = market(dir.path());
    m.write("SYM", Timeframe::M15, imported).unwrap();
    let stored = m.read("SYM", Timeframe::M15, &Query::all()).unwrap();
    assert_eq!(stored.len(), sorted.len());
    for i in 0..sorted.len() {
        let (a, b) = (stored.get(i), sorted.get(i));
        assert!(same_bits(&a, &b), "{name}: row {i}: {a:?} != {b:?}");
    }

    let output = dir.path().join(format!("out.{name}"));
    write(&stored, &output);
    assert_eq!(read(&output), sorted, "{name}: export");
}

fn same_bits(a: &Bar, b: &Bar) -> bool {
    a.ts == b.ts
        && [a.open, a.high, a.low, a.close, a.volume]
            .iter()
            .zip([b.open, b.high, b.low, b.close, b.volume])
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

fn create(p: &Path) -> std::io::BufWriter<std::fs::File> {
    std::io::BufWriter::new(std::fs::File::create(p).unwrap())
}

#[test]
fn csv_round_trips() {
    round_trip(
        "csv",
        |b, p| write_csv(b, create(p), &CsvWriteOptions::default()).unwrap(),
        |p| read_csv(p, &CsvOptions::default(), &mut |_, _| {}).unwrap(),
    );
}

#[test]
fn csv_exports_are_byte_identical_to_the_sorted_input() {
    let dir = tempfile::tempdir().unwrap();
    let sorted = sample();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_csv(&sorted, create(&a), &CsvWriteOptions::default()).unwrap();
    let m = market(dir.path());
    m.write(
        "SYM",
        Timeframe::M15,
        read_csv(&a, &CsvOptions::default(), &mut |_, _| {}).unwrap(),
    )
    .unwrap();
    let stored = m.read("SYM", Timeframe::M15, &Query::all()).unwrap();
    write_csv(&stored, create(&b), &CsvWriteOptions::default()).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn jsonl_round_trips() {
    round_trip(
        "jsonl",
        |b, p| write_jsonl(b, create(p)).unwrap(),
        |p| read_jsonl(p, &ColumnMap::default(), &mut |_, _| {}).unwrap(),
    );
}

#[test]
fn parquet_round_trips() {
    round_trip(
        "parquet",
        |b, p| write_parquet(b, p, ParquetCompression::default()).unwrap(),
        |p| read_parquet(p, &ColumnMap::default(), &mut |_, _| {}).unwrap(),
    );
}

#[test]
fn arrow_ipc_round_trips() {
    round_trip(
        "arrow",
        |b, p| write_arrow_ipc(b, p).unwrap(),
        |p| read_arrow_ipc(p, &ColumnMap::default(), &mut |_, _| {}).unwrap(),
    );
}

#[test]
fn sqlite_table_imports_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let sorted = sample();
    let path = dir.path().join("bars.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE quotes (\"Date Time\" TEXT, o REAL, h REAL, l REAL, c REAL, v REAL)",
    )
    .unwrap();
    {
        let tx = conn.unchecked_transaction().unwrap();
        let mut st = tx
            .prepare("INSERT INTO quotes VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .unwrap();
        for b in sorted.iter().rev() {
            let t = amdb_market::time::format_time(b.ts);
            st.execute(rusqlite::params![
                t, b.open, b.high, b.low, b.close, b.volume
            ])
            .unwrap();
        }
        drop(st);
        tx.commit().unwrap();
    }
    drop(conn);
    let map = ColumnMap {
        ts: Some("Date Time".into()),
        ..ColumnMap::default()
    };
    let imported = read_sqlite(&path, "quotes", &map, &mut |_, _| {}).unwrap();
    let m = market(dir.path());
    m.write("SYM", Timeframe::M15, imported).unwrap();
    assert_eq!(
        m.read("SYM", Timeframe::M15, &Query::all()).unwrap(),
        sorted
    );
}

#[test]
fn a_bad_row_in_a_file_stores_nothing_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    std::fs::write(
        &p,
        "time,open,high,low,close,volume\n\
         2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n\
         2024-01-01T00:15:00Z,1,0.4,0.5,1.5,10\n",
    )
    .unwrap();
    let err = read_csv(&p, &CsvOptions::default(), &mut |_, _| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.csv:3:") && msg.contains("below low"),
        "{msg}"
    );
}
