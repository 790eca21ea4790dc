//! The user-facing iterator: turns the merged stream of internal keys into user keys and
//! values as of one sequence number — newest visible version of each key, deleted keys
//! hidden — in either direction, within optional bounds.
//!
//! Moving forward, the inner iterator sits on the entry whose value is returned. Moving
//! backward, it sits just before all entries of the current key, whose key and value are
//! copied into `saved_key` / `saved_value`.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{self, SequenceNumber, ValueKind, MAX_SEQUENCE};
use crate::keyspace::SuperVersion;
use crate::merging_iter::MergingIter;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

pub struct DbIterator {
    iter: MergingIter,
    seq: SequenceNumber,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    direction: Direction,
    valid: bool,
    saved_key: Vec<u8>,
    saved_value: Vec<u8>,
    err: Option<Error>,
    _sv: Arc<SuperVersion>,
}

impl DbIterator {
    pub(crate) fn new(
        iter: MergingIter,
        seq: SequenceNumber,
        lower: Option<Vec<u8>>,
        upper: Option<Vec<u8>>,
        sv: Arc<SuperVersion>,
    ) -> DbIterator {
        DbIterator {
            iter,
            seq,
            lower,
            upper,
            direction: Direction::Forward,
            valid: false,
            saved_key: Vec::new(),
            saved_value: Vec::new(),
            err: None,
            _sv: sv,
        }
    }

    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current user key; only while `valid()`.
    pub fn key(&self) -> &[u8] {
        assert!(self.valid, "key() on an invalid iterator");
        match self.direction {
            Direction::Forward => key::user_key(self.iter.key()),
            Direction::Reverse => &self.saved_key,
        }
    }

    pub fn value(&self) -> &[u8] {
        assert!(self.valid, "value() on an invalid iterator");
        match self.direction {
            Direction::Forward => self.iter.value(),
            Direction::Reverse => &self.saved_value,
        }
    }

    /// The error that ended iteration early, if any. Check it when `valid()` turns false.
    pub fn status(&self) -> Result<()> {
        match &self.err {
            Some(e) => Err(e.duplicate()),
            None => self.iter.status(),
        }
    }

    /// The sequence number this iterator reads at.
    pub fn sequence(&self) -> SequenceNumber {
        self.seq
    }

    pub fn seek_to_first(&mut self) {
        match self.lower.clone() {
            Some(lower) => self.seek(&lower),
            None => {
                self.direction = Direction::Forward;
                self.saved_value.clear();
                self.iter.seek_to_first();
                self.find_next_user_entry(false);
            }
        }
    }

    pub fn seek_to_last(&mut self) {
        self.direction = Direction::Reverse;
        self.saved_value.clear();
        match &self.upper {
            Some(upper) => {
                let target = key::lookup_key(upper, MAX_SEQUENCE);
                self.iter.seek(&target);
                if self.iter.valid() {
                    self.iter.prev();
                } else if self.iter.status().is_ok() {
                    self.iter.seek_to_last();
                }
            }
            None => self.iter.seek_to_last(),
        }
        self.find_prev_user_entry();
    }

    /// Positions at the first key >= `target` (and >= the lower bound).
    pub fn seek(&mut self, target: &[u8]) {
        let target = match &self.lower {
            Some(l) if target < l.as_slice() => l.as_slice(),
            _ => target,
        };
        let seek_key = key::lookup_key(target, self.seq);
        self.direction = Direction::Forward;
        self.saved_key.clear();
        self.saved_value.clear();
        self.iter.seek(&seek_key);
        self.find_next_user_entry(false);
    }

    /// Positions at the last key <= `target` (and below the upper bound).
    pub fn seek_for_prev(&mut self, target: &[u8]) {
        if self.upper.as_deref().is_some_and(|u| target >= u) {
            return self.seek_to_last();
        }
        self.direction = Direction::Reverse;
        self.saved_value.clear();
        // (target, 0, Delete) is the last internal key of `target`.
        self.iter
            .seek(&key::make_internal_key(target, 0, ValueKind::Delete));
        if self.iter.valid() && key::user_key(self.iter.key()) == target {
            self.iter.next();
        }
        if self.iter.valid() {
            self.iter.prev();
        } else if self.iter.status().is_ok() {
            self.iter.seek_to_last();
        }
        self.find_prev_user_entry();
    }

    pub fn next(&mut self) {
        assert!(self.valid, "next() on an invalid iterator");
        if self.direction == Direction::Reverse {
            self.direction = Direction::Forward;
            // The inner iterator is just before the entries of key(); step into them. The
            // skip below then passes all of them, since saved_key holds key().
            if self.iter.valid() {
                self.iter.next();
            } else {
                self.iter.seek_to_first();
            }
        } else {
            self.saved_key.clear();
            self.saved_key
                .extend_from_slice(key::user_key(self.iter.key()));
            self.iter.next();
        }
        if !self.iter.valid() {
            self.finish_invalid();
            return;
        }
        self.find_next_user_entry(true);
    }

    pub fn prev(&mut self) {
        assert!(self.valid, "prev() on an invalid iterator");
        if self.direction == Direction::Forward {
            // Move the inner iterator before every entry of the current key.
            self.saved_key.clear();
            self.saved_key
                .extend_from_slice(key::user_key(self.iter.key()));
            loop {
                self.iter.prev();
                if !self.iter.valid() {
                    self.finish_invalid();
                    return;
                }
                if key::user_key(self.iter.key()) < self.saved_key.as_slice() {
                    break;
                }
            }
            self.direction = Direction::Reverse;
        }
        self.find_prev_user_entry();
    }

    fn finish_invalid(&mut self) {
        self.valid = false;
        self.saved_key.clear();
        self.saved_value.clear();
        if let Err(e) = self.iter.status() {
            self.err.get_or_insert(e);
        }
    }

    /// Advances to the newest visible, non-deleted entry of a key after `saved_key` (when
    /// `skipping`), stopping at the upper bound.
    fn find_next_user_entry(&mut self, mut skipping: bool) {
        while self.iter.valid() {
            let ik = self.iter.key();
            let uk = key::user_key(ik);
            if self.upper.as_deref().is_some_and(|u| uk >= u) {
                break;
            }
            if key::sequence(ik) <= self.seq {
                match key::kind(ik) {
                    Some(ValueKind::Delete) => {
                        self.saved_key.clear();
                        self.saved_key.extend_from_slice(uk);
                        skipping = true;
                    }
                    _ => {
                        if !(skipping && uk <= self.saved_key.as_slice()) {
                            self.valid = true;
                            self.saved_key.clear();
                            return;
                        }
                    }
                }
            }
            self.iter.next();
        }
        self.finish_invalid();
    }

    /// Moves back to the previous key with a visible, non-deleted newest version, leaving the
    /// inner iterator before all its entries; stops at the lower bound.
    fn find_prev_user_entry(&mut self) {
        let mut kind = ValueKind::Delete;
        while self.iter.valid() {
            let ik = self.iter.key();
            let uk = key::user_key(ik);
            if self.lower.as_deref().is_some_and(|l| uk < l) {
                break;
            }
            if key::sequence(ik) <= self.seq {
                if kind != ValueKind::Delete && uk < self.saved_key.as_slice() {
                    // Passed the entries of the key we hold a value for.
                    break;
                }
                kind = key::kind(ik).unwrap_or(ValueKind::Delete);
                match kind {
                    ValueKind::Delete => {
                        self.saved_key.clear();
                        self.saved_value.clear();
                    }
                    ValueKind::Put => {
                        self.saved_key.clear();
                        self.saved_key.extend_from_slice(uk);
                        self.saved_value.clear();
                        self.saved_value.extend_from_slice(self.iter.value());
                    }
                }
            }
            self.iter.prev();
        }
        if kind == ValueKind::Delete {
            self.finish_invalid();
            self.direction = Direction::Forward;
        } else {
            self.valid = true;
            if let Err(e) = self.iter.status() {
                // A failure behind us may hide newer versions of this key: do not guess.
                self.valid = false;
                self.err.get_or_insert(e);
            }
        }
    }

    /// Consumes the iterator into a forward scan of `(key, value)` pairs.
    pub fn forward(self) -> Entries {
        Entries {
            it: self,
            reverse: false,
            started: false,
            done: false,
        }
    }

    /// Consumes the iterator into a scan from the last key backwards.
    pub fn backward(self) -> Entries {
        Entries {
            it: self,
            reverse: true,
            started: false,
            done: false,
        }
    }
}

/// A scan as a Rust iterator. An error is yielded once, then the scan ends.
pub struct Entries {
    it: DbIterator,
    reverse: bool,
    started: bool,
    done: bool,
}

impl Iterator for Entries {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            if self.reverse {
                self.it.seek_to_last();
            } else {
                self.it.seek_to_first();
            }
        } else if self.reverse {
            self.it.prev();
        } else {
            self.it.next();
        }
        if self.it.valid() {
            return Some(Ok((self.it.key().to_vec(), self.it.value().to_vec())));
        }
        self.done = true;
        self.it.status().err().map(Err)
    }
}
