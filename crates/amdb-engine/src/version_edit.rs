//! A `VersionEdit` is one MANIFEST record: a change to the file set and counters, applied
//! atomically (docs/formats.md, "MANIFEST").
//!
//! ```text
//! edit  := field*
//! field := tag:varint32 length:varint32 body[length]
//! ```
//! Bodies per tag are listed with `Tag`. Unknown tags are an error rather than skipped, since
//! silently ignoring part of a file-set change could lose data.

use crate::coding::{self, Decoder};
use crate::options::KeyspaceOptions;
use crate::table_format::Compression;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetaData {
    pub number: u64,
    pub size: u64,
    /// Internal keys; for ingested tables they carry the global sequence.
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    pub smallest_seq: u64,
    pub largest_seq: u64,
    pub entries: u64,
    /// For ingested tables: the sequence every entry reads back with (stored keys hold 0).
    pub global_seq: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKeyspace {
    pub id: u32,
    pub name: String,
    pub options: KeyspaceOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    pub last_sequence: Option<u64>,
    pub next_file_number: Option<u64>,
    /// WAL files numbered below this hold no unflushed data and are ignored on recovery.
    pub min_wal_number: Option<u64>,
    pub new_keyspaces: Vec<NewKeyspace>,
    /// (keyspace, sequence): every entry of the keyspace up to the sequence is in tables.
    pub flushed_seqs: Vec<(u32, u64)>,
    /// (keyspace, level, file number)
    pub deleted_files: Vec<(u32, usize, u64)>,
    /// (keyspace, level, file)
    pub new_files: Vec<(u32, usize, FileMetaData)>,
}

/// Field tags.
#[repr(u32)]
enum Tag {
    /// varint64
    LastSequence = 1,
    /// varint64
    NextFileNumber = 2,
    /// varint64
    MinWalNumber = 3,
    /// id:varint32 name:lenprefixed compression:u8 bloom_bits:varint32 block_size:varint32
    NewKeyspace = 4,
    /// keyspace:varint32 seq:varint64
    FlushedSeq = 5,
    /// keyspace:varint32 level:varint32 number:varint64
    DeletedFile = 6,
    /// keyspace:varint32 level:varint32 number:varint64 size:varint64 smallest:lenprefixed
    /// largest:lenprefixed smallest_seq:varint64 largest_seq:varint64 entries:varint64
    /// global_seq:varint64 (0 = none)
    NewFile = 7,
}

pub const MAX_LEVELS: usize = 7;

impl VersionEdit {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = Vec::new();
        let field = |out: &mut Vec<u8>, tag: Tag, body: &mut Vec<u8>| {
            coding::put_varint32(out, tag as u32);
            coding::put_length_prefixed(out, body);
            body.clear();
        };
        if let Some(v) = self.last_sequence {
            coding::put_varint64(&mut body, v);
            field(&mut out, Tag::LastSequence, &mut body);
        }
        if let Some(v) = self.next_file_number {
            coding::put_varint64(&mut body, v);
            field(&mut out, Tag::NextFileNumber, &mut body);
        }
        if let Some(v) = self.min_wal_number {
            coding::put_varint64(&mut body, v);
            field(&mut out, Tag::MinWalNumber, &mut body);
        }
        for k in &self.new_keyspaces {
            coding::put_varint32(&mut body, k.id);
            coding::put_length_prefixed(&mut body, k.name.as_bytes());
            body.push(k.options.compression.code());
            coding::put_varint32(&mut body, k.options.bloom_bits_per_key);
            coding::put_varint32(&mut body, k.options.block_size as u32);
            coding::put_varint32(&mut body, keyspace_flags(&k.options));
            field(&mut out, Tag::NewKeyspace, &mut body);
        }
        for &(ks, seq) in &self.flushed_seqs {
            coding::put_varint32(&mut body, ks);
            coding::put_varint64(&mut body, seq);
            field(&mut out, Tag::FlushedSeq, &mut body);
        }
        for &(ks, level, number) in &self.deleted_files {
            coding::put_varint32(&mut body, ks);
            coding::put_varint32(&mut body, level as u32);
            coding::put_varint64(&mut body, number);
            field(&mut out, Tag::DeletedFile, &mut body);
        }
        for (ks, level, f) in &self.new_files {
            coding::put_varint32(&mut body, *ks);
            coding::put_varint32(&mut body, *level as u32);
            coding::put_varint64(&mut body, f.number);
            coding::put_varint64(&mut body, f.size);
            coding::put_length_prefixed(&mut body, &f.smallest);
            coding::put_length_prefixed(&mut body, &f.largest);
            coding::put_varint64(&mut body, f.smallest_seq);
            coding::put_varint64(&mut body, f.largest_seq);
            coding::put_varint64(&mut body, f.entries);
            coding::put_varint64(&mut body, f.global_seq.unwrap_or(0));
            field(&mut out, Tag::NewFile, &mut body);
        }
        out
    }

    /// Decodes an edit; `Err` describes what is malformed.
    pub fn decode(src: &[u8]) -> Result<VersionEdit, String> {
        let mut e = VersionEdit::default();
        let mut d = Decoder::new(src);
        while !d.is_empty() {
            let at = d.position();
            let tag = d
                .varint32()
                .ok_or_else(|| format!("bad field tag at byte {at}"))?;
            let body = d
                .length_prefixed()
                .ok_or_else(|| format!("field {tag} at byte {at} is truncated"))?;
            let mut b = Decoder::new(body);
            let bad = || format!("malformed field {tag} at byte {at}");
            match tag {
                1 => e.last_sequence = Some(b.varint64().ok_or_else(bad)?),
                2 => e.next_file_number = Some(b.varint64().ok_or_else(bad)?),
                3 => e.min_wal_number = Some(b.varint64().ok_or_else(bad)?),
                4 => {
                    let id = b.varint32().ok_or_else(bad)?;
                    let name = std::str::from_utf8(b.length_prefixed().ok_or_else(bad)?)
                        .map_err(|_| bad())?
                        .to_string();
                    let compression =
                        Compression::from_code(b.u8().ok_or_else(bad)?).ok_or_else(bad)?;
                    let bloom_bits_per_key = b.varint32().ok_or_else(bad)?;
                    let block_size = b.varint32().ok_or_else(bad)? as usize;
                    // Absent in MANIFESTs written before keyspaces had flags.
                    let flags = if b.is_empty() {
                        0
                    } else {
                        b.varint32().ok_or_else(bad)?
                    };
                    if flags & !FLAG_VERSIONED != 0 {
                        return Err(format!(
                            "keyspace {name:?} has unknown flags {flags:#x} at byte {at} \
                             (written by a newer AmDb?)"
                        ));
                    }
                    e.new_keyspaces.push(NewKeyspace {
                        id,
                        name,
                        options: KeyspaceOptions {
                            compression,
                            bloom_bits_per_key,
                            block_size,
                            versioned: flags & FLAG_VERSIONED != 0,
                        },
                    });
                }
                5 => {
                    let ks = b.varint32().ok_or_else(bad)?;
                    let seq = b.varint64().ok_or_else(bad)?;
                    e.flushed_seqs.push((ks, seq));
                }
                6 => {
                    let ks = b.varint32().ok_or_else(bad)?;
                    let level = level_of(b.varint32().ok_or_else(bad)?).ok_or_else(bad)?;
                    let number = b.varint64().ok_or_else(bad)?;
                    e.deleted_files.push((ks, level, number));
                }
                7 => {
                    let ks = b.varint32().ok_or_else(bad)?;
                    let level = level_of(b.varint32().ok_or_else(bad)?).ok_or_else(bad)?;
                    let f = FileMetaData {
                        number: b.varint64().ok_or_else(bad)?,
                        size: b.varint64().ok_or_else(bad)?,
                        smallest: b.length_prefixed().ok_or_else(bad)?.to_vec(),
                        largest: b.length_prefixed().ok_or_else(bad)?.to_vec(),
                        smallest_seq: b.varint64().ok_or_else(bad)?,
                        largest_seq: b.varint64().ok_or_else(bad)?,
                        entries: b.varint64().ok_or_else(bad)?,
                        global_seq: match b.varint64().ok_or_else(bad)? {
                            0 => None,
                            s => Some(s),
                        },
                    };
                    if !crate::key::is_valid(&f.smallest) || !crate::key::is_valid(&f.largest) {
                        return Err(bad());
                    }
                    e.new_files.push((ks, level, f));
                }
                other => {
                    return Err(format!(
                        "unknown field tag {other} at byte {at} (written by a newer AmDb?)"
                    ))
                }
            }
        }
        Ok(e)
    }
}

/// `NewKeyspace` flag bits (docs/formats.md §7).
const FLAG_VERSIONED: u32 = 1;

fn keyspace_flags(o: &KeyspaceOptions) -> u32 {
    if o.versioned {
        FLAG_VERSIONED
    } else {
        0
    }
}

fn level_of(v: u32) -> Option<usize> {
    ((v as usize) < MAX_LEVELS).then_some(v as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};

    #[test]
    fn edit_round_trips() {
        let e = VersionEdit {
            last_sequence: Some(99),
            next_file_number: Some(12),
            min_wal_number: Some(4),
            new_keyspaces: vec![NewKeyspace {
                id: 3,
                name: "bars".into(),
                options: KeyspaceOptions::default(),
            }],
            flushed_seqs: vec![(3, 77)],
            deleted_files: vec![(0, 1, 5)],
            new_files: vec![(
                3,
                2,
                FileMetaData {
                    number: 11,
                    size: 4096,
                    smallest: make_internal_key(b"a", 1, ValueKind::Put),
                    largest: make_internal_key(b"z", 9, ValueKind::Delete),
                    smallest_seq: 1,
                    largest_seq: 9,
                    entries: 20,
                    global_seq: Some(9),
                },
            )],
        };
        assert_eq!(VersionEdit::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn unknown_tag_and_truncation_are_errors() {
        let mut bytes = VersionEdit {
            last_sequence: Some(5),
            ..Default::default()
        }
        .encode();
        bytes.extend_from_slice(&[99, 1, 0]);
        assert!(VersionEdit::decode(&bytes)
            .unwrap_err()
            .contains("unknown field tag 99"));
        let good = VersionEdit {
            next_file_number: Some(300),
            ..Default::default()
        }
        .encode();
        assert!(VersionEdit::decode(&good[..good.len() - 1]).is_err());
    }
}
