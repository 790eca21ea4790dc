//! Group commit: writers queue up; the writer at the front becomes the leader, takes the
//! batches queued behind it as one group, commits them with one WAL record and at most one
//! fsync, and wakes the followers with the shared result. While a leader is syncing, new
//! writers accumulate, so the next group is larger: fsync cost is amortised under load.
//!
//! Each writer's `Waiter` lives on its own stack (no allocation per write). That is sound
//! because every access to a waiter by another thread happens under the queue lock, and its
//! owner only leaves `submit` after observing `done` under that same lock — which the leader
//! holds from setting `done` until after it has signalled.

use std::cell::UnsafeCell;
use std::collections::VecDeque;

use parking_lot::{Condvar, Mutex};
use smallvec::SmallVec;

use crate::batch::WriteBatch;
use crate::error::Result;

/// Groups stop growing at this many bytes, so one leader's latency stays bounded.
const MAX_GROUP_BYTES: usize = 1 << 20;
/// A small leading batch only waits for this much company, to keep small writes fast.
const SMALL_BATCH_BYTES: usize = 128 << 10;

struct Waiter<'a> {
    batch: &'a WriteBatch,
    sync: bool,
    periodic: bool,
    /// Written by the leader under the queue lock; read by the owner under the queue lock.
    done: UnsafeCell<bool>,
    result: UnsafeCell<Option<Result<()>>>,
    /// Waited on with the queue lock.
    cv: Condvar,
}

/// A queued waiter. Raw because waiters live on their owners' stacks; see the module docs.
#[derive(Clone, Copy)]
struct WaiterPtr(*const Waiter<'static>);

// SAFETY: a waiter is only touched under the queue lock while its owner is blocked in
// `submit`, which keeps it (and the batch it borrows) alive.
unsafe impl Send for WaiterPtr {}

#[derive(Default)]
pub(crate) struct WriteQueue {
    queue: Mutex<VecDeque<WaiterPtr>>,
}

/// The group a leader commits; the leader's own batch is first.
pub(crate) struct Group<'a> {
    batches: SmallVec<[&'a WriteBatch; 8]>,
    /// Some member asked for `Sync`: fdatasync before acknowledging.
    pub sync: bool,
    /// Some member asked for `Periodic`: mark the WAL for the background syncer.
    pub periodic: bool,
}

impl Group<'_> {
    pub fn batches(&self) -> impl Iterator<Item = &WriteBatch> {
        self.batches.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.batches.len()
    }
}

impl WriteQueue {
    /// Queues `batch` and returns once it is committed: by this thread as leader, through
    /// `commit`, or by another leader whose group included it.
    pub fn submit(
        &self,
        batch: &WriteBatch,
        sync: bool,
        periodic: bool,
        commit: impl FnOnce(&Group<'_>) -> Result<()>,
    ) -> Result<()> {
        let me = Waiter {
            batch,
            sync,
            periodic,
            done: UnsafeCell::new(false),
            result: UnsafeCell::new(None),
            cv: Condvar::new(),
        };
        let me_ptr = WaiterPtr(std::ptr::from_ref(&me).cast::<Waiter<'static>>());
        let mut q = self.queue.lock();
        q.push_back(me_ptr);
        // SAFETY (all `unsafe` below): `done`/`result` are only accessed under the queue lock.
        while !unsafe { *me.done.get() } && q.front().expect("queued").0 != me_ptr.0 {
            me.cv.wait(&mut q);
        }
        if unsafe { *me.done.get() } {
            let result = unsafe { (*me.result.get()).take() };
            drop(q);
            return result.expect("leader stored a result");
        }

        // Leader: take the group. Followers stay blocked until we mark them done.
        let mut members: SmallVec<[WaiterPtr; 8]> = SmallVec::new();
        let mut batches: SmallVec<[&WriteBatch; 8]> = SmallVec::new();
        let mut bytes = 0;
        let mut group_sync = false;
        let mut group_periodic = false;
        let mut limit = MAX_GROUP_BYTES;
        for (i, w) in q.iter().enumerate() {
            // SAFETY: queued waiters are alive (their owners are blocked).
            let w_ref: &Waiter<'_> = unsafe { &*w.0 };
            let size = w_ref.batch.size_bytes();
            if i == 0 {
                if size <= SMALL_BATCH_BYTES {
                    limit = size + SMALL_BATCH_BYTES;
                }
            } else if bytes + size > limit {
                break;
            }
            bytes += size;
            group_sync |= w_ref.sync;
            group_periodic |= w_ref.periodic;
            members.push(*w);
            batches.push(w_ref.batch);
        }
        drop(q);

        let group = Group {
            batches,
            sync: group_sync,
            periodic: group_periodic,
        };
        // A panic inside commit must not leave the followers waiting forever: they get an
        // error, then the panic continues.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commit(&group)));
        let (result, panic) = match outcome {
            Ok(r) => (r, None),
            Err(p) => (
                Err(crate::error::Error::Background(
                    "a writer panicked while committing".into(),
                )),
                Some(p),
            ),
        };

        let mut q = self.queue.lock();
        for (i, m) in members.iter().enumerate() {
            let front = q.pop_front().expect("group members are queued");
            debug_assert_eq!(front.0, m.0);
            if i > 0 {
                // SAFETY: the follower is blocked until it sees `done` under this lock.
                let w: &Waiter<'_> = unsafe { &*m.0 };
                unsafe {
                    *w.result.get() = Some(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(e.duplicate()),
                    });
                    *w.done.get() = true;
                }
                w.cv.notify_one();
            }
        }
        if let Some(next) = q.front() {
            // SAFETY: queued waiters are alive.
            unsafe { &*next.0 }.cv.notify_one();
        }
        drop(q);
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        result
    }
}
