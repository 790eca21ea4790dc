//! An append-only Merkle tree with inclusion and consistency proofs: RFC 6962 / RFC 9162
//! with BLAKE3 as the hash.
//!
//! # Shape
//!
//! As in RFC 6962 §2.1: a tree of `n > 1` leaves splits at `k`, the largest power of two
//! strictly smaller than `n`. The first `k` leaves form a perfect left subtree, the other
//! `n - k` a right subtree built by the same rule. For 7 leaves:
//!
//! ```text
//!                  root
//!              /          \
//!         [0, 4)          [4, 7)
//!         /    \          /    \
//!     [0, 2) [2, 4)   [4, 6)    l6
//!      / \    / \      / \
//!     l0 l1  l2 l3    l4 l5
//! ```
//!
//! Appending never changes a perfect subtree, only adds nodes along the right edge: so an old
//! tree can be proven a prefix of a newer one, and [`MerkleTree`] can answer for every
//! earlier size from the nodes it already has.
//!
//! # Hashing
//!
//! ```text
//! node        NODE(left || right)       64 bytes: one BLAKE3 compression
//! empty tree  NODE("")
//! leaf        the leaf hash itself (an entry hash or a transaction hash)
//! ```
//!
//! where NODE is BLAKE3 in derive-key mode under the node context ([`domain::NODE`]).
//! RFC 6962 keeps leaves and inner nodes apart with prefix bytes (0x00 leaf, 0x01 node);
//! here every leaf is already a hash in its own domain (entries and transactions have their
//! own contexts), so the separation is the same: an inner node cannot be passed off as a
//! leaf, nor a leaf as a node, without a BLAKE3 collision across contexts. The tree must
//! only be given leaves hashed in a domain other than NODE's. Doing without the prefix makes
//! a node one compression instead of two.
//!
//! # Proofs
//!
//! * Inclusion (audit path, RFC 6962 §2.1.1): the siblings from a leaf up to the root,
//!   lowest first. It proves that the leaf hash sits at `index` under the trusted root. The
//!   size only tells the verifier which side each sibling is on, and some different sizes
//!   give the same sides, so the path does not prove the size: trust it with the root.
//! * Consistency (RFC 6962 §2.1.2): the fewest node hashes from which both roots can be
//!   computed. It proves that the first `old_size` leaves of the new tree are exactly the
//!   old tree, i.e. that the log was only appended to.
//!
//! A proof's length follows from the sizes and index alone, so the verifiers reject a proof
//! of the wrong length before hashing; they never panic, whatever the input.
//!
//! # Invariants
//!
//! * `levels[0]` holds the leaves; `levels[h][i]` is the hash of the perfect subtree over
//!   leaves `[i << h, (i + 1) << h)`, stored as soon as its last leaf is pushed.
//! * Nothing is removed or rewritten, so a root or proof for size `n` stays valid forever.
//! * Every range the RFC recursion visits from `[0, n)` starts at a multiple of a power of two
//!   no smaller than the range, so each perfect range it meets is one stored node.

use std::fmt;

use super::domain;
use super::lanes::{self, Mode};

/// A BLAKE3 digest: a leaf, an inner node or a root.
pub type Hash = [u8; 32];

/// The hash of an inner node: NODE(left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    domain::NODE.hash([*left, *right].as_flattened())
}

/// For each list of leaf hashes, the root of the tree over them (what
/// `MerkleTree::from_leaves(leaves).root()` gives), with the inner nodes of all the trees
/// computed together in SIMD lanes, one level at a time.
pub(crate) fn roots_of_many(trees: &[&[Hash]]) -> Vec<Hash> {
    let root = |t: &[Hash]| t.first().copied().unwrap_or_else(empty_root);
    if trees.iter().all(|t| t.len() <= 1) {
        return trees.iter().map(|t| root(t)).collect();
    }
    let mut level = parents_of_many(trees);
    while level.iter().any(|t| t.len() > 1) {
        let slices: Vec<&[Hash]> = level.iter().map(Vec::as_slice).collect();
        level = parents_of_many(&slices);
    }
    level.iter().map(|t| root(t)).collect()
}

/// The next level up of each tree: its neighbours' parents, hashed together in lanes, and
/// an odd last node carried up unchanged. Repeating this builds the RFC shape: every left
/// subtree it forms is perfect, and as large as a power of two can be below its parent's
/// size.
fn parents_of_many(trees: &[&[Hash]]) -> Vec<Vec<Hash>> {
    // A node's input is two neighbours, which lie side by side: 64 bytes in place.
    let pairs: Vec<&[u8]> = trees
        .iter()
        .flat_map(|t| t.chunks_exact(2).map(|pair| pair.as_flattened()))
        .collect();
    let mut nodes = vec![[0; 32]; pairs.len()];
    lanes::hash_many(Mode::DeriveKey(&domain::NODE), |i| pairs[i], &mut nodes);
    let mut next = nodes.into_iter();
    trees
        .iter()
        .map(|t| {
            let mut up: Vec<Hash> = next.by_ref().take(t.len() / 2).collect();
            if t.len() % 2 == 1 {
                up.push(t[t.len() - 1]);
            }
            up
        })
        .collect()
}

/// The root of the tree with no leaves: NODE of the empty string (RFC 6962 hashes the
/// empty string too).
pub fn empty_root() -> Hash {
    domain::NODE.hash(b"")
}

/// Why a proof could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    IndexOutOfRange { index: u64, tree_size: u64 },
    /// A size outside `min..=max`: past the tree's leaves, or an old size of 0 or > new size.
    SizeOutOfRange { size: u64, min: u64, max: u64 },
    /// The proof does not have the number of hashes its sizes and index call for.
    WrongProofLength { expected: usize, actual: usize },
    /// The root computed from the proof is not the trusted root of that size.
    RootMismatch {
        tree_size: u64,
        expected: Hash,
        computed: Hash,
    },
    /// A proof whose fields contradict each other (a delete carrying a value).
    Malformed(&'static str),
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::IndexOutOfRange { index, tree_size } => {
                write!(
                    f,
                    "leaf index {index} is out of range for tree size {tree_size}"
                )
            }
            ProofError::SizeOutOfRange { size, min, max } => {
                write!(f, "tree size {size} is out of range {min}..={max}")
            }
            ProofError::WrongProofLength { expected, actual } => {
                write!(f, "proof has {actual} hashes, expected {expected}")
            }
            ProofError::RootMismatch {
                tree_size,
                expected,
                computed,
            } => write!(
                f,
                "root mismatch for tree size {tree_size}: proof gives {}, trusted root is {}",
                to_hex(computed),
                to_hex(expected)
            ),
            ProofError::Malformed(why) => write!(f, "malformed proof: {why}"),
        }
    }
}

impl std::error::Error for ProofError {}

/// The largest power of two strictly below `n`, where the RFC splits a tree of `n > 1`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (n - 1).ilog2()
}

/// An append-only Merkle tree over leaf hashes, kept in memory.
#[derive(Clone)]
pub struct MerkleTree {
    /// Complete subtrees by height; see "Invariants" in the module documentation.
    levels: Vec<Vec<Hash>>,
}

impl Default for MerkleTree {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MerkleTree {
    // Printing every leaf of a large tree would swamp a log; the size and root identify it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleTree")
            .field("len", &self.len())
            .field("root", &to_hex(&self.root()))
            .finish()
    }
}

impl MerkleTree {
    pub fn new() -> Self {
        let levels = vec![Vec::new()];
        MerkleTree { levels }
    }

    /// A tree holding `leaves` (hashes from a domain other than NODE, see the module documentation) in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        leaves.into_iter().for_each(|leaf| tree.push(leaf));
        tree
    }

    /// Appends a leaf hash (from a domain other than NODE).
    pub fn push(&mut self, leaf: Hash) {
        self.levels[0].push(leaf);
        // A level with an even count has just completed a pair; carry it upwards. The carry
        // stops at the first odd level, so pushes cost one node hash each on average.
        let mut h = 0;
        while self.levels[h].len() & 1 == 0 {
            let row = &self.levels[h];
            let parent = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The leaf hashes, in the order they were pushed.
    pub fn leaves(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The root over all leaves.
    pub fn root(&self) -> Hash {
        self.root_of(self.len())
    }

    /// The root over the first `n` leaves, as it was when the tree had `n` leaves.
    pub fn root_at(&self, n: u64) -> Result<Hash, ProofError> {
        check_range(n, 0, self.len())?;
        Ok(self.root_of(n))
    }

    /// The audit path of leaf `index` in the tree of the first `n` leaves, lowest sibling
    /// first (RFC 6962 §2.1.1 PATH).
    pub fn inclusion_proof(&self, index: u64, n: u64) -> Result<Vec<Hash>, ProofError> {
        check_range(n, 0, self.len())?;
        check_index(index, n)?;
        let mut proof = Vec::new();
        self.path(index, 0, n, &mut proof);
        Ok(proof)
    }

    /// The proof that the tree of the first `m` leaves is a prefix of the tree of the first
    /// `n` (RFC 6962 §2.1.2 PROOF(m, D[n])); empty when `m == n`.
    pub fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>, ProofError> {
        check_range(n, 1, self.len())?;
        check_range(m, 1, n)?;
        let mut proof = Vec::new();
        self.subproof(m, 0, n, true, &mut proof);
        Ok(proof)
    }

    fn root_of(&self, n: u64) -> Hash {
        if n == 0 {
            return empty_root();
        }
        self.range_hash(0, n)
    }

    /// MTH of leaves `[lo, hi)`, for a non-empty range of the shape the RFC recursion visits.
    /// Left halves are always stored nodes, so only the right edge is hashed: O(log n).
    fn range_hash(&self, lo: u64, hi: u64) -> Hash {
        let size = hi - lo;
        if size.is_power_of_two() {
            debug_assert_eq!(lo % size, 0, "perfect ranges are aligned");
            let h = size.trailing_zeros();
            return self.levels[h as usize][(lo >> h) as usize];
        }
        let k = split_point(size);
        node_hash(&self.range_hash(lo, lo + k), &self.range_hash(lo + k, hi))
    }

    /// PATH(index - lo, D[lo:hi]), appended lowest sibling first.
    fn path(&self, index: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
        if hi - lo == 1 {
            return;
        }
        let mid = lo + split_point(hi - lo);
        if index < mid {
            self.path(index, lo, mid, out);
            out.push(self.range_hash(mid, hi));
        } else {
            self.path(index, mid, hi, out);
            out.push(self.range_hash(lo, mid));
        }
    }

    /// SUBPROOF(m, D[lo:hi], whole): `m` counts the old tree's leaves inside `[lo, hi)`, and
    /// `whole` says the range is the entire old tree, whose root the verifier already has.
    fn subproof(&self, m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<Hash>) {
        if m == hi - lo {
            if !whole {
                out.push(self.range_hash(lo, hi));
            }
            return;
        }
        let k = split_point(hi - lo);
        if m <= k {
            self.subproof(m, lo, lo + k, whole, out);
            out.push(self.range_hash(lo + k, hi));
        } else {
            self.subproof(m - k, lo + k, hi, false, out);
            out.push(self.range_hash(lo, lo + k));
        }
    }
}

/// Checks that `leaf` (a leaf hash) is at `index` in the tree of
/// `tree_size` leaves whose root is `root`, given its audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion(leaf, index, tree_size, proof)?;
    check_root(tree_size, root, &computed)
}

/// The root that `proof` leads to from `leaf` at `index` in a tree of `tree_size` leaves:
/// how a verifier gets a root it then checks some other way (a batch's entries root, which
/// the transaction hash covers).
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    check_index(index, tree_size)?;
    let last = tree_size - 1;
    check_len(proof, path_len(index, last))?;
    Ok(climb(*leaf, index, last, proof).1)
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, given a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_range(old_size, 1, new_size)?;
    if old_size == new_size {
        check_len(proof, 0)?;
        return check_root(new_size, new_root, old_root);
    }
    // The walk starts at the old tree's last perfect subtree, so positions are counted on
    // that subtree's level. If the old tree is itself perfect, that subtree is the old root,
    // which the verifier has; otherwise the proof supplies it first.
    let level = old_size.trailing_zeros();
    let node = (old_size - 1) >> level;
    let last = (new_size - 1) >> level;
    let have_start = old_size.is_power_of_two();
    check_len(proof, path_len(node, last) + usize::from(!have_start))?;
    let (start, path) = match (have_start, proof.split_first()) {
        (false, Some((first, rest))) => (*first, rest),
        _ => (*old_root, proof),
    };
    let (old, new) = climb(start, node, last, path);
    check_root(old_size, old_root, &old)?;
    check_root(new_size, new_root, &new)
}

/// How many siblings lie on the path from position `node` to the root, when `last` is the
/// position of the tree's last node on the same level.
fn path_len(node: u64, last: u64) -> usize {
    // Below the level where the paths to `node` and `last` join, `node` is inside a perfect
    // subtree and has a sibling on every level. Above it, `node` is on the right edge: odd
    // positions have a left sibling, even ones are the last node and are carried up alone.
    let inner = u64::BITS - (node ^ last).leading_zeros();
    let edge = node.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + edge) as usize
}

/// Walks from `start` at position `node` up to the root (`last` is the last position on that
/// level) and returns the hashes of the old tree (up to and including `start`) and of the
/// whole tree. Callers have checked that `path` has `path_len(node, last)` hashes, which
/// replaces RFC 9162's "fail if sn reaches 0 early". Inclusion ignores the old tree: one
/// walk for both proofs keeps the RFC's index arithmetic in a single place.
fn climb(start: Hash, mut node: u64, mut last: u64, path: &[Hash]) -> (Hash, Hash) {
    let (mut old, mut new) = (start, start);
    for sibling in path {
        if node & 1 == 1 || node == last {
            // A left sibling precedes `start`, so it is part of the old tree too.
            old = node_hash(sibling, &old);
            new = node_hash(sibling, &new);
            // A last node with no right sibling is carried up unchanged: skip those levels.
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            // A right sibling was appended after `start`; only the new tree covers it.
            new = node_hash(&new, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    debug_assert_eq!(last, 0, "the path ends at the root");
    (old, new)
}

fn check_index(index: u64, tree_size: u64) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    Ok(())
}

fn check_range(size: u64, min: u64, max: u64) -> Result<(), ProofError> {
    if size < min || size > max {
        return Err(ProofError::SizeOutOfRange { size, min, max });
    }
    Ok(())
}

fn check_len(proof: &[Hash], expected: usize) -> Result<(), ProofError> {
    let actual = proof.len();
    if actual != expected {
        return Err(ProofError::WrongProofLength { expected, actual });
    }
    Ok(())
}

fn check_root(tree_size: u64, trusted: &Hash, computed: &Hash) -> Result<(), ProofError> {
    if trusted != computed {
        return Err(ProofError::RootMismatch {
            tree_size,
            expected: *trusted,
            computed: *computed,
        });
    }
    Ok(())
}

/// Lowercase hex, 64 characters.
pub fn to_hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses exactly 64 hex digits, either case; None for anything else.
pub fn from_hex(s: &str) -> Option<Hash> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        // Bytes of a multi-byte character are >= 0x80 and are no hex digit either.
        let digit = |b: u8| char::from(b).to_digit(16);
        *byte = ((digit(pair[0])? << 4) | digit(pair[1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// A leaf hash standing for `data` (in the transaction domain, as the ledger's are).
    fn leaf_of(data: &[u8]) -> Hash {
        domain::TX.hash(data)
    }

    /// Distinct leaves, one per (seed, position).
    fn leaves(seed: u64, n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&seed.to_le_bytes());
                bytes[8..].copy_from_slice(&i.to_le_bytes());
                leaf_of(&bytes)
            })
            .collect()
    }

    fn flip(h: &Hash, bit: usize) -> Hash {
        let mut out = *h;
        out[bit / 8] ^= 1 << (bit % 8);
        out
    }

    #[test]
    fn many_trees_at_once_have_the_roots_of_each() {
        let sizes: Vec<u64> = (0..40).chain([63, 64, 65, 100, 1000]).collect();
        let trees: Vec<Vec<Hash>> = sizes.iter().map(|&n| leaves(n, n)).collect();
        let slices: Vec<&[Hash]> = trees.iter().map(Vec::as_slice).collect();
        let roots = roots_of_many(&slices);
        for (t, root) in trees.iter().zip(&roots) {
            assert_eq!(*root, mth(t), "{} leaves", t.len());
        }
    }

    /// RFC 6962 §2.1 MTH, written as literally as possible.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => blake3::derive_key("amdb 2026-11-22 ledger v2 tree node", b""),
            1 => d[0],
            n => {
                let k = k_of(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// The largest power of two below `n`, found by counting rather than by bit tricks.
    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// RFC 6962 §2.1.1 PATH(m, D[n]).
    fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() == 1 {
            return Vec::new();
        }
        let k = k_of(d.len());
        let (mut p, sib) = if m < k {
            (ref_path(m, &d[..k]), mth(&d[k..]))
        } else {
            (ref_path(m - k, &d[k..]), mth(&d[..k]))
        };
        p.push(sib);
        p
    }

    /// RFC 6962 §2.1.2 SUBPROOF(m, D[n], b).
    fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        if m == d.len() {
            return if b { Vec::new() } else { vec![mth(d)] };
        }
        let k = k_of(d.len());
        let (mut p, sib) = if m <= k {
            (ref_subproof(m, &d[..k], b), mth(&d[k..]))
        } else {
            (ref_subproof(m - k, &d[k..], false), mth(&d[..k]))
        };
        p.push(sib);
        p
    }

    /// For each sibling on PATH(index, D[size]), lowest first: is it on the left?
    fn path_sides(index: u64, size: u64) -> Vec<bool> {
        if size == 1 {
            return Vec::new();
        }
        let k = split_point(size);
        let mut sides = if index < k {
            path_sides(index, k)
        } else {
            path_sides(index - k, size - k)
        };
        sides.push(index >= k);
        sides
    }

    #[test]
    fn hashes_are_domain_separated() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let concat = [a, b].concat();
        assert_eq!(
            node_hash(&a, &b),
            blake3::derive_key("amdb 2026-11-22 ledger v2 tree node", &concat)
        );
        // An inner node's children, read as leaf data, do not give the node's hash.
        assert_ne!(leaf_of(&concat), node_hash(&a, &b));
        assert_ne!(*blake3::hash(&concat).as_bytes(), node_hash(&a, &b));
    }

    #[test]
    fn empty_tree_root_is_the_node_hash_of_the_empty_string() {
        let tree = MerkleTree::new();
        assert!(tree.is_empty());
        assert_eq!(
            tree.root(),
            blake3::derive_key("amdb 2026-11-22 ledger v2 tree node", b"")
        );
        assert_eq!(tree.root_at(0), Ok(empty_root()));
        assert_eq!(
            tree.inclusion_proof(0, 0),
            Err(ProofError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            })
        );
        assert!(matches!(
            tree.consistency_proof(0, 0),
            Err(ProofError::SizeOutOfRange { .. })
        ));
    }

    #[test]
    fn root_matches_reference_mth_up_to_70() {
        let all = leaves(1, 70);
        let mut tree = MerkleTree::new();
        assert_eq!(tree.root(), mth(&[]));
        for n in 1..=70 {
            tree.push(all[n - 1]);
            assert_eq!(tree.len(), n as u64);
            assert_eq!(tree.root(), mth(&all[..n]), "size {n}");
        }
        assert_eq!(tree.leaves(), &all[..]);
    }

    #[test]
    fn root_at_matches_fresh_tree_of_prefix() {
        let all = leaves(2, 70);
        let tree = MerkleTree::from_leaves(all.iter().copied());
        for n in 0..=70 {
            let fresh = MerkleTree::from_leaves(all[..n].iter().copied());
            assert_eq!(tree.root_at(n as u64), Ok(fresh.root()), "size {n}");
            assert_eq!(fresh.root(), mth(&all[..n]), "size {n}");
        }
        assert!(tree.root_at(71).is_err());
    }

    #[test]
    fn proofs_match_rfc6962_reference_up_to_64() {
        let all = leaves(3, 64);
        let tree = MerkleTree::from_leaves(all.iter().copied());
        for n in 1..=64usize {
            for i in 0..n {
                let proof = tree.inclusion_proof(i as u64, n as u64).unwrap();
                assert_eq!(proof, ref_path(i, &all[..n]), "PATH({i}, D[{n}])");
            }
            for m in 1..=n {
                let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
                assert_eq!(
                    proof,
                    ref_subproof(m, &all[..n], true),
                    "PROOF({m}, D[{n}])"
                );
            }
        }
    }

    #[test]
    fn single_leaf_tree() {
        let leaf = leaf_of(&[7; 32]);
        let tree = MerkleTree::from_leaves([leaf]);
        assert_eq!(tree.root(), leaf);
        assert_eq!(tree.inclusion_proof(0, 1), Ok(Vec::new()));
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
        assert!(verify_inclusion(&leaf, 0, 1, &[leaf], &leaf).is_err());
        assert!(verify_inclusion(&flip(&leaf, 0), 0, 1, &[], &leaf).is_err());
        assert_eq!(tree.consistency_proof(1, 1), Ok(Vec::new()));
        assert_eq!(verify_consistency(1, 1, &leaf, &leaf, &[]), Ok(()));
        // Growing from one leaf to two: the proof is just the new leaf.
        let second = leaf_of(&[8; 32]);
        let grown = MerkleTree::from_leaves([leaf, second]);
        assert_eq!(grown.consistency_proof(1, 2), Ok(vec![second]));
        assert_eq!(
            verify_consistency(1, 2, &leaf, &grown.root(), &[second]),
            Ok(())
        );
    }

    #[test]
    fn consistency_of_equal_sizes() {
        let tree = MerkleTree::from_leaves(leaves(4, 9));
        let (r5, r9) = (tree.root_at(5).unwrap(), tree.root());
        for n in 1..=9 {
            assert_eq!(tree.consistency_proof(n, n), Ok(Vec::new()));
        }
        assert_eq!(verify_consistency(9, 9, &r9, &r9, &[]), Ok(()));
        assert!(matches!(
            verify_consistency(9, 9, &r5, &r9, &[]),
            Err(ProofError::RootMismatch { tree_size: 9, .. })
        ));
        assert_eq!(
            verify_consistency(9, 9, &r9, &r9, &[r5]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                actual: 1
            })
        );
    }

    #[test]
    fn tree_rejects_out_of_range_requests() {
        let tree = MerkleTree::from_leaves(leaves(5, 10));
        let size = |size, min, max| Some(ProofError::SizeOutOfRange { size, min, max });
        assert_eq!(tree.root_at(11).err(), size(11, 0, 10));
        assert_eq!(tree.inclusion_proof(0, 11).err(), size(11, 0, 10));
        assert_eq!(
            tree.inclusion_proof(10, 10).err(),
            Some(ProofError::IndexOutOfRange {
                index: 10,
                tree_size: 10
            })
        );
        assert_eq!(tree.consistency_proof(3, 11).err(), size(11, 1, 10));
        assert_eq!(tree.consistency_proof(0, 5).err(), size(0, 1, 5));
        assert_eq!(tree.consistency_proof(6, 5).err(), size(6, 1, 5));
    }

    #[test]
    fn verifiers_reject_bad_sizes_without_panicking() {
        let h = [0u8; 32];
        assert!(verify_inclusion(&h, 0, 0, &[], &h).is_err());
        assert!(verify_inclusion(&h, u64::MAX, u64::MAX, &[], &h).is_err());
        assert!(verify_inclusion(&h, u64::MAX - 1, u64::MAX, &[h; 64], &h).is_err());
        assert!(verify_inclusion(&h, 0, u64::MAX, &[h; 64], &h).is_err());
        assert!(verify_consistency(0, 5, &h, &h, &[]).is_err());
        assert!(verify_consistency(6, 5, &h, &h, &[]).is_err());
        assert!(verify_consistency(1, u64::MAX, &h, &h, &[h; 64]).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &h, &h, &[h; 3]).is_err());
    }

    /// The audit path proves a position under a root; the size only orients the siblings.
    /// Leaf 0 has the same path shape in trees of 5 and 7 leaves, so a 5-leaf proof also
    /// "verifies" as size 7 against the 5-leaf root: the size must be trusted with the root.
    #[test]
    fn inclusion_proof_does_not_bind_tree_size() {
        let tree = MerkleTree::from_leaves(leaves(6, 7));
        let leaf = tree.leaves()[0];
        let proof = tree.inclusion_proof(0, 5).unwrap();
        let r5 = tree.root_at(5).unwrap();
        assert_eq!(verify_inclusion(&leaf, 0, 5, &proof, &r5), Ok(()));
        assert_eq!(verify_inclusion(&leaf, 0, 7, &proof, &r5), Ok(()));
        assert!(verify_inclusion(&leaf, 0, 7, &proof, &tree.root()).is_err());
    }

    #[test]
    fn errors_display_on_one_line_with_numbers() {
        let errors = [
            (
                ProofError::IndexOutOfRange {
                    index: 12,
                    tree_size: 7,
                },
                &["12", "7"][..],
            ),
            (
                ProofError::SizeOutOfRange {
                    size: 9,
                    min: 1,
                    max: 4,
                },
                &["9", "1..=4"],
            ),
            (
                ProofError::WrongProofLength {
                    expected: 3,
                    actual: 5,
                },
                &["3", "5"],
            ),
            (
                ProofError::RootMismatch {
                    tree_size: 42,
                    expected: [0xab; 32],
                    computed: [0xcd; 32],
                },
                &["42", "abababab", "cdcdcdcd"],
            ),
        ];
        for (err, needles) in errors {
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            for needle in needles {
                assert!(msg.contains(needle), "{msg:?} lacks {needle}");
            }
            let _: &dyn std::error::Error = &err;
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let h = leaf_of(b"x");
        let hex = to_hex(&h);
        assert_eq!(hex.len(), 64);
        assert_eq!(hex, hex.to_lowercase());
        assert_eq!(from_hex(&hex), Some(h));
        assert_eq!(from_hex(&hex.to_uppercase()), Some(h));
        assert_eq!(to_hex(&[0x0f; 32]), "0f".repeat(32));
        assert_eq!(from_hex(&hex[..62]), None);
        assert_eq!(from_hex(&format!("{hex}00")), None);
        assert_eq!(from_hex(&format!("{}g", &hex[..63])), None);
        assert_eq!(from_hex(&format!("{}é", &hex[..62])), None);
        assert_eq!(from_hex(&format!("+{}", &hex[..63])), None);
    }

    /// A tree size and a tree holding up to 40 more leaves than that.
    fn size_and_tree(max: u64) -> impl Strategy<Value = (u64, MerkleTree)> {
        (1..max, 0u64..40, any::<u64>())
            .prop_map(|(n, extra, seed)| (n, MerkleTree::from_leaves(leaves(seed, n + extra))))
    }

    proptest! {
        #[test]
        fn prop_inclusion_proofs_verify((n, tree) in size_and_tree(300)) {
            let root = tree.root_at(n).unwrap();
            for index in 0..n {
                let proof = tree.inclusion_proof(index, n).unwrap();
                let leaf = &tree.leaves()[index as usize];
                prop_assert_eq!(verify_inclusion(leaf, index, n, &proof, &root), Ok(()));
            }
        }

        #[test]
        fn prop_inclusion_tampering_fails(
            (n, tree) in size_and_tree(300),
            pick: Index,
            bit in 0usize..256,
            stranger: [u8; 32],
        ) {
            let index = pick.index(n as usize) as u64;
            let root = tree.root_at(n).unwrap();
            let leaf = tree.leaves()[index as usize];
            let proof = tree.inclusion_proof(index, n).unwrap();
            for b in 0..256 {
                prop_assert!(verify_inclusion(&flip(&leaf, b), index, n, &proof, &root).is_err());
            }
            for e in 0..proof.len() {
                for b in (0..256).step_by(29).map(|b| (b + bit) % 256) {
                    let mut bad = proof.clone();
                    bad[e] = flip(&bad[e], b);
                    prop_assert!(verify_inclusion(&leaf, index, n, &bad, &root).is_err());
                }
            }
            for b in 0..64 {
                let other = index ^ (1 << b);
                prop_assert!(verify_inclusion(&leaf, other, n, &proof, &root).is_err());
            }
            // Another size verifies only if it orients every sibling the same way (see
            // `inclusion_proof_does_not_bind_tree_size`); any other change is caught.
            for b in 0..64 {
                let other = n ^ (1 << b);
                let same_shape = index < other && path_sides(index, other) == path_sides(index, n);
                let ok = verify_inclusion(&leaf, index, other, &proof, &root).is_ok();
                prop_assert_eq!(ok, same_shape, "size {} -> {}", n, other);
            }
            let foreign = leaf_of(&stranger);
            prop_assume!(!tree.leaves().contains(&foreign));
            let mismatch = matches!(
                verify_inclusion(&foreign, index, n, &proof, &root),
                Err(ProofError::RootMismatch { .. })
            );
            prop_assert!(mismatch);
            prop_assert!(verify_inclusion(&foreign, 0, n, &tree.inclusion_proof(0, n).unwrap(), &root).is_err());
        }

        #[test]
        fn prop_consistency_proofs_verify((n, tree) in size_and_tree(301)) {
            let new_root = tree.root_at(n).unwrap();
            for m in 1..=n {
                let proof = tree.consistency_proof(m, n).unwrap();
                let old_root = tree.root_at(m).unwrap();
                prop_assert_eq!(verify_consistency(m, n, &old_root, &new_root, &proof), Ok(()));
            }
        }

        #[test]
        fn prop_consistency_tampering_fails(
            (n, m, seed) in (1u64..=300).prop_flat_map(|n| (Just(n), 1..=n, any::<u64>())),
            picks: (Index, Index, Index),
            bit in 0usize..256,
        ) {
            let honest = leaves(seed, n);
            let tree = MerkleTree::from_leaves(honest.iter().copied());
            let (old_root, new_root) = (tree.root_at(m).unwrap(), tree.root());
            let proof = tree.consistency_proof(m, n).unwrap();
            prop_assert_eq!(verify_consistency(m, n, &old_root, &new_root, &proof), Ok(()));

            // One leaf of the old tree changed: the honest proof does not cover it, and a
            // tree grown from the changed history does not extend the honest old root.
            let t = picks.0.index(m as usize);
            let mut tampered = honest.clone();
            tampered[t] = flip(&tampered[t], bit);
            let forged = MerkleTree::from_leaves(tampered);
            let forged_old = forged.root_at(m).unwrap();
            prop_assert!(verify_consistency(m, n, &forged_old, &new_root, &proof).is_err());
            let forged_proof = forged.consistency_proof(m, n).unwrap();
            prop_assert_eq!(
                verify_consistency(m, n, &forged_old, &forged.root(), &forged_proof),
                Ok(())
            );
            prop_assert!(verify_consistency(m, n, &old_root, &forged.root(), &forged_proof).is_err());

            // Two leaves swapped: the honest proof never matches the new root, and a proof
            // from the swapped tree extends the honest old tree only if both are new leaves.
            if n >= 2 {
                let i = picks.1.index(n as usize);
                let j = (i + 1 + picks.2.index(n as usize - 1)) % n as usize;
                let mut swapped = honest.clone();
                swapped.swap(i, j);
                let other = MerkleTree::from_leaves(swapped);
                prop_assert!(verify_consistency(m, n, &old_root, &other.root(), &proof).is_err());
                let other_proof = other.consistency_proof(m, n).unwrap();
                let ok = verify_consistency(m, n, &old_root, &other.root(), &other_proof).is_ok();
                prop_assert_eq!(ok, i.min(j) as u64 >= m);
            }

            for e in 0..proof.len() {
                for b in (0..256).step_by(37).map(|b| (b + bit) % 256) {
                    let mut bad = proof.clone();
                    bad[e] = flip(&bad[e], b);
                    prop_assert!(verify_consistency(m, n, &old_root, &new_root, &bad).is_err());
                }
            }
            let wrong_len = |p: &[Hash]| {
                matches!(
                    verify_consistency(m, n, &old_root, &new_root, p),
                    Err(ProofError::WrongProofLength { .. })
                )
            };
            if !proof.is_empty() {
                prop_assert!(wrong_len(&proof[1..]));
                prop_assert!(wrong_len(&proof[..proof.len() - 1]));
            }
            let mut longer = proof.clone();
            longer.push(new_root);
            prop_assert!(wrong_len(&longer));
            longer.insert(0, old_root);
            prop_assert!(wrong_len(&longer));
        }

        #[test]
        fn prop_verifiers_never_panic(
            index: u64,
            size: u64,
            old_size: u64,
            proof in prop::collection::vec(any::<[u8; 32]>(), 0..70),
            root: [u8; 32],
        ) {
            let _ = verify_inclusion(&root, index, size, &proof, &root);
            let _ = verify_consistency(old_size, size, &root, &root, &proof);
            // Sizes in range and a proof of exactly the right length, so the walk runs.
            let size = size.max(1);
            let (index, old_size) = (index % size, old_size % size + 1);
            let mut exact = proof.clone();
            exact.resize(path_len(index, size - 1), root);
            prop_assert!(verify_inclusion(&root, index, size, &exact, &root).is_err() || size == 1);
            if old_size < size {
                let level = old_size.trailing_zeros();
                let len = path_len((old_size - 1) >> level, (size - 1) >> level);
                exact.resize(len + usize::from(!old_size.is_power_of_two()), root);
                let _ = verify_consistency(old_size, size, &root, &root, &exact);
            }
        }
    }
}
