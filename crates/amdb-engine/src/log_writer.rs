//! Appends framed records to a WAL or MANIFEST file. A record is assembled in one buffer and
//! handed to the OS with one `write_all` (one `write` call unless the kernel writes short),
//! so a killed process leaves either the whole record or a torn tail the reader recognises.
//!
//! A WAL is preallocated ahead of its end (`fallocate`, in chunks growing from 1 MiB to
//! 8 MiB): an fdatasync after an append that grows the file must also commit the new size
//! and block allocation, which on ext4 costs about twice as much as one over blocks that
//! already exist. The file therefore ends in zeros, which the reader takes for the end of
//! the log; [`LogWriter::seal`] cuts them off before a newer WAL is created, so only the
//! newest WAL ever ends in zeros. Writes are positional (`pwrite` at the logical end), never
//! `O_APPEND`, which would land after the preallocated space.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
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
    /// The file's size on disk: `len` plus preallocated zeros.
    allocated: u64,
    /// Size of the next preallocation; 0 when not preallocating (MANIFEST, ledger, or a
    /// file system without `fallocate`).
    next_chunk: u64,
    writeback: Writeback,
}

const FIRST_CHUNK: u64 = 1 << 20;
const MAX_CHUNK: u64 = 8 << 20;

impl LogWriter {
    /// Creates the file (failing if it exists) and writes the header.
    pub fn create(path: &Path, magic: [u8; 8]) -> Result<LogWriter> {
        Self::create_with(path, magic, 0)
    }

    /// Like [`LogWriter::create`], preallocating space ahead of the end (for WALs, whose
    /// synced appends it makes cheaper).
    pub fn create_preallocated(path: &Path, magic: [u8; 8]) -> Result<LogWriter> {
        Self::create_with(path, magic, FIRST_CHUNK)
    }

    fn create_with(path: &Path, magic: [u8; 8], first_chunk: u64) -> Result<LogWriter> {
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
            allocated: 0,
            next_chunk: first_chunk,
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
            .write(true)
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
            allocated: valid_len,
            next_chunk: 0,
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
            allocated: 0,
            next_chunk: 0,
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
        let end = self.len + bytes.len() as u64;
        if end > self.allocated && self.next_chunk > 0 {
            self.preallocate(end);
        }
        self.file
            .write_all_at(bytes, self.len)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.len += bytes.len() as u64;
        self.writeback.advance(&self.file, self.len);
        Ok(())
    }

    /// Extends the file with zeros to cover `end` and the next chunk. Failure only costs
    /// speed: the writer stops preallocating and the write extends the file as usual.
    fn preallocate(&mut self, end: u64) {
        let target = end.max(self.allocated) + self.next_chunk;
        // SAFETY: plain syscall on a descriptor we own.
        let r = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                0,
                self.allocated as libc::off_t,
                (target - self.allocated) as libc::off_t,
            )
        };
        if r == 0 {
            self.allocated = target;
            self.next_chunk = (self.next_chunk * 2).min(MAX_CHUNK);
        } else {
            self.next_chunk = 0;
        }
    }

    /// Cuts off the preallocated zeros and fdatasyncs: the file ends at its last record, as
    /// every WAL but the newest must (the reader treats zeros after records as a torn tail).
    pub fn seal(&mut self) -> Result<()> {
        if self.allocated > self.len {
            self.file
                .set_len(self.len)
                .map_err(|e| Error::io("truncate", &self.path, e))?;
            self.allocated = self.len;
        }
        self.next_chunk = 0;
        self.sync()
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
