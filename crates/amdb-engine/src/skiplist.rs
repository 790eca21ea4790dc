//! A skiplist of internal keys with one writer at a time and any number of lock-free readers.
//!
//! Invariants:
//! - Nodes are never removed or moved; they live in the arena until the list drops.
//! - A node is fully initialised before it is published with a `Release` store into its
//!   predecessor's `next`; readers load `next` with `Acquire`, so they see complete nodes.
//! - Level 0 links every node in internal-key order; higher levels are express lanes.
//! - Only the holder of `writer` inserts (the memtable hands out that lock).

use std::cmp::Ordering;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering as AtomicOrdering};

use parking_lot::{Mutex, MutexGuard};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::arena::Arena;
use crate::key;

pub const MAX_HEIGHT: usize = 12;
const BRANCHING: u32 = 4;

#[repr(C)]
struct Node {
    key_len: u32,
    value_len: u32,
    height: u32,
    _pad: u32,
    // followed by `height` AtomicPtr<Node>, then key bytes, then value bytes
}

const NODE_HEADER: usize = std::mem::size_of::<Node>();

impl Node {
    /// SAFETY: `i < height` of a node allocated by `SkipList::new_node`.
    #[inline]
    unsafe fn next_slot(this: *const Node, i: usize) -> *const AtomicPtr<Node> {
        (this as *const u8)
            .add(NODE_HEADER)
            .cast::<AtomicPtr<Node>>()
            .add(i)
    }

    #[inline]
    unsafe fn next(this: *const Node, i: usize) -> *mut Node {
        (*Node::next_slot(this, i)).load(AtomicOrdering::Acquire)
    }

    #[inline]
    unsafe fn key<'a>(this: *const Node) -> &'a [u8] {
        let h = (*this).height as usize;
        let p = (this as *const u8).add(NODE_HEADER + h * 8);
        std::slice::from_raw_parts(p, (*this).key_len as usize)
    }

    #[inline]
    unsafe fn value<'a>(this: *const Node) -> &'a [u8] {
        let h = (*this).height as usize;
        let p = (this as *const u8).add(NODE_HEADER + h * 8 + (*this).key_len as usize);
        std::slice::from_raw_parts(p, (*this).value_len as usize)
    }
}

struct WriterState {
    arena: Arena,
    rng: SmallRng,
    /// The last node of each level (head while a level is empty). Keys larger than the last
    /// key (sequential loads) are linked after these without searching.
    tail: [*mut Node; MAX_HEIGHT],
}

pub struct SkipList {
    head: *mut Node,
    max_height: AtomicUsize,
    writer: Mutex<WriterState>,
    memory: AtomicUsize,
    len: AtomicUsize,
}

// SAFETY: readers only follow published, immutable nodes through atomics; mutation happens
// under `writer`. The arena owning the nodes is dropped with the list.
unsafe impl Send for SkipList {}
unsafe impl Sync for SkipList {}

/// Exclusive insert access; inserts through it need no further locking.
pub struct Inserter<'a> {
    list: &'a SkipList,
    state: MutexGuard<'a, WriterState>,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

impl SkipList {
    pub fn new() -> Self {
        let mut state = WriterState {
            arena: Arena::new(),
            rng: SmallRng::seed_from_u64(0x5eed_a3db),
            tail: [std::ptr::null_mut(); MAX_HEIGHT],
        };
        let head = Self::new_node(&mut state.arena, MAX_HEIGHT, &[], None, &[]);
        state.tail = [head; MAX_HEIGHT];
        let memory = state.arena.memory_usage();
        SkipList {
            head,
            max_height: AtomicUsize::new(1),
            writer: Mutex::new(state),
            memory: AtomicUsize::new(memory),
            len: AtomicUsize::new(0),
        }
    }

    /// A node holding the internal key `user_key ‖ trailer` (trailer little-endian).
    fn new_node(
        arena: &mut Arena,
        height: usize,
        user_key: &[u8],
        trailer: Option<u64>,
        value: &[u8],
    ) -> *mut Node {
        let key_len = user_key.len() + if trailer.is_some() { 8 } else { 0 };
        let size = NODE_HEADER + height * 8 + key_len + value.len();
        let p = arena.allocate(size) as *mut Node;
        // SAFETY: `p` is 8-aligned, zeroed and `size` bytes long; zeroed AtomicPtrs are null.
        unsafe {
            (*p).key_len = key_len as u32;
            (*p).value_len = value.len() as u32;
            (*p).height = height as u32;
            let kp = (p as *mut u8).add(NODE_HEADER + height * 8);
            std::ptr::copy_nonoverlapping(user_key.as_ptr(), kp, user_key.len());
            if let Some(t) = trailer {
                std::ptr::copy_nonoverlapping(t.to_le_bytes().as_ptr(), kp.add(user_key.len()), 8);
            }
            std::ptr::copy_nonoverlapping(value.as_ptr(), kp.add(key_len), value.len());
        }
        p
    }

    pub fn inserter(&self) -> Inserter<'_> {
        Inserter {
            list: self,
            state: self.writer.lock(),
        }
    }

    pub fn memory_usage(&self) -> usize {
        self.memory.load(AtomicOrdering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.len.load(AtomicOrdering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// First node with key >= `target`, filling `prev` with the last node before it per level.
    fn find_greater_or_equal(
        &self,
        target: &[u8],
        prev: Option<&mut [*mut Node; MAX_HEIGHT]>,
    ) -> *mut Node {
        self.find_greater_or_equal_parts(key::user_key(target), key::trailer(target), prev)
    }

    /// As `find_greater_or_equal`, for the internal key `user_key ‖ trailer`.
    fn find_greater_or_equal_parts(
        &self,
        user_key: &[u8],
        trailer: u64,
        mut prev: Option<&mut [*mut Node; MAX_HEIGHT]>,
    ) -> *mut Node {
        let mut x = self.head;
        let mut level = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        loop {
            // SAFETY: x is head or a published node; level < its height by construction.
            let next = unsafe { Node::next(x, level) };
            if !next.is_null()
                && key::compare_parts(unsafe { Node::key(next) }, user_key, trailer)
                    == Ordering::Less
            {
                x = next;
            } else {
                if let Some(p) = prev.as_deref_mut() {
                    p[level] = x;
                }
                if level == 0 {
                    return next;
                }
                level -= 1;
            }
        }
    }

    /// Last node with key < `target`, or head.
    fn find_less_than(&self, target: &[u8]) -> *mut Node {
        let mut x = self.head;
        let mut level = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        loop {
            let next = unsafe { Node::next(x, level) };
            if !next.is_null() && key::compare(unsafe { Node::key(next) }, target) == Ordering::Less
            {
                x = next;
            } else if level == 0 {
                return x;
            } else {
                level -= 1;
            }
        }
    }

    fn find_last(&self) -> *mut Node {
        let mut x = self.head;
        let mut level = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        loop {
            let next = unsafe { Node::next(x, level) };
            if !next.is_null() {
                x = next;
            } else if level == 0 {
                return x;
            } else {
                level -= 1;
            }
        }
    }
}

impl Inserter<'_> {
    /// Inserts an internal key that is not already present (sequences make keys unique).
    #[cfg(test)]
    pub fn insert(&mut self, ikey: &[u8], value: &[u8]) {
        self.insert_parts(key::user_key(ikey), key::trailer(ikey), value)
    }

    /// Inserts the internal key `user_key ‖ trailer`, building it directly in the node.
    pub fn insert_parts(&mut self, user_key: &[u8], trailer: u64, value: &[u8]) {
        let list = self.list;
        let last = self.state.tail[0];
        let appends = last == list.head
            // SAFETY: tail nodes are published nodes of this list.
            || key::compare_parts(unsafe { Node::key(last) }, user_key, trailer) == Ordering::Less;
        let mut prev = [list.head; MAX_HEIGHT];
        if appends {
            prev = self.state.tail;
        } else {
            let found = list.find_greater_or_equal_parts(user_key, trailer, Some(&mut prev));
            debug_assert!(
                found.is_null()
                    || key::compare_parts(unsafe { Node::key(found) }, user_key, trailer)
                        != Ordering::Equal,
                "duplicate internal key"
            );
        }

        let mut height = 1;
        while height < MAX_HEIGHT && self.state.rng.gen_ratio(1, BRANCHING) {
            height += 1;
        }
        let max = list.max_height.load(AtomicOrdering::Relaxed);
        if height > max {
            // prev[max..height] are already head. Readers seeing the new height before the
            // node is linked find null at those levels of head and drop down: harmless.
            list.max_height.store(height, AtomicOrdering::Relaxed);
        }
        let node = SkipList::new_node(
            &mut self.state.arena,
            height,
            user_key,
            Some(trailer),
            value,
        );
        for (i, &p) in prev.iter().enumerate().take(height) {
            // SAFETY: node and prev[i] are valid with height > i; only this writer links.
            unsafe {
                let succ = (*Node::next_slot(p, i)).load(AtomicOrdering::Relaxed);
                (*Node::next_slot(node, i)).store(succ, AtomicOrdering::Relaxed);
                (*Node::next_slot(p, i)).store(node, AtomicOrdering::Release);
                if succ.is_null() {
                    self.state.tail[i] = node;
                }
            }
        }
        list.len.fetch_add(1, AtomicOrdering::Relaxed);
        list.memory
            .store(self.state.arena.memory_usage(), AtomicOrdering::Relaxed);
    }
}

/// A cursor over the list. It borrows nothing: the owner (memtable iterator) keeps the list
/// alive through an `Arc`, which is what makes the raw node pointer safe to hold.
pub struct Cursor {
    list: *const SkipList,
    node: *mut Node,
}

// SAFETY: the cursor only reads published nodes; the owning memtable `Arc` travels with it.
unsafe impl Send for Cursor {}

impl Cursor {
    /// SAFETY: the caller keeps `list` alive for as long as the cursor is used.
    pub unsafe fn new(list: &SkipList) -> Cursor {
        Cursor {
            list,
            node: std::ptr::null_mut(),
        }
    }

    fn list(&self) -> &SkipList {
        // SAFETY: guaranteed by the constructor's contract.
        unsafe { &*self.list }
    }

    pub fn valid(&self) -> bool {
        !self.node.is_null()
    }
    pub fn key(&self) -> &[u8] {
        debug_assert!(self.valid());
        unsafe { Node::key(self.node) }
    }
    pub fn value(&self) -> &[u8] {
        debug_assert!(self.valid());
        unsafe { Node::value(self.node) }
    }
    pub fn next(&mut self) {
        debug_assert!(self.valid());
        self.node = unsafe { Node::next(self.node, 0) };
    }
    pub fn prev(&mut self) {
        debug_assert!(self.valid());
        let p = self.list().find_less_than(self.key());
        self.node = if p == self.list().head {
            std::ptr::null_mut()
        } else {
            p
        };
    }
    pub fn seek(&mut self, target: &[u8]) {
        self.node = self.list().find_greater_or_equal(target, None);
    }
    pub fn seek_to_first(&mut self) {
        self.node = unsafe { Node::next(self.list().head, 0) };
    }
    pub fn seek_to_last(&mut self) {
        let p = self.list().find_last();
        self.node = if p == self.list().head {
            std::ptr::null_mut()
        } else {
            p
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, ValueKind};

    #[test]
    fn iterates_in_internal_key_order_both_ways() {
        let list = SkipList::new();
        let mut expected = vec![];
        {
            let mut ins = list.inserter();
            for i in (0..500u32).rev() {
                let k = make_internal_key(
                    format!("k{:05}", i * 7 % 500).as_bytes(),
                    i as u64,
                    ValueKind::Put,
                );
                ins.insert(&k, &i.to_le_bytes());
                expected.push(k);
            }
        }
        expected.sort_by(|a, b| key::compare(a, b));
        let mut c = unsafe { Cursor::new(&list) };
        c.seek_to_first();
        let mut got = vec![];
        while c.valid() {
            got.push(c.key().to_vec());
            c.next();
        }
        assert_eq!(got, expected);
        c.seek_to_last();
        let mut back = vec![];
        while c.valid() {
            back.push(c.key().to_vec());
            c.prev();
        }
        back.reverse();
        assert_eq!(back, expected);
        c.seek(&expected[100]);
        assert_eq!(c.key(), &expected[100][..]);
    }

    #[test]
    fn concurrent_readers_see_sorted_prefixes_while_writer_inserts() {
        use std::sync::Arc;
        let list = Arc::new(SkipList::new());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let list = list.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut scans = 0;
                    while !stop.load(AtomicOrdering::Relaxed) || scans == 0 {
                        let mut c = unsafe { Cursor::new(&list) };
                        c.seek_to_first();
                        let mut last: Option<Vec<u8>> = None;
                        while c.valid() {
                            if let Some(l) = &last {
                                assert_eq!(key::compare(l, c.key()), Ordering::Less);
                            }
                            last = Some(c.key().to_vec());
                            c.next();
                        }
                        scans += 1;
                    }
                })
            })
            .collect();
        for i in 0..20_000u64 {
            let k = make_internal_key(
                &(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes(),
                i,
                ValueKind::Put,
            );
            list.inserter().insert(&k, b"v");
        }
        stop.store(true, AtomicOrdering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(list.len(), 20_000);
    }
}
