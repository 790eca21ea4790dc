//! SQLite as a key-value [`Store`]: one `WITHOUT ROWID` table (the key is the primary key,
//! so rows live in key order in one B-tree), WAL journal, one connection per thread.
//!
//! Durability: `synchronous=NORMAL` in WAL mode syncs only at checkpoints, which matches
//! the other stores' unsynced writes (survives a process crash, not a power loss); a synced
//! write switches the connection to `synchronous=FULL`, which syncs the WAL at each commit.
//! The page cache is the [`Budget`]'s cache, per connection.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Batch, Budget, Store};
use crate::Result;

pub struct SqliteStore {
    path: PathBuf,
    cache_kib: i64,
    /// Idle connections; a thread takes one for each call and puts it back.
    pool: Mutex<Vec<Conn>>,
}

struct Conn {
    c: Connection,
    synchronous_full: bool,
}

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID";

impl SqliteStore {
    pub fn create(dir: &Path, budget: Budget) -> Result<SqliteStore> {
        let s = SqliteStore {
            path: dir.join("kv.sqlite"),
            cache_kib: (budget.cache / 1024) as i64,
            pool: Mutex::new(Vec::new()),
        };
        let c = s.connect()?;
        c.c.execute_batch(SCHEMA)?;
        s.put_back(c);
        Ok(s)
    }

    fn connect(&self) -> Result<Conn> {
        let c = Connection::open(&self.path)?;
        c.busy_timeout(std::time::Duration::from_secs(60))?;
        c.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-{};",
            self.cache_kib
        ))?;
        Ok(Conn {
            c,
            synchronous_full: false,
        })
    }

    fn take(&self) -> Result<Conn> {
        let idle = self.pool.lock().expect("pool lock").pop();
        match idle {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn put_back(&self, c: Conn) {
        self.pool.lock().expect("pool lock").push(c);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut c = self.take()?;
        let out = f(&mut c);
        self.put_back(c);
        out
    }
}

impl Store for SqliteStore {
    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        self.with(|c| {
            if c.synchronous_full != sync {
                c.c.execute_batch(if sync {
                    "PRAGMA synchronous=FULL"
                } else {
                    "PRAGMA synchronous=NORMAL"
                })?;
                c.synchronous_full = sync;
            }
            let tx =
                c.c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut st =
                    tx.prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")?;
                for (k, v) in batch.iter() {
                    st.execute(params![k, v])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn get(&self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        self.with(|c| {
            let mut st = c.c.prepare_cached("SELECT v FROM kv WHERE k = ?1")?;
            let v: Option<Vec<u8>> = st.query_row(params![key], |r| r.get(0)).optional()?;
            match v {
                Some(v) => {
                    *out = v;
                    Ok(true)
                }
                None => {
                    out.clear();
                    Ok(false)
                }
            }
        })
    }

    fn scan(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        self.with(|c| match to {
            Some(to) => {
                let mut st =
                    c.c.prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k")?;
                let rows = st.query(params![from, to])?;
                drain(rows, visit)
            }
            None => {
                let mut st =
                    c.c.prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k")?;
                let rows = st.query(params![from])?;
                drain(rows, visit)
            }
        })
    }

    fn ingest_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
        self.with(|c| {
            let tx =
                c.c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut st = tx.prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2)")?;
                for (k, v) in pairs {
                    st.execute(params![k, v])?;
                }
            }
            tx.commit()?;
            c.c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            Ok(())
        })
    }

    fn settle(&self) -> Result<()> {
        self.with(|c| {
            c.c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            Ok(())
        })
    }

    fn close(self: Box<Self>) -> Result<()> {
        let conns = std::mem::take(&mut *self.pool.lock().expect("pool lock"));
        for c in conns {
            c.c.close().map_err(|(_, e)| e)?;
        }
        Ok(())
    }
}

/// Feeds `rows` of `(k, v)` to `visit` until it returns false.
fn drain(mut rows: rusqlite::Rows<'_>, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
    while let Some(row) = rows.next()? {
        let k = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        let v = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        if !visit(k, v) {
            break;
        }
    }
    Ok(())
}
