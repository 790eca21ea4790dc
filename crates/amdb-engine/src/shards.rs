//! Shards: one logical key space partitioned over N independent databases, each with its
//! own WAL, commit queue, memtables and compaction, so that writers to different shards do
//! not queue behind one another and flushes and compactions of different shards can run on
//! different cores.
//!
//! What a user gives up, and must know:
//!
//! - **Atomicity is per shard.** A [`ShardBatch`] is split by shard; each part commits
//!   atomically, but a crash between parts can leave some shards with their part and others
//!   without. Since a key's shard comes from a hash of the whole key, only a write of one
//!   key is atomic across the set. Use a plain [`Db`] when a batch must be all or nothing.
//! - **No cross-shard snapshot.** Reads see each shard's latest committed state.
//! - **The shard count is fixed** when the set is created (recorded in the `SHARDS` file,
//!   `docs/formats.md` §15); reopening with another count is refused.
//!
//! A key's shard is `fnv1a64(key) % N`, so keys spread evenly whatever their order, and a
//! scan merges the shards' iterators by key.
//!
//! Layout: `DIR/SHARDS` and `DIR/shard-000`, `DIR/shard-001`, … each a [`Db`] directory.

use std::path::{Path, PathBuf};

use crate::{
    Db, DbIterator, Error, Keyspace, Options, ReadOptions, Result, WriteBatch, WriteOptions,
};

const SHARDS_FILE: &str = "SHARDS";
const MAGIC: &str = "amdb-shards 1";

/// N databases acting as one key space; see the module documentation for what is lost.
pub struct Shards {
    dbs: Vec<Db>,
    keyspaces: Vec<Keyspace>,
    dir: PathBuf,
}

impl Shards {
    /// Opens the shard set in `dir`, creating it with `shards` databases if missing (when
    /// `opts.create_if_missing`). Every shard gets `opts`; memory budgets (`write_buffer_size`,
    /// `block_cache_bytes`) are divided among the shards so the set as a whole uses what
    /// one database with `opts` would.
    pub fn open(dir: impl AsRef<Path>, shards: usize, opts: Options) -> Result<Shards> {
        let dir = dir.as_ref();
        if shards == 0 || shards > 1024 {
            return Err(Error::InvalidArgument(format!(
                "shard count {shards} must be between 1 and 1024"
            )));
        }
        let marker = dir.join(SHARDS_FILE);
        match std::fs::read_to_string(&marker) {
            Ok(text) => {
                if opts.error_if_exists {
                    return Err(Error::InvalidArgument(format!(
                        "database already exists at {}",
                        dir.display()
                    )));
                }
                let found = parse_marker(&text)
                    .ok_or_else(|| Error::corruption(&marker, 0, "not a shard set marker"))?;
                if found != shards {
                    return Err(Error::InvalidArgument(format!(
                        "{} has {found} shards, not {shards}",
                        dir.display()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let io = |op, path: &Path| {
                    let path = path.to_path_buf();
                    move |e| Error::io(op, path, e)
                };
                if !opts.create_if_missing {
                    return Err(Error::InvalidArgument(format!(
                        "no shard set at {}",
                        dir.display()
                    )));
                }
                std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
                // The marker is written (and synced) before any shard, so a crash leaves
                // either no set or a marker whose shards are created on the next open.
                let tmp = dir.join("SHARDS.tmp");
                std::fs::write(&tmp, format!("{MAGIC}\nshards {shards}\n"))
                    .map_err(io("write", &tmp))?;
                std::fs::File::open(&tmp)
                    .and_then(|f| f.sync_all())
                    .map_err(io("sync", &tmp))?;
                std::fs::rename(&tmp, &marker).map_err(io("rename", &tmp))?;
                std::fs::File::open(dir)
                    .and_then(|f| f.sync_all())
                    .map_err(io("sync directory", dir))?;
            }
            Err(e) => return Err(Error::io("read", marker, e)),
        }
        let per_shard = Options {
            write_buffer_size: (opts.write_buffer_size / shards).max(1 << 20),
            block_cache_bytes: opts.block_cache_bytes / shards,
            create_if_missing: true,
            error_if_exists: false,
            ..opts
        };
        let mut dbs = Vec::with_capacity(shards);
        for i in 0..shards {
            dbs.push(Db::open(
                dir.join(format!("shard-{i:03}")),
                per_shard.clone(),
            )?);
        }
        let keyspaces = dbs.iter().map(|d| d.default_keyspace()).collect();
        Ok(Shards {
            dbs,
            keyspaces,
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn len(&self) -> usize {
        self.dbs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// The shard databases, e.g. for their stats.
    pub fn shards(&self) -> &[Db] {
        &self.dbs
    }

    /// Which shard holds `key`.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        (fnv1a64(key) % self.dbs.len() as u64) as usize
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        let s = self.shard_of(key);
        self.dbs[s].get(&self.keyspaces[s], key)
    }

    /// Writes one key (atomic: one key lives in one shard).
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let key = key.as_ref();
        let s = self.shard_of(key);
        self.dbs[s].put(&self.keyspaces[s], key, value)
    }

    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let key = key.as_ref();
        let s = self.shard_of(key);
        self.dbs[s].delete(&self.keyspaces[s], key)
    }

    /// A batch for this set, split by shard as it is filled.
    pub fn batch(&self) -> ShardBatch {
        ShardBatch {
            parts: (0..self.dbs.len()).map(|_| WriteBatch::new()).collect(),
        }
    }

    /// Writes each shard's part of `batch`. Each part is atomic; the whole is not (a crash
    /// or an error in one part leaves the parts written before it in place).
    pub fn write(&self, batch: &ShardBatch, opts: &WriteOptions) -> Result<()> {
        if batch.parts.len() != self.dbs.len() {
            return Err(Error::InvalidArgument(format!(
                "batch made for {} shards, this set has {}",
                batch.parts.len(),
                self.dbs.len()
            )));
        }
        for (db, part) in self.dbs.iter().zip(&batch.parts) {
            if !part.is_empty() {
                db.write_opt(part, opts)?;
            }
        }
        Ok(())
    }

    /// Loads entries in ascending key order by each shard's bulk path (the entries are
    /// spread over the shards, each shard's share stays sorted).
    pub fn ingest<I, K, V>(&self, entries: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut parts: Vec<Vec<(Vec<u8>, Vec<u8>)>> = vec![Vec::new(); self.dbs.len()];
        for (k, v) in entries {
            let s = self.shard_of(k.as_ref());
            parts[s].push((k.as_ref().to_vec(), v.as_ref().to_vec()));
        }
        for (i, part) in parts.into_iter().enumerate() {
            if !part.is_empty() {
                self.dbs[i].ingest(&self.keyspaces[i], part)?;
            }
        }
        Ok(())
    }

    /// An iterator over every shard in key order, within `opts`' bounds.
    pub fn iter(&self, opts: &ReadOptions<'_>) -> Result<ShardsIter> {
        let its = self
            .dbs
            .iter()
            .zip(&self.keyspaces)
            .map(|(db, ks)| db.iter(ks, opts))
            .collect::<Result<Vec<_>>>()?;
        Ok(ShardsIter { its, current: None })
    }

    /// Flushes every shard's memtables.
    pub fn flush(&self) -> Result<()> {
        self.dbs.iter().try_for_each(Db::flush)
    }

    /// Waits until no shard has background work left (see [`Db::wait_for_idle`]).
    pub fn wait_for_idle(&self) -> Result<()> {
        self.dbs.iter().try_for_each(Db::wait_for_idle)
    }

    /// fdatasyncs every shard's WAL.
    pub fn sync_wal(&self) -> Result<()> {
        self.dbs.iter().try_for_each(Db::sync_wal)
    }

    pub fn close(self) -> Result<()> {
        let mut first = Ok(());
        for db in self.dbs {
            let r = db.close();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// A batch split by shard; see [`Shards::write`] for its (per-shard) atomicity.
pub struct ShardBatch {
    parts: Vec<WriteBatch>,
}

impl ShardBatch {
    pub fn put(&mut self, shards: &Shards, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let key = key.as_ref();
        let s = shards.shard_of(key);
        self.parts[s].put(&shards.keyspaces[s], key, value);
    }

    pub fn delete(&mut self, shards: &Shards, key: impl AsRef<[u8]>) {
        let key = key.as_ref();
        let s = shards.shard_of(key);
        self.parts[s].delete(&shards.keyspaces[s], key);
    }

    pub fn clear(&mut self) {
        self.parts.iter_mut().for_each(WriteBatch::clear);
    }

    pub fn len(&self) -> usize {
        self.parts.iter().map(WriteBatch::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(WriteBatch::is_empty)
    }
}

/// Merges the shards' iterators by key. Keys never repeat across shards (each key has one
/// shard), so the merge only picks the smallest current key.
pub struct ShardsIter {
    its: Vec<DbIterator>,
    /// Index of the iterator at the smallest key, `None` when all are exhausted.
    current: Option<usize>,
}

impl ShardsIter {
    pub fn seek_to_first(&mut self) {
        self.its.iter_mut().for_each(DbIterator::seek_to_first);
        self.pick();
    }

    pub fn seek(&mut self, target: &[u8]) {
        self.its.iter_mut().for_each(|it| it.seek(target));
        self.pick();
    }

    pub fn valid(&self) -> bool {
        self.current.is_some()
    }

    /// The current key; only while `valid()`.
    pub fn key(&self) -> &[u8] {
        self.its[self.current.expect("key() on an invalid iterator")].key()
    }

    /// The current value; only while `valid()`.
    pub fn value(&self) -> &[u8] {
        self.its[self.current.expect("value() on an invalid iterator")].value()
    }

    pub fn next(&mut self) {
        if let Some(i) = self.current {
            self.its[i].next();
            self.pick();
        }
    }

    /// The first error any shard's iterator met.
    pub fn status(&self) -> Result<()> {
        self.its.iter().try_for_each(DbIterator::status)
    }

    fn pick(&mut self) {
        // N is small (shards ≈ cores), so a linear scan beats a heap's bookkeeping.
        self.current = None;
        for i in 0..self.its.len() {
            if !self.its[i].valid() {
                continue;
            }
            match self.current {
                Some(c) if self.its[c].key() <= self.its[i].key() => {}
                _ => self.current = Some(i),
            }
        }
    }
}

/// 64-bit FNV-1a: stable across versions and platforms, which the on-disk placement of
/// keys depends on (changing it would strand every key in the wrong shard).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn parse_marker(text: &str) -> Option<usize> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    lines
        .next()?
        .strip_prefix("shards ")?
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Durability;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn opts() -> Options {
        Options {
            durability: Durability::Buffered,
            write_buffer_size: 1 << 20,
            ..Options::default()
        }
    }

    fn scan(s: &Shards) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut it = s.iter(&ReadOptions::new()).unwrap();
        it.seek_to_first();
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        it.status().unwrap();
        out
    }

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn keys_spread_and_reopen_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let s = Shards::open(dir.path(), 4, opts()).unwrap();
        let mut b = s.batch();
        for i in 0..4000u32 {
            b.put(&s, format!("key{i:05}"), i.to_be_bytes());
        }
        assert_eq!(b.len(), 4000);
        s.write(&b, &WriteOptions::default()).unwrap();
        for db in s.shards() {
            let n = {
                let mut it = db
                    .iter(&db.default_keyspace(), &ReadOptions::new())
                    .unwrap();
                it.seek_to_first();
                let mut n = 0;
                while it.valid() {
                    n += 1;
                    it.next();
                }
                n
            };
            assert!((800..1200).contains(&n), "a shard holds {n} of 4000 keys");
        }
        s.close().unwrap();
        let s = Shards::open(dir.path(), 4, opts()).unwrap();
        assert_eq!(
            s.get("key01234").unwrap(),
            Some(1234u32.to_be_bytes().to_vec())
        );
        let all = scan(&s);
        assert_eq!(all.len(), 4000);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        s.close().unwrap();
        let e = Shards::open(dir.path(), 3, opts())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("has 4 shards, not 3"), "{e}");
        let e = Shards::open(
            dir.path().join("none"),
            2,
            Options {
                create_if_missing: false,
                ..opts()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("no shard set"), "{e}");
    }

    #[test]
    fn seek_and_bounds_merge_across_shards() {
        let dir = tempfile::tempdir().unwrap();
        let s = Shards::open(dir.path(), 3, opts()).unwrap();
        for i in 0..100u32 {
            s.put(format!("{i:03}"), b"v").unwrap();
        }
        let mut it = s
            .iter(
                &ReadOptions::new()
                    .lower_bound(b"010".to_vec())
                    .upper_bound(b"020".to_vec()),
            )
            .unwrap();
        it.seek(b"015");
        let mut keys = Vec::new();
        while it.valid() {
            keys.push(String::from_utf8(it.key().to_vec()).unwrap());
            it.next();
        }
        assert_eq!(keys, ["015", "016", "017", "018", "019"]);
        s.close().unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any mix of puts, deletes and batches on 1–5 shards reads back like one ordered map,
        /// before and after a flush and a reopen.
        #[test]
        fn behaves_like_one_ordered_map(
            shards in 1usize..=5,
            ops in prop::collection::vec(
                (0u8..3, 0u16..200, prop::collection::vec(any::<u8>(), 0..12)),
                1..120,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let s = Shards::open(dir.path(), shards, opts()).unwrap();
            let mut model = BTreeMap::new();
            let mut batch = s.batch();
            // What the pending batch will do to the model when it is written.
            let mut pending: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for (kind, k, v) in &ops {
                let key = format!("k{k:04}").into_bytes();
                match kind {
                    0 => {
                        s.put(&key, v).unwrap();
                        model.insert(key, v.clone());
                    }
                    1 => {
                        s.delete(&key).unwrap();
                        model.remove(&key);
                    }
                    _ => {
                        batch.put(&s, &key, v);
                        pending.push((key, v.clone()));
                        if batch.len() >= 7 {
                            s.write(&batch, &WriteOptions::default()).unwrap();
                            batch.clear();
                            model.extend(pending.drain(..));
                        }
                    }
                }
            }
            s.write(&batch, &WriteOptions::default()).unwrap();
            model.extend(pending.drain(..));
            let want: Vec<_> = model.clone().into_iter().collect();
            prop_assert_eq!(scan(&s), want.clone());
            s.flush().unwrap();
            prop_assert_eq!(scan(&s), want.clone());
            s.close().unwrap();
            let s = Shards::open(dir.path(), shards, opts()).unwrap();
            prop_assert_eq!(scan(&s), want);
            for k in 0..200u16 {
                let key = format!("k{k:04}").into_bytes();
                prop_assert_eq!(s.get(&key).unwrap(), model.get(&key).cloned());
            }
            s.close().unwrap();
        }
    }
}
