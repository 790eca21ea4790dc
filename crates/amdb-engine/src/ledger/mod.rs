//! The ledger (`docs/ledger.md`): every committed batch is a transaction whose hash chains to
//! the previous one, and an append-only Merkle tree over the transactions gives inclusion
//! and consistency proofs.
//!
//! - [`tx`] and [`merkle`]: what is hashed and the tree; pure functions of their inputs.
//! - [`proof`]: proofs as a verifier receives them, checked against a trusted root alone,
//!   without the database.
//! - The rest is the engine's side: the marker that stamps each batch with its number and
//!   time, the LEDGER file's records, hashing committed entries, and the running service.

pub mod audit;
mod chain;
pub mod domain;
mod lanes;
pub(crate) mod marker;
pub mod merkle;
pub mod proof;
pub(crate) mod record;
pub(crate) mod service;
pub mod tx;
mod verify;

pub use audit::{AuditInfo, AuditRecord};
pub use record::TxRecord;
pub use service::{LedgerRoot, AUDIT_KEYSPACE, LEDGER_KEYSPACE, LEDGER_MAGIC};
pub use verify::{verify_ledger, Check, Fault, VerifyReport};
