//! Hash domains: each kind of ledger hash (entry, transaction, tree node) is BLAKE3 in
//! derive-key mode under its own context string, so no hash of one kind can be passed off
//! as another: a tree node as an entry, an entry as a transaction.
//!
//! `Domain::hash(input)` is `blake3::derive_key(context, input)`, what any BLAKE3 library
//! computes from the context string and the input (in Python,
//! `blake3.blake3(input, derive_key_context=context).digest()`). The context strings follow
//! BLAKE3's advice: hard-coded, globally unique, naming the application, a date and the
//! purpose. They are part of the format: changing one changes every hash.

use std::sync::OnceLock;

use blake3::hazmat::{hash_derive_key_context, ContextKey, HasherExt};

use super::merkle::Hash;

pub struct Domain {
    pub context: &'static str,
    key: OnceLock<ContextKey>,
}

/// Entry hashes, which are also the leaves of a transaction's entries tree.
pub static ENTRY: Domain = Domain::new("amdb 2026-11-22 ledger v2 entry");
/// Transaction hashes, which are also the leaves of the ledger's tree.
pub static TX: Domain = Domain::new("amdb 2026-11-22 ledger v2 transaction");
/// Inner nodes of both trees, and the root of an empty tree.
pub static NODE: Domain = Domain::new("amdb 2026-11-22 ledger v2 tree node");

impl Domain {
    const fn new(context: &'static str) -> Domain {
        Domain {
            context,
            key: OnceLock::new(),
        }
    }

    /// The context string hashed once: the chaining value every hash in the domain starts
    /// from.
    pub fn context_key(&self) -> &ContextKey {
        self.key
            .get_or_init(|| hash_derive_key_context(self.context))
    }

    /// `blake3::derive_key(context, input)`.
    pub fn hash(&self, input: &[u8]) -> Hash {
        let mut h = blake3::Hasher::new_from_context_key(self.context_key());
        h.update(input);
        *h.finalize().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_hash_is_blake3_derive_key() {
        for d in [&ENTRY, &TX, &NODE] {
            for input in [&b""[..], b"x", &[7u8; 64], &[9u8; 1500]] {
                assert_eq!(d.hash(input), blake3::derive_key(d.context, input));
            }
        }
        assert_ne!(ENTRY.hash(b"x"), TX.hash(b"x"));
        assert_ne!(TX.hash(b"x"), NODE.hash(b"x"));
    }
}
