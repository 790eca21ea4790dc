//! Appends framed records to a WAL or MANIFEST file. A record is assembled in one buffer and
//! handed to the OS with one `write_all` (one `write` call unless the kernel writes short),
//! so a killed process leaves either the whole record or a torn tail the reader recognises.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::log_format::{self, RECORD_HEADER_LEN};
use crate::writeback::Writeback;

pub struct LogWriter {
    file: Arc<File>,
    path: PathBuf,
    buf: Vec<u8>,
    len: u64,
    writeback: Writeback,
}

impl LogWriter {
    /// Creates the file (failing if it exists) and writes the header.
    pub fn create(path: &Path, magic: [u8; 8]) -> Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("create", path, e))?;
        let mut w = LogWriter {
            file: Arc::new(file),
            path: path.to_path_buf(),
            buf: Vec::with_capacity(64 * 1024),
            len: 0,
            writeback: Writeback::default(),
        };
        w.write_raw(&log_format::file_header(magic))?;
        // A header lost to a power failure would make the file unreadable rather than empty.
        w.sync()?;
        Ok(w)
    }

    /// Reopens a file this writer created, cutting it to `valid_len` (dropping a torn tail
    /// found by the reader) and appending after it.
    pub fn open_append(path: &Path, valid_len: u64) -> Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        file.set_len(valid_len)
            .map_err(|e| Error::io("truncate", path, e))?;
        file.sync_data()
            .map_err(|e| Error::io("fdatasync", path, e))?;
        Ok(LogWriter {
            file: Arc::new(file),
            path: path.to_path_buf(),
            buf: Vec::with_capacity(64 * 1024),
            len: valid_len,
            writeback: Writeback::new(valid_len),
        })
    }

    /// A writer appending to an already open file (tests use it to inject write failures).
    #[cfg(test)]
    pub fn from_file(file: File, path: &Path) -> LogWriter {
        LogWriter {
            file: Arc::new(file),
            path: path.to_path_buf(),
            buf: Vec::new(),
            len: log_format::HEADER_LEN as u64,
            writeback: Writeback::default(),
        }
    }

    /// Appends one record whose payload is the concatenation of `parts`.
    pub fn add_record(&mut self, parts: &[&[u8]]) -> Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if u32::try_from(len).is_err() {
            return Err(Error::InvalidArgument(format!(
                "record of {len} bytes does not fit the log format"
            )));
        }
        self.buf.clear();
        self.buf.reserve(RECORD_HEADER_LEN + len);
        self.buf
            .extend_from_slice(&log_format::record_header(parts));
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.write_raw(&buf);
        self.buf = buf;
        if self.buf.capacity() > 4 << 20 {
            self.buf = Vec::with_capacity(64 * 1024);
        }
        r
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        (&*self.file)
            .write_all(bytes)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.len += bytes.len() as u64;
        self.writeback.advance(&self.file, self.len);
        Ok(())
    }

    /// fdatasync: everything appended so far survives power loss.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fdatasync", &self.path, e))
    }

    /// A handle for syncing from another thread without taking the writer.
    pub fn file_handle(&self) -> Arc<File> {
        self.file.clone()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len as usize <= log_format::HEADER_LEN
    }
}
