//! Round trips and vendors' file shapes for every format, and bad input for each reader.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amdb_market::bar::{Bar, Bars};
use amdb_market::io::arrow::{
    bars_to_record_batch, read_arrow_ipc, record_batch_to_bars, write_arrow_ipc, ArrowIpcWriter,
};
use amdb_market::io::csv::{read_csv, write_csv, CsvOptions, CsvWriteOptions, TimeFormat};
use amdb_market::io::jsonl::{read_jsonl, write_jsonl};
use amdb_market::io::parquet::{
    read_parquet, write_parquet, ParquetBarsWriter, ParquetCompression,
};
use amdb_market::io::sqlite::read_sqlite;
use amdb_market::io::{ColumnMap, ImportError};
use amdb_market::time::{parse_time, TimeUnit};
use arrow_array::{
    ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit as ArrowUnit};
use proptest::prelude::*;

fn no_progress() -> impl FnMut(u64, u64) {
    |_, _| {}
}

fn t(s: &str) -> i64 {
    parse_time(s, TimeUnit::Auto).unwrap()
}

/// Columns compared as bits, so -0.0 ≠ 0.0 and every last ulp counts.
fn assert_same(a: &Bars, b: &Bars) {
    assert_eq!(a.ts, b.ts);
    for (x, y) in [
        (&a.open, &b.open),
        (&a.high, &b.high),
        (&a.low, &b.low),
        (&a.close, &b.close),
        (&a.volume, &b.volume),
    ] {
        let bits = |v: &Vec<f64>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y));
    }
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

fn csv(dir: &Dir, name: &str, content: &str) -> Result<Bars, ImportError> {
    csv_with(dir, name, content, &CsvOptions::default())
}

fn csv_with(dir: &Dir, name: &str, content: &str, o: &CsvOptions) -> Result<Bars, ImportError> {
    read_csv(dir.file(name, content.as_bytes()), o, &mut no_progress())
}

/// The error's text after the temp dir, e.g. `x.csv:3: high 1.0 is below low 2.0`.
fn err_text(dir: &Dir, e: ImportError) -> String {
    let s = e.to_string();
    let prefix = format!("{}/", dir.0.path().display());
    s.strip_prefix(&prefix).unwrap_or(&s).to_string()
}

// ---------- random bars ----------

fn price(two_decimals: bool) -> BoxedStrategy<f64> {
    if two_decimals {
        (-100_000_000i64..100_000_000)
            .prop_map(|c| c as f64 / 100.0)
            .boxed()
    } else {
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .boxed()
    }
}

fn bar(two_decimals: bool) -> impl Strategy<Value = Bar> {
    (
        any::<i64>(),
        [
            price(two_decimals),
            price(two_decimals),
            price(two_decimals),
            price(two_decimals),
        ],
        price(two_decimals),
    )
        .prop_map(|(ts, [a, b, c, d], v)| {
            let high = a.max(b).max(c).max(d);
            let low = a.min(b).min(c).min(d);
            Bar {
                ts,
                open: b,
                high,
                low,
                close: c,
                volume: v.abs(),
            }
        })
}

fn bars() -> impl Strategy<Value = Bars> {
    prop_oneof![
        prop::collection::vec(bar(true), 0..40),
        prop::collection::vec(bar(false), 0..40),
    ]
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn csv_roundtrip_is_bit_exact(b in bars(), fmt in 0..4usize, delim in 0..3usize) {
        let dir = Dir::new();
        let (time_format, unit) = [
            (TimeFormat::Iso, TimeUnit::Auto),
            (TimeFormat::EpochNanos, TimeUnit::Nanos),
            (TimeFormat::EpochMillis, TimeUnit::Millis),
            (TimeFormat::EpochSeconds, TimeUnit::Seconds),
        ][fmt];
        let delimiter = [b',', b';', b'\t'][delim];
        let mut out = Vec::new();
        write_csv(&b, &mut out, &CsvWriteOptions { delimiter, time_format, header: true }).unwrap();
        let path = dir.file("r.csv", &out);
        let opts = CsvOptions { time_unit: unit, ..Default::default() };
        let back = read_csv(&path, &opts, &mut no_progress()).unwrap();
        assert_same(&b, &back);
    }

    #[test]
    fn jsonl_roundtrip_is_bit_exact(b in bars()) {
        let dir = Dir::new();
        let mut out = Vec::new();
        write_jsonl(&b, &mut out).unwrap();
        let back = read_jsonl(dir.file("r.jsonl", &out), &ColumnMap::default(), &mut no_progress()).unwrap();
        assert_same(&b, &back);
    }

    #[test]
    fn arrow_and_parquet_roundtrip_is_bit_exact(b in bars(), comp in 0..4usize) {
        let dir = Dir::new();
        let p = dir.path("r.arrow");
        write_arrow_ipc(&b, &p).unwrap();
        assert_same(&b, &read_arrow_ipc(&p, &ColumnMap::default(), &mut no_progress()).unwrap());
        let compression = [ParquetCompression::default(), ParquetCompression::Snappy, ParquetCompression::Lz4, ParquetCompression::None][comp];
        let p = dir.path("r.parquet");
        write_parquet(&b, &p, compression).unwrap();
        assert_same(&b, &read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap());
        let batch = bars_to_record_batch(&b);
        assert_same(&b, &record_batch_to_bars(&batch, &ColumnMap::default(), 0).unwrap());
    }
}

// ---------- CSV shapes ----------

#[test]
fn yahoo_daily() {
    let dir = Dir::new();
    let b = csv(
        &dir,
        "AAPL.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n\
         2024-01-02,187.15,188.44,183.89,185.64,184.93,82488700\n\
         2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500\n",
    )
    .unwrap();
    assert_eq!(b.ts, vec![t("2024-01-02"), t("2024-01-03")]);
    assert_eq!(b.close, vec![185.64, 184.25]);
    assert_eq!(b.volume[0], 82_488_700.0);
}

#[test]
fn binance_with_and_without_header() {
    let dir = Dir::new();
    let rows = "1704067200000,42283.58,42554.57,42261.02,42475.23,1271.68108,1704070799999,53957248.97,47134,682.57581,28957416.82,0\n\
                1704070800000,42475.23,42775.00,42431.65,42613.56,1196.37856,1704074399999,50984893.69,45386,628.55713,26786566.35,0\n";
    let header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n";
    let a = csv(&dir, "h.csv", &format!("{header}{rows}")).unwrap();
    let b = csv(&dir, "n.csv", rows).unwrap();
    assert_same(&a, &b);
    assert_eq!(
        a.ts,
        vec![t("2024-01-01T00:00:00Z"), t("2024-01-01T01:00:00Z")]
    );
    assert_eq!(a.volume[1], 1196.37856);
}

#[test]
fn metatrader_tab_separated_with_dotted_dates() {
    let dir = Dir::new();
    let b = csv(
        &dir,
        "EURUSD.csv",
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n\
         2024.01.02\t13:45:00\t1.10450\t1.10500\t1.10400\t1.10480\t120\t7\t5\n\
         2024.01.02\t14:00:00\t1.10480\t1.10520\t1.10470\t1.10490\t98\t3\t5\n",
    )
    .unwrap();
    assert_eq!(
        b.ts,
        vec![t("2024-01-02T13:45:00Z"), t("2024-01-02T14:00:00Z")]
    );
    assert_eq!(b.volume, vec![7.0, 3.0]);
    // MetaTrader 4 history export: headerless date,time,o,h,l,c,v.
    let b = csv(
        &dir,
        "mt4.csv",
        "2024.01.02,13:45,1.1045,1.105,1.104,1.1048,120\n",
    )
    .unwrap();
    assert_eq!(b.ts, vec![t("2024-01-02T13:45:00Z")]);
    assert_eq!(b.volume, vec![120.0]);
    // Compact yyyymmdd dates.
    let b = csv(&dir, "c.csv", "<TICKER>,<PER>,<DTYYYYMMDD>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\nX,15,20240102,134500,1,2,1,2,3\n").unwrap();
    assert_eq!(b.ts, vec![t("2024-01-02T13:45:00Z")]);
    let opts = CsvOptions {
        columns: ColumnMap {
            ts: Some("D+<TIME>".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let b = csv_with(
        &dir,
        "c.csv",
        "D,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n20240102,134500,1,2,1,2,3\n",
        &opts,
    )
    .unwrap();
    assert_eq!(b.ts, vec![t("2024-01-02T13:45:00Z")]);
}

#[test]
fn semicolons_decimal_commas_crlf_bom_and_no_trailing_newline() {
    let dir = Dir::new();
    let expect = csv(&dir, "plain.csv", "time,open,high,low,close,volume\n2024-01-02 13:45,1.5,2.5,1.25,2,100\n2024-01-02 14:00,2,3,1.5,2.5,50\n").unwrap();
    for (name, text) in [
        ("semi.csv", "time;open;high;low;close;volume\n2024-01-02 13:45;1,5;2,5;1,25;2;100\n2024-01-02 14:00;2;3;1,5;2,5;50\n"),
        ("crlf.csv", "time,open,high,low,close,volume\r\n2024-01-02 13:45,1.5,2.5,1.25,2,100\r\n2024-01-02 14:00,2,3,1.5,2.5,50\r\n"),
        ("bom.csv", "\u{feff}time,open,high,low,close,volume\n2024-01-02 13:45,1.5,2.5,1.25,2,100\n2024-01-02 14:00,2,3,1.5,2.5,50"),
        ("headerless.csv", "2024-01-02 13:45,1.5,2.5,1.25,2,100\n\n2024-01-02 14:00,2,3,1.5,2.5,50\n\n"),
        ("pipes.csv", "time|open|high|low|close|volume\n2024-01-02T13:45:00Z|1.5|2.5|1.25|2|100\n2024-01-02T14:00:00Z|2|3|1.5|2.5|50\n"),
        ("quoted.csv", "\"time\",\"open\",\"high\",\"low\",\"close\",\"volume\"\r\n\"2024-01-02 13:45\",\"1.5\",\"2.5\",\"1.25\",\"2\",\"100\"\r\n\"2024-01-02 14:00\",2,3,1.5,2.5,50"),
        ("spaces.csv", "Time, Open, High, Low, Close, Volume\n2024-01-02 13:45, 1.5, 2.5, 1.25, 2, 100\n2024-01-02 14:00, 2, 3, 1.5, 2.5, 50\n"),
    ] {
        let b = csv(&dir, name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(b, expect, "{name}");
    }
}

#[test]
fn many_rows_keep_file_order_and_exact_lines_across_chunks() {
    let dir = Dir::new();
    let n = 120_000usize;
    let mut b = Bars::with_capacity(n);
    for i in 0..n {
        // Out of order on purpose: readers keep file order.
        let ts = ((i * 7919) % n) as i64 * 900_000_000_000;
        let p = 100.0 + (i % 1000) as f64 / 100.0;
        b.push(Bar {
            ts,
            open: p,
            high: p + 1.0,
            low: p - 1.0,
            close: p + 0.25,
            volume: i as f64,
        });
    }
    let mut out = Vec::new();
    write_csv(&b, &mut out, &CsvWriteOptions::default()).unwrap();
    let mut calls = 0;
    let back = read_csv(
        dir.file("big.csv", &out),
        &CsvOptions::default(),
        &mut |d, t| {
            assert!(d <= t);
            calls += 1;
        },
    )
    .unwrap();
    assert_same(&b, &back);
    assert!(calls >= 3);

    // A bad row deep in the file: its line (header = line 1) is exact, on both paths.
    let text = String::from_utf8(out).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[100_001] = "2024-01-02T00:00:00Z,1,1,2,1,1".into(); // line 100002
    let bad = lines.join("\n");
    let e = csv(&dir, "bad.csv", &bad).unwrap_err();
    assert_eq!(
        err_text(&dir, e),
        "bad.csv:100002: high 1.0 is below low 2.0"
    );
    lines[0] = "\"time\",open,high,low,close,volume".into();
    let e = csv(&dir, "badq.csv", &lines.join("\n")).unwrap_err();
    assert_eq!(
        err_text(&dir, e),
        "badq.csv:100002: high 1.0 is below low 2.0"
    );
}

// ---------- bad CSV ----------

#[test]
fn bad_rows_name_file_and_line() {
    let dir = Dir::new();
    let h = "time,open,high,low,close,volume\n2024-01-02,1,2,1,2,3\n";
    for (body, want) in [
        (
            "2024-01-03,1,1,2,1,1\n",
            "x.csv:3: high 1.0 is below low 2.0",
        ),
        (
            "2024-01-03,1,2,1,NaN,1\n",
            "x.csv:3: close is not a finite number",
        ),
        (
            "2024-01-03,1,2,1,inf,1\n",
            "x.csv:3: close is not a finite number",
        ),
        (
            "2024-01-03,1,2,1,2,-5\n",
            "x.csv:3: volume -5.0 is negative",
        ),
        (
            "2024-13-03,1,2,1,2,5\n",
            "x.csv:3: unparsable time \"2024-13-03\"",
        ),
        (
            "2024-01-03,1,2,1,abc,5\n",
            "x.csv:3: unparsable close \"abc\"",
        ),
        ("2024-01-03,1,2,1,,5\n", "x.csv:3: unparsable close \"\""),
        (
            "2024-01-03,1,2,1,2\n",
            "x.csv:3: expected 6 fields, found 5",
        ),
        (
            "2024-01-03,1,2,1,2,5,6\n",
            "x.csv:3: expected 6 fields, found 7",
        ),
        (
            "\n\n2024-01-03,1,2,1,2\n",
            "x.csv:5: expected 6 fields, found 5",
        ),
        (
            "2024-01-03,\"1\",2,1,2\n",
            "x.csv:3: expected 6 fields, found 5",
        ),
    ] {
        let e = csv(&dir, "x.csv", &format!("{h}{body}")).unwrap_err();
        assert_eq!(err_text(&dir, e), want, "{body:?}");
    }
    for (text, want) in [
        ("", "x.csv:1: file is empty"),
        ("\u{feff}\r\n \n", "x.csv:3: file is empty"),
        ("a,b,c\n1,2,3\n", "x.csv:1: no time column (looked for time, timestamp, datetime, date_time, open_time, opentime, ts, date, time_utc, gmt_time, local_time, unix, t; found: a, b, c)"),
        ("2024-01-02,1,2,3\n", "x.csv:1: a file without a header needs 6 columns (time,open,high,low,close,volume), 7 (date,time,open,high,low,close,volume) or more (the first six as with 6); found 4"),
    ] {
        let e = csv(&dir, "x.csv", text).unwrap_err();
        assert_eq!(err_text(&dir, e), want, "{text:?}");
    }
    // Header only: no rows, no error (an export of an empty range reads back).
    assert!(csv(&dir, "x.csv", "time,open,high,low,close,volume\n")
        .unwrap()
        .is_empty());
}

// ---------- Arrow, Parquet ----------

#[test]
fn arrow_stream_format_and_streaming_writer() {
    let dir = Dir::new();
    let mk = |k: i64| -> Bars {
        (0..5)
            .map(|i| Bar {
                ts: (k * 5 + i) * 60_000_000_000,
                open: 1.0,
                high: 2.0,
                low: 0.5,
                close: 1.5,
                volume: i as f64,
            })
            .collect()
    };
    let p = dir.path("s.arrow");
    let mut w = ArrowIpcWriter::create(&p).unwrap();
    w.write(&mk(0)).unwrap();
    w.write(&Bars::new()).unwrap();
    w.write(&mk(1)).unwrap();
    w.finish().unwrap();
    let mut all = mk(0);
    all.extend_from(&mk(1));
    assert_same(
        &all,
        &read_arrow_ipc(&p, &ColumnMap::default(), &mut no_progress()).unwrap(),
    );

    let batch = bars_to_record_batch(&all);
    let mut buf = Vec::new();
    let mut sw = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
    sw.write(&batch).unwrap();
    sw.finish().unwrap();
    drop(sw);
    let p = dir.file("s.arrows", &buf);
    assert_same(
        &all,
        &read_arrow_ipc(&p, &ColumnMap::default(), &mut no_progress()).unwrap(),
    );

    let p = dir.path("s.parquet");
    let mut w = ParquetBarsWriter::create(&p, ParquetCompression::Zstd(3)).unwrap();
    w.write(&mk(0)).unwrap();
    w.write(&mk(1)).unwrap();
    w.finish().unwrap();
    assert_same(
        &all,
        &read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap(),
    );
}

fn write_foreign_parquet(path: &Path, schema: Schema, cols: Vec<ArrayRef>) {
    let batch = RecordBatch::try_new(Arc::new(schema), cols).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn pandas_style_parquet() {
    let dir = Dir::new();
    let f = |n: &str, t: DataType| Field::new(n, t, true);
    let t0 = t("2024-01-02T13:45:00Z");
    // df.to_parquet() of a frame with a naive timestamp[us] column and a RangeIndex
    // written as a column.
    let p = dir.path("pandas.parquet");
    write_foreign_parquet(
        &p,
        Schema::new(vec![
            f(
                "timestamp",
                DataType::Timestamp(ArrowUnit::Microsecond, None),
            ),
            f("Open", DataType::Float64),
            f("High", DataType::Float64),
            f("Low", DataType::Float64),
            f("Close", DataType::Float64),
            f("Volume", DataType::Int64),
            f("__index_level_0__", DataType::Int64),
        ]),
        vec![
            Arc::new(TimestampMicrosecondArray::from(vec![
                t0 / 1000,
                t0 / 1000 + 900_000_000,
            ])),
            Arc::new(Float64Array::from(vec![1.5, 2.0])),
            Arc::new(Float64Array::from(vec![2.5, 3.0])),
            Arc::new(Float64Array::from(vec![1.25, 1.5])),
            Arc::new(Float64Array::from(vec![2.0, 2.5])),
            Arc::new(Int64Array::from(vec![100, 50])),
            Arc::new(Int64Array::from(vec![0, 1])),
        ],
    );
    let b = read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap();
    assert_eq!(b.ts, vec![t0, t0 + 900_000_000_000]);
    assert_eq!(b.volume, vec![100.0, 50.0]);

    // A `date` index, tz-aware ms timestamps, float32 prices, a null close.
    let p = dir.path("idx.parquet");
    let schema = Schema::new(vec![
        f("open", DataType::Float32),
        f("high", DataType::Float32),
        f("low", DataType::Float32),
        f("close", DataType::Float32),
        f("volume", DataType::Float64),
        f(
            "date",
            DataType::Timestamp(ArrowUnit::Millisecond, Some("America/New_York".into())),
        ),
    ]);
    let cols = |close: Vec<Option<f32>>| -> Vec<ArrayRef> {
        vec![
            Arc::new(Float32Array::from(vec![1.5, 2.0, 2.0])),
            Arc::new(Float32Array::from(vec![2.5, 3.0, 3.0])),
            Arc::new(Float32Array::from(vec![1.25, 1.5, 1.5])),
            Arc::new(Float32Array::from(close)),
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])),
            Arc::new(
                TimestampMillisecondArray::from(vec![
                    t0 / 1_000_000,
                    t0 / 1_000_000 + 1,
                    t0 / 1_000_000 + 2,
                ])
                .with_timezone("America/New_York"),
            ),
        ]
    };
    write_foreign_parquet(
        &p,
        schema.clone(),
        cols(vec![Some(2.0), Some(2.5), Some(2.25)]),
    );
    let b = read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap();
    assert_eq!(b.ts, vec![t0, t0 + 1_000_000, t0 + 2_000_000]);
    assert_eq!(b.close, vec![2.0, 2.5, 2.25]);

    write_foreign_parquet(&p, schema.clone(), cols(vec![Some(2.0), None, Some(2.25)]));
    let e = read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap_err();
    assert_eq!(err_text(&dir, e), "idx.parquet: row 1: close is null");
    write_foreign_parquet(&p, schema, cols(vec![Some(2.0), Some(2.5), Some(f32::NAN)]));
    let e = read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap_err();
    assert_eq!(
        err_text(&dir, e),
        "idx.parquet: row 2: close is not a finite number"
    );

    let p = dir.file("junk.parquet", b"not parquet at all");
    let e = read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap_err();
    assert!(err_text(&dir, e).starts_with("junk.parquet: not a readable Parquet file"));
}

// ---------- SQLite ----------

#[test]
fn sqlite_text_and_integer_times() {
    let dir = Dir::new();
    let p = dir.path("bars.db");
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(
            "CREATE TABLE \"eur \"\"usd\"\" 15m\" (Date TEXT, Open REAL, High REAL, Low REAL, Close REAL, Volume INTEGER);
             INSERT INTO \"eur \"\"usd\"\" 15m\" VALUES ('2024-01-02 13:45:00', 1.5, 2.5, 1.25, 2.0, 100);
             INSERT INTO \"eur \"\"usd\"\" 15m\" VALUES ('2024-01-02T14:00:00Z', 2, 3, 1.5, 2.5, 50);
             CREATE TABLE klines (open_time INTEGER, o REAL, h REAL, l REAL, c REAL, v REAL);
             INSERT INTO klines VALUES (1704203100000, 1.5, 2.5, 1.25, 2.0, 100);
             INSERT INTO klines VALUES (1704204000000, 2, 3, 1.5, 2.5, 50);
             CREATE TABLE broken (ts INTEGER, open REAL, high REAL, low REAL, close REAL, volume REAL);
             INSERT INTO broken VALUES (1704203100, 1, 2, 1, 2, 3);
             INSERT INTO broken VALUES (1704204000, 1, 2, 1, NULL, 3);
             CREATE TABLE other (a, b);",
        )
        .unwrap();
    }
    let m = ColumnMap::default();
    let a = read_sqlite(&p, "eur \"usd\" 15m", &m, &mut no_progress()).unwrap();
    let b = read_sqlite(&p, "klines", &m, &mut no_progress()).unwrap();
    assert_same(&a, &b);
    assert_eq!(
        a.ts,
        vec![t("2024-01-02T13:45:00Z"), t("2024-01-02T14:00:00Z")]
    );
    let e = read_sqlite(&p, "broken", &m, &mut no_progress()).unwrap_err();
    assert_eq!(err_text(&dir, e), "bars.db: row 1: unparsable close NULL");
    let e = read_sqlite(&p, "other", &m, &mut no_progress()).unwrap_err();
    assert!(err_text(&dir, e).starts_with("bars.db: table \"other\": no time column"),);
    let e = read_sqlite(&p, "missing", &m, &mut no_progress()).unwrap_err();
    let e = err_text(&dir, e);
    assert!(
        e.starts_with("bars.db: cannot read table \"missing\"")
            && e.ends_with("tables: broken, eur \"usd\" 15m, klines, other"),
        "{e}"
    );
}

#[test]
fn jsonl_errors_name_lines() {
    let dir = Dir::new();
    let p = dir.file("x.jsonl", b"{\"ts\":\"2024-01-02T13:45:00Z\",\"open\":1,\"high\":2,\"low\":1,\"close\":2,\"volume\":1}\n{\"ts\":1704203100,\"open\":1,\"high\":0.5,\"low\":1,\"close\":2,\"volume\":1}\n");
    let e = read_jsonl(&p, &ColumnMap::default(), &mut no_progress()).unwrap_err();
    assert_eq!(err_text(&dir, e), "x.jsonl:2: high 0.5 is below low 1.0");
}

#[test]
fn wrong_column_types_name_the_column_not_a_row() {
    let dir = Dir::new();
    let p = dir.path("t.parquet");
    let f = |n: &str, t: DataType| Field::new(n, t, false);
    let schema = Schema::new(vec![
        f("ts", DataType::Utf8),
        f("open", DataType::Float64),
        f("high", DataType::Float64),
        f("low", DataType::Float64),
        f("close", DataType::Float64),
        f("volume", DataType::Boolean),
    ]);
    let one = || Arc::new(Float64Array::from(vec![1.0])) as ArrayRef;
    write_foreign_parquet(
        &p,
        schema,
        vec![
            Arc::new(arrow_array::StringArray::from(vec!["2024-01-02 13:45"])),
            one(),
            one(),
            one(),
            one(),
            Arc::new(arrow_array::BooleanArray::from(vec![true])),
        ],
    );
    let e = read_parquet(&p, &ColumnMap::default(), &mut no_progress()).unwrap_err();
    assert_eq!(
        err_text(&dir, e),
        "t.parquet: volume column has type Boolean; expected a number"
    );
}
