//! Column codecs of the chunk format (docs/formats.md, section 11.4) and the error every decoder returns.
//!
//! Each column codec is a pair of free functions: the encoder appends to a `Vec<u8>` and
//! never fails; the decoder reads untrusted bytes, never panics, writes exactly
//! `out.len()` values (the row count comes from the chunk header, not from the column) and
//! rejects trailing bytes, so every accepted byte string has exactly one meaning.

mod bitpack;
mod blocks;
mod decimal;
mod floats;
mod gorilla;
mod reader;
mod timestamps;
mod varint;

use std::fmt;

pub use bitpack::BLOCK;
pub use decimal::MAX_SCALE;
pub use floats::{decode_floats, encode_floats, FloatCodec};
pub use timestamps::{decode_timestamps, encode_timestamps};

pub(crate) use decimal::{
    convert_decimal_in_place, decimal_ints_at, decimal_len, decimal_scale, decode_decimal_ints,
    decode_residual_ints, encode_decimal_ints, encode_residual_ints, residual_len,
};
pub(crate) use reader::Reader;
pub(crate) use timestamps::decode_timestamps_checked;

/// Column names in chunk order; `Part::Column` indexes this.
pub const COLUMN_NAMES: [&str; 6] = ["ts", "open", "high", "low", "close", "volume"];

/// Where in the input a problem was found. Offsets in `CodecError` are relative to the
/// start of this part's bytes, except `Header`/`Trailer`, which count from the chunk start
/// (as do `Column` offsets unless `decompressed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The fixed header or the column directory.
    Header,
    /// A column payload; `decompressed` means the offset counts bytes of the column's
    /// LZ4-decompressed data rather than bytes of the chunk.
    Column { index: u8, decompressed: bool },
    /// The CRC32C trailer.
    Trailer,
    /// A column codec called on its own (offset counts from the start of its input).
    Data,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Part::Header => f.write_str("chunk header"),
            Part::Column {
                index,
                decompressed,
            } => {
                let name = COLUMN_NAMES.get(index as usize).copied().unwrap_or("?");
                write!(f, "chunk column {index} ({name})")?;
                if decompressed {
                    f.write_str(" after LZ4")?;
                }
                Ok(())
            }
            Part::Trailer => f.write_str("chunk trailer"),
            Part::Data => f.write_str("column data"),
        }
    }
}

/// Why bytes could not be decoded. One line, e.g.
/// `chunk column 3 (low) at byte 1234: bit width 71 out of range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{part} at byte {offset}: {problem}")]
pub struct CodecError {
    pub part: Part,
    pub offset: usize,
    pub problem: Problem,
}

impl CodecError {
    pub(crate) fn new(part: Part, offset: usize, problem: Problem) -> Self {
        CodecError {
            part,
            offset,
            problem,
        }
    }

    /// Re-homes an error from a column decoder into the chunk: `base` is where the
    /// column's bytes start in the chunk (ignored when the column was decompressed).
    pub(crate) fn in_column(self, index: u8, base: usize, decompressed: bool) -> Self {
        let offset = if decompressed {
            self.offset
        } else {
            base.saturating_add(self.offset)
        };
        CodecError::new(
            Part::Column {
                index,
                decompressed,
            },
            offset,
            self.problem,
        )
    }
}

/// The specific defect. Every variant is a property of the input bytes (or, for
/// `OutputRows`, of the caller's slices), never an internal invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("unexpected end of data")]
    Truncated,
    #[error("bad magic {0:02x?}")]
    Magic([u8; 4]),
    #[error("unsupported format version {0}")]
    Version(u8),
    #[error("reserved field is {0:#x}, must be 0")]
    Reserved(u32),
    #[error("header says {header} bytes but the buffer has {actual}")]
    Length { header: u64, actual: u64 },
    #[error("row count {0} out of range 1..=MAX_ROWS")]
    Rows(u64),
    #[error("first ts {first} and last ts {last} impossible for {rows} rows")]
    TsRange { first: i64, last: i64, rows: u32 },
    #[error("stored CRC32C {stored:#010x} but computed {computed:#010x}")]
    Checksum { stored: u32, computed: u32 },
    #[error("unknown codec id {0}")]
    Codec(u8),
    #[error("column flags {0:#04x} unknown")]
    ColumnFlags(u8),
    #[error("column lengths add up to {sum} but the payload has {payload} bytes")]
    Directory { sum: u64, payload: u64 },
    #[error("column stored uncompressed but lengths differ ({stored} vs {raw})")]
    RawMismatch { stored: u32, raw: u32 },
    #[error("decompressed length {raw} exceeds the bound {bound} for this row count")]
    RawLength { raw: u64, bound: u64 },
    #[error("LZ4 data corrupt")]
    Lz4,
    #[error("varint longer than 10 bytes or above 2^64")]
    Varint,
    #[error("bit width {0} out of range")]
    BitWidth(u8),
    #[error("decimal scale {0} out of range")]
    Scale(u8),
    #[error("integer mode {0} unknown")]
    Mode(u8),
    #[error("run of {run} deltas exceeds the {left} rows left")]
    Run { run: u64, left: u64 },
    #[error("empty run")]
    EmptyRun,
    #[error("nonzero padding bits")]
    Padding,
    #[error("{0} trailing bytes")]
    Trailing(u64),
    #[error("decimal integer outside ±2^51")]
    DecimalRange,
    #[error("timestamps not strictly ascending")]
    NotAscending,
    #[error("timestamps disagree with the header's first/last ts")]
    TsMismatch,
    #[error("residual price column without decimal open/close of the same scale")]
    Residual,
    #[error("residual codec can only be decoded inside a chunk")]
    ResidualAlone,
    #[error("output has {got} rows but the chunk has {want}")]
    OutputRows { got: u64, want: u64 },
}

pub(crate) fn data_err(offset: usize, problem: Problem) -> CodecError {
    CodecError::new(Part::Data, offset, problem)
}
