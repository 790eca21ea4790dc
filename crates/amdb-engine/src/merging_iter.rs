//! Merges sorted child iterators (memtables, L0 tables, levels) into one sorted stream of
//! internal keys, in either direction. An error in any child stops the merge: a damaged
//! table must not silently vanish from a scan.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

pub struct MergingIter {
    children: Vec<Box<dyn InternalIterator>>,
    current: Option<usize>,
    direction: Direction,
    err: Option<Error>,
}

impl MergingIter {
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> MergingIter {
        MergingIter {
            children,
            current: None,
            direction: Direction::Forward,
            err: None,
        }
    }

    /// Records the first child error; returns true if there is one.
    fn check_errors(&mut self) -> bool {
        if self.err.is_some() {
            return true;
        }
        for c in &self.children {
            if !c.valid() {
                if let Err(e) = c.status() {
                    self.err = Some(e);
                    return true;
                }
            }
        }
        false
    }

    fn pick(&mut self, want: Ordering) {
        self.current = None;
        if self.check_errors() {
            return;
        }
        let mut best: Option<usize> = None;
        for (i, c) in self.children.iter().enumerate() {
            if !c.valid() {
                continue;
            }
            best = match best {
                None => Some(i),
                Some(b) if key::compare(c.key(), self.children[b].key()) == want => Some(i),
                keep => keep,
            };
        }
        self.current = best;
    }

    fn find_smallest(&mut self) {
        self.pick(Ordering::Less)
    }

    fn find_largest(&mut self) {
        self.pick(Ordering::Greater)
    }
}

impl InternalIterator for MergingIter {
    fn valid(&self) -> bool {
        self.err.is_none() && self.current.is_some()
    }

    fn seek_to_first(&mut self) {
        self.err = None;
        for c in &mut self.children {
            c.seek_to_first();
        }
        self.direction = Direction::Forward;
        self.find_smallest();
    }

    fn seek_to_last(&mut self) {
        self.err = None;
        for c in &mut self.children {
            c.seek_to_last();
        }
        self.direction = Direction::Reverse;
        self.find_largest();
    }

    fn seek(&mut self, target: &[u8]) {
        self.err = None;
        for c in &mut self.children {
            c.seek(target);
        }
        self.direction = Direction::Forward;
        self.find_smallest();
    }

    fn next(&mut self) {
        let cur = self.current.expect("next on invalid iterator");
        if self.direction != Direction::Forward {
            // Every other child must be positioned after key().
            let k = self.children[cur].key().to_vec();
            for (i, c) in self.children.iter_mut().enumerate() {
                if i != cur {
                    c.seek(&k);
                    if c.valid() && key::compare(&k, c.key()) == Ordering::Equal {
                        c.next();
                    }
                }
            }
            self.direction = Direction::Forward;
        }
        self.children[cur].next();
        self.find_smallest();
    }

    fn prev(&mut self) {
        let cur = self.current.expect("prev on invalid iterator");
        if self.direction != Direction::Reverse {
            // Every other child must be positioned before key().
            let k = self.children[cur].key().to_vec();
            for (i, c) in self.children.iter_mut().enumerate() {
                if i != cur {
                    c.seek(&k);
                    if c.valid() {
                        c.prev();
                    } else if c.status().is_ok() {
                        c.seek_to_last();
                    }
                }
            }
            self.direction = Direction::Reverse;
        }
        self.children[cur].prev();
        self.find_largest();
    }

    fn key(&self) -> &[u8] {
        self.children[self.current.expect("valid")].key()
    }

    fn value(&self) -> &[u8] {
        self.children[self.current.expect("valid")].value()
    }

    fn status(&self) -> Result<()> {
        if let Some(e) = &self.err {
            return Err(e.duplicate());
        }
        for c in &self.children {
            c.status()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};
    use crate::memtable::MemTable;
    use std::sync::Arc;

    fn mem(entries: &[(&str, u64)]) -> Box<dyn InternalIterator> {
        let m = Arc::new(MemTable::new());
        {
            let mut w = m.writer(1);
            for (k, s) in entries {
                w.add(*s, ValueKind::Put, k.as_bytes(), k.as_bytes());
            }
        }
        Box::new(m.iter())
    }

    #[test]
    fn merges_and_switches_direction() {
        let mut it = MergingIter::new(vec![
            mem(&[("a", 1), ("d", 4), ("g", 7)]),
            mem(&[("b", 2), ("e", 5)]),
            mem(&[("c", 3), ("f", 6), ("h", 8)]),
        ]);
        let keys = |it: &MergingIter| key::user_key(it.key()).to_vec();
        it.seek_to_first();
        let mut fwd = vec![];
        while it.valid() {
            fwd.push(keys(&it));
            it.next();
        }
        assert_eq!(
            fwd,
            [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"].map(|k| k.to_vec())
        );
        it.seek(&make_internal_key(b"d", u64::MAX >> 8, ValueKind::Put));
        assert_eq!(keys(&it), b"d");
        it.prev();
        assert_eq!(keys(&it), b"c");
        it.prev();
        assert_eq!(keys(&it), b"b");
        it.next();
        assert_eq!(keys(&it), b"c");
        it.next();
        assert_eq!(keys(&it), b"d");
        it.seek_to_last();
        assert_eq!(keys(&it), b"h");
    }
}
