//! `serialize_1mb` / `deserialize_1mb`: a `Vec<Signal>` of about 1 MB of MessagePack (with
//! field names, as `amdb-market` stores event payloads; `amdb_market::signal_codec` writes the
//! same bytes as `rmp_serde::to_vec_named`), and the same records as JSON with serde_json for
//! contrast.

use std::time::Duration;

use amdb_market::events::{encode_payload, Signal};
use amdb_market::signal_codec;

use super::agents::signal;
use super::TimedReps;
use crate::{BenchError, Result};

/// Target size of the MessagePack encoding.
pub const TARGET_BYTES: usize = 1 << 20;

/// Records whose MessagePack encoding is about [`TARGET_BYTES`].
pub fn records() -> Result<Vec<Signal>> {
    let one = encode_payload(&vec![signal(123_456)])?.len();
    let mut n = (TARGET_BYTES / one.max(1)).max(1);
    let mut v: Vec<Signal> = (0..n as u64).map(signal).collect();
    // Top up or trim to land within one record of the target.
    while encode_payload(&v)?.len() < TARGET_BYTES {
        v.push(signal(n as u64));
        n += 1;
    }
    while v.len() > 1 && encode_payload(&v[..v.len() - 1])?.len() >= TARGET_BYTES {
        v.pop();
    }
    Ok(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    MessagePack,
    Json,
}

impl Format {
    pub fn system(self) -> &'static str {
        match self {
            Format::MessagePack => "amdb",
            Format::Json => "json",
        }
    }

    pub fn encode(self, v: &[Signal]) -> Result<Vec<u8>> {
        match self {
            Format::MessagePack => {
                let mut out = Vec::new();
                signal_codec::encode_signals(v, &mut out);
                Ok(out)
            }
            Format::Json => {
                serde_json::to_vec(v).map_err(|e| BenchError::InvalidArgument(e.to_string()))
            }
        }
    }

    pub fn decode(self, b: &[u8]) -> Result<Vec<Signal>> {
        match self {
            Format::MessagePack => Ok(signal_codec::decode_signals(b)?),
            Format::Json => serde_json::from_slice(b)
                .map_err(|e| BenchError::InvalidArgument(format!("JSON: {e}"))),
        }
    }
}

/// Times `reps` encodings and `reps` decodings (after one warm-up each); every decoding must
/// give back the records. Returns (encoded size, encode times, decode times).
pub fn measure(
    format: Format,
    records: &[Signal],
    reps: usize,
) -> Result<(usize, Vec<Duration>, Vec<Duration>)> {
    let bytes = format.encode(records)?;
    let enc = TimedReps::run(
        reps,
        || format.encode(records),
        |b| {
            if b == bytes {
                Ok(())
            } else {
                Err(verify_err(
                    "serialize_1mb",
                    format,
                    "the encoding changed between runs",
                ))
            }
        },
    )?;
    let dec = TimedReps::run(
        reps,
        || format.decode(&bytes),
        |v| {
            if v.as_slice() == records {
                Ok(())
            } else {
                Err(verify_err(
                    "deserialize_1mb",
                    format,
                    "decoded records differ from the originals",
                ))
            }
        },
    )?;
    Ok((bytes.len(), enc, dec))
}

fn verify_err(case: &str, format: Format, detail: &str) -> BenchError {
    BenchError::Verify {
        case: case.into(),
        detail: format!("{}: {detail}", format.system()),
    }
}
