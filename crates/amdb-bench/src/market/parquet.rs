//! System `parquet`: one Parquet file per symbol written with arrow-rs (zstd level 3, one row
//! group per file at arrow-rs' default of 1M rows per group), as a team that keeps bars in files would. Appends are new files beside
//! the first (`SYM.000001.parquet`, ...); a read opens every file of the symbol in order.
//! Every file is fsynced, and its directory after a new file appears, so a write is as
//! durable as a committed database write.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use amdb_market::Bars;
use arrow_array::{Array, Float64Array, RecordBatch, TimestampNanosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{dir_bytes, io_err, BarStore, SignalWriter};
use crate::{BenchError, Result};

/// Rows per record batch when reading (arrow-rs defaults to 1,024, which costs a batch per
/// 1,024 rows for nothing when the whole file is wanted).
const READ_BATCH_ROWS: usize = 65_536;

pub struct ParquetStore {
    dir: PathBuf,
    files: Mutex<HashMap<String, Vec<PathBuf>>>,
    threads: usize,
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new("open", DataType::Float64, false),
        Field::new("high", DataType::Float64, false),
        Field::new("low", DataType::Float64, false),
        Field::new("close", DataType::Float64, false),
        Field::new("volume", DataType::Float64, false),
    ]))
}

/// Writes `bars` to a new file at `path` (zstd 3) and fsyncs it. The columns move into
/// Arrow arrays without a copy.
pub fn write_file(path: &Path, bars: Bars) -> Result<()> {
    let schema = schema();
    let f64s = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as Arc<dyn Array>;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(TimestampNanosecondArray::from(bars.ts).with_timezone("UTC")),
            f64s(bars.open),
            f64s(bars.high),
            f64s(bars.low),
            f64s(bars.close),
            f64s(bars.volume),
        ],
    )?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .build();
    let file = File::create(path).map_err(|e| io_err("create", path, e))?;
    let mut w = ArrowWriter::try_new(file, schema, Some(props))?;
    w.write(&batch)?;
    let file = w.into_inner()?;
    file.sync_all().map_err(|e| io_err("fsync", path, e))?;
    Ok(())
}

/// Appends the rows of the Parquet file at `path` to `out`.
pub fn read_file_into(path: &Path, out: &mut Bars) -> Result<()> {
    let file = File::open(path).map_err(|e| io_err("open", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    out.reserve(rows);
    let reader = builder.with_batch_size(READ_BATCH_ROWS).build()?;
    let bad = |what: &str| BenchError::InvalidArgument(format!("{}: {what}", path.display()));
    for batch in reader {
        let batch = batch?;
        if batch.num_columns() != 6 {
            return Err(bad("expected 6 columns"));
        }
        let ts = batch
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .ok_or_else(|| bad("column ts is not timestamp[ns]"))?;
        out.ts.extend_from_slice(ts.values());
        let cols = [
            &mut out.open,
            &mut out.high,
            &mut out.low,
            &mut out.close,
            &mut out.volume,
        ];
        for (i, col) in cols.into_iter().enumerate() {
            let a = batch
                .column(i + 1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| bad("a price or volume column is not float64"))?;
            col.extend_from_slice(a.values());
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("fsync directory", dir, e))
}

impl ParquetStore {
    /// Files in `dir` (created if missing); existing `SYM.parquet` / `SYM.NNNNNN.parquet`
    /// files are picked up.
    pub fn open(dir: &Path, threads: usize) -> Result<ParquetStore> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, e))?;
        let mut files: HashMap<String, Vec<PathBuf>> = HashMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| io_err("list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_err("list", dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".parquet") {
                let symbol = stem.split('.').next().unwrap_or(stem).to_string();
                files.entry(symbol).or_default().push(entry.path());
            }
        }
        for v in files.values_mut() {
            v.sort_by_key(|p| part_number(p));
        }
        Ok(ParquetStore {
            dir: dir.to_path_buf(),
            files: Mutex::new(files),
            threads,
        })
    }

    fn files_of(&self, symbol: &str) -> Vec<PathBuf> {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(symbol)
            .cloned()
            .unwrap_or_default()
    }
}

/// 0 for `SYM.parquet`, N for `SYM.00000N.parquet`.
fn part_number(p: &Path) -> u64 {
    p.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".parquet"))
        .and_then(|s| s.split('.').nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl BarStore for ParquetStore {
    fn system(&self) -> &'static str {
        "parquet"
    }

    fn load_threads(&self) -> usize {
        self.threads
    }

    /// Replaces the symbol's files with one file (the whole series).
    fn store_series(&self, symbol: &str, bars: Bars) -> Result<()> {
        let path = self.dir.join(format!("{symbol}.parquet"));
        write_file(&path, bars)?;
        sync_dir(&self.dir)?;
        let old = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(symbol.to_string(), vec![path.clone()]);
        for p in old.into_iter().flatten().filter(|p| *p != path) {
            std::fs::remove_file(&p).map_err(|e| io_err("remove", &p, e))?;
        }
        Ok(())
    }

    fn read(&self, symbol: &str) -> Result<Bars> {
        let mut bars = Bars::new();
        for p in self.files_of(symbol) {
            read_file_into(&p, &mut bars)?;
        }
        Ok(bars)
    }

    fn append(&self, symbol: &str, bars: Bars) -> Result<()> {
        let part = self.files_of(symbol).len();
        let path = self.dir.join(format!("{symbol}.{part:06}.parquet"));
        write_file(&path, bars)?;
        sync_dir(&self.dir)?;
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(symbol.to_string())
            .or_default()
            .push(path);
        Ok(())
    }

    fn disk_bytes(&self) -> Result<u64> {
        dir_bytes(&self.dir, &|name| name.ends_with(".parquet"))
    }

    /// Parquet files are not a place for a stream of single-row durable writes.
    fn supports_signals(&self) -> bool {
        false
    }

    fn signal_writer(&self) -> Result<Box<dyn SignalWriter + '_>> {
        Err(BenchError::InvalidArgument(
            "the parquet system has no signal table".into(),
        ))
    }

    fn signal_count(&self) -> Result<u64> {
        Ok(0)
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
