//! Internal keys: the user key followed by an 8-byte little-endian trailer
//! `(sequence << 8) | kind`. They order by user key ascending, then by sequence descending, so
//! the newest version of a key is met first and a seek to `(key, snapshot)` lands on the newest
//! version visible to that snapshot.

use std::cmp::Ordering;

pub type SequenceNumber = u64;

/// Sequences occupy 56 bits of the trailer.
pub const MAX_SEQUENCE: SequenceNumber = (1 << 56) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ValueKind {
    Delete = 0,
    Put = 1,
}

/// The kind used when building seek targets: the highest kind value, so that a target sorts
/// before every entry with the same user key and sequence.
pub const KIND_FOR_SEEK: ValueKind = ValueKind::Put;

impl ValueKind {
    pub fn from_u8(b: u8) -> Option<ValueKind> {
        match b {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

#[inline]
pub fn pack_trailer(seq: SequenceNumber, kind: ValueKind) -> u64 {
    debug_assert!(seq <= MAX_SEQUENCE);
    (seq << 8) | kind as u64
}

pub fn append_internal_key(
    dst: &mut Vec<u8>,
    user_key: &[u8],
    seq: SequenceNumber,
    kind: ValueKind,
) {
    dst.extend_from_slice(user_key);
    dst.extend_from_slice(&pack_trailer(seq, kind).to_le_bytes());
}

pub fn make_internal_key(user_key: &[u8], seq: SequenceNumber, kind: ValueKind) -> Vec<u8> {
    let mut v = Vec::with_capacity(user_key.len() + 8);
    append_internal_key(&mut v, user_key, seq, kind);
    v
}

/// The seek target for "newest version of `user_key` visible at `seq`".
pub fn lookup_key(user_key: &[u8], seq: SequenceNumber) -> Vec<u8> {
    make_internal_key(user_key, seq, KIND_FOR_SEEK)
}

#[inline]
pub fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len() - 8]
}

#[inline]
pub fn trailer(ikey: &[u8]) -> u64 {
    u64::from_le_bytes(
        ikey[ikey.len() - 8..]
            .try_into()
            .expect("internal key has a trailer"),
    )
}

#[inline]
pub fn sequence(ikey: &[u8]) -> SequenceNumber {
    trailer(ikey) >> 8
}

/// The kind byte; `None` if the key is malformed (callers turn that into corruption).
#[inline]
pub fn kind(ikey: &[u8]) -> Option<ValueKind> {
    ValueKind::from_u8(trailer(ikey) as u8)
}

/// Whether `ikey` is long enough to hold a trailer and has a known kind.
pub fn is_valid(ikey: &[u8]) -> bool {
    ikey.len() >= 8 && kind(ikey).is_some()
}

/// Bytewise comparison, eight bytes at a time. Keys are short (16–64 bytes), where a call to
/// `memcmp` costs more than the comparison itself; this is the hot loop of memtable inserts.
#[inline]
pub fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// Compares internal key `a` with the internal key `b_user ‖ b_trailer` without building it.
#[inline]
pub fn compare_parts(a: &[u8], b_user: &[u8], b_trailer: u64) -> Ordering {
    match compare_bytes(user_key(a), b_user) {
        Ordering::Equal => b_trailer.cmp(&trailer(a)),
        o => o,
    }
}

#[inline]
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    match compare_bytes(user_key(a), user_key(b)) {
        Ordering::Equal => trailer(b).cmp(&trailer(a)),
        o => o,
    }
}

/// Replaces the sequence of an internal key in place, keeping its kind (used for tables whose
/// entries receive their sequence when ingested).
#[inline]
pub fn set_sequence(ikey: &mut [u8], seq: SequenceNumber) {
    let n = ikey.len();
    let kind = ikey[n - 8];
    let t = (seq << 8) | kind as u64;
    ikey[n - 8..].copy_from_slice(&t.to_le_bytes());
}

/// The smallest byte string greater than every string with this prefix, or `None` when the
/// prefix is all 0xff (no upper bound).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first() {
        let a5 = make_internal_key(b"a", 5, ValueKind::Put);
        let a3 = make_internal_key(b"a", 3, ValueKind::Put);
        let b1 = make_internal_key(b"b", 1, ValueKind::Put);
        assert_eq!(compare(&a5, &a3), Ordering::Less);
        assert_eq!(compare(&a3, &b1), Ordering::Less);
        assert_eq!(compare(&lookup_key(b"a", 4), &a3), Ordering::Less);
        assert_eq!(compare(&lookup_key(b"a", 4), &a5), Ordering::Greater);
    }

    #[test]
    fn user_key_prefix_does_not_confuse_ordering() {
        // "a" < "a\0" even though the trailer of "a" starts with arbitrary bytes.
        let a = make_internal_key(b"a", MAX_SEQUENCE, ValueKind::Put);
        let a0 = make_internal_key(b"a\0", 0, ValueKind::Delete);
        assert_eq!(compare(&a, &a0), Ordering::Less);
    }

    #[test]
    fn compare_bytes_agrees_with_slice_ordering() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            b"a\0".to_vec(),
            b"ab".to_vec(),
            b"abcdefgh".to_vec(),
            b"abcdefgh\0".to_vec(),
            b"abcdefgi".to_vec(),
            b"abcdefghijklmnop".to_vec(),
            b"abcdefghijklmnoq".to_vec(),
            vec![0xff; 9],
            vec![0x80, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0],
        ];
        for a in &samples {
            for b in &samples {
                assert_eq!(compare_bytes(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn set_sequence_keeps_kind() {
        let mut k = make_internal_key(b"x", 0, ValueKind::Delete);
        set_sequence(&mut k, 77);
        assert_eq!(sequence(&k), 77);
        assert_eq!(kind(&k), Some(ValueKind::Delete));
    }

    #[test]
    fn prefix_successor_carries() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
