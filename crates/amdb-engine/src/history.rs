//! A key's versions: every version the keyspace still holds, newest first, and reads as of
//! a past sequence.
//!
//! Only a versioned keyspace ([`KeyspaceOptions::versioned`](crate::KeyspaceOptions)) is
//! guaranteed to hold them all: elsewhere compaction drops versions no snapshot can see, so
//! `history` lists what happens to remain and `get_at` refuses.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::iterator::InternalIterator;
use crate::key::{self, SequenceNumber, ValueKind, MAX_SEQUENCE};
use crate::keyspace::Keyspace;
use crate::options::ReadOptions;

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersion {
    /// The sequence number of the write that made it.
    pub sequence: SequenceNumber,
    /// The value written; `None` for a delete.
    pub value: Option<Vec<u8>>,
    /// The transaction that wrote it, in a database with a ledger.
    pub tx: Option<TxStamp>,
}

/// A transaction's number and commit time (ns since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxStamp {
    pub tx: u64,
    pub time_ns: i64,
}

impl Db {
    /// Every version of `key` visible now that `ks` holds, newest first, with the
    /// transaction that wrote each in a database with a ledger.
    pub fn history(&self, ks: &Keyspace, key: impl AsRef<[u8]>) -> Result<Vec<KeyVersion>> {
        let user_key = key.as_ref();
        let ledger = self.ledger().ok();
        if let Some(l) = ledger {
            l.process_pending()?;
        }
        let (seq, mut it) = self.internal_iter(ks, &ReadOptions::default())?;
        let mut out = Vec::new();
        // Internal keys of one user key sort newest first.
        it.seek(&key::lookup_key(user_key, MAX_SEQUENCE));
        while it.valid() && key::user_key(it.key()) == user_key {
            let s = key::sequence(it.key());
            if s <= seq {
                let value = match key::kind(it.key()) {
                    Some(ValueKind::Put) => Some(it.value().to_vec()),
                    _ => None,
                };
                let tx = ledger
                    .and_then(|l| l.tx_of_seq(s))
                    .map(|(tx, time_ns)| TxStamp { tx, time_ns });
                out.push(KeyVersion {
                    sequence: s,
                    value,
                    tx,
                });
            }
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// The value of `key` as of sequence `seq` (what a read at that moment returned), in a
    /// versioned keyspace.
    pub fn get_at(
        &self,
        ks: &Keyspace,
        key: impl AsRef<[u8]>,
        seq: SequenceNumber,
    ) -> Result<Option<Vec<u8>>> {
        if !ks.options().versioned {
            return Err(Error::InvalidArgument(format!(
                "keyspace {:?} is not versioned: compaction may have dropped the versions a \
                 read as of sequence {seq} needs (create it with `versioned: true`)",
                ks.name()
            )));
        }
        let now = self.last_sequence();
        if seq > now {
            return Err(Error::InvalidArgument(format!(
                "sequence {seq} is in the future (the last is {now})"
            )));
        }
        // A point read at `seq` on today's tables: they still hold every version it needs.
        let (_, sv) = self.read_view(ks, None)?;
        self.lookup(&sv, key.as_ref(), seq, true)
    }
}
