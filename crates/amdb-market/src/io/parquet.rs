//! Parquet bars: written with [`bars_schema`](super::arrow::bars_schema); read from anyone's
//! files (pyarrow/pandas: snappy, timestamp[ns|us|ms] with or without zone, index columns).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::arrow::{bars_schema, convert_batch, schema_layout, try_bars_to_record_batch};
use super::{ColumnMap, ExportError, ImportError};
use crate::bar::Bars;

/// Rows per batch while reading: large enough that per-batch work vanishes.
const READ_BATCH_ROWS: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCompression {
    /// zstd at the given level (1..=22); level 3 is zstd's own default.
    Zstd(i32),
    Snappy,
    Lz4,
    None,
}

impl Default for ParquetCompression {
    fn default() -> Self {
        ParquetCompression::Zstd(3)
    }
}

impl ParquetCompression {
    fn to_parquet(self) -> Result<Compression, ExportError> {
        Ok(match self {
            ParquetCompression::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level)?),
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Lz4 => Compression::LZ4_RAW,
            ParquetCompression::None => Compression::UNCOMPRESSED,
        })
    }
}

/// Reads bars from a Parquet file, in file order, reading only the columns it needs.
/// Progress is in file bytes (scaled from rows).
pub fn read_parquet(
    path: impl AsRef<Path>,
    map: &ColumnMap,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Bars, ImportError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
    let total = file.metadata().map_err(|e| ImportError::io(path, e))?.len();
    progress(0, total);
    let bad = |e: parquet::errors::ParquetError| {
        ImportError::file(path, format!("not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
    let layout = schema_layout(builder.schema(), map).map_err(|m| ImportError::file(path, m))?;
    let (cols, layout) = layout.projected();
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let mask = ProjectionMask::roots(builder.parquet_schema(), cols);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(bad)?;

    let mut out = Bars::with_capacity(rows as usize);
    for batch in reader {
        let batch = batch.map_err(|e| ImportError::file(path, format!("unreadable data: {e}")))?;
        let bars =
            convert_batch(&batch, &layout, out.len() as u64).map_err(|e| e.into_import(path))?;
        out.extend_from(&bars);
        progress(super::scaled(out.len() as u64, rows, total), total);
    }
    progress(total, total);
    Ok(out)
}

/// Writes bars to a Parquet file (one row group per million rows).
pub fn write_parquet(
    bars: &Bars,
    path: impl AsRef<Path>,
    compression: ParquetCompression,
) -> Result<(), ExportError> {
    let mut w = ParquetBarsWriter::create(path, compression)?;
    w.write(bars)?;
    w.finish()?;
    Ok(())
}

/// Writes a Parquet file batch by batch as bars arrive (streaming exports).
pub struct ParquetBarsWriter<W: Write + Send> {
    inner: ArrowWriter<W>,
}

impl ParquetBarsWriter<File> {
    /// Creates (or truncates) the file at `path`. (The Parquet writer buffers a row group
    /// in memory itself, so the file needs no BufWriter.)
    pub fn create(
        path: impl AsRef<Path>,
        compression: ParquetCompression,
    ) -> Result<Self, ExportError> {
        Self::new(File::create(path)?, compression)
    }
}

impl<W: Write + Send> ParquetBarsWriter<W> {
    pub fn new(writer: W, compression: ParquetCompression) -> Result<Self, ExportError> {
        let props = WriterProperties::builder()
            .set_compression(compression.to_parquet()?)
            .build();
        Ok(ParquetBarsWriter {
            inner: ArrowWriter::try_new(writer, bars_schema(), Some(props))?,
        })
    }

    pub fn write(&mut self, bars: &Bars) -> Result<(), ExportError> {
        if !bars.is_empty() {
            self.inner.write(&try_bars_to_record_batch(bars)?)?;
        }
        Ok(())
    }

    /// Flushes the last row group, writes the footer and returns the writer.
    pub fn finish(self) -> Result<W, ExportError> {
        Ok(self.inner.into_inner()?)
    }
}
