//! A bump allocator for memtable nodes. Memory is freed all at once when the arena drops,
//! which is what lets skiplist readers follow raw pointers without reference counting: the
//! arena lives exactly as long as the memtable that readers hold an `Arc` to.

use std::ptr::NonNull;

const CHUNK_BYTES: usize = 1 << 20;

pub struct Arena {
    /// Chunks as raw `u64` slices (8-byte aligned), owned by the arena and freed on drop.
    /// They are kept raw (from `Box::into_raw`) rather than as `Box`es, so that growing this
    /// vector never asserts unique ownership over memory that readers point into.
    chunks: Vec<NonNull<[u64]>>,
    ptr: *mut u8,
    remaining: usize,
    allocated: usize,
}

// SAFETY: the arena is only mutated through `&mut self` (the memtable keeps it behind a mutex);
// the raw pointers refer to chunks the arena owns.
unsafe impl Send for Arena {}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

impl Arena {
    pub fn new() -> Self {
        Arena {
            chunks: Vec::new(),
            ptr: std::ptr::null_mut(),
            remaining: 0,
            allocated: 0,
        }
    }

    /// Returns 8-byte aligned, zeroed memory of `bytes` length, valid until the arena drops.
    pub fn allocate(&mut self, bytes: usize) -> *mut u8 {
        let bytes = (bytes + 7) & !7;
        if bytes > self.remaining {
            if bytes > CHUNK_BYTES / 4 {
                // A large entry gets its own chunk so the current chunk's tail is not wasted.
                return self.new_chunk(bytes);
            }
            self.ptr = self.new_chunk(CHUNK_BYTES);
            self.remaining = CHUNK_BYTES;
        }
        let p = self.ptr;
        // SAFETY: `bytes <= remaining`, so the result stays inside the current chunk.
        self.ptr = unsafe { self.ptr.add(bytes) };
        self.remaining -= bytes;
        p
    }

    fn new_chunk(&mut self, bytes: usize) -> *mut u8 {
        let words = bytes.div_ceil(8);
        let chunk = NonNull::from(Box::leak(vec![0u64; words].into_boxed_slice()));
        self.chunks.push(chunk);
        self.allocated += words * 8;
        chunk.as_ptr() as *mut u8
    }

    /// Bytes handed out (with alignment padding), which is what memtable size limits count.
    /// The unused tail of the current chunk is not counted: a fresh arena is almost empty.
    pub fn memory_usage(&self) -> usize {
        self.allocated - self.remaining
            + self.chunks.capacity() * std::mem::size_of::<NonNull<[u64]>>()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for chunk in self.chunks.drain(..) {
            // SAFETY: every chunk came from `Box::leak` in `new_chunk` and is freed once.
            drop(unsafe { Box::from_raw(chunk.as_ptr()) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_and_disjoint() {
        let mut a = Arena::new();
        let mut spans = vec![];
        for size in [1usize, 7, 8, 13, 4096, 300_000, 5] {
            let p = a.allocate(size) as usize;
            assert_eq!(p % 8, 0);
            spans.push((p, p + size));
        }
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0);
        }
        let used = a.memory_usage();
        assert!(used >= 1 + 7 + 8 + 13 + 4096 + 300_000 + 5, "{used}");
        assert!(
            used < CHUNK_BYTES,
            "an unfilled chunk is not counted: {used}"
        );
        let big = a.allocate(2 * CHUNK_BYTES) as usize;
        assert_eq!(big % 8, 0);
        assert!(a.memory_usage() >= used + 2 * CHUNK_BYTES);
    }
}
