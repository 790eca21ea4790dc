//! Event tables: signals, signal logs, orders, fills and positions — append-only records that
//! trading agents write, keyed by time and a sequence number, with the payload as the agent
//! wrote it (MessagePack). Queries by time range, optionally by agent or symbol through
//! index entries written in the same batch as the event.
//!
//! Keys (keyspace `market.events`, docs/formats.md "Event tables"):
//! - event:        `'e' table 0x00 ts(flipped BE) seq(u64 BE)` → record
//! - agent index:  `'a' table 0x00 agent 0x00 ts seq` → empty
//! - symbol index: `'s' table 0x00 symbol 0x00 ts seq` → empty
//!
//! Record: `agent_len u16 LE | agent | symbol_len u16 LE | symbol | payload (MessagePack)`.

use amdb_engine::{Durability, ReadOptions, WriteBatch, WriteOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{self, ts_bytes, ts_from_bytes};
use crate::store::Market;

/// The tables agents use; any other name of `[a-z0-9_]{1,64}` works too.
pub const STANDARD_TABLES: [&str; 5] = ["signals", "signal_log", "orders", "fills", "positions"];

/// Sequence numbers are handed out from durable leases of this many, so a restart never
/// reuses one and writers do not touch a shared counter key per event.
const SEQ_LEASE: u64 = 1 << 20;

/// The unissued part of the current sequence lease.
#[derive(Debug, Default)]
pub(crate) struct SeqLease {
    next: u64,
    end: u64,
}

/// An event to append. `payload` is MessagePack (see [`encode_payload`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub ts: i64,
    pub agent: String,
    pub symbol: String,
    pub payload: Vec<u8>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub ts: i64,
    pub seq: u64,
    pub agent: String,
    pub symbol: String,
    pub payload: Vec<u8>,
}

impl Event {
    /// The payload as the agent's type.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        rmp_serde::from_slice(&self.payload)
            .map_err(|e| Error::InvalidArgument(format!("event payload: {e}")))
    }

    /// The payload as JSON (maps, arrays, numbers, strings; binary as arrays of bytes).
    pub fn payload_json(&self) -> Result<serde_json::Value> {
        self.decode()
    }
}

/// Encodes a payload as MessagePack with field names (maps), so any reader can decode it.
pub fn encode_payload<T: Serialize + ?Sized>(payload: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec_named(payload)
        .map_err(|e| Error::InvalidArgument(format!("event payload: {e}")))
}

/// Which events to list: `[from, to)`, and optionally only one agent's or symbol's.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub agent: Option<String>,
    pub symbol: Option<String>,
    /// At most this many (the oldest first).
    pub limit: Option<usize>,
}

/// A trading signal as agents write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub side: Side,
    /// Conviction in [-1, 1] or whatever scale the agent uses.
    pub strength: f64,
    pub price: f64,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

/// An order sent to a venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub side: Side,
    pub quantity: f64,
    /// `None` for market orders.
    pub limit_price: Option<f64>,
}

/// An execution of (part of) an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub order_id: String,
    pub side: Side,
    pub quantity: f64,
    pub price: f64,
    pub fee: f64,
}

/// A position snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Signed: positive long, negative short.
    pub quantity: f64,
    pub average_price: f64,
    pub realized_pnl: f64,
}

pub fn validate_table(table: &str) -> Result<()> {
    let ok = !table.is_empty()
        && table.len() <= 64
        && table
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid event table {table:?}: use 1 to 64 of a-z, 0-9 and _ (e.g. {})",
            STANDARD_TABLES.join(", ")
        )))
    }
}

fn validate_name(what: &str, s: &str) -> Result<()> {
    if s.len() > u16::MAX as usize || s.contains('\0') {
        return Err(Error::InvalidArgument(format!(
            "invalid {what} {s:?}: at most 65535 bytes, no NUL"
        )));
    }
    Ok(())
}

fn event_prefix(table: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(table.len() + 2);
    k.push(b'e');
    k.extend_from_slice(table.as_bytes());
    k.push(0);
    k
}

fn index_prefix(kind: u8, table: &str, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(table.len() + name.len() + 3);
    k.push(kind);
    k.extend_from_slice(table.as_bytes());
    k.push(0);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

fn with_ts_seq(mut prefix: Vec<u8>, ts: i64, seq: u64) -> Vec<u8> {
    prefix.extend_from_slice(&ts_bytes(ts));
    prefix.extend_from_slice(&seq.to_be_bytes());
    prefix
}

fn encode_record(e: &NewEvent) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + e.agent.len() + e.symbol.len() + e.payload.len());
    v.extend_from_slice(&(e.agent.len() as u16).to_le_bytes());
    v.extend_from_slice(e.agent.as_bytes());
    v.extend_from_slice(&(e.symbol.len() as u16).to_le_bytes());
    v.extend_from_slice(e.symbol.as_bytes());
    v.extend_from_slice(&e.payload);
    v
}

fn decode_record(key: &[u8], value: &[u8]) -> Result<Event> {
    let bad = || Error::corrupt("event record", format!("key {key:?}"));
    if key.len() < 16 {
        return Err(bad());
    }
    let (ts, seq) = key[key.len() - 16..].split_at(8);
    let mut pos = 0;
    let mut take_str = |value: &[u8]| -> Result<String> {
        let len = u16::from_le_bytes(
            value
                .get(pos..pos + 2)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ) as usize;
        let s = value.get(pos + 2..pos + 2 + len).ok_or_else(bad)?;
        pos += 2 + len;
        String::from_utf8(s.to_vec()).map_err(|_| bad())
    };
    let agent = take_str(value)?;
    let symbol = take_str(value)?;
    Ok(Event {
        ts: ts_from_bytes(ts.try_into().map_err(|_| bad())?),
        seq: u64::from_be_bytes(seq.try_into().map_err(|_| bad())?),
        agent,
        symbol,
        payload: value[pos..].to_vec(),
    })
}

impl Market {
    /// Appends one event; returns its sequence number.
    pub fn put_event<T: Serialize + ?Sized>(
        &self,
        table: &str,
        ts: i64,
        agent: &str,
        symbol: &str,
        payload: &T,
    ) -> Result<u64> {
        let e = NewEvent {
            ts,
            agent: agent.to_string(),
            symbol: symbol.to_string(),
            payload: encode_payload(payload)?,
        };
        Ok(self.put_events(table, std::slice::from_ref(&e))?[0])
    }

    /// Appends events atomically (all or none) through the engine's group commit; returns
    /// their sequence numbers.
    pub fn put_events(&self, table: &str, events: &[NewEvent]) -> Result<Vec<u64>> {
        validate_table(table)?;
        for e in events {
            validate_name("agent", &e.agent)?;
            validate_name("symbol", &e.symbol)?;
        }
        let ks = match self.keyspaces() {
            Some(ks) if !self.db().is_read_only() => ks.clone(),
            _ => return Err(Error::Engine(amdb_engine::Error::ReadOnly)),
        };
        let first = self.allocate_seqs(events.len() as u64)?;
        let mut batch = WriteBatch::new();
        let prefix = event_prefix(table);
        let mut seqs = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let seq = first + i as u64;
            seqs.push(seq);
            batch.put(
                &ks.events,
                with_ts_seq(prefix.clone(), e.ts, seq),
                encode_record(e),
            );
            if !e.agent.is_empty() {
                batch.put(
                    &ks.events,
                    with_ts_seq(index_prefix(b'a', table, &e.agent), e.ts, seq),
                    [],
                );
            }
            if !e.symbol.is_empty() {
                batch.put(
                    &ks.events,
                    with_ts_seq(index_prefix(b's', table, &e.symbol), e.ts, seq),
                    [],
                );
            }
        }
        self.db().write_opt(&batch, &self.write_options())?;
        Ok(seqs)
    }

    /// Reserves `n` consecutive sequence numbers, taking a new durable lease when the
    /// current one runs out. The lease is synced before any number from it is used, so
    /// numbers are unique across crashes and restarts.
    fn allocate_seqs(&self, n: u64) -> Result<u64> {
        let ks = self.keyspaces().expect("checked writable");
        let mut lease = self.event_seq().lock();
        if lease.end - lease.next < n {
            let start = match self.db().get(&ks.meta, keys::EVENT_SEQ_LEASE)? {
                Some(v) => u64::from_le_bytes(
                    v.as_slice()
                        .try_into()
                        .map_err(|_| Error::corrupt("event sequence lease", "not 8 bytes"))?,
                ),
                None => 1,
            };
            let end = start + n.max(SEQ_LEASE);
            self.db().write_opt(
                &{
                    let mut b = WriteBatch::new();
                    b.put(&ks.meta, keys::EVENT_SEQ_LEASE, end.to_le_bytes());
                    b
                },
                &WriteOptions::durability(Durability::Sync),
            )?;
            *lease = SeqLease { next: start, end };
        }
        let first = lease.next;
        lease.next += n;
        Ok(first)
    }

    /// Events of `table` matching `q`, oldest first (by time, then sequence).
    pub fn events(&self, table: &str, q: &EventQuery) -> Result<Vec<Event>> {
        validate_table(table)?;
        // A NUL would let one name's index prefix match another's keys.
        for (what, name) in [("agent", &q.agent), ("symbol", &q.symbol)] {
            if let Some(n) = name {
                validate_name(what, n)?;
            }
        }
        let Some(ks) = self.keyspaces() else {
            return Ok(Vec::new());
        };
        let snap = self.db().snapshot();
        let limit = q.limit.unwrap_or(usize::MAX);
        let (prefix, via_index) = match (&q.agent, &q.symbol) {
            (Some(a), _) => (index_prefix(b'a', table, a), true),
            (None, Some(s)) => (index_prefix(b's', table, s), true),
            (None, None) => (event_prefix(table), false),
        };
        let lower = with_ts_seq(prefix.clone(), q.from.unwrap_or(i64::MIN), 0);
        let mut ro = ReadOptions::new().snapshot(&snap).prefix(&prefix);
        ro.lower_bound = Some(lower);
        if let Some(to) = q.to {
            ro.upper_bound = Some(with_ts_seq(prefix.clone(), to, 0));
        }
        let mut out = Vec::new();
        let event_pfx = event_prefix(table);
        let get_ro = ReadOptions::new().snapshot(&snap);
        for entry in self.db().iter(&ks.events, &ro)?.forward() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry?;
            let ev = if via_index {
                let tail = &k[k.len() - 16..];
                let mut pk = event_pfx.clone();
                pk.extend_from_slice(tail);
                let v = self
                    .db()
                    .get_opt(&ks.events, &pk, &get_ro)?
                    .ok_or_else(|| Error::corrupt("event index", "points at a missing event"))?;
                decode_record(&pk, &v)?
            } else {
                decode_record(&k, &v)?
            };
            if let (Some(sym), true) = (&q.symbol, q.agent.is_some()) {
                if &ev.symbol != sym {
                    continue;
                }
            }
            out.push(ev);
        }
        Ok(out)
    }
}
