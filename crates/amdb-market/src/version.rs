//! Series versions: every write of a series produces a new version that lists the chunks of
//! the whole series. Chunks are immutable, so an old version stays readable (time travel)
//! until a prune deletes it and the chunks no remaining version lists.
//!
//! Record layout (little-endian; docs/formats.md, "Series version record"):
//! `format u8 = 1 | version u64 | created_ns i64 | next_chunk_id u64 | chunk count u32 |
//!  per chunk: chunk_id u64, first_ts i64, last_ts i64, rows u32`.

use crate::error::{Error, Result};

pub const VERSION_RECORD_FORMAT: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8 + 8 + 4;
const CHUNK_REF_LEN: usize = 8 + 8 + 8 + 4;

/// Where a chunk is and what it covers. Chunks of one version are sorted by `first_ts` and
/// cover disjoint time ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    pub id: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub rows: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionRecord {
    pub version: u64,
    /// Wall-clock time of the write, UTC ns; `as_of` a time picks the newest version created
    /// at or before it.
    pub created_ns: i64,
    /// Chunk ids are never reused within a series: the next write's chunks start here.
    pub next_chunk_id: u64,
    pub chunks: Vec<ChunkRef>,
}

impl VersionRecord {
    pub fn rows(&self) -> u64 {
        self.chunks.iter().map(|c| c.rows as u64).sum()
    }

    pub fn first_ts(&self) -> Option<i64> {
        self.chunks.first().map(|c| c.first_ts)
    }

    pub fn last_ts(&self) -> Option<i64> {
        self.chunks.last().map(|c| c.last_ts)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.chunks.len() * CHUNK_REF_LEN);
        out.push(VERSION_RECORD_FORMAT);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.created_ns.to_le_bytes());
        out.extend_from_slice(&self.next_chunk_id.to_le_bytes());
        out.extend_from_slice(&(self.chunks.len() as u32).to_le_bytes());
        for c in &self.chunks {
            out.extend_from_slice(&c.id.to_le_bytes());
            out.extend_from_slice(&c.first_ts.to_le_bytes());
            out.extend_from_slice(&c.last_ts.to_le_bytes());
            out.extend_from_slice(&c.rows.to_le_bytes());
        }
        out
    }

    /// (version, created_ns) from a record's header, without decoding its chunk list.
    pub fn peek(buf: &[u8]) -> Result<(u64, i64)> {
        if buf.len() < HEADER_LEN || buf[0] != VERSION_RECORD_FORMAT {
            return Err(Error::corrupt(
                "series version record",
                format!("{} bytes with format {:?}", buf.len(), buf.first()),
            ));
        }
        let u64_at = |o: usize| u64::from_le_bytes(buf[o..o + 8].try_into().expect("8 bytes"));
        Ok((u64_at(1), u64_at(9) as i64))
    }

    pub fn decode(buf: &[u8]) -> Result<VersionRecord> {
        let bad = |d: String| Error::corrupt("series version record", d);
        if buf.len() < HEADER_LEN {
            return Err(bad(format!("{} bytes, shorter than its header", buf.len())));
        }
        if buf[0] != VERSION_RECORD_FORMAT {
            return Err(bad(format!("unknown format {}", buf[0])));
        }
        let u64_at = |o: usize| u64::from_le_bytes(buf[o..o + 8].try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(buf[25..29].try_into().expect("4 bytes")) as usize;
        if buf.len() != HEADER_LEN + count * CHUNK_REF_LEN {
            return Err(bad(format!(
                "{} bytes for {count} chunks (expected {})",
                buf.len(),
                HEADER_LEN + count * CHUNK_REF_LEN
            )));
        }
        let mut chunks = Vec::with_capacity(count);
        for i in 0..count {
            let o = HEADER_LEN + i * CHUNK_REF_LEN;
            chunks.push(ChunkRef {
                id: u64_at(o),
                first_ts: u64_at(o + 8) as i64,
                last_ts: u64_at(o + 16) as i64,
                rows: u32::from_le_bytes(buf[o + 24..o + 28].try_into().expect("4 bytes")),
            });
        }
        for w in chunks.windows(2) {
            if w[0].last_ts >= w[1].first_ts {
                return Err(bad(format!(
                    "chunks {} and {} overlap or are out of order",
                    w[0].id, w[1].id
                )));
            }
        }
        Ok(VersionRecord {
            version: u64_at(1),
            created_ns: u64_at(9) as i64,
            next_chunk_id: u64_at(17),
            chunks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let v = VersionRecord {
            version: 7,
            created_ns: -3,
            next_chunk_id: 12,
            chunks: vec![
                ChunkRef {
                    id: 3,
                    first_ts: -10,
                    last_ts: 5,
                    rows: 4,
                },
                ChunkRef {
                    id: 11,
                    first_ts: 6,
                    last_ts: 99,
                    rows: 9,
                },
            ],
        };
        let enc = v.encode();
        assert_eq!(VersionRecord::decode(&enc).unwrap(), v);
        assert!(VersionRecord::decode(&enc[..enc.len() - 1]).is_err());
        let mut bad = enc.clone();
        bad[0] = 9;
        assert!(VersionRecord::decode(&bad).is_err());
    }

    #[test]
    fn documented_example() {
        // docs/formats.md, section 11.2.
        let v = VersionRecord {
            version: 2,
            created_ns: 1_767_225_600_000_000_000,
            next_chunk_id: 4,
            chunks: vec![ChunkRef {
                id: 3,
                first_ts: 1_640_995_200_000_000_000,
                last_ts: 1_640_996_100_000_000_000,
                rows: 2,
            }],
        };
        let hex: String = v.encode().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "01",
                "0200000000000000",
                "0000faed51728618",
                "0400000000000000",
                "01000000",
                "0300000000000000",
                "00001fa670fcc516",
                "00284d3242fdc516",
                "02000000"
            )
        );
    }
}
