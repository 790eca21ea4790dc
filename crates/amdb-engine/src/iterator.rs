//! The internal iterator contract shared by memtables, blocks, tables, levels and the merger.
//! Keys are internal keys (user key + trailer), in `key::compare` order.

use crate::error::Result;

pub trait InternalIterator: Send {
    fn valid(&self) -> bool;
    fn seek_to_first(&mut self);
    fn seek_to_last(&mut self);
    /// Positions at the first entry with key >= `target` (an internal key).
    fn seek(&mut self, target: &[u8]);
    fn next(&mut self);
    fn prev(&mut self);
    /// Valid only while `valid()`.
    fn key(&self) -> &[u8];
    fn value(&self) -> &[u8];
    /// An error met while iterating (a corrupt block, an I/O failure); the iterator is then
    /// invalid. Never silently skips damaged data.
    fn status(&self) -> Result<()>;
}

/// An iterator over nothing, or one that failed before it started.
pub struct EmptyIterator(Option<crate::error::Error>);

impl EmptyIterator {
    pub fn new() -> Self {
        EmptyIterator(None)
    }
    pub fn with_error(e: crate::error::Error) -> Self {
        EmptyIterator(Some(e))
    }
}

impl Default for EmptyIterator {
    fn default() -> Self {
        Self::new()
    }
}

impl InternalIterator for EmptyIterator {
    fn valid(&self) -> bool {
        false
    }
    fn seek_to_first(&mut self) {}
    fn seek_to_last(&mut self) {}
    fn seek(&mut self, _: &[u8]) {}
    fn next(&mut self) {}
    fn prev(&mut self) {}
    fn key(&self) -> &[u8] {
        unreachable!("key() on an invalid iterator")
    }
    fn value(&self) -> &[u8] {
        unreachable!("value() on an invalid iterator")
    }
    fn status(&self) -> Result<()> {
        match &self.0 {
            Some(e) => Err(e.duplicate()),
            None => Ok(()),
        }
    }
}
