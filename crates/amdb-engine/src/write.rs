//! The write path: validate, queue for group commit, and as leader make room in the
//! memtables (applying backpressure), append the group's WAL record, sync per durability,
//! insert into memtables and publish the new sequence.
//!
//! Why acknowledged `Sync` writes survive a crash: the leader returns success only after the
//! record holding the write is fdatasynced; recovery replays every intact record of every
//! live WAL; a record is intact or discarded as a whole (one CRC); and a WAL file is deleted
//! only after a MANIFEST edit recording that its data is in synced tables.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::{self, WriteBatch};
use crate::db_inner::{CommitState, DbInner};
use crate::error::{Error, Result};
use crate::keyspace::KeyspaceState;
use crate::ledger::audit;
use crate::ledger::marker::Marker;
use crate::ledger::service::{Job, Ledger};
use crate::memtable::{MemTable, MemTableWriter};
use crate::options::{Durability, WriteOptions};
use crate::write_queue::Group;
use smallvec::SmallVec;
use std::ops::Range;

impl DbInner {
    pub fn write(&self, batch: &WriteBatch, opts: &WriteOptions) -> Result<()> {
        self.check_writable()?;
        if batch.size_bytes() > self.opts.max_batch_bytes {
            return Err(Error::BatchTooLarge {
                size: batch.size_bytes(),
                max: self.opts.max_batch_bytes,
            });
        }
        if batch.is_empty() {
            return Ok(());
        }
        {
            let map = self.keyspaces.load();
            for &id in batch.keyspace_ids() {
                let Some(ks) = map.get(id) else {
                    return Err(Error::InvalidArgument(format!(
                        "batch refers to keyspace id {id}, which this database does not have"
                    )));
                };
                if self
                    .ledger
                    .as_ref()
                    .is_some_and(|l| id == l.ks || id == l.audit_ks)
                {
                    return Err(Error::InvalidArgument(format!(
                        "keyspace {:?} is written only by the engine",
                        ks.name
                    )));
                }
            }
        }
        if batch.audit().is_some() && self.ledger.is_none() {
            return Err(Error::InvalidArgument(
                "audit records need a database created with a ledger (Options::ledger)".into(),
            ));
        }
        let durability = opts.durability.unwrap_or(self.opts.durability);
        let sync = durability == Durability::Sync;
        let periodic = match durability {
            Durability::Periodic(d) => {
                // The background syncer honours the shortest interval any write asked for.
                let ms = (d.as_millis() as u64).max(1);
                self.periodic_sync_ms.fetch_min(ms, Ordering::Relaxed);
                true
            }
            _ => false,
        };
        self.queue
            .submit(batch, sync, periodic, |group| self.commit_group(group))
    }

    fn commit_group(&self, group: &Group) -> Result<()> {
        let mut commit = self.commit.lock();
        self.check_writable()?;

        // Make room in every keyspace the group touches. Only then take their memtables:
        // making room for one keyspace may seal another's (see `seal_memtable`), and once
        // this loop is done nothing can seal until `commit` is released.
        let map = self.keyspaces.load();
        let mut targets: SmallVec<[&Arc<KeyspaceState>; 2]> = SmallVec::new();
        let ledger = self.ledger.as_ref();
        let engine_ids: SmallVec<[u32; 2]> = match ledger {
            Some(l) if group.batches().any(|b| b.audit().is_some()) => {
                SmallVec::from_slice(&[l.ks, l.audit_ks])
            }
            Some(l) => SmallVec::from_slice(&[l.ks]),
            None => SmallVec::new(),
        };
        for b in group.batches() {
            for &id in b.keyspace_ids().iter().chain(&engine_ids) {
                if targets.iter().all(|k| k.id != id) {
                    let ks = map.get(id).ok_or_else(|| {
                        Error::InvalidArgument(format!("unknown keyspace id {id}"))
                    })?;
                    self.make_room(&mut commit, ks)?;
                    targets.push(ks);
                }
            }
        }
        let mems: SmallVec<[(u32, Arc<MemTable>); 2]> = targets
            .iter()
            .map(|k| (k.id, k.sv.load().mem.clone()))
            .collect();

        // With a ledger each batch is a transaction: a marker entry before its entries and
        // its audit record, if any, after them (see `ledger::marker`, `ledger::audit`).
        let stamps = ledger.map(|l| stamp_transactions(l, &mut commit, group));
        let count: u64 = group.batches().map(|b| b.len() as u64).sum::<u64>()
            + stamps.as_ref().map_or(0, |st| st.entries);
        let first_seq = commit.last_seq + 1;
        let mut header = [0u8; batch::HEADER_LEN];
        batch::encode_header(&mut header, first_seq, count as u32);
        let mut parts: SmallVec<[&[u8]; 8]> = SmallVec::new();
        parts.push(&header);
        match &stamps {
            Some(st) => {
                for (b, (marker, audit)) in group.batches().zip(&st.ranges) {
                    parts.push(&st.bytes[marker.clone()]);
                    parts.push(b.entries_bytes());
                    if !audit.is_empty() {
                        parts.push(&st.bytes[audit.clone()]);
                    }
                }
            }
            None => parts.extend(group.batches().map(|b| b.entries_bytes())),
        }

        let wal = commit.wal.as_mut().ok_or(Error::ReadOnly)?;
        let before = wal.len();
        if let Err(e) = wal.add_record(&parts) {
            // The WAL may now end in a partial record; appending after it would hide later
            // records from recovery, so stop accepting writes.
            self.set_bg_error(e.duplicate());
            return Err(e);
        }
        let wal_bytes = wal.len() - before;
        if group.sync {
            if let Err(e) = wal.sync() {
                self.set_bg_error(e.duplicate());
                return Err(e);
            }
            self.counters.add(&self.counters.wal_syncs, 1);
        } else if group.periodic {
            self.wal_dirty.store(true, Ordering::Release);
        }
        let wal_number = commit.wal_number;
        if let Some(l) = ledger {
            let mut entries = l.job_buffer();
            entries.reserve(parts[1..].iter().map(|p| p.len()).sum());
            parts[1..].iter().for_each(|p| entries.extend_from_slice(p));
            l.push(Job { first_seq, entries });
        }

        // Apply to memtables. Every member batch was built by `WriteBatch`, so it decodes.
        let mut writers: SmallVec<[(u32, MemTableWriter<'_>); 2]> = mems
            .iter()
            .map(|(id, m)| (*id, m.writer(wal_number)))
            .collect();
        let mut seq = first_seq;
        let mut user_bytes = 0u64;
        for part in &parts[1..] {
            for e in batch::EntryIter::new(part) {
                let w = match writers.len() {
                    1 => &mut writers[0].1,
                    _ => {
                        &mut writers
                            .iter_mut()
                            .find(|(id, _)| *id == e.keyspace)
                            .expect("keyspace resolved above")
                            .1
                    }
                };
                w.add(seq, e.kind, e.key, e.value);
                user_bytes += (e.key.len() + e.value.len()) as u64;
                seq += 1;
            }
        }
        drop(writers);
        if let Some(st) = &stamps {
            commit.ledger_tx = st.last_tx;
            commit.ledger_time_ns = st.time_ns;
        }
        commit.last_seq = seq - 1;
        self.visible_seq.store(commit.last_seq, Ordering::Release);

        let c = &self.counters;
        c.add(&c.batches_written, group.len() as u64);
        c.add(&c.entries_written, count);
        c.add(&c.user_bytes_written, user_bytes);
        c.add(&c.wal_records, 1);
        c.add(&c.wal_bytes, wal_bytes);
        if group.len() > 1 {
            c.add(&c.group_followers, group.len() as u64 - 1);
            c.group_max_batches
                .fetch_max(group.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Ensures `ks` can take more writes: delays writes once when L0 is filling up, seals a
    /// full memtable, and waits when sealed memtables or L0 files pile up beyond the limits.
    fn make_room(&self, commit: &mut CommitState, ks: &KeyspaceState) -> Result<()> {
        let mut allow_delay = true;
        let auto = !self.opts.disable_auto_compaction;
        loop {
            self.check_writable()?;
            let sv = ks.sv.load();
            let l0 = sv.version.levels[0].len();
            if auto && allow_delay && l0 >= self.opts.l0_slowdown_trigger {
                // Spread the cost of a compaction backlog over many writes instead of one
                // long stall later.
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(1));
                self.counters.add(&self.counters.stall_slowdowns, 1);
                self.counters
                    .add(&self.counters.stall_micros, t.elapsed().as_micros() as u64);
                allow_delay = false;
                continue;
            }
            if sv.mem.is_empty() || sv.mem.approximate_memory_usage() < self.opts.write_buffer_size
            {
                return Ok(());
            }
            drop(sv);
            let mut st = self.state.lock();
            let sv = ks.sv.load_full();
            let l0 = sv.version.levels[0].len();
            if sv.imms.len() >= self.opts.max_immutable_memtables
                || (auto && l0 >= self.opts.l0_stop_trigger)
            {
                let t = Instant::now();
                self.counters.add(&self.counters.stall_stops, 1);
                self.wait_bg(&mut st);
                self.counters
                    .add(&self.counters.stall_micros, t.elapsed().as_micros() as u64);
                continue;
            }
            self.seal_memtable(commit, &mut st, ks)?;
        }
    }
}

/// The engine's entries for one group: per batch, the byte ranges of its marker and of its
/// audit entry (empty if none) in `bytes`.
struct Stamps {
    bytes: Vec<u8>,
    ranges: SmallVec<[(Range<usize>, Range<usize>); 8]>,
    /// How many entries `bytes` holds.
    entries: u64,
    last_tx: u64,
    time_ns: i64,
}

/// Numbers the group's batches as the next transactions and times them all now, but never
/// before the previous transaction, so times never go backwards whatever the clock does.
fn stamp_transactions(ledger: &Ledger, commit: &mut CommitState, group: &Group) -> Stamps {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let time_ns = now.max(commit.ledger_time_ns);
    let mut st = Stamps {
        bytes: Vec::with_capacity(group.len() * 32),
        ranges: SmallVec::new(),
        entries: 0,
        last_tx: commit.ledger_tx,
        time_ns,
    };
    for b in group.batches() {
        st.last_tx += 1;
        let m = Marker {
            tx: st.last_tx,
            time_ns,
            count: b.len() as u32 + u32::from(b.audit().is_some()),
        };
        let start = st.bytes.len();
        batch::encode_put(&mut st.bytes, ledger.ks, &m.key(), &m.value());
        let marker = start..st.bytes.len();
        let audit_start = st.bytes.len();
        if let Some(info) = b.audit() {
            let key = audit::key(time_ns, st.last_tx);
            batch::encode_put(
                &mut st.bytes,
                ledger.audit_ks,
                &key,
                &audit::encode_value(info),
            );
            st.entries += 1;
        }
        st.ranges.push((marker, audit_start..st.bytes.len()));
        st.entries += 1;
    }
    st
}
