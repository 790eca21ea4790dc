//! Reads framed records back, telling a torn tail (the last write of a crashed process,
//! never acknowledged as synced) from corruption (damage followed by intact records).
//!
//! Rule: when a record is incomplete or fails its CRC at offset `o`, the reader searches the
//! bytes after `o` for any intact record. If there is none, the damage is a torn tail and
//! reading ends at `o`. If there is one, the log is corrupt at `o`, which is an error: acked
//! writes may sit after the damage and must not be silently dropped.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::coding::decode_fixed32;
use crate::error::{Error, Result};
use crate::log_format::{self, HEADER_LEN, RECORD_HEADER_LEN};

/// How many payload bytes the torn-tail search may checksum before it gives up and reports
/// corruption; bounds recovery time on a large damaged file.
const TAIL_SEARCH_BUDGET: u64 = 1 << 30;

pub struct LogReader {
    data: Vec<u8>,
    path: PathBuf,
    pos: usize,
    torn: Option<(u64, String)>,
}

impl LogReader {
    /// Reads the whole file (logs are bounded by the memtable size) and checks its header.
    /// A file too short to hold a header is treated as a torn tail at offset 0.
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
        };
        if r.data.len() < HEADER_LEN {
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
        match check_record(&self.data, at) {
            Ok(len) => {
                self.pos = at + RECORD_HEADER_LEN + len;
                Ok(Some((
                    at as u64,
                    &self.data[at + RECORD_HEADER_LEN..at + RECORD_HEADER_LEN + len],
                )))
            }
            Err(reason) => {
                if let Some(next) = find_intact_record(&self.data, at + 1) {
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

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Checks the record at `at`; returns its payload length or why it is not intact.
fn check_record(data: &[u8], at: usize) -> std::result::Result<usize, String> {
    let rest = &data[at..];
    if rest.len() < RECORD_HEADER_LEN {
        return Err(format!("record header incomplete ({} bytes)", rest.len()));
    }
    let stored_crc = decode_fixed32(rest);
    let len = decode_fixed32(&rest[4..]);
    if len == 0 {
        return Err("record length is zero".into());
    }
    let avail = rest.len() - RECORD_HEADER_LEN;
    if len as usize > avail {
        return Err(format!(
            "record of {len} bytes extends past end of file ({avail} bytes left)"
        ));
    }
    let payload = &rest[RECORD_HEADER_LEN..RECORD_HEADER_LEN + len as usize];
    if log_format::record_crc(len, &[payload]) != stored_crc {
        return Err("record checksum mismatch".into());
    }
    Ok(len as usize)
}

/// The offset of the first intact record starting at or after `from`, if any. Gives up (and
/// reports the search start, i.e. "assume intact data follows") when over budget, so huge
/// damage is reported as corruption rather than dropped.
fn find_intact_record(data: &[u8], from: usize) -> Option<usize> {
    let mut budget = TAIL_SEARCH_BUDGET;
    let end = data.len().saturating_sub(RECORD_HEADER_LEN);
    for at in from..=end {
        let len = decode_fixed32(&data[at + 4..]) as u64;
        if len == 0 || len > (data.len() - at - RECORD_HEADER_LEN) as u64 {
            continue;
        }
        if budget < len {
            return Some(from);
        }
        budget -= len;
        if check_record(data, at).is_ok() {
            return Some(at);
        }
    }
    None
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
    fn bad_magic_is_corruption() {
        let mut data = vec![0u8; 32];
        data[..8].copy_from_slice(b"NOTALOG!");
        assert!(matches!(
            read_all(data),
            Err(Error::Corruption { offset: 0, .. })
        ));
    }
}
