//! Market data on AmDb's engine.
//!
//! - A series is `(symbol, timeframe)`; its bars live in immutable chunks of compressed
//!   columns ([`chunk`]), listed by a series version. Every write makes a new version, so
//!   reads can go back in time ([`AsOf`]); [`Market::prune`] drops old versions.
//! - Writes upsert (last write wins per timestamp), accept any order, and refuse bad rows
//!   without writing anything. Reads return columns ([`Bars`]) or stream chunk by chunk.
//! - [`events`]: append-only tables of signals, orders, fills and positions.
//! - [`io`]: CSV, Parquet, Arrow IPC, SQLite and JSON lines import and export;
//!   [`resample()`] to coarser timeframes; [`gen`] makes deterministic synthetic data.
//!
//! Formats are specified in docs/formats.md ("Market data").

pub mod bar;
pub mod chunk;
pub mod codec;
pub mod error;
pub mod events;
pub mod gen;
pub mod io;
pub mod keys;
pub mod resample;
pub mod signal_codec;
pub mod store;
pub mod time;
pub mod timeframe;
pub mod version;

pub use bar::{Bar, BarProblem, Bars};
pub use error::{Error, Result};
pub use events::{Event, EventQuery, NewEvent};
pub use resample::resample;
pub use store::{
    AsOf, BarStream, Gap, Market, MarketOptions, PrunePolicy, PruneReport, Query, SeriesInfo,
    VersionInfo, WriteReport,
};
pub use timeframe::Timeframe;
