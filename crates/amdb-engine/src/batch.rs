//! `WriteBatch`: a set of puts and deletes, across any keyspaces, applied atomically.
//!
//! The batch is kept in its WAL encoding (see docs/formats.md, "Batch payload"), so committing
//! it costs no re-encoding: a 12-byte header (first sequence, entry count) followed by entries
//! `kind:u8 keyspace:varint32 key:lenprefixed [value:lenprefixed]`.

use crate::coding::{self, Decoder};
use crate::key::{SequenceNumber, ValueKind};
use crate::keyspace::Keyspace;
use crate::ledger::AuditInfo;
use smallvec::SmallVec;

pub(crate) const HEADER_LEN: usize = 12;

#[derive(Clone)]
pub struct WriteBatch {
    rep: Vec<u8>,
    count: u32,
    /// Distinct keyspace ids touched, in first-use order (batches touch few keyspaces).
    keyspaces: SmallVec<[u32; 4]>,
    /// Written as an entry of the audit keyspace in the same transaction.
    audit: Option<Box<AuditInfo>>,
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("entries", &self.count)
            .field("bytes", &self.rep.len())
            .finish()
    }
}

impl WriteBatch {
    pub fn new() -> Self {
        WriteBatch {
            rep: vec![0; HEADER_LEN],
            count: 0,
            keyspaces: SmallVec::new(),
            audit: None,
        }
    }

    pub fn with_capacity(bytes: usize) -> Self {
        let mut rep = Vec::with_capacity(bytes + HEADER_LEN);
        rep.resize(HEADER_LEN, 0);
        WriteBatch {
            rep,
            count: 0,
            keyspaces: SmallVec::new(),
            audit: None,
        }
    }

    pub fn put(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.put_raw(keyspace.id(), key.as_ref(), value.as_ref());
    }

    pub fn delete(&mut self, keyspace: &Keyspace, key: impl AsRef<[u8]>) {
        self.delete_raw(keyspace.id(), key.as_ref());
    }

    pub(crate) fn put_raw(&mut self, ks: u32, key: &[u8], value: &[u8]) {
        self.note_entry(ks);
        encode_put(&mut self.rep, ks, key, value);
    }

    pub(crate) fn delete_raw(&mut self, ks: u32, key: &[u8]) {
        self.note_entry(ks);
        self.rep.push(ValueKind::Delete as u8);
        coding::put_varint32(&mut self.rep, ks);
        coding::put_length_prefixed(&mut self.rep, key);
    }

    fn note_entry(&mut self, ks: u32) {
        self.count += 1;
        if !self.keyspaces.contains(&ks) {
            self.keyspaces.push(ks);
        }
    }

    /// Attaches an audit record (who, what, correlation id), committed in the same
    /// transaction as the batch's entries. Needs a database with a ledger.
    pub fn set_audit(&mut self, info: AuditInfo) {
        self.audit = Some(Box::new(info));
    }

    pub fn audit(&self) -> Option<&AuditInfo> {
        self.audit.as_deref()
    }

    pub fn clear(&mut self) {
        self.rep.truncate(HEADER_LEN);
        self.count = 0;
        self.keyspaces.clear();
        self.audit = None;
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded size, which is what the maximum batch size limits.
    pub fn size_bytes(&self) -> usize {
        self.rep.len()
    }

    pub(crate) fn keyspace_ids(&self) -> &[u32] {
        &self.keyspaces
    }

    /// The encoded entries without the header.
    pub(crate) fn entries_bytes(&self) -> &[u8] {
        &self.rep[HEADER_LEN..]
    }
}

/// Appends the encoding of a put (the engine's own entries use it too).
pub(crate) fn encode_put(dst: &mut Vec<u8>, ks: u32, key: &[u8], value: &[u8]) {
    dst.push(ValueKind::Put as u8);
    coding::put_varint32(dst, ks);
    coding::put_length_prefixed(dst, key);
    coding::put_length_prefixed(dst, value);
}

/// One decoded entry of a batch payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchEntry<'a> {
    pub kind: ValueKind,
    pub keyspace: u32,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

/// Writes the payload header: first sequence and entry count.
pub(crate) fn encode_header(dst: &mut [u8], first_seq: SequenceNumber, count: u32) {
    dst[..8].copy_from_slice(&first_seq.to_le_bytes());
    dst[8..12].copy_from_slice(&count.to_le_bytes());
}

/// A decoded batch payload (a WAL record): header plus lazily-decoded entries.
pub(crate) struct BatchPayload<'a> {
    pub first_seq: SequenceNumber,
    pub count: u32,
    entries: &'a [u8],
}

impl<'a> BatchPayload<'a> {
    /// Parses the header; returns `None` if the payload is too short.
    pub fn parse(payload: &'a [u8]) -> Option<Self> {
        if payload.len() < HEADER_LEN {
            return None;
        }
        Some(BatchPayload {
            first_seq: coding::decode_fixed64(payload),
            count: coding::decode_fixed32(&payload[8..]),
            entries: &payload[HEADER_LEN..],
        })
    }

    /// Decodes every entry; `Err(offset)` names the byte (within the payload) where decoding
    /// failed, or the end if the count disagrees with the entries.
    pub fn entries(&self) -> Result<Vec<BatchEntry<'a>>, usize> {
        // An entry takes at least 3 bytes; never trust the count for an allocation.
        let mut out = Vec::with_capacity((self.count as usize).min(self.entries.len() / 3));
        let mut d = Decoder::new(self.entries);
        while !d.is_empty() {
            let at = d.position() + HEADER_LEN;
            let entry = decode_entry(&mut d).ok_or(at)?;
            out.push(entry);
        }
        if out.len() != self.count as usize {
            return Err(HEADER_LEN + self.entries.len());
        }
        Ok(out)
    }
}

fn decode_entry<'a>(d: &mut Decoder<'a>) -> Option<BatchEntry<'a>> {
    let kind = ValueKind::from_u8(d.u8()?)?;
    let keyspace = d.varint32()?;
    let key = d.length_prefixed()?;
    let value = match kind {
        ValueKind::Put => d.length_prefixed()?,
        ValueKind::Delete => &[][..],
    };
    Some(BatchEntry {
        kind,
        keyspace,
        key,
        value,
    })
}

/// Iterates the entries of a batch built by `WriteBatch` (which always decodes).
pub(crate) struct EntryIter<'a> {
    d: Decoder<'a>,
}

impl<'a> EntryIter<'a> {
    pub fn new(entries: &'a [u8]) -> Self {
        EntryIter {
            d: Decoder::new(entries),
        }
    }
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = BatchEntry<'a>;
    fn next(&mut self) -> Option<BatchEntry<'a>> {
        if self.d.is_empty() {
            return None;
        }
        Some(decode_entry(&mut self.d).expect("WriteBatch encodes valid entries"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_payload() {
        let mut b = WriteBatch::new();
        b.put_raw(0, b"k1", b"v1");
        b.delete_raw(3, b"k2");
        b.put_raw(3, b"", b"");
        let mut payload = b.rep.clone();
        encode_header(&mut payload, 42, b.count);
        let p = BatchPayload::parse(&payload).unwrap();
        assert_eq!(p.first_seq, 42);
        let e = p.entries().unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].kind, ValueKind::Delete);
        assert_eq!(e[1].keyspace, 3);
        assert_eq!(e[2].key, b"");
        assert_eq!(b.keyspace_ids(), &[0, 3]);
    }

    #[test]
    fn truncated_payload_reports_offset() {
        let mut b = WriteBatch::new();
        b.put_raw(0, b"key", b"value");
        let mut payload = b.rep.clone();
        encode_header(&mut payload, 1, 1);
        payload.truncate(payload.len() - 2);
        let p = BatchPayload::parse(&payload).unwrap();
        assert_eq!(p.entries(), Err(HEADER_LEN));
    }
}
