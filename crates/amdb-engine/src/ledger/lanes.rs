//! BLAKE3 of many short inputs at once: one SIMD lane per input.
//!
//! The ledger hashes every entry several times (value, entry, leaf, tree nodes), and each of
//! those inputs is one or two 64-byte blocks. The `blake3` crate hashes a short input with
//! one compression at a time; its SIMD paths only pay off on inputs of several KiB. Here the
//! compressions of 16 inputs (AVX-512) or 8 (AVX2) run side by side, each input in its own
//! 32-bit lane, so a transaction of a thousand entries costs a few hundred wide compressions
//! instead of thousands of narrow ones.
//!
//! The output is BLAKE3 (32 bytes) in hash mode or in a [`Domain`]'s derive-key mode, bit
//! for bit what the `blake3` crate returns; the tests compare the two on every path this
//! machine can run. Inputs longer than one BLAKE3 chunk (1 KiB), machines without AVX2 and
//! stragglers too few to fill the lanes go to the `blake3` crate itself.
//!
//! How one input is hashed (BLAKE3 §2.4, a single chunk): the chaining value starts at the
//! IV (hash mode) or the context key (derive-key mode); block `k` of the input (zero-padded,
//! with its true length) is compressed with chunk counter 0 and flags CHUNK_START on the
//! first block and CHUNK_END | ROOT on the last, plus the mode's flag; the last
//! compression's chaining value is the hash. An empty input is one empty block.

use super::domain::Domain;
use super::merkle::Hash;

/// Inputs up to this length (one BLAKE3 chunk) are hashed in lanes.
const CHUNK_LEN: usize = 1024;
const BLOCK_LEN: usize = 64;

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;
const DERIVE_KEY_MATERIAL: u32 = 64;

/// Which BLAKE3 the lanes compute.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    /// `blake3::hash`.
    Hash,
    /// `blake3::derive_key(domain.context, input)`.
    DeriveKey(&'static Domain),
}

impl Mode {
    fn hash(self, input: &[u8]) -> Hash {
        match self {
            Mode::Hash => *blake3::hash(input).as_bytes(),
            Mode::DeriveKey(d) => d.hash(input),
        }
    }

    /// The starting chaining value and the flag every compression carries.
    fn key_and_flag(self) -> ([u32; 8], u32) {
        match self {
            Mode::Hash => (IV, 0),
            Mode::DeriveKey(d) => {
                let key = d.context_key();
                let words = std::array::from_fn(|w| {
                    u32::from_le_bytes(key[4 * w..4 * w + 4].try_into().expect("4 bytes"))
                });
                (words, DERIVE_KEY_MATERIAL)
            }
        }
    }
}

const IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];

/// The message word each round's `g` calls read: round 0 in order, each later round the
/// previous one permuted by BLAKE3's fixed permutation.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const SCHEDULE: [[usize; 16]; 7] = {
    const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
    let mut s = [[0usize; 16]; 7];
    let mut i = 0;
    while i < 16 {
        s[0][i] = i;
        i += 1;
    }
    let mut r = 1;
    while r < 7 {
        let mut i = 0;
        while i < 16 {
            s[r][i] = s[r - 1][PERMUTATION[i]];
            i += 1;
        }
        r += 1;
    }
    s
};

/// The instruction set the lanes run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// 16 lanes.
    Avx512,
    /// 8 lanes.
    Avx2,
    /// One input at a time through `blake3::hash`.
    Portable,
}

impl Isa {
    /// The widest this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Every instruction set this CPU can run, widest first (for tests).
    #[cfg(test)]
    pub fn available() -> Vec<Isa> {
        let best = Isa::detect();
        [Isa::Avx512, Isa::Avx2, Isa::Portable]
            .into_iter()
            .skip_while(|&isa| isa != best)
            .collect()
    }
}

/// Sets `out[i]` to the BLAKE3 (in `mode`) of `input(i)` for every `i < out.len()`.
pub(crate) fn hash_many<'a>(mode: Mode, input: impl Fn(usize) -> &'a [u8], out: &mut [Hash]) {
    hash_many_on(Isa::detect(), mode, input, out)
}

pub(crate) fn hash_many_on<'a>(
    isa: Isa,
    mode: Mode,
    input: impl Fn(usize) -> &'a [u8],
    out: &mut [Hash],
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only chosen when the CPU has AVX-512F and BW.
        Isa::Avx512 => in_groups::<16>(mode, &input, out, |key, flag, inputs, out| unsafe {
            x86::avx512_group(key, flag, inputs, out)
        }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2.
        Isa::Avx2 => in_groups::<8>(mode, &input, out, |key, flag, inputs, out| {
            lanes_group(key, flag, inputs, out, x86::avx2_compress)
        }),
        _ => one_by_one(mode, &input, out, 0),
    }
}

fn one_by_one<'a>(mode: Mode, input: &impl Fn(usize) -> &'a [u8], out: &mut [Hash], from: usize) {
    for (i, o) in out.iter_mut().enumerate().skip(from) {
        *o = mode.hash(input(i));
    }
}

/// Hashes in groups of `N` inputs of at most one chunk each: `group(key, mode_flag, inputs,
/// out)` sets `out[i]` (`out.len() <= N`) to the hash of `inputs[i]`; lanes past
/// `out.len()` hold empty inputs whose hashes are not wanted.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn in_groups<'a, const N: usize>(
    mode: Mode,
    input: &impl Fn(usize) -> &'a [u8],
    out: &mut [Hash],
    group: impl Fn(&[u32; 8], u32, &[&[u8]; N], &mut [Hash]),
) {
    // Fewer inputs than this left over: one by one is cheaper than a mostly empty group.
    let min_group = (N / 4).max(1);
    let (key, mode_flag) = mode.key_and_flag();
    let mut start = 0;
    while out.len() - start >= min_group {
        let n = (out.len() - start).min(N);
        let inputs: [&[u8]; N] =
            std::array::from_fn(|lane| if lane < n { input(start + lane) } else { &[] });
        let out = &mut out[start..start + n];
        if inputs.iter().any(|i| i.len() > CHUNK_LEN) {
            // Rare (long values): this group goes the slow way.
            for (o, i) in out.iter_mut().zip(inputs) {
                *o = mode.hash(i);
            }
        } else {
            group(&key, mode_flag, &inputs, out);
        }
        start += n;
    }
    one_by_one(mode, input, out, start);
}

/// One compression of `N` lanes: chaining values (each word as `N` lanes), each lane's
/// block, block lengths (0..=64) and flags (counter 0). A block shorter than 64 bytes is
/// read as if zero-padded. The new chaining values replace `cv`.
///
/// Safety: every pointer is to as many readable bytes as its lane's block length, and the
/// caller has checked that the CPU supports the instruction set the function uses.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
type Compress<const N: usize> =
    unsafe fn(&mut [[u32; N]; 8], &[*const u8; N], &[u32; N], &[u32; N]);

/// One group for [`in_groups`], driven from scalar code around a `compress` of `N` lanes. A
/// group runs as many compressions as its longest input has blocks; a lane whose input has
/// ended computes garbage that is never read.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn lanes_group<const N: usize>(
    key: &[u32; 8],
    mode_flag: u32,
    inputs: &[&[u8]; N],
    out: &mut [Hash],
    compress: Compress<N>,
) {
    let blocks: [usize; N] =
        std::array::from_fn(|lane| inputs[lane].len().div_ceil(BLOCK_LEN).max(1));
    let steps = *blocks.iter().max().expect("N > 0");
    let mut cv = [[0u32; N]; 8];
    for (word, k) in cv.iter_mut().zip(key) {
        *word = [*k; N];
    }
    let mut ptrs = [std::ptr::null(); N];
    let mut lens = [0u32; N];
    let mut flags = [0u32; N];
    for step in 0..steps {
        for lane in 0..N {
            let input = inputs[lane];
            let rest = &input[(step * BLOCK_LEN).min(input.len())..];
            ptrs[lane] = rest.as_ptr();
            lens[lane] = rest.len().min(BLOCK_LEN) as u32;
            flags[lane] = mode_flag
                | if step == 0 { CHUNK_START } else { 0 }
                | if step + 1 == blocks[lane] {
                    CHUNK_END | ROOT
                } else {
                    0
                };
        }
        // SAFETY: each pointer is to `lens[lane]` bytes of an input; `hash_many_on` picks
        // `compress` only for an instruction set that `Isa::detect` found on this CPU.
        unsafe { compress(&mut cv, &ptrs, &lens, &flags) };
        for (lane, o) in out.iter_mut().enumerate() {
            if step + 1 == blocks[lane] {
                for (w, word) in cv.iter().enumerate() {
                    o[4 * w..4 * w + 4].copy_from_slice(&word[lane].to_le_bytes());
                }
            }
        }
    }
}

/// Expands BLAKE3's seven rounds for the vector type of the `g` given.
#[cfg(target_arch = "x86_64")]
macro_rules! seven_rounds {
    ($v:ident, $m:ident, $g:ident) => {
        seven_rounds!(@round $v, $m, $g, 0);
        seven_rounds!(@round $v, $m, $g, 1);
        seven_rounds!(@round $v, $m, $g, 2);
        seven_rounds!(@round $v, $m, $g, 3);
        seven_rounds!(@round $v, $m, $g, 4);
        seven_rounds!(@round $v, $m, $g, 5);
        seven_rounds!(@round $v, $m, $g, 6);
    };
    (@round $v:ident, $m:ident, $g:ident, $r:expr) => {{
        const S: [usize; 16] = SCHEDULE[$r];
        // Columns, then diagonals.
        $g(&mut $v, [0, 4, 8, 12], $m[S[0]], $m[S[1]]);
        $g(&mut $v, [1, 5, 9, 13], $m[S[2]], $m[S[3]]);
        $g(&mut $v, [2, 6, 10, 14], $m[S[4]], $m[S[5]]);
        $g(&mut $v, [3, 7, 11, 15], $m[S[6]], $m[S[7]]);
        $g(&mut $v, [0, 5, 10, 15], $m[S[8]], $m[S[9]]);
        $g(&mut $v, [1, 6, 11, 12], $m[S[10]], $m[S[11]]);
        $g(&mut $v, [2, 7, 8, 13], $m[S[12]], $m[S[13]]);
        $g(&mut $v, [3, 4, 9, 14], $m[S[14]], $m[S[15]]);
    }};
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Hash, BLOCK_LEN, CHUNK_END, CHUNK_START, IV, ROOT, SCHEDULE};
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn g512(v: &mut [__m512i; 16], [a, b, c, d]: [usize; 4], x: __m512i, y: __m512i) {
        v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), x);
        v[d] = _mm512_ror_epi32::<16>(_mm512_xor_si512(v[d], v[a]));
        v[c] = _mm512_add_epi32(v[c], v[d]);
        v[b] = _mm512_ror_epi32::<12>(_mm512_xor_si512(v[b], v[c]));
        v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), y);
        v[d] = _mm512_ror_epi32::<8>(_mm512_xor_si512(v[d], v[a]));
        v[c] = _mm512_add_epi32(v[c], v[d]);
        v[b] = _mm512_ror_epi32::<7>(_mm512_xor_si512(v[b], v[c]));
    }

    /// Turns 16 rows of 16 words into 16 columns: `out[w]` holds word `w` of every row.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose16(rows: [__m512i; 16]) -> [__m512i; 16] {
        // First, within each 128-bit quarter, 4x4 transposes of each group of four rows:
        // quarter q of `by_group[4 * g + k]` then holds word 4q + k of rows 4g..4g + 4.
        let mut by_group = [_mm512_setzero_si512(); 16];
        for g in 0..4 {
            let [a, b, c, d] = [
                rows[4 * g],
                rows[4 * g + 1],
                rows[4 * g + 2],
                rows[4 * g + 3],
            ];
            let ab_lo = _mm512_unpacklo_epi32(a, b);
            let ab_hi = _mm512_unpackhi_epi32(a, b);
            let cd_lo = _mm512_unpacklo_epi32(c, d);
            let cd_hi = _mm512_unpackhi_epi32(c, d);
            by_group[4 * g] = _mm512_unpacklo_epi64(ab_lo, cd_lo);
            by_group[4 * g + 1] = _mm512_unpackhi_epi64(ab_lo, cd_lo);
            by_group[4 * g + 2] = _mm512_unpacklo_epi64(ab_hi, cd_hi);
            by_group[4 * g + 3] = _mm512_unpackhi_epi64(ab_hi, cd_hi);
        }
        // Then a 4x4 transpose of the quarters across the four groups.
        let mut out = [_mm512_setzero_si512(); 16];
        for k in 0..4 {
            let [a, b, c, d] = [
                by_group[k],
                by_group[4 + k],
                by_group[8 + k],
                by_group[12 + k],
            ];
            let ab_01 = _mm512_shuffle_i32x4::<0b01_00_01_00>(a, b);
            let ab_23 = _mm512_shuffle_i32x4::<0b11_10_11_10>(a, b);
            let cd_01 = _mm512_shuffle_i32x4::<0b01_00_01_00>(c, d);
            let cd_23 = _mm512_shuffle_i32x4::<0b11_10_11_10>(c, d);
            out[k] = _mm512_shuffle_i32x4::<0b10_00_10_00>(ab_01, cd_01);
            out[4 + k] = _mm512_shuffle_i32x4::<0b11_01_11_01>(ab_01, cd_01);
            out[8 + k] = _mm512_shuffle_i32x4::<0b10_00_10_00>(ab_23, cd_23);
            out[12 + k] = _mm512_shuffle_i32x4::<0b11_01_11_01>(ab_23, cd_23);
        }
        out
    }

    /// A whole group of [`super::in_groups`] in AVX-512 registers: block lengths and flags
    /// are computed as vectors, blocks are read with masked loads (a short block's padding
    /// costs nothing) and the hashes are transposed back out in registers.
    ///
    /// Safety: the CPU has AVX-512F and AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn avx512_group(
        key: &[u32; 8],
        mode_flag: u32,
        inputs: &[&[u8]; 16],
        out: &mut [Hash],
    ) {
        let lens: [u32; 16] = std::array::from_fn(|lane| inputs[lane].len() as u32);
        // SAFETY: `lens` is 64 bytes; loadu needs no alignment.
        let lens_v = unsafe { _mm512_loadu_si512(lens.as_ptr().cast()) };
        // Blocks per input: at least one (an empty input is one empty block).
        let blocks = _mm512_max_epu32(
            _mm512_srli_epi32::<6>(_mm512_add_epi32(lens_v, _mm512_set1_epi32(63))),
            _mm512_set1_epi32(1),
        );
        let steps = lens
            .iter()
            .map(|&l| (l as usize).div_ceil(BLOCK_LEN).max(1))
            .max();
        let mut cv: [__m512i; 8] = std::array::from_fn(|w| _mm512_set1_epi32(key[w] as i32));
        for step in 0..steps.expect("16 lanes") {
            let offset = (step * BLOCK_LEN) as u32;
            // The bytes left from this block on: max(len, offset) - offset.
            let rest = _mm512_sub_epi32(
                _mm512_max_epu32(lens_v, _mm512_set1_epi32(offset as i32)),
                _mm512_set1_epi32(offset as i32),
            );
            let block_len = _mm512_min_epu32(rest, _mm512_set1_epi32(BLOCK_LEN as i32));
            let last = _mm512_cmpeq_epi32_mask(blocks, _mm512_set1_epi32(step as i32 + 1));
            let flags = mode_flag | if step == 0 { CHUNK_START } else { 0 };
            let flags_v = _mm512_mask_set1_epi32(
                _mm512_set1_epi32(flags as i32),
                last,
                (flags | CHUNK_END | ROOT) as i32,
            );
            let rows: [__m512i; 16] = std::array::from_fn(|lane| {
                let input = inputs[lane];
                let from = (step * BLOCK_LEN).min(input.len());
                let n = (input.len() - from).min(BLOCK_LEN);
                let mask = if n == 0 { 0 } else { u64::MAX >> (64 - n) };
                // SAFETY: the mask covers bytes `from..from + n` of the input, which exist.
                unsafe { _mm512_maskz_loadu_epi8(mask, input.as_ptr().add(from).cast()) }
            });
            cv = compress(cv, transpose16(rows), block_len, flags_v);
            if last != 0 {
                let zero = _mm512_setzero_si512();
                let by_lane =
                    transpose16(std::array::from_fn(|w| if w < 8 { cv[w] } else { zero }));
                for (lane, o) in out.iter_mut().enumerate() {
                    if last & (1 << lane) != 0 {
                        // SAFETY: `o` is 32 writable bytes; storeu needs no alignment.
                        unsafe {
                            _mm256_storeu_si256(
                                o.as_mut_ptr().cast(),
                                _mm512_castsi512_si256(by_lane[lane]),
                            )
                        };
                    }
                }
            }
        }
    }

    /// One BLAKE3 compression of 16 lanes (counter 0): the new chaining values.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn compress(
        cv: [__m512i; 8],
        m: [__m512i; 16],
        block_len: __m512i,
        flags: __m512i,
    ) -> [__m512i; 8] {
        let mut v = [_mm512_setzero_si512(); 16];
        v[..8].copy_from_slice(&cv);
        for w in 0..4 {
            v[8 + w] = _mm512_set1_epi32(IV[w] as i32);
        }
        // v[12], v[13]: the counter, always 0 here.
        v[14] = block_len;
        v[15] = flags;
        seven_rounds!(v, m, g512);
        std::array::from_fn(|w| _mm512_xor_si512(v[w], v[w + 8]))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn rotr16(x: __m256i) -> __m256i {
        let bytes = _mm256_set_epi8(
            13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14, 9, 8, 11, 10, 5,
            4, 7, 6, 1, 0, 3, 2,
        );
        _mm256_shuffle_epi8(x, bytes)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn rotr8(x: __m256i) -> __m256i {
        let bytes = _mm256_set_epi8(
            12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14, 13, 8, 11, 10, 9, 4,
            7, 6, 5, 0, 3, 2, 1,
        );
        _mm256_shuffle_epi8(x, bytes)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn g256(v: &mut [__m256i; 16], [a, b, c, d]: [usize; 4], x: __m256i, y: __m256i) {
        v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), x);
        v[d] = rotr16(_mm256_xor_si256(v[d], v[a]));
        v[c] = _mm256_add_epi32(v[c], v[d]);
        let t = _mm256_xor_si256(v[b], v[c]);
        v[b] = _mm256_or_si256(_mm256_srli_epi32::<12>(t), _mm256_slli_epi32::<20>(t));
        v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), y);
        v[d] = rotr8(_mm256_xor_si256(v[d], v[a]));
        v[c] = _mm256_add_epi32(v[c], v[d]);
        let t = _mm256_xor_si256(v[b], v[c]);
        v[b] = _mm256_or_si256(_mm256_srli_epi32::<7>(t), _mm256_slli_epi32::<25>(t));
    }

    /// Turns 8 rows of 8 words into 8 columns: `out[w]` holds word `w` of every row.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn transpose8(rows: [__m256i; 8]) -> [__m256i; 8] {
        // As `transpose16`: 4x4 transposes within each 128-bit half, then the halves.
        let mut by_group = [_mm256_setzero_si256(); 8];
        for g in 0..2 {
            let [a, b, c, d] = [
                rows[4 * g],
                rows[4 * g + 1],
                rows[4 * g + 2],
                rows[4 * g + 3],
            ];
            let ab_lo = _mm256_unpacklo_epi32(a, b);
            let ab_hi = _mm256_unpackhi_epi32(a, b);
            let cd_lo = _mm256_unpacklo_epi32(c, d);
            let cd_hi = _mm256_unpackhi_epi32(c, d);
            by_group[4 * g] = _mm256_unpacklo_epi64(ab_lo, cd_lo);
            by_group[4 * g + 1] = _mm256_unpackhi_epi64(ab_lo, cd_lo);
            by_group[4 * g + 2] = _mm256_unpacklo_epi64(ab_hi, cd_hi);
            by_group[4 * g + 3] = _mm256_unpackhi_epi64(ab_hi, cd_hi);
        }
        let mut out = [_mm256_setzero_si256(); 8];
        for k in 0..4 {
            out[k] = _mm256_permute2x128_si256::<0x20>(by_group[k], by_group[4 + k]);
            out[4 + k] = _mm256_permute2x128_si256::<0x31>(by_group[k], by_group[4 + k]);
        }
        out
    }

    /// See [`super::Compress`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2_compress(
        cv: &mut [[u32; 8]; 8],
        blocks: &[*const u8; 8],
        block_len: &[u32; 8],
        flags: &[u32; 8],
    ) {
        // SAFETY: each `[u32; 8]` is 32 bytes; loadu/storeu need no alignment.
        let load = |p: *const u8| unsafe { _mm256_loadu_si256(p.cast()) };
        // Short blocks are copied into zeroed pads; whole ones are read in place.
        let mut pads = [[0u8; 64]; 8];
        let rows: [*const u8; 8] = std::array::from_fn(|lane| {
            let len = block_len[lane] as usize;
            if len >= 64 {
                return blocks[lane];
            }
            // SAFETY: the caller vouches for `len` readable bytes.
            let block = unsafe { std::slice::from_raw_parts(blocks[lane], len) };
            pads[lane][..len].copy_from_slice(block);
            pads[lane].as_ptr()
        });
        let low = transpose8(std::array::from_fn(|lane| load(rows[lane])));
        // SAFETY: bytes 32..64 of each 64-byte row.
        let high = transpose8(std::array::from_fn(|lane| {
            load(unsafe { rows[lane].add(32) })
        }));
        let m: [__m256i; 16] = std::array::from_fn(|w| if w < 8 { low[w] } else { high[w - 8] });
        let mut v = [_mm256_setzero_si256(); 16];
        for w in 0..8 {
            v[w] = load(cv[w].as_ptr().cast());
            v[8 + w] = _mm256_set1_epi32(IV[w] as i32);
        }
        v[12] = _mm256_setzero_si256();
        v[13] = _mm256_setzero_si256();
        v[14] = load(block_len.as_ptr().cast());
        v[15] = load(flags.as_ptr().cast());
        seven_rounds!(v, m, g256);
        for w in 0..8 {
            let out = _mm256_xor_si256(v[w], v[w + 8]);
            // SAFETY: as for `load`.
            unsafe { _mm256_storeu_si256(cv[w].as_mut_ptr().cast(), out) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::domain;
    use proptest::prelude::*;

    fn check(inputs: &[Vec<u8>]) {
        let plain: Vec<Hash> = inputs.iter().map(|i| *blake3::hash(i).as_bytes()).collect();
        let derived: Vec<Hash> = inputs
            .iter()
            .map(|i| blake3::derive_key(domain::NODE.context, i))
            .collect();
        for isa in Isa::available() {
            let mut out = vec![[0u8; 32]; inputs.len()];
            hash_many_on(isa, Mode::Hash, |i| &inputs[i], &mut out);
            assert_eq!(out, plain, "{isa:?}");
            hash_many_on(
                isa,
                Mode::DeriveKey(&domain::NODE),
                |i| &inputs[i],
                &mut out,
            );
            assert_eq!(out, derived, "{isa:?}, derive-key mode");
        }
    }

    #[test]
    fn equals_blake3_at_every_block_boundary() {
        // Lengths around each block edge and the chunk edge, mixed in one group.
        let lens = [
            0, 1, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1023, 1024, 1025, 3000,
        ];
        let inputs: Vec<Vec<u8>> = (0..70)
            .map(|i| {
                let len = lens[i % lens.len()];
                (0..len).map(|b| (b * 31 + i) as u8).collect()
            })
            .collect();
        check(&inputs);
    }

    #[test]
    fn any_count_of_inputs() {
        for n in 0..40 {
            let inputs: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 65]).collect();
            check(&inputs);
        }
    }

    proptest! {
        #[test]
        fn equals_blake3(inputs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..50)) {
            check(&inputs);
        }
    }
}
