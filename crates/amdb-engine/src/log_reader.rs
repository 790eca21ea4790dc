//! Reads framed records back, telling a torn tail (the last write of a crashed process,
//! never acknowledged as synced) from corruption (damage with intact records after it).
//!
//! At a record that does not check out, at offset `o`:
//! - fewer than 12 bytes left, or only zero bytes left: a torn tail (zeros are also what a
//!   preallocated WAL holds past its last record: [`LogReader::zero_filled_tail`] tells);
//! - intact header, record running past the end of the file: a torn tail (the write was
//!   cut short; nothing can follow it);
//! - intact header, complete record, bad payload CRC: a torn tail if no intact record starts
//!   after the record's end, else corruption (acknowledged writes may follow the damage);
//! - damaged header: a torn tail if no intact record starts anywhere after `o`, else
//!   corruption.
//!
//! An intact record is one whose header CRC and payload CRC both check. Searching only after
//! a record with an intact header keeps bytes inside its payload (which may be user data that
//! looks like records) from being mistaken for records.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::coding::decode_fixed32;
use crate::error::{Error, Result};
use crate::log_format::{self, header_len, header_ok, payload_ok, HEADER_LEN, RECORD_HEADER_LEN};

pub struct LogReader {
    data: Vec<u8>,
    path: PathBuf,
    pos: usize,
    torn: Option<(u64, String)>,
    zero_tail: bool,
}

impl LogReader {
    /// Reads the whole file (logs are bounded by the memtable size) and checks its header.
    /// A file too short to hold a header, or all zeros, is a torn tail at offset 0.
    pub fn open(path: &Path, magic: [u8; 8]) -> Result<LogReader> {
        let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        Self::from_file(&mut file, path, magic)
    }

    pub fn from_file(file: &mut File, path: &Path, magic: [u8; 8]) -> Result<LogReader> {
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| Error::io("read", path, e))?;
        Self::from_bytes(data, path, magic)
    }

    pub fn from_bytes(data: Vec<u8>, path: &Path, magic: [u8; 8]) -> Result<LogReader> {
        let mut r = LogReader {
            data,
            path: path.to_path_buf(),
            pos: HEADER_LEN,
            torn: None,
            zero_tail: false,
        };
        if r.data.len() < HEADER_LEN || r.data.iter().all(|&b| b == 0) {
            r.torn = Some((
                0,
                format!("file header incomplete ({} bytes)", r.data.len()),
            ));
            r.pos = r.data.len();
            return Ok(r);
        }
        if r.data[..8] != magic {
            return Err(Error::corruption(path, 0, "bad magic number"));
        }
        let version = decode_fixed32(&r.data[8..12]);
        if version != log_format::VERSION {
            return Err(Error::corruption(
                path,
                8,
                format!("unsupported log format version {version}"),
            ));
        }
        Ok(r)
    }

    /// The next record as `(offset, payload)`; `Ok(None)` at the end (clean or torn: see
    /// [`LogReader::torn_tail`]); `Err` for corruption.
    pub fn next_record(&mut self) -> Result<Option<(u64, &[u8])>> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let at = self.pos;
        let rest = &self.data[at..];
        let verdict = if rest.len() < RECORD_HEADER_LEN {
            Err((
                format!("record header incomplete ({} bytes)", rest.len()),
                None,
            ))
        } else if !header_ok(rest) {
            if rest.iter().all(|&b| b == 0) {
                self.zero_tail = true;
                Err(("zero-filled tail".to_string(), None))
            } else {
                Err(("record header checksum mismatch".to_string(), Some(at + 1)))
            }
        } else {
            let len = header_len(rest);
            let avail = rest.len() - RECORD_HEADER_LEN;
            if len > avail {
                Err((
                    format!("record of {len} bytes extends past end of file ({avail} bytes left)"),
                    None,
                ))
            } else if len == 0
                || !payload_ok(rest, &rest[RECORD_HEADER_LEN..RECORD_HEADER_LEN + len])
            {
                Err((
                    "record payload checksum mismatch".to_string(),
                    Some(at + RECORD_HEADER_LEN + len),
                ))
            } else {
                Ok(len)
            }
        };
        match verdict {
            Ok(len) => {
                self.pos = at + RECORD_HEADER_LEN + len;
                let start = at + RECORD_HEADER_LEN;
                Ok(Some((at as u64, &self.data[start..start + len])))
            }
            Err((reason, search_from)) => {
                if let Some(next) =
                    search_from.and_then(|from| find_intact_record(&self.data, from))
                {
                    return Err(Error::corruption(
                        &self.path,
                        at as u64,
                        format!("{reason}; an intact record follows at offset {next}, so this is not a torn tail"),
                    ));
                }
                self.torn = Some((at as u64, reason));
                self.pos = self.data.len();
                Ok(None)
            }
        }
    }

    /// How many bytes of the file were read (a writer may append more meanwhile).
    pub fn bytes_read(&self) -> u64 {
        self.data.len() as u64
    }

    /// Where and why reading stopped early, if the file ends in a torn record.
    pub fn torn_tail(&self) -> Option<&(u64, String)> {
        self.torn.as_ref()
    }

    /// The bytes read (the whole file as it was).
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Whether reading stopped at a record boundary followed only by zeros: the unused
    /// preallocated end of a WAL (or a write that never reached the disk), not damage.
    pub fn zero_filled_tail(&self) -> bool {
        self.zero_tail
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The offset of the first intact record starting at or after `from`, if any. A candidate
/// costs one 8-byte CRC unless its header checks, so this is fast even over large files.
fn find_intact_record(data: &[u8], from: usize) -> Option<usize> {
    let last = data.len().checked_sub(RECORD_HEADER_LEN)?;
    (from..=last).find(|&at| {
        let h = &data[at..];
        if !header_ok(h) {
            return false;
        }
        let len = header_len(h);
        len > 0
            && len <= data.len() - at - RECORD_HEADER_LEN
            && payload_ok(h, &h[RECORD_HEADER_LEN..RECORD_HEADER_LEN + len])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_format::WAL_MAGIC;
    use crate::log_writer::LogWriter;

    fn write_log(dir: &Path, records: &[&[u8]]) -> (PathBuf, Vec<u64>) {
        let path = dir.join("x.log");
        let mut w = LogWriter::create(&path, WAL_MAGIC).unwrap();
        let mut offsets = vec![];
        for r in records {
            offsets.push(w.len());
            w.add_record(&[r]).unwrap();
        }
        (path, offsets)
    }

    fn read_all(data: Vec<u8>) -> Result<(Vec<Vec<u8>>, Option<u64>)> {
        let mut r = LogReader::from_bytes(data, Path::new("x.log"), WAL_MAGIC)?;
        let mut out = vec![];
        while let Some((_, p)) = r.next_record()? {
            out.push(p.to_vec());
        }
        Ok((out, r.torn_tail().map(|t| t.0)))
    }

    #[test]
    fn records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_log(dir.path(), &[b"one", b"two", &[7u8; 100_000]]);
        let (recs, torn) = read_all(std::fs::read(path).unwrap()).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2].len(), 100_000);
        assert_eq!(torn, None);
    }

    #[test]
    fn every_truncation_of_the_last_record_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = write_log(dir.path(), &[b"first", b"second record", b"third"]);
        let full = std::fs::read(path).unwrap();
        for cut in offsets[2] as usize + 1..full.len() {
            let (recs, torn) = read_all(full[..cut].to_vec()).unwrap();
            assert_eq!(recs.len(), 2, "cut at {cut}");
            assert_eq!(torn, Some(offsets[2]));
        }
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = write_log(dir.path(), &[b"a", b"b"]);
        let mut data = std::fs::read(path).unwrap();
        let end = data.len() as u64;
        data.extend_from_slice(&[0u8; 4096]);
        let (recs, torn) = read_all(data).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(torn, Some(end));
        assert!(offsets[1] < end);
    }

    #[test]
    fn damage_before_intact_records_is_corruption_with_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = write_log(dir.path(), &[b"first", b"second", b"third"]);
        let mut data = std::fs::read(path).unwrap();
        data[offsets[1] as usize + 9] ^= 0x40;
        match read_all(data) {
            Err(Error::Corruption { offset, .. }) => assert_eq!(offset, offsets[1]),
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn records_embedded_in_a_torn_payload_do_not_make_it_corruption() {
        let dir = tempfile::tempdir().unwrap();
        // A value that itself contains a whole framed record (say, a WAL backed up as a value).
        let inner = [
            log_format::record_header(&[b"hidden"]).as_slice(),
            b"hidden",
        ]
        .concat();
        let mut payload = b"prefix".to_vec();
        payload.extend_from_slice(&inner);
        payload.extend_from_slice(&[9u8; 64]);
        let (path, offsets) = write_log(dir.path(), &[b"first", &payload]);
        let full = std::fs::read(path).unwrap();
        let (recs, torn) = read_all(full[..full.len() - 5].to_vec()).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(torn, Some(offsets[1]));
    }

    #[test]
    fn a_large_record_cut_short_is_torn_without_a_long_search() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..5_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let (path, offsets) = write_log(dir.path(), &[b"first", &big]);
        let full = std::fs::read(path).unwrap();
        let start = std::time::Instant::now();
        let (recs, torn) = read_all(full[..full.len() - 1].to_vec()).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(torn, Some(offsets[1]));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn payload_damage_before_intact_records_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = write_log(dir.path(), &[b"first", b"second record", b"third"]);
        let mut data = std::fs::read(path).unwrap();
        data[offsets[1] as usize + RECORD_HEADER_LEN + 3] ^= 0x01;
        match read_all(data) {
            Err(Error::Corruption { offset, reason, .. }) => {
                assert_eq!(offset, offsets[1]);
                assert!(reason.contains("payload checksum"), "{reason}");
            }
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn payload_damage_in_the_last_record_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = write_log(dir.path(), &[b"first", b"second record"]);
        let mut data = std::fs::read(path).unwrap();
        let n = data.len();
        data[n - 2] ^= 0x01;
        let (recs, torn) = read_all(data).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(torn, Some(offsets[1]));
    }

    #[test]
    fn an_all_zero_file_is_an_empty_torn_log() {
        let (recs, torn) = read_all(vec![0u8; 4096]).unwrap();
        assert!(recs.is_empty());
        assert_eq!(torn, Some(0));
    }

    #[test]
    fn bad_magic_is_corruption() {
        let mut data = vec![0u8; 32];
        data[..8].copy_from_slice(b"NOTALOG!");
        assert!(matches!(
            read_all(data),
            Err(Error::Corruption { offset: 0, .. })
        ));
    }

    #[test]
    fn a_preallocated_log_reads_back_and_seal_cuts_the_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let mut w = LogWriter::create_preallocated(&path, WAL_MAGIC).unwrap();
        let big = vec![9u8; 700_000];
        for r in [&b"one"[..], &big, &big, b"four"] {
            w.add_record(&[r]).unwrap();
        }
        w.sync().unwrap();
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert!(
            on_disk > w.len(),
            "{on_disk} bytes on disk for {} written",
            w.len()
        );

        let mut r = LogReader::open(&path, WAL_MAGIC).unwrap();
        let mut n = 0;
        while r.next_record().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 4);
        assert!(r.zero_filled_tail());
        assert_eq!(r.torn_tail().unwrap().0, w.len());

        w.seal().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), w.len());
        let (recs, torn) = read_all(std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(torn, None);
    }

    #[test]
    fn a_record_torn_inside_preallocated_space_is_a_torn_tail_not_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let mut w = LogWriter::create_preallocated(&path, WAL_MAGIC).unwrap();
        w.add_record(&[b"kept"]).unwrap();
        let torn_at = w.len();
        w.add_record(&[&[5u8; 5000]]).unwrap();
        w.sync().unwrap();
        // The crash left the header and part of the payload; the rest is still zeros.
        let mut data = std::fs::read(&path).unwrap();
        let cut = torn_at as usize + 12 + 1000;
        data[cut..].iter_mut().for_each(|b| *b = 0);
        let mut r = LogReader::from_bytes(data, &path, WAL_MAGIC).unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().1, b"kept");
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.torn_tail().unwrap().0, torn_at);
        assert!(!r.zero_filled_tail());
    }

    #[test]
    fn append_after_reopen_writes_at_the_valid_end_not_past_preallocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let mut w = LogWriter::create_preallocated(&path, WAL_MAGIC).unwrap();
        w.add_record(&[b"a"]).unwrap();
        w.sync().unwrap();
        let valid = w.len();
        drop(w);
        let mut w = LogWriter::open_append(&path, valid).unwrap();
        w.add_record(&[b"b"]).unwrap();
        let (recs, torn) = read_all(std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(recs, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(torn, None);
    }
}
