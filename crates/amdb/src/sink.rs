//! Where bars go when a command prints or exports them: an aligned table, CSV, JSON lines,
//! Arrow IPC or Parquet, written chunk by chunk so long ranges stream in bounded memory.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use amdb_market::io::arrow::ArrowIpcWriter;
use amdb_market::io::csv::{write_csv, CsvWriteOptions};
use amdb_market::io::jsonl::write_jsonl;
use amdb_market::io::parquet::{ParquetBarsWriter, ParquetCompression};
use amdb_market::io::ExportError;
use amdb_market::time::format_time;
use amdb_market::Bars;
use clap::ValueEnum;

use crate::output::stdout_err;
use crate::{CliError, CliResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Comma-separated, with a header; RFC 3339 UTC times.
    Csv,
    /// JSON lines: one object per bar.
    #[value(alias = "jsonl")]
    Json,
    /// Arrow IPC file (binary: needs --output or a pipe).
    Arrow,
    /// Parquet with zstd (binary: needs --output or a pipe).
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Csv => "csv",
            Format::Json => "jsonl",
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }
}

type Out = Box<dyn Write + Send>;

enum Inner {
    Table { out: Out, header_done: bool },
    Csv { out: Out, header_done: bool },
    Json { out: Out },
    Arrow(ArrowIpcWriter<Out>),
    Parquet(ParquetBarsWriter<Out>),
}

/// A destination for bars in one format.
pub struct Sink {
    inner: Inner,
    target: Target,
    rows: u64,
}

enum Target {
    Stdout,
    File(PathBuf),
}

impl Sink {
    /// Writes to `output`, or to standard output when `None` (binary formats refuse a
    /// terminal).
    pub fn open(format: Format, output: Option<&Path>) -> CliResult<Sink> {
        let (out, target): (Out, Target) = match output {
            Some(p) if p != Path::new("-") => {
                let f = File::create(p)
                    .map_err(|e| CliError::new(format!("cannot create {}: {e}", p.display())))?;
                (
                    Box::new(BufWriter::with_capacity(1 << 20, f)),
                    Target::File(p.to_path_buf()),
                )
            }
            _ => {
                if matches!(format, Format::Arrow | Format::Parquet)
                    && std::io::stdout().is_terminal()
                {
                    return Err(CliError::new(format!(
                        "--format {} is binary: pass --output FILE or redirect standard output",
                        format.extension()
                    )));
                }
                (
                    Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout())),
                    Target::Stdout,
                )
            }
        };
        let inner = match format {
            Format::Table => Inner::Table {
                out,
                header_done: false,
            },
            Format::Csv => Inner::Csv {
                out,
                header_done: false,
            },
            Format::Json => Inner::Json { out },
            Format::Arrow => Inner::Arrow(ArrowIpcWriter::new(out).map_err(export_err)?),
            Format::Parquet => Inner::Parquet(
                ParquetBarsWriter::new(out, ParquetCompression::default()).map_err(export_err)?,
            ),
        };
        Ok(Sink {
            inner,
            target,
            rows: 0,
        })
    }

    pub fn write(&mut self, bars: &Bars) -> CliResult {
        self.rows += bars.len() as u64;
        let io = |e: std::io::Error| io_err(&self.target, e);
        match &mut self.inner {
            Inner::Table { out, header_done } => {
                if !*header_done {
                    writeln!(
                        out,
                        "{:<24} {:>14} {:>14} {:>14} {:>14} {:>16}",
                        "time", "open", "high", "low", "close", "volume"
                    )
                    .map_err(io)?;
                    *header_done = true;
                }
                for b in bars.iter() {
                    writeln!(
                        out,
                        "{:<24} {:>14} {:>14} {:>14} {:>14} {:>16}",
                        format_time(b.ts),
                        b.open,
                        b.high,
                        b.low,
                        b.close,
                        b.volume
                    )
                    .map_err(io)?;
                }
                Ok(())
            }
            Inner::Csv { out, header_done } => {
                let opts = CsvWriteOptions {
                    header: !*header_done,
                    ..CsvWriteOptions::default()
                };
                *header_done = true;
                write_csv(bars, out, &opts).map_err(io)
            }
            Inner::Json { out } => write_jsonl(bars, out).map_err(io),
            Inner::Arrow(w) => w.write(bars).map_err(export_err),
            Inner::Parquet(w) => w.write(bars).map_err(export_err),
        }
    }

    /// Finishes the file (footers) and flushes; returns the rows written.
    pub fn finish(self) -> CliResult<u64> {
        let target = self.target;
        let mut out = match self.inner {
            Inner::Table { out, .. } | Inner::Csv { out, .. } | Inner::Json { out } => out,
            Inner::Arrow(w) => w.finish().map_err(export_err)?,
            Inner::Parquet(w) => w.finish().map_err(export_err)?,
        };
        out.flush().map_err(|e| io_err(&target, e))?;
        Ok(self.rows)
    }
}

fn io_err(target: &Target, e: std::io::Error) -> CliError {
    match target {
        Target::Stdout => stdout_err(e),
        Target::File(p) => CliError::new(format!("write {}: {e}", p.display())),
    }
}

fn export_err(e: ExportError) -> CliError {
    match e {
        ExportError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe => stdout_err(e),
        e => CliError::new(format!("export: {e}")),
    }
}
