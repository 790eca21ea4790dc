//! `Market`: series of bars on the engine. Writes merge new bars into immutable chunks and
//! publish a new series version in one atomic batch; reads resolve a version (latest, by
//! number or by time) under one snapshot and decode its chunks in parallel.
//!
//! Invariants:
//! - A version lists chunks sorted by first timestamp with disjoint ranges; together they hold
//!   the series' bars strictly ascending by timestamp.
//! - A chunk is written before or with the version that first lists it and is deleted only
//!   when no remaining version lists it (prune), so every stored version stays readable.
//! - Writes of one series are serialised by an in-process lock; the engine's LOCK file makes
//!   this process the only writer of the directory.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use amdb_engine::{
    Compression, Db, Durability, Keyspace, KeyspaceOptions, ReadOptions, Snapshot, WriteBatch,
    WriteOptions,
};
use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;

use crate::bar::Bars;
use crate::chunk::{decode_chunk_into, encode_chunk};
use crate::error::{Error, Result};
use crate::keys::{self, chunk_key, series_key, version_key, version_prefix};
use crate::timeframe::Timeframe;
use crate::version::{ChunkRef, VersionRecord};

/// Rows per chunk unless set: measured in BENCHMARKS.md ("chunk size").
pub const DEFAULT_CHUNK_ROWS: usize = 8_192;
/// New chunks of one write are put in batches of about this size before the version record
/// that publishes them, so huge imports stay under the engine's batch limit.
const MAX_CHUNK_BATCH_BYTES: usize = 32 << 20;

#[derive(Debug, Clone)]
pub struct MarketOptions {
    /// Target rows per chunk. Larger chunks compress better and read faster in bulk; smaller
    /// ones make upserts into old data cheaper.
    pub chunk_rows: usize,
    /// Durability of writes; `None` uses the database's (`Sync` unless changed).
    pub durability: Option<Durability>,
}

impl Default for MarketOptions {
    fn default() -> Self {
        MarketOptions {
            chunk_rows: DEFAULT_CHUNK_ROWS,
            durability: None,
        }
    }
}

/// Which version of a series a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AsOf {
    #[default]
    Latest,
    /// That version number (see [`Market::versions`]).
    Version(u64),
    /// The newest version written at or before this time (UTC ns).
    Time(i64),
}

/// A read: the half-open time range `[from, to)` (unbounded where `None`) of one version.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub as_of: AsOf,
}

impl Query {
    pub fn all() -> Query {
        Query::default()
    }

    fn lo(&self) -> i64 {
        self.from.unwrap_or(i64::MIN)
    }

    /// Inclusive upper bound.
    fn hi_inclusive(&self) -> Option<i64> {
        match self.to {
            Some(i64::MIN) => None,
            Some(t) => Some(t - 1),
            None => Some(i64::MAX),
        }
    }

    fn overlaps(&self, c: &ChunkRef) -> bool {
        match self.hi_inclusive() {
            Some(hi) => c.last_ts >= self.lo() && c.first_ts <= hi,
            None => false,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub version: u64,
    /// Input rows after removing repeated timestamps (the last one wins).
    pub rows_written: usize,
    /// Rows of the series after the write.
    pub rows_total: u64,
    pub chunks_written: usize,
    /// Chunks of the previous version rewritten (merged with new rows or small tails).
    pub chunks_replaced: usize,
    pub bytes_written: usize,
}

/// One series version, as `versions` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: u64,
    pub created_ns: i64,
    pub rows: u64,
    pub chunks: usize,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

/// A stored series and its latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesInfo {
    pub symbol: String,
    pub timeframe: Timeframe,
    pub latest: VersionInfo,
}

/// Which old versions `prune` keeps. A version is kept when any given rule keeps it; the
/// latest version is always kept; with no rule at all, nothing is deleted but unreferenced
/// chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrunePolicy {
    /// Keep the newest N versions.
    pub keep_last: Option<usize>,
    /// Keep versions created at or after this time (UTC ns).
    pub keep_newer_than: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub versions_deleted: usize,
    pub versions_kept: usize,
    pub chunks_deleted: usize,
}

/// A missing stretch of bars: `missing` expected bars from `from` up to (not including) `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: i64,
    pub to: i64,
    pub missing: u64,
}

#[derive(Clone)]
pub(crate) struct Keyspaces {
    pub series: Keyspace,
    pub versions: Keyspace,
    pub chunks: Keyspace,
    pub meta: Keyspace,
    pub events: Keyspace,
}

/// Market data on one engine. Cheap to share across threads (`&Market` or `Arc<Market>`).
pub struct Market {
    db: Db,
    ks: Option<Keyspaces>,
    opts: MarketOptions,
    shared: Arc<Shared>,
}

/// The locks and caches that keep writers of one database consistent. Every `Market` over
/// the same directory in this process uses the same `Shared` (the engine's LOCK file keeps
/// other processes from writing), so two `Market`s built from clones of one `Db` cannot
/// both hand out a series id or sequence number, or both publish the same version.
#[derive(Default)]
struct Shared {
    series_ids: RwLock<HashMap<(String, Timeframe), u32>>,
    registry_lock: Mutex<()>,
    series_locks: Mutex<HashMap<u32, Arc<Mutex<()>>>>,
    event_seq: Mutex<crate::events::SeqLease>,
}

impl Shared {
    /// The state of the database in `dir`, shared with every live `Market` on it.
    fn for_dir(dir: &std::path::Path) -> Arc<Shared> {
        static REGISTRY: Mutex<Vec<(std::path::PathBuf, std::sync::Weak<Shared>)>> =
            Mutex::new(Vec::new());
        let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut reg = REGISTRY.lock();
        reg.retain(|(_, w)| w.strong_count() > 0);
        if let Some(shared) = reg
            .iter()
            .find(|(p, _)| *p == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return shared;
        }
        let shared = Arc::new(Shared::default());
        reg.push((key, Arc::downgrade(&shared)));
        shared
    }
}

impl Market {
    /// Market data in `db`. A writable database gets the market keyspaces created; a
    /// read-only one without them reads as empty.
    pub fn new(db: Db, opts: MarketOptions) -> Result<Market> {
        if opts.chunk_rows == 0 || opts.chunk_rows > crate::chunk::MAX_ROWS as usize {
            return Err(Error::InvalidArgument(format!(
                "chunk_rows {} must be between 1 and {}",
                opts.chunk_rows,
                crate::chunk::MAX_ROWS
            )));
        }
        let ks = if db.is_read_only() {
            match (
                db.keyspace(keys::SERIES_KS),
                db.keyspace(keys::VERSIONS_KS),
                db.keyspace(keys::CHUNKS_KS),
                db.keyspace(keys::META_KS),
                db.keyspace(keys::EVENTS_KS),
            ) {
                (Ok(series), Ok(versions), Ok(chunks), Ok(meta), Ok(events)) => Some(Keyspaces {
                    series,
                    versions,
                    chunks,
                    meta,
                    events,
                }),
                _ => None,
            }
        } else {
            let small = KeyspaceOptions::default();
            // Chunks are compressed by their codecs already; a second LZ4 pass would only
            // cost time. Large blocks keep a chunk in few blocks.
            let chunks = KeyspaceOptions {
                compression: Compression::None,
                block_size: 64 << 10,
                ..KeyspaceOptions::default()
            };
            Some(Keyspaces {
                series: db.open_keyspace(keys::SERIES_KS, small.clone())?,
                versions: db.open_keyspace(keys::VERSIONS_KS, small.clone())?,
                chunks: db.open_keyspace(keys::CHUNKS_KS, chunks)?,
                meta: db.open_keyspace(keys::META_KS, small.clone())?,
                events: db.open_keyspace(keys::EVENTS_KS, small)?,
            })
        };
        // Read-only handles write nothing, so they need no shared write state (and their
        // caches must not outlive what they can see).
        let shared = if db.is_read_only() {
            Arc::new(Shared::default())
        } else {
            Shared::for_dir(db.path())
        };
        Ok(Market {
            db,
            ks,
            opts,
            shared,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Closes the database (syncs the WAL, stops background work).
    pub fn close(self) -> Result<()> {
        Ok(self.db.close()?)
    }

    pub fn options(&self) -> &MarketOptions {
        &self.opts
    }

    pub(crate) fn keyspaces(&self) -> Option<&Keyspaces> {
        self.ks.as_ref()
    }

    pub(crate) fn event_seq(&self) -> &Mutex<crate::events::SeqLease> {
        &self.shared.event_seq
    }

    pub(crate) fn write_options(&self) -> WriteOptions {
        WriteOptions {
            durability: self.opts.durability,
        }
    }

    // ---- series registry ----

    fn lookup_series(
        &self,
        symbol: &str,
        tf: Timeframe,
        snap: Option<&Snapshot>,
    ) -> Result<Option<u32>> {
        if let Some(id) = self.shared.series_ids.read().get(&(symbol.to_string(), tf)) {
            return Ok(Some(*id));
        }
        let Some(ks) = &self.ks else { return Ok(None) };
        let mut ro = ReadOptions::new();
        if let Some(s) = snap {
            ro = ro.snapshot(s);
        }
        let Some(v) = self.db.get_opt(&ks.series, series_key(symbol, tf), &ro)? else {
            return Ok(None);
        };
        let id = decode_u32(&v).ok_or_else(|| {
            Error::corrupt(
                format!("series registry entry {symbol} {tf}"),
                "not 4 bytes",
            )
        })?;
        self.shared
            .series_ids
            .write()
            .insert((symbol.to_string(), tf), id);
        Ok(Some(id))
    }

    /// The series id, registering the series (one small durable write) if it is new.
    fn series_id_or_register(&self, symbol: &str, tf: Timeframe) -> Result<u32> {
        keys::validate_symbol(symbol).map_err(Error::InvalidArgument)?;
        if let Some(id) = self.lookup_series(symbol, tf, None)? {
            return Ok(id);
        }
        let ks = self.writable_ks()?;
        let _guard = self.shared.registry_lock.lock();
        if let Some(id) = self.lookup_series(symbol, tf, None)? {
            return Ok(id);
        }
        let next = match self.db.get(&ks.meta, keys::NEXT_SERIES_ID)? {
            Some(v) => decode_u32(&v)
                .ok_or_else(|| Error::corrupt("next_series_id counter", "not 4 bytes"))?,
            None => 1,
        };
        let mut batch = WriteBatch::new();
        batch.put(&ks.series, series_key(symbol, tf), next.to_le_bytes());
        batch.put(&ks.meta, keys::NEXT_SERIES_ID, (next + 1).to_le_bytes());
        self.db.write_opt(&batch, &self.write_options())?;
        self.shared
            .series_ids
            .write()
            .insert((symbol.to_string(), tf), next);
        Ok(next)
    }

    fn writable_ks(&self) -> Result<&Keyspaces> {
        match &self.ks {
            Some(ks) if !self.db.is_read_only() => Ok(ks),
            _ => Err(Error::Engine(amdb_engine::Error::ReadOnly)),
        }
    }

    fn series_lock(&self, id: u32) -> Arc<Mutex<()>> {
        self.shared
            .series_locks
            .lock()
            .entry(id)
            .or_default()
            .clone()
    }

    fn no_such_series(symbol: &str, tf: Timeframe) -> Error {
        Error::NoSuchSeries {
            symbol: symbol.to_string(),
            timeframe: tf.to_string(),
        }
    }

    // ---- versions ----

    fn latest_version(&self, id: u32, snap: Option<&Snapshot>) -> Result<Option<VersionRecord>> {
        let ks = self.ks.as_ref().expect("series exist only with keyspaces");
        let mut ro = ReadOptions::new().prefix(&version_prefix(id));
        if let Some(s) = snap {
            ro = ro.snapshot(s);
        }
        let mut it = self.db.iter(&ks.versions, &ro)?;
        it.seek_to_last();
        if !it.valid() {
            it.status()?;
            return Ok(None);
        }
        VersionRecord::decode(it.value()).map(Some)
    }

    fn all_versions(&self, id: u32, snap: Option<&Snapshot>) -> Result<Vec<VersionRecord>> {
        let ks = self.ks.as_ref().expect("series exist only with keyspaces");
        let mut ro = ReadOptions::new().prefix(&version_prefix(id));
        if let Some(s) = snap {
            ro = ro.snapshot(s);
        }
        let mut out = Vec::new();
        for entry in self.db.iter(&ks.versions, &ro)?.forward() {
            let (_, v) = entry?;
            out.push(VersionRecord::decode(&v)?);
        }
        Ok(out)
    }

    fn resolve(
        &self,
        symbol: &str,
        tf: Timeframe,
        id: u32,
        as_of: AsOf,
        snap: &Snapshot,
    ) -> Result<VersionRecord> {
        let found = match as_of {
            AsOf::Latest => self.latest_version(id, Some(snap))?,
            AsOf::Version(v) => {
                let ks = self.ks.as_ref().expect("series exist only with keyspaces");
                let ro = ReadOptions::new().snapshot(snap);
                match self.db.get_opt(&ks.versions, version_key(id, v), &ro)? {
                    Some(rec) => Some(VersionRecord::decode(&rec)?),
                    None => {
                        return Err(Error::NoSuchVersion {
                            symbol: symbol.to_string(),
                            timeframe: tf.to_string(),
                            version: v,
                        })
                    }
                }
            }
            AsOf::Time(t) => match self.newest_version_at(id, t, snap)? {
                Some(v) => Some(v),
                None => {
                    return Err(Error::InvalidArgument(format!(
                        "series {symbol} {tf} has no version written at or before {}",
                        crate::time::format_time(t)
                    )))
                }
            },
        };
        found.ok_or_else(|| Self::no_such_series(symbol, tf))
    }

    /// The newest version created at or before `t`: versions are walked newest first, and
    /// `created_ns` never decreases with the version number.
    fn newest_version_at(&self, id: u32, t: i64, snap: &Snapshot) -> Result<Option<VersionRecord>> {
        let ks = self.ks.as_ref().expect("series exist only with keyspaces");
        let ro = ReadOptions::new()
            .snapshot(snap)
            .prefix(&version_prefix(id));
        let mut it = self.db.iter(&ks.versions, &ro)?;
        it.seek_to_last();
        while it.valid() {
            let v = VersionRecord::decode(it.value())?;
            if v.created_ns <= t {
                return Ok(Some(v));
            }
            it.prev();
        }
        it.status()?;
        Ok(None)
    }

    /// Every stored version of the series, oldest first.
    pub fn versions(&self, symbol: &str, tf: Timeframe) -> Result<Vec<VersionInfo>> {
        let snap = self.db.snapshot();
        let id = self
            .lookup_series(symbol, tf, Some(&snap))?
            .ok_or_else(|| Self::no_such_series(symbol, tf))?;
        Ok(self
            .all_versions(id, Some(&snap))?
            .iter()
            .map(version_info)
            .collect())
    }

    /// Every series with its latest version, sorted by symbol then timeframe.
    pub fn series(&self) -> Result<Vec<SeriesInfo>> {
        let Some(ks) = &self.ks else {
            return Ok(Vec::new());
        };
        let snap = self.db.snapshot();
        let ro = ReadOptions::new().snapshot(&snap);
        let mut out = Vec::new();
        for entry in self.db.iter(&ks.series, &ro)?.forward() {
            let (k, v) = entry?;
            let (symbol, timeframe) = keys::parse_series_key(&k)
                .ok_or_else(|| Error::corrupt("series registry key", format!("{k:?}")))?;
            let id = decode_u32(&v)
                .ok_or_else(|| Error::corrupt("series registry entry", "not 4 bytes"))?;
            if let Some(latest) = self.latest_version(id, Some(&snap))? {
                out.push(SeriesInfo {
                    symbol,
                    timeframe,
                    latest: version_info(&latest),
                });
            }
        }
        out.sort_by(|a, b| (&a.symbol, a.timeframe).cmp(&(&b.symbol, b.timeframe)));
        Ok(out)
    }

    // ---- writes ----

    /// Upserts `bars` into the series (created if new): rows are validated (any bad row
    /// fails the whole write, nothing stored), sorted, deduplicated (the last row of a
    /// timestamp wins), merged over existing rows with the same timestamps, and published as
    /// a new version in one atomic batch.
    pub fn write(&self, symbol: &str, tf: Timeframe, mut bars: Bars) -> Result<WriteReport> {
        if let Err((row, problem)) = bars.check() {
            return Err(Error::BadBar {
                row,
                ts: bars.ts[row],
                problem,
            });
        }
        if bars.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "no bars to write to {symbol} {tf}"
            )));
        }
        bars.sort_dedup_last_wins();
        let ks = self.writable_ks()?.clone();
        let id = self.series_id_or_register(symbol, tf)?;
        let lock = self.series_lock(id);
        let _guard = lock.lock();
        let latest = self.latest_version(id, None)?.unwrap_or_default();
        let plan = self.plan_write(id, &latest, bars)?;
        self.commit_plan(&ks, id, &latest, plan)
    }

    /// Decides which chunks the new rows replace and what the new chunks hold.
    fn plan_write(&self, id: u32, latest: &VersionRecord, new: Bars) -> Result<WritePlan> {
        let target = self.opts.chunk_rows;
        let chunks = &latest.chunks;
        let (nmin, nmax) = (new.ts[0], *new.ts.last().expect("non-empty"));
        let rows_written = new.len();
        // Chunks whose ranges intersect the new rows' range: contiguous, as ranges are sorted
        // and disjoint.
        let mut lo = chunks.partition_point(|c| c.last_ts < nmin);
        let mut hi = chunks.partition_point(|c| c.first_ts <= nmax);
        // A small write that falls between chunks absorbs small neighbours instead of leaving
        // a fragment in the middle of the series.
        if hi < chunks.len() {
            let mut rows = new.len()
                + chunks[lo..hi]
                    .iter()
                    .map(|c| c.rows as usize)
                    .sum::<usize>();
            if lo > 0 && rows + (chunks[lo - 1].rows as usize) <= target && rows < target / 2 {
                lo -= 1;
                rows += chunks[lo].rows as usize;
            }
            if rows + (chunks[hi].rows as usize) <= target && rows < target / 2 {
                hi += 1;
            }
        }
        let mut merged = if lo == hi {
            new
        } else {
            let old = self.decode_chunks(id, &chunks[lo..hi], None)?;
            merge_new_wins(&old, &new)
        };
        let mut replaced: Vec<ChunkRef> = chunks[lo..hi].to_vec();
        let mut prefix_end = lo;
        // Appends merge small tail chunks like a binary counter: a tail chunk is rewritten
        // only while it is no more than twice the size of what follows it, so a series
        // appended one bar at a time keeps O(log chunk_rows) tail chunks and each row is
        // rewritten O(log chunk_rows) times.
        if hi == chunks.len() {
            while prefix_end > 0 {
                let prev = chunks[prefix_end - 1];
                let tail_rows = merged.len() % target;
                let tail_rows = if tail_rows == 0 { target } else { tail_rows };
                let p = prev.rows as usize;
                if merged.len() <= target
                    && p < target
                    && p + merged.len() <= target
                    && p <= 2 * tail_rows
                {
                    let mut older = self.decode_chunks(id, &[prev], None)?;
                    older.extend_from(&merged);
                    merged = older;
                    replaced.insert(0, prev);
                    prefix_end -= 1;
                } else {
                    break;
                }
            }
        }
        Ok(WritePlan {
            keep_before: chunks[..prefix_end].to_vec(),
            keep_after: chunks[hi..].to_vec(),
            replaced,
            rows: merged,
            rows_written,
        })
    }

    fn commit_plan(
        &self,
        ks: &Keyspaces,
        id: u32,
        latest: &VersionRecord,
        plan: WritePlan,
    ) -> Result<WriteReport> {
        let target = self.opts.chunk_rows;
        let n = plan.rows.len();
        let pieces = n.div_ceil(target);
        let per = n.div_ceil(pieces);
        let ranges: Vec<std::ops::Range<usize>> = (0..pieces)
            .map(|i| i * per..((i + 1) * per).min(n))
            .collect();
        let encoded: Vec<Vec<u8>> = ranges
            .par_iter()
            .map(|r| {
                let mut out = Vec::new();
                encode_chunk(&plan.rows.slice(r.clone()), &mut out);
                out
            })
            .collect();
        let mut next_chunk_id = latest.next_chunk_id.max(1);
        let mut new_refs = Vec::with_capacity(pieces);
        let mut batch = WriteBatch::new();
        let mut bytes_written = 0;
        let wo = self.write_options();
        for (r, enc) in ranges.iter().zip(&encoded) {
            let first_ts = plan.rows.ts[r.start];
            let cref = ChunkRef {
                id: next_chunk_id,
                first_ts,
                last_ts: plan.rows.ts[r.end - 1],
                rows: r.len() as u32,
            };
            next_chunk_id += 1;
            let limit = MAX_CHUNK_BATCH_BYTES.min(self.db.options().max_batch_bytes / 2);
            if batch.size_bytes() + enc.len() > limit && !batch.is_empty() {
                // Unpublished chunks: harmless if a crash follows (prune removes orphans).
                self.db.write_opt(&batch, &wo)?;
                batch.clear();
            }
            batch.put(&ks.chunks, chunk_key(id, first_ts, cref.id), enc);
            bytes_written += enc.len();
            new_refs.push(cref);
        }
        let mut chunks = plan.keep_before;
        chunks.extend(new_refs);
        chunks.extend(plan.keep_after);
        let record = VersionRecord {
            version: latest.version + 1,
            created_ns: now_ns().max(latest.created_ns),
            next_chunk_id,
            chunks,
        };
        batch.put(
            &ks.versions,
            version_key(id, record.version),
            record.encode(),
        );
        self.db.write_opt(&batch, &wo)?;
        Ok(WriteReport {
            version: record.version,
            rows_written: plan.rows_written,
            rows_total: record.rows(),
            chunks_written: pieces,
            chunks_replaced: plan.replaced.len(),
            bytes_written,
        })
    }

    // ---- reads ----

    /// Bars of `[from, to)` of one version, as columns.
    pub fn read(&self, symbol: &str, tf: Timeframe, q: &Query) -> Result<Bars> {
        let snap = self.db.snapshot();
        let id = self
            .lookup_series(symbol, tf, Some(&snap))?
            .ok_or_else(|| Self::no_such_series(symbol, tf))?;
        let version = self.resolve(symbol, tf, id, q.as_of, &snap)?;
        let chunks: Vec<ChunkRef> = version
            .chunks
            .iter()
            .copied()
            .filter(|c| q.overlaps(c))
            .collect();
        let mut bars = self.decode_chunks(id, &chunks, Some(&snap))?;
        trim(&mut bars, q);
        Ok(bars)
    }

    /// Streams `[from, to)` of one version chunk by chunk: memory stays bounded by one
    /// chunk however long the range. The stream reads one snapshot throughout.
    pub fn stream(&self, symbol: &str, tf: Timeframe, q: &Query) -> Result<BarStream> {
        let snap = self.db.snapshot();
        let id = self
            .lookup_series(symbol, tf, Some(&snap))?
            .ok_or_else(|| Self::no_such_series(symbol, tf))?;
        let version = self.resolve(symbol, tf, id, q.as_of, &snap)?;
        let chunks = version
            .chunks
            .iter()
            .copied()
            .filter(|c| q.overlaps(c))
            .collect();
        Ok(BarStream {
            db: self.db.clone(),
            chunks_ks: self.ks.as_ref().expect("series exist").chunks.clone(),
            snapshot: snap,
            series: id,
            chunks,
            next: 0,
            query: *q,
        })
    }

    /// Loads and decodes `chunks` (sorted, disjoint) into one set of columns. Chunks are
    /// fetched and decoded in parallel, each task holding only its own encoded chunk, so
    /// memory beyond the output stays at a few chunks.
    fn decode_chunks(&self, id: u32, chunks: &[ChunkRef], snap: Option<&Snapshot>) -> Result<Bars> {
        let ks = self.ks.as_ref().expect("series exist only with keyspaces");
        let mut ro = ReadOptions::new();
        if let Some(s) = snap {
            ro = ro.snapshot(s);
        }
        // Bulk reads copy each chunk out once; caching the blocks too would double their
        // memory and push hot blocks out.
        if chunks.len() > 1 {
            ro = ro.fill_cache(false);
        }
        let fetch_and_decode = |i: usize, cols: &mut ColsMut<'_>| -> Result<()> {
            let value = fetch_chunk(&self.db, &ks.chunks, id, &chunks[i], &ro)?;
            decode_checked(&value, &chunks[i], cols)
        };
        let sizes: Vec<usize> = chunks.iter().map(|c| c.rows as usize).collect();
        fill_columns(&sizes, chunks.len() > 1, fetch_and_decode)
    }

    // ---- maintenance ----

    /// Deletes old versions per `policy` and the chunks only they listed, plus chunks of the
    /// series that no version lists (left by a crash during a large write).
    ///
    /// Deletes go in bounded batches, version records first: a chunk is never gone while a
    /// record listing it remains, and a crash in between leaves only unreferenced chunks,
    /// which the next prune removes.
    pub fn prune(&self, symbol: &str, tf: Timeframe, policy: PrunePolicy) -> Result<PruneReport> {
        let ks = self.writable_ks()?.clone();
        let id = self
            .lookup_series(symbol, tf, None)?
            .ok_or_else(|| Self::no_such_series(symbol, tf))?;
        let lock = self.series_lock(id);
        let _guard = lock.lock();
        // Two passes over the records, so only the kept versions' chunk lists are held in
        // memory: first their headers, to decide, then the records again to act.
        let vro = ReadOptions::new().prefix(&version_prefix(id));
        let mut headers = Vec::new();
        for entry in self.db.iter(&ks.versions, &vro)?.forward() {
            let (_, v) = entry?;
            headers.push(VersionRecord::peek(&v)?);
        }
        let n = headers.len();
        let keep = |i: usize, created_ns: i64| {
            i + 1 == n
                || policy.keep_last.is_some_and(|k| i >= n.saturating_sub(k))
                || policy.keep_newer_than.is_some_and(|t| created_ns >= t)
                || (policy.keep_last.is_none() && policy.keep_newer_than.is_none())
        };
        let kept: HashSet<u64> = headers
            .iter()
            .enumerate()
            .filter(|(i, (_, created))| keep(*i, *created))
            .map(|(_, (v, _))| *v)
            .collect();
        drop(headers);
        // Chunks are identified by their whole key: after a crash mid-write, a later write
        // may reuse a chunk id under another first timestamp.
        let mut referenced = HashSet::new();
        let mut report = PruneReport::default();
        let mut batch = BoundedBatch::new(&self.db, self.write_options());
        for entry in self.db.iter(&ks.versions, &vro)?.forward() {
            let (_, v) = entry?;
            let (version, _) = VersionRecord::peek(&v)?;
            if kept.contains(&version) {
                report.versions_kept += 1;
                let rec = VersionRecord::decode(&v)?;
                referenced.extend(rec.chunks.iter().map(|c| (c.first_ts, c.id)));
            } else {
                report.versions_deleted += 1;
                batch.delete(&ks.versions, &version_key(id, version))?;
            }
        }
        batch.commit()?;
        let ro = ReadOptions::new().prefix(&id.to_be_bytes());
        for entry in self.db.iter(&ks.chunks, &ro)?.forward() {
            let (k, _) = entry?;
            let (first_ts, chunk_id) = keys::parse_chunk_key(&k)
                .ok_or_else(|| Error::corrupt("chunk key", format!("{} bytes", k.len())))?;
            if !referenced.contains(&(first_ts, chunk_id)) {
                batch.delete(&ks.chunks, &k)?;
                report.chunks_deleted += 1;
            }
        }
        batch.commit()?;
        Ok(report)
    }

    /// Missing bars in `[from, to)` of the latest version: every place where consecutive
    /// bars are more than one timeframe apart. Nothing is filled in.
    pub fn gaps(&self, symbol: &str, tf: Timeframe, q: &Query) -> Result<Vec<Gap>> {
        let mut gaps = Vec::new();
        let mut prev: Option<i64> = None;
        for part in self.stream(symbol, tf, q)? {
            let part = part?;
            for &t in &part.ts {
                if let Some(p) = prev {
                    // In i128: bars centuries apart must not overflow.
                    let step = i128::from(t) - i128::from(p);
                    let width = i128::from(tf.nanos());
                    if step > width {
                        gaps.push(Gap {
                            from: p.saturating_add(tf.nanos()),
                            to: t,
                            missing: ((step - 1) / width) as u64,
                        });
                    }
                }
                prev = Some(t);
            }
        }
        Ok(gaps)
    }
}

/// Chunks of one version read one at a time (see [`Market::stream`]).
pub struct BarStream {
    db: Db,
    chunks_ks: Keyspace,
    snapshot: Snapshot,
    series: u32,
    chunks: Vec<ChunkRef>,
    next: usize,
    query: Query,
}

impl BarStream {
    /// Rows the stream will yield at most (whole chunks; the range may trim the ends).
    pub fn rows_hint(&self) -> u64 {
        self.chunks.iter().map(|c| c.rows as u64).sum()
    }

    /// The same stream as Arrow record batches (schema [`crate::io::arrow::bars_schema`]),
    /// one per chunk.
    pub fn record_batches(
        self,
    ) -> impl Iterator<Item = Result<arrow_array::RecordBatch>> + Send + 'static {
        self.map(|part| {
            let bars = part?;
            crate::io::arrow::try_bars_to_record_batch(&bars)
                .map_err(|e| Error::InvalidArgument(format!("arrow batch: {e}")))
        })
    }
}

impl Iterator for BarStream {
    type Item = Result<Bars>;

    fn next(&mut self) -> Option<Result<Bars>> {
        let c = *self.chunks.get(self.next)?;
        self.next += 1;
        // A stream passes over the data once: keep it out of the block cache.
        let ro = ReadOptions::new()
            .snapshot(&self.snapshot)
            .fill_cache(false);
        let bars = fill_columns(&[c.rows as usize], false, |_, cols| {
            let value = fetch_chunk(&self.db, &self.chunks_ks, self.series, &c, &ro)?;
            decode_checked(&value, &c, cols)
        });
        Some(bars.map(|mut bars| {
            trim(&mut bars, &self.query);
            bars
        }))
    }
}

/// The encoded chunk `c` of `series`; a version that lists a missing chunk is corruption.
fn fetch_chunk(
    db: &Db,
    chunks: &Keyspace,
    series: u32,
    c: &ChunkRef,
    ro: &ReadOptions<'_>,
) -> Result<Vec<u8>> {
    db.get_opt(chunks, chunk_key(series, c.first_ts, c.id), ro)?
        .ok_or_else(|| {
            Error::corrupt(
                format!("series {series}"),
                format!("chunk {} listed by a version is missing", c.id),
            )
        })
}

struct WritePlan {
    keep_before: Vec<ChunkRef>,
    keep_after: Vec<ChunkRef>,
    replaced: Vec<ChunkRef>,
    /// The rows of all new chunks, strictly ascending.
    rows: Bars,
    rows_written: usize,
}

/// Mutable column slices of one chunk's rows.
struct ColsMut<'a> {
    ts: &'a mut [i64],
    open: &'a mut [f64],
    high: &'a mut [f64],
    low: &'a mut [f64],
    close: &'a mut [f64],
    volume: &'a mut [f64],
}

fn decode_checked(value: &[u8], c: &ChunkRef, cols: &mut ColsMut<'_>) -> Result<()> {
    let info = decode_chunk_into(
        value,
        cols.ts,
        cols.open,
        cols.high,
        cols.low,
        cols.close,
        cols.volume,
    )
    .map_err(|e| Error::corrupt(format!("chunk {}", c.id), e))?;
    if info.rows != c.rows || info.first_ts != c.first_ts || info.last_ts != c.last_ts {
        return Err(Error::corrupt(
            format!("chunk {}", c.id),
            format!(
                "holds {} rows {}..={}, its version lists {} rows {}..={}",
                info.rows, info.first_ts, info.last_ts, c.rows, c.first_ts, c.last_ts
            ),
        ));
    }
    Ok(())
}

/// Builds columns of `sizes.iter().sum()` rows by calling `fill(i, part)` for each part `i`
/// of `sizes[i]` rows, in parallel when asked. Each task zeroes its own part just before
/// filling it (so the zeroing is spread over the cores and the part is in cache when the
/// decoder writes it) instead of the caller zeroing everything up front.
fn fill_columns<F>(sizes: &[usize], parallel: bool, fill: F) -> Result<Bars>
where
    F: Fn(usize, &mut ColsMut<'_>) -> Result<()> + Sync,
{
    use std::mem::MaybeUninit;
    let total: usize = sizes.iter().sum();
    let mut ts: Vec<i64> = Vec::with_capacity(total);
    let mut f: [Vec<f64>; 5] = std::array::from_fn(|_| Vec::with_capacity(total));
    {
        let [open, high, low, close, volume] = &mut f;
        let mut parts: Vec<_> = split_parts(&mut ts.spare_capacity_mut()[..total], sizes)
            .into_iter()
            .zip(split_parts(&mut open.spare_capacity_mut()[..total], sizes))
            .zip(split_parts(&mut high.spare_capacity_mut()[..total], sizes))
            .zip(split_parts(&mut low.spare_capacity_mut()[..total], sizes))
            .zip(split_parts(&mut close.spare_capacity_mut()[..total], sizes))
            .zip(split_parts(
                &mut volume.spare_capacity_mut()[..total],
                sizes,
            ))
            .enumerate()
            .collect();
        fn init<T: Copy>(part: &mut [MaybeUninit<T>], zero: T) -> &mut [T] {
            for x in part.iter_mut() {
                x.write(zero);
            }
            // SAFETY: every element was just written, and MaybeUninit<T> has T's layout.
            unsafe { &mut *(part as *mut [MaybeUninit<T>] as *mut [T]) }
        }
        let task = |(i, (((((ts, o), h), l), c), v)): &mut (usize, _)| -> Result<()> {
            let mut cols = ColsMut {
                ts: init(std::mem::take(ts), 0),
                open: init(std::mem::take(o), 0.0),
                high: init(std::mem::take(h), 0.0),
                low: init(std::mem::take(l), 0.0),
                close: init(std::mem::take(c), 0.0),
                volume: init(std::mem::take(v), 0.0),
            };
            fill(*i, &mut cols)
        };
        if parallel {
            parts.par_iter_mut().try_for_each(task)?;
        } else {
            parts.iter_mut().try_for_each(task)?;
        }
    }
    // SAFETY: the tasks initialised every part, the parts cover the first `total` elements
    // of each column, and all of them succeeded (an error returned above, leaving the
    // columns empty).
    unsafe {
        ts.set_len(total);
        for c in &mut f {
            c.set_len(total);
        }
    }
    let [open, high, low, close, volume] = f;
    Ok(Bars {
        ts,
        open,
        high,
        low,
        close,
        volume,
    })
}

/// Splits `s` into consecutive parts of `sizes` (which sum to at most its length).
fn split_parts<'a, T>(mut s: &'a mut [T], sizes: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let (head, rest) = std::mem::take(&mut s).split_at_mut(n);
        out.push(head);
        s = rest;
    }
    out
}

/// Cuts rows outside the query's range off both ends (in place: no copy of the middle).
fn trim(bars: &mut Bars, q: &Query) {
    let lo = bars.ts.partition_point(|&t| t < q.lo());
    let hi = match q.to {
        Some(to) => bars.ts.partition_point(|&t| t < to),
        None => bars.len(),
    }
    .max(lo); // an empty range (from >= to) keeps nothing rather than panicking
    if lo == 0 && hi == bars.len() {
        return;
    }
    fn cut<T>(v: &mut Vec<T>, lo: usize, hi: usize) {
        v.truncate(hi);
        v.drain(..lo);
    }
    cut(&mut bars.ts, lo, hi);
    cut(&mut bars.open, lo, hi);
    cut(&mut bars.high, lo, hi);
    cut(&mut bars.low, lo, hi);
    cut(&mut bars.close, lo, hi);
    cut(&mut bars.volume, lo, hi);
}

/// Merges two strictly ascending sets of rows; on equal timestamps `new` wins.
fn merge_new_wins(old: &Bars, new: &Bars) -> Bars {
    let mut out = Bars::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if j == new.len() || (i < old.len() && old.ts[i] < new.ts[j]) {
            out.push(old.get(i));
            i += 1;
        } else {
            if i < old.len() && old.ts[i] == new.ts[j] {
                i += 1;
            }
            out.push(new.get(j));
            j += 1;
        }
    }
    out
}

fn version_info(v: &VersionRecord) -> VersionInfo {
    VersionInfo {
        version: v.version,
        created_ns: v.created_ns,
        rows: v.rows(),
        chunks: v.chunks.len(),
        first_ts: v.first_ts(),
        last_ts: v.last_ts(),
    }
}

fn decode_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(v.try_into().ok()?))
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A write batch that commits itself whenever it grows past a few MiB, for maintenance work
/// that may touch more keys than one batch may hold.
struct BoundedBatch<'a> {
    db: &'a Db,
    opts: WriteOptions,
    batch: WriteBatch,
}

impl<'a> BoundedBatch<'a> {
    const LIMIT: usize = 4 << 20;

    fn new(db: &'a Db, opts: WriteOptions) -> Self {
        BoundedBatch {
            db,
            opts,
            batch: WriteBatch::new(),
        }
    }

    fn delete(&mut self, ks: &Keyspace, key: &[u8]) -> Result<()> {
        self.batch.delete(ks, key);
        if self.batch.size_bytes() >= Self::LIMIT {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            self.db.write_opt(&self.batch, &self.opts)?;
            self.batch.clear();
        }
        Ok(())
    }
}
