//! Snapshots pin a sequence number: reads through one see exactly the batches committed up to
//! it. Compactions keep every version a live snapshot can see.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::key::SequenceNumber;

#[derive(Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<SequenceNumber, usize>>,
}

impl SnapshotList {
    /// Takes a snapshot of `visible` under the list lock, so a compaction computing its
    /// horizon either sees this snapshot or ran before the sequence was read.
    pub fn acquire(self: &Arc<Self>, visible: &AtomicU64) -> Snapshot {
        let mut live = self.live.lock();
        let seq = visible.load(Ordering::Acquire);
        *live.entry(seq).or_insert(0) += 1;
        Snapshot {
            seq,
            list: self.clone(),
        }
    }

    /// The oldest sequence any reader may still need: the oldest snapshot, else `visible`.
    pub fn horizon(&self, visible: &AtomicU64) -> SequenceNumber {
        let live = self.live.lock();
        match live.keys().next() {
            Some(&s) => s,
            None => visible.load(Ordering::Acquire),
        }
    }

    fn release(&self, seq: SequenceNumber) {
        let mut live = self.live.lock();
        if let Some(n) = live.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                live.remove(&seq);
            }
        }
    }

    pub fn count(&self) -> usize {
        self.live.lock().values().sum()
    }
}

/// A consistent point-in-time view across all keyspaces. Released when dropped.
pub struct Snapshot {
    seq: SequenceNumber,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    pub fn sequence(&self) -> SequenceNumber {
        self.seq
    }

    pub(crate) fn belongs_to(&self, list: &Arc<SnapshotList>) -> bool {
        Arc::ptr_eq(&self.list, list)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot(seq={})", self.seq)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.seq);
    }
}
