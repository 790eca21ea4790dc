//! The ledger's hashing and proofs (`docs/ledger.md`): what a transaction's hash covers
//! ([`tx`]) and the append-only Merkle tree over transactions with its inclusion and
//! consistency proofs ([`merkle`]). Everything here is a pure function of its inputs, so a
//! verifier needs only a proof and a trusted root, never the database.

pub mod merkle;
pub mod tx;
