//! System `amdb`: `amdb-market` on the engine with `Durability::Sync` (every write is
//! fdatasynced before it is acknowledged; concurrent writers share one sync through the
//! engine's group commit).

use std::path::Path;

use amdb_engine::{Db, Durability, Options};
use amdb_market::events::Signal;
use amdb_market::{Bars, EventQuery, Market, MarketOptions, Query, Timeframe};

use super::{dir_bytes, BarStore, SignalWriter};
use crate::Result;

pub struct AmdbStore {
    market: Market,
    db: Db,
    tf: Timeframe,
    dir: std::path::PathBuf,
    threads: usize,
}

impl AmdbStore {
    /// A database in `dir` (created if missing), writable.
    pub fn open(dir: &Path, tf: Timeframe, threads: usize, chunk_rows: usize) -> Result<AmdbStore> {
        let db = Db::open(
            dir,
            Options {
                durability: Durability::Sync,
                ..Options::default()
            },
        )?;
        Self::with_db(db, dir, tf, threads, chunk_rows)
    }

    /// The database in `dir`, read-only (as a second process would open it).
    pub fn open_read_only(dir: &Path, tf: Timeframe) -> Result<AmdbStore> {
        let db = Db::open_read_only(dir)?;
        Self::with_db(db, dir, tf, 1, amdb_market::store::DEFAULT_CHUNK_ROWS)
    }

    fn with_db(
        db: Db,
        dir: &Path,
        tf: Timeframe,
        threads: usize,
        chunk_rows: usize,
    ) -> Result<AmdbStore> {
        let market = Market::new(
            db.clone(),
            MarketOptions {
                chunk_rows,
                ..MarketOptions::default()
            },
        )?;
        Ok(AmdbStore {
            market,
            db,
            tf,
            dir: dir.to_path_buf(),
            threads,
        })
    }
}

impl BarStore for AmdbStore {
    fn system(&self) -> &'static str {
        "amdb"
    }

    /// Series are independent: one write per symbol from every core at once.
    fn load_threads(&self) -> usize {
        self.threads
    }

    fn store_series(&self, symbol: &str, bars: Bars) -> Result<()> {
        self.market.write(symbol, self.tf, bars)?;
        Ok(())
    }

    fn read(&self, symbol: &str) -> Result<Bars> {
        Ok(self.market.read(symbol, self.tf, &Query::all())?)
    }

    fn append(&self, symbol: &str, bars: Bars) -> Result<()> {
        self.market.write(symbol, self.tf, bars)?;
        Ok(())
    }

    fn disk_bytes(&self) -> Result<u64> {
        // Everything in tables, one level, overwritten versions and obsolete WAL dropped.
        self.db.flush()?;
        self.db.compact()?;
        dir_bytes(&self.dir, &|_| true)
    }

    fn signal_writer(&self) -> Result<Box<dyn SignalWriter + '_>> {
        Ok(Box::new(AmdbSignals {
            market: &self.market,
        }))
    }

    fn signal_count(&self) -> Result<u64> {
        Ok(self.market.events("signals", &EventQuery::default())?.len() as u64)
    }

    fn close(self: Box<Self>) -> Result<()> {
        let AmdbStore { market, db, .. } = *self;
        drop(market);
        // A finished store keeps its data in tables, as the Parquet peer finishes its files:
        // the next open (the rss_1m child) then need not replay the WAL into memory.
        if !db.is_read_only() {
            db.flush()?;
        }
        db.close()?;
        Ok(())
    }
}

struct AmdbSignals<'a> {
    market: &'a Market,
}

impl SignalWriter for AmdbSignals<'_> {
    fn put(&mut self, ts: i64, agent: &str, symbol: &str, signal: &Signal) -> Result<()> {
        self.market
            .put_event("signals", ts, agent, symbol, signal)?;
        Ok(())
    }
}
