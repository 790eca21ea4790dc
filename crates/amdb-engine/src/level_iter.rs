//! Concatenates the tables of one sorted, non-overlapping level into one iterator, opening
//! each table only when the iteration reaches it.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key;
use crate::version::{table_iter, FileMeta};

pub struct LevelIter {
    files: Vec<Arc<FileMeta>>,
    /// Index of the file `current` iterates; `files.len()` when none.
    index: usize,
    current: Option<Box<dyn InternalIterator>>,
    fill_cache: bool,
}

impl LevelIter {
    pub(crate) fn new(files: Vec<Arc<FileMeta>>, fill_cache: bool) -> LevelIter {
        let n = files.len();
        LevelIter {
            files,
            index: n,
            current: None,
            fill_cache,
        }
    }

    fn open(&mut self, index: usize) {
        if index >= self.files.len() {
            self.index = self.files.len();
            self.current = None;
            return;
        }
        if self.index != index || self.current.is_none() {
            self.index = index;
            self.current = Some(table_iter(&self.files[index], self.fill_cache));
        }
    }

    fn current_valid(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.valid())
    }

    fn current_failed(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.status().is_err())
    }

    fn skip_forward(&mut self) {
        while !self.current_valid() && !self.current_failed() && self.index < self.files.len() {
            let next = self.index + 1;
            self.open(next);
            if let Some(c) = &mut self.current {
                c.seek_to_first();
            }
        }
    }

    fn skip_backward(&mut self) {
        while !self.current_valid() && !self.current_failed() && self.index < self.files.len() {
            if self.index == 0 {
                self.index = self.files.len();
                self.current = None;
                return;
            }
            let prev = self.index - 1;
            self.open(prev);
            if let Some(c) = &mut self.current {
                c.seek_to_last();
            }
        }
    }
}

impl InternalIterator for LevelIter {
    fn valid(&self) -> bool {
        self.current_valid()
    }

    fn seek_to_first(&mut self) {
        self.open(0);
        if let Some(c) = &mut self.current {
            c.seek_to_first();
        }
        self.skip_forward();
    }

    fn seek_to_last(&mut self) {
        if self.files.is_empty() {
            return;
        }
        self.open(self.files.len() - 1);
        if let Some(c) = &mut self.current {
            c.seek_to_last();
        }
        self.skip_backward();
    }

    fn seek(&mut self, target: &[u8]) {
        let i = self
            .files
            .partition_point(|f| key::compare(&f.largest, target) == Ordering::Less);
        self.open(i);
        if let Some(c) = &mut self.current {
            c.seek(target);
        }
        self.skip_forward();
    }

    fn next(&mut self) {
        if let Some(c) = &mut self.current {
            c.next();
        }
        self.skip_forward();
    }

    fn prev(&mut self) {
        if let Some(c) = &mut self.current {
            c.prev();
        }
        self.skip_backward();
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().expect("valid").key()
    }

    fn value(&self) -> &[u8] {
        self.current.as_ref().expect("valid").value()
    }

    fn status(&self) -> Result<()> {
        match &self.current {
            Some(c) => c.status(),
            None => Ok(()),
        }
    }
}
