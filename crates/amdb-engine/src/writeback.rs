//! Starts kernel writeback of appended data every few hundred KiB (`sync_file_range` with
//! `SYNC_FILE_RANGE_WRITE`, which does not wait). Without it a WAL or table accumulates up
//! to its whole size in dirty pages, and the fdatasync that closes it — on a writer's thread
//! when a memtable is sealed — stalls for tens of milliseconds. Durability still comes only
//! from fdatasync; this only spreads the I/O out.

use std::fs::File;
use std::os::unix::io::AsRawFd;

const WRITEBACK_BYTES: u64 = 512 << 10;

#[derive(Default)]
pub struct Writeback {
    /// Start of the range not yet handed to writeback.
    start: u64,
}

impl Writeback {
    pub fn new(start: u64) -> Self {
        Writeback { start }
    }

    /// Notes that the file now holds `end` bytes on the OS side.
    pub fn advance(&mut self, file: &File, end: u64) {
        if end >= self.start + WRITEBACK_BYTES {
            // SAFETY: plain syscall on a descriptor we own. Errors only lose the hint.
            unsafe {
                libc::sync_file_range(
                    file.as_raw_fd(),
                    self.start as libc::off64_t,
                    (end - self.start) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.start = end;
        }
    }
}
