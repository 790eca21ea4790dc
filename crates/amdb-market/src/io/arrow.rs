//! Arrow: the in-memory form bars take on their way to Parquet and Arrow IPC files, and the
//! conversion of other people's record batches (any time type, any number type) to bars.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, TimestampNanosecondArray};
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit as ArrowUnit};

use super::{check_bar, detect_columns, ColumnMap, ExportError, ImportError, Layout, TimeColumns};
use crate::bar::Bars;
use crate::time::{parse_date_and_time_bytes, parse_time_bytes, TimeUnit};
use crate::timeframe::NANOS_PER_SECOND;

const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// The schema bars are written with: `ts` Timestamp(ns, "UTC"), then Float64 prices and
/// volume, none nullable. pandas and polars read it as a tz-aware datetime column.
pub fn bars_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let f = |n: &str| Field::new(n, DataType::Float64, false);
            Arc::new(Schema::new(vec![
                Field::new(
                    "ts",
                    DataType::Timestamp(ArrowUnit::Nanosecond, Some("UTC".into())),
                    false,
                ),
                f("open"),
                f("high"),
                f("low"),
                f("close"),
                f("volume"),
            ]))
        })
        .clone()
}

/// Bars as a record batch of [`bars_schema`]. Panics if the columns' lengths differ (a
/// broken `Bars`); the writers use [`try_bars_to_record_batch`] instead.
pub fn bars_to_record_batch(bars: &Bars) -> RecordBatch {
    try_bars_to_record_batch(bars).expect("Bars columns have equal lengths")
}

/// [`bars_to_record_batch`] that reports columns of unequal length as an error.
pub fn try_bars_to_record_batch(bars: &Bars) -> Result<RecordBatch, ArrowError> {
    let f = |v: &Vec<f64>| Arc::new(Float64Array::from(v.clone())) as ArrayRef;
    let ts = TimestampNanosecondArray::from(bars.ts.clone()).with_timezone("UTC");
    RecordBatch::try_new(
        bars_schema(),
        vec![
            Arc::new(ts),
            f(&bars.open),
            f(&bars.high),
            f(&bars.low),
            f(&bars.close),
            f(&bars.volume),
        ],
    )
}

/// Why a record batch could not become bars: the row (already offset) when one is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    pub row: Option<u64>,
    pub msg: String,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.row {
            Some(r) => write!(f, "row {r}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for BatchError {}

impl BatchError {
    fn whole(msg: String) -> Self {
        BatchError { row: None, msg }
    }
    pub(crate) fn into_import(self, path: &Path) -> ImportError {
        match self.row {
            Some(row) => ImportError::Row {
                path: path.to_path_buf(),
                row,
                msg: self.msg,
            },
            None => ImportError::file(path, self.msg),
        }
    }
}

/// The columns of `schema` holding a bar's fields.
pub fn schema_layout(schema: &Schema, map: &ColumnMap) -> Result<Layout, String> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    detect_columns(&names, map)
}

/// Converts a record batch (anyone's: times as Timestamp of any unit and zone, Int64 epochs
/// of any unit, Date32/Date64 or strings; numbers as any float or integer type) to validated
/// bars. `row_offset` is added to row numbers in errors.
pub fn record_batch_to_bars(
    batch: &RecordBatch,
    map: &ColumnMap,
    row_offset: u64,
) -> Result<Bars, BatchError> {
    let layout = schema_layout(batch.schema_ref(), map).map_err(BatchError::whole)?;
    convert_batch(batch, &layout, row_offset)
}

/// [`record_batch_to_bars`] with the columns already found (readers find them once).
pub(crate) fn convert_batch(
    batch: &RecordBatch,
    l: &Layout,
    row_offset: u64,
) -> Result<Bars, BatchError> {
    // Column-level problems (a wrong type) carry WHOLE_COLUMN instead of a row.
    let at = |row: usize, msg: String| BatchError {
        row: (row != WHOLE_COLUMN).then(|| row_offset + row as u64),
        msg,
    };
    let col = |i: usize| batch.column(i).as_ref();
    let name = |i: usize| batch.schema_ref().field(i).name().clone();
    let ts = match l.time {
        TimeColumns::One(i) => time_column(col(i), &name(i)).map_err(|(r, m)| at(r, m))?,
        TimeColumns::DateTime(d, t) => {
            date_time_columns(col(d), col(t), &name(t)).map_err(|(r, m)| at(r, m))?
        }
    };
    let num = |i: usize, field: &str| number_column(col(i), field).map_err(|(r, m)| at(r, m));
    let bars = Bars {
        ts,
        open: num(l.open, "open")?,
        high: num(l.high, "high")?,
        low: num(l.low, "low")?,
        close: num(l.close, "close")?,
        volume: match l.volume {
            Some(v) => num(v, "volume")?,
            None => vec![0.0; batch.num_rows()],
        },
    };
    for i in 0..bars.len() {
        check_bar(&bars.get(i)).map_err(|m| at(i, m))?;
    }
    Ok(bars)
}

type ColResult<T> = Result<Vec<T>, (usize, String)>;

/// The "row" of an error about a whole column, e.g. one of an unusable type.
const WHOLE_COLUMN: usize = usize::MAX;

fn first_null(a: &dyn Array, what: &str) -> Result<(), (usize, String)> {
    if a.null_count() == 0 {
        return Ok(());
    }
    let row = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
    Err((row, format!("{what} is null")))
}

/// Converts each value with `f`, naming the first row it refuses.
fn map_rows<T: Copy>(
    values: &[T],
    f: impl Fn(T) -> Option<i64>,
    bad: impl Fn(T) -> String,
) -> ColResult<i64> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| f(v).ok_or_else(|| (i, bad(v))))
        .collect()
}

fn time_column(a: &dyn Array, name: &str) -> ColResult<i64> {
    first_null(a, "time")?;
    let range = |v: i64| format!("time {v} in column {name} is out of range");
    let scaled = |values: &[i64], per: i64| map_rows(values, |v| v.checked_mul(per), range);
    let epoch = |values: &[i64]| map_rows(values, |v| TimeUnit::Auto.to_nanos(v), range);
    Ok(match a.data_type() {
        DataType::Timestamp(u, _) => {
            // Arrow stores zoned timestamps as UTC instants, so the zone needs no work.
            let per = match u {
                ArrowUnit::Second => NANOS_PER_SECOND,
                ArrowUnit::Millisecond => 1_000_000,
                ArrowUnit::Microsecond => 1_000,
                ArrowUnit::Nanosecond => 1,
            };
            let values = match u {
                ArrowUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().values(),
                ArrowUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().values(),
                ArrowUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().values(),
                ArrowUnit::Second => a.as_primitive::<TimestampSecondType>().values(),
            };
            scaled(values, per)?
        }
        DataType::Date32 => {
            let v: Vec<i64> = a
                .as_primitive::<Date32Type>()
                .values()
                .iter()
                .map(|&d| d as i64)
                .collect();
            scaled(&v, NANOS_PER_DAY)?
        }
        DataType::Date64 => scaled(a.as_primitive::<Date64Type>().values(), 1_000_000)?,
        DataType::Int64 => epoch(a.as_primitive::<Int64Type>().values())?,
        DataType::Int32 => {
            let v: Vec<i64> = a.as_primitive::<Int32Type>().values().iter().map(|&x| x as i64).collect();
            epoch(&v)?
        }
        DataType::UInt64 => {
            let v = a.as_primitive::<UInt64Type>().values();
            let v: Result<Vec<i64>, _> = v
                .iter()
                .enumerate()
                .map(|(i, &x)| i64::try_from(x).map_err(|_| (i, format!("time {x} is out of range"))))
                .collect();
            epoch(&v?)?
        }
        DataType::Float64 => map_rows(
            a.as_primitive::<Float64Type>().values(),
            |v| crate::time::epoch_f64_to_nanos(v, TimeUnit::Auto),
            |v| format!("time {v} in column {name} is out of range"),
        )?,
        DataType::Utf8 => strings(a.as_string::<i32>().iter())?,
        DataType::LargeUtf8 => strings(a.as_string::<i64>().iter())?,
        DataType::Utf8View => strings(a.as_string_view().iter())?,
        other => {
            return Err((
                WHOLE_COLUMN,
                format!("time column {name} has type {other}; expected a timestamp, date, epoch integer or text"),
            ))
        }
    })
}

fn strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ColResult<i64> {
    it.enumerate()
        .map(|(i, s)| {
            let s = s.unwrap_or("");
            parse_time_bytes(s.as_bytes(), TimeUnit::Auto)
                .ok_or_else(|| (i, format!("unparsable time {s:?}")))
        })
        .collect()
}

/// A date column plus a time-of-day column (Time32/Time64 or text like `13:45:00`).
fn date_time_columns(date: &dyn Array, time: &dyn Array, name: &str) -> ColResult<i64> {
    first_null(time, "time")?;
    let text = |a: &dyn Array| -> Option<Vec<String>> {
        match a.data_type() {
            DataType::Utf8 => Some(
                a.as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap_or("").to_string())
                    .collect(),
            ),
            DataType::LargeUtf8 => Some(
                a.as_string::<i64>()
                    .iter()
                    .map(|s| s.unwrap_or("").to_string())
                    .collect(),
            ),
            _ => None,
        }
    };
    if let (Some(d), Some(t)) = (text(date), text(time)) {
        first_null(date, "date")?;
        return d
            .iter()
            .zip(&t)
            .enumerate()
            .map(|(i, (d, t))| {
                parse_date_and_time_bytes(d.as_bytes(), t.as_bytes())
                    .ok_or_else(|| (i, format!("unparsable date and time {d:?} {t:?}")))
            })
            .collect();
    }
    let days = time_column(date, "date")?;
    let tod: Vec<i64> = match time.data_type() {
        DataType::Time32(ArrowUnit::Second) => time
            .as_primitive::<Time32SecondType>()
            .values()
            .iter()
            .map(|&v| v as i64 * NANOS_PER_SECOND)
            .collect(),
        DataType::Time32(_) => time
            .as_primitive::<Time32MillisecondType>()
            .values()
            .iter()
            .map(|&v| v as i64 * 1_000_000)
            .collect(),
        DataType::Time64(ArrowUnit::Microsecond) => time
            .as_primitive::<Time64MicrosecondType>()
            .values()
            .iter()
            .map(|&v| v * 1_000)
            .collect(),
        DataType::Time64(_) => time
            .as_primitive::<Time64NanosecondType>()
            .values()
            .to_vec(),
        other => {
            return Err((
                WHOLE_COLUMN,
                format!("time column {name} has type {other}; expected a time of day"),
            ))
        }
    };
    days.iter()
        .zip(&tod)
        .enumerate()
        .map(|(i, (&d, &t))| {
            d.checked_add(t)
                .ok_or_else(|| (i, "time is out of range".to_string()))
        })
        .collect()
}

fn number_column(a: &dyn Array, field: &str) -> ColResult<f64> {
    first_null(a, field)?;
    fn conv<T: ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<f64> {
        a.as_primitive::<T>()
            .values()
            .iter()
            .map(|&v| f(v))
            .collect()
    }
    Ok(match a.data_type() {
        DataType::Float64 => a.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => conv::<Float32Type>(a, f64::from),
        DataType::Int64 => conv::<Int64Type>(a, |v| v as f64),
        DataType::Int32 => conv::<Int32Type>(a, f64::from),
        DataType::Int16 => conv::<Int16Type>(a, f64::from),
        DataType::UInt64 => conv::<UInt64Type>(a, |v| v as f64),
        DataType::UInt32 => conv::<UInt32Type>(a, f64::from),
        DataType::Utf8 => {
            return a
                .as_string::<i32>()
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let s = s.unwrap_or("").trim();
                    s.parse()
                        .map_err(|_| (i, format!("unparsable {field} {s:?}")))
                })
                .collect()
        }
        other => {
            return Err((
                WHOLE_COLUMN,
                format!("{field} column has type {other}; expected a number"),
            ))
        }
    })
}

/// A reader that counts the bytes read through it (progress for Arrow streams).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Reads bars from an Arrow IPC file (`.arrow`, `.feather` v2) or, sniffed by the absence of
/// the `ARROW1` magic, an Arrow IPC stream. Progress is in file bytes.
pub fn read_arrow_ipc(
    path: impl AsRef<Path>,
    map: &ColumnMap,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Bars, ImportError> {
    let path = path.as_ref();
    let io = |e| ImportError::io(path, e);
    let arrow =
        |e: ArrowError| ImportError::file(path, format!("not a readable Arrow IPC file: {e}"));
    let mut file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    progress(0, total);
    let mut magic = [0u8; 6];
    let is_file = file.read_exact(&mut magic).is_ok() && &magic == b"ARROW1";
    file.seek(SeekFrom::Start(0)).map_err(io)?;

    let mut out = Bars::new();
    let mut add = |batch: &RecordBatch, layout: &Layout| -> Result<(), ImportError> {
        let bars =
            convert_batch(batch, layout, out.len() as u64).map_err(|e| e.into_import(path))?;
        out.extend_from(&bars);
        Ok(())
    };
    let layout_of =
        |schema: &Schema| schema_layout(schema, map).map_err(|m| ImportError::file(path, m));
    if is_file {
        let reader = FileReader::try_new(BufReader::new(file), None).map_err(arrow)?;
        let layout = layout_of(&reader.schema())?;
        let n = reader.num_batches() as u64;
        for (k, batch) in reader.enumerate() {
            add(&batch.map_err(arrow)?, &layout)?;
            progress(super::scaled(k as u64 + 1, n, total), total);
        }
    } else {
        let count = Rc::new(Cell::new(0));
        let counting = Counting {
            inner: BufReader::new(file),
            count: count.clone(),
        };
        let reader = StreamReader::try_new(counting, None).map_err(arrow)?;
        let layout = layout_of(&reader.schema())?;
        for batch in reader {
            add(&batch.map_err(arrow)?, &layout)?;
            progress(count.get().min(total), total);
        }
    }
    progress(total, total);
    Ok(out)
}

/// Writes bars to an Arrow IPC file in one batch.
pub fn write_arrow_ipc(bars: &Bars, path: impl AsRef<Path>) -> Result<(), ExportError> {
    let mut w = ArrowIpcWriter::create(path)?;
    w.write(bars)?;
    w.finish()?;
    Ok(())
}

/// Writes an Arrow IPC file batch by batch as bars arrive (streaming exports), so memory
/// stays at one batch.
pub struct ArrowIpcWriter<W: Write> {
    inner: FileWriter<W>,
}

impl ArrowIpcWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, ExportError> {
        Self::new(BufWriter::new(File::create(path)?))
    }
}

impl<W: Write> ArrowIpcWriter<W> {
    pub fn new(writer: W) -> Result<Self, ExportError> {
        Ok(ArrowIpcWriter {
            inner: FileWriter::try_new(writer, &bars_schema())?,
        })
    }

    /// Appends `bars` as one record batch (nothing is written for an empty one).
    pub fn write(&mut self, bars: &Bars) -> Result<(), ExportError> {
        if !bars.is_empty() {
            self.inner.write(&try_bars_to_record_batch(bars)?)?;
        }
        Ok(())
    }

    /// Writes the footer and returns the flushed writer.
    pub fn finish(mut self) -> Result<W, ExportError> {
        self.inner.finish()?;
        let mut w = self.inner.into_inner()?;
        w.flush()?;
        Ok(w)
    }
}
