//! Group commit: writers queue up; the writer at the front becomes the leader, takes the
//! batches queued behind it as one group, commits them with one WAL record and at most one
//! fsync, and wakes the followers with the shared result. While a leader is syncing, new
//! writers accumulate, so the next group is larger: fsync cost is amortised under load.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::batch::WriteBatch;
use crate::error::Result;

/// Groups stop growing at this many bytes, so one leader's latency stays bounded.
const MAX_GROUP_BYTES: usize = 1 << 20;
/// A small leading batch only waits for this much company, to keep small writes fast.
const SMALL_BATCH_BYTES: usize = 128 << 10;

pub(crate) struct Waiter {
    /// Points at the batch of the thread blocked in `WriteQueue::submit`. That thread does not
    /// return, so the batch stays alive and unchanged, until `done` is set; the leader reads
    /// the batch only before setting `done`.
    batch: *const WriteBatch,
    sync: bool,
    /// Set by the leader, under the queue lock, after storing `result`.
    done: AtomicBool,
    result: Mutex<Option<Result<()>>>,
    /// Waited on with the queue lock.
    cv: Condvar,
}

// SAFETY: see `batch`: the pointee is only read while its owner is blocked in `submit`.
unsafe impl Send for Waiter {}
unsafe impl Sync for Waiter {}

impl Waiter {
    pub fn batch(&self) -> &WriteBatch {
        // SAFETY: see the field comment.
        unsafe { &*self.batch }
    }
}

#[derive(Default)]
pub(crate) struct WriteQueue {
    queue: Mutex<VecDeque<Arc<Waiter>>>,
}

/// The group a leader commits; the leader's own batch is first.
pub(crate) struct Group {
    pub members: Vec<Arc<Waiter>>,
    pub sync: bool,
}

impl Group {
    pub fn batches(&self) -> impl Iterator<Item = &WriteBatch> {
        self.members.iter().map(|w| w.batch())
    }
}

impl WriteQueue {
    /// Queues `batch` and returns once it is committed: by this thread as leader, through
    /// `commit`, or by another leader whose group included it.
    pub fn submit(
        &self,
        batch: &WriteBatch,
        sync: bool,
        commit: impl FnOnce(&Group) -> Result<()>,
    ) -> Result<()> {
        let me = Arc::new(Waiter {
            batch,
            sync,
            done: AtomicBool::new(false),
            result: Mutex::new(None),
            cv: Condvar::new(),
        });
        let mut q = self.queue.lock();
        q.push_back(me.clone());
        while !me.done.load(Ordering::Acquire) && !Arc::ptr_eq(q.front().expect("queued"), &me) {
            me.cv.wait(&mut q);
        }
        if me.done.load(Ordering::Acquire) {
            drop(q);
            return me.result.lock().take().expect("leader stored a result");
        }

        // Leader: take the group.
        let mut members = Vec::new();
        let mut bytes = 0;
        let mut group_sync = false;
        let mut limit = MAX_GROUP_BYTES;
        for (i, w) in q.iter().enumerate() {
            let size = w.batch().size_bytes();
            if i == 0 {
                if size <= SMALL_BATCH_BYTES {
                    limit = size + SMALL_BATCH_BYTES;
                }
            } else if bytes + size > limit {
                break;
            }
            bytes += size;
            group_sync |= w.sync;
            members.push(w.clone());
        }
        drop(q);

        let group = Group {
            members,
            sync: group_sync,
        };
        let result = commit(&group);

        let mut q = self.queue.lock();
        for (i, m) in group.members.iter().enumerate() {
            let front = q.pop_front().expect("group members are queued");
            debug_assert!(Arc::ptr_eq(&front, m));
            if i > 0 {
                *m.result.lock() = Some(match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(e.duplicate()),
                });
                m.done.store(true, Ordering::Release);
                m.cv.notify_one();
            }
        }
        if let Some(next) = q.front() {
            next.cv.notify_one();
        }
        drop(q);
        result
    }
}
