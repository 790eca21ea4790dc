//! Tuning runs kept in an AmDb database (keyspace `tune`), so a run can be resumed, shown
//! later, and its trained model used to warm-start another run.
//!
//! Keys (values are JSON, see `docs/tune.md`):
//!
//! ```text
//! next_run                 last run number handed out (u64, decimal)
//! run/{run:06}/meta        RunMeta: target, knobs, workload, optimizer, budget, protocol
//! run/{run:06}/trial/{n:06} Trial: one search step
//! run/{run:06}/model       the optimizer's snapshot after the last trial
//! run/{run:06}/outcome     Outcome: finalists, confirmation, recommendation, ablation
//! ```

use amdb_engine::{Db, Keyspace, KeyspaceOptions, ReadOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::session::{Outcome, RunMeta, Trial};
use crate::{Error, Result};

pub const KEYSPACE: &str = "tune";

pub struct Store {
    db: Db,
    ks: Keyspace,
}

impl Store {
    /// Opens (creating if needed) the `tune` keyspace of `db`.
    pub fn new(db: Db) -> Result<Store> {
        let ks = db
            .open_keyspace(KEYSPACE, KeyspaceOptions::default())
            .map_err(store)?;
        Ok(Store { db, ks })
    }

    /// Records a new run and returns its number (1, 2, ...).
    pub fn create_run(&self, meta: &RunMeta) -> Result<u64> {
        let last = self
            .get_text("next_run")?
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        let run = last + 1;
        self.put("next_run", &run)?;
        self.put(&format!("run/{run:06}/meta"), meta)?;
        Ok(run)
    }

    pub fn meta(&self, run: u64) -> Result<RunMeta> {
        self.get(&format!("run/{run:06}/meta"))?
            .ok_or_else(|| Error::Store(format!("no tuning run {run} in this database")))
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<(u64, RunMeta)>> {
        let last = self
            .get_text("next_run")?
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        let mut out = Vec::new();
        for run in 1..=last {
            if let Some(m) = self.get(&format!("run/{run:06}/meta"))? {
                out.push((run, m));
            }
        }
        Ok(out)
    }

    pub fn put_trial(&self, run: u64, trial: &Trial) -> Result<()> {
        self.put(&format!("run/{run:06}/trial/{:06}", trial.n), trial)
    }

    /// The run's trials in order.
    pub fn trials(&self, run: u64) -> Result<Vec<Trial>> {
        let prefix = format!("run/{run:06}/trial/");
        let mut it = self.db.iter(&self.ks, &ReadOptions::new()).map_err(store)?;
        it.seek(prefix.as_bytes());
        let mut out = Vec::new();
        while it.valid() && it.key().starts_with(prefix.as_bytes()) {
            out.push(decode(it.key(), it.value())?);
            it.next();
        }
        it.status().map_err(store)?;
        Ok(out)
    }

    pub fn put_model(&self, run: u64, snapshot: &serde_json::Value) -> Result<()> {
        self.put(&format!("run/{run:06}/model"), snapshot)
    }

    pub fn model(&self, run: u64) -> Result<Option<serde_json::Value>> {
        self.get(&format!("run/{run:06}/model"))
    }

    pub fn put_outcome(&self, run: u64, outcome: &Outcome) -> Result<()> {
        self.put(&format!("run/{run:06}/outcome"), outcome)
    }

    pub fn outcome(&self, run: u64) -> Result<Option<Outcome>> {
        self.get(&format!("run/{run:06}/outcome"))
    }

    fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let bytes =
            serde_json::to_vec(value).map_err(|e| Error::Store(format!("encode {key}: {e}")))?;
        self.db.put(&self.ks, key, bytes).map_err(store)
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.db.get(&self.ks, key).map_err(store)? {
            Some(bytes) => decode(key.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn get_text(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .db
            .get(&self.ks, key)
            .map_err(store)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Store(format!(
            "tune record {} does not parse: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}

fn store(e: amdb_engine::Error) -> Error {
    Error::Store(e.to_string())
}
