//! Float column codec choice: scaled decimal when exact, else XOR, else raw — whichever
//! is smallest among those that apply. The chosen codec id goes into the chunk directory.

use super::decimal::{
    convert_decimal_in_place, decimal_ints_at, decimal_len, decimal_scale, decode_decimal_ints,
    encode_decimal_ints,
};
use super::gorilla::{decode_gorilla, encode_gorilla, gorilla_len};
use super::{data_err, CodecError, Problem};

/// Codec ids as stored in the chunk directory (low 7 bits of the codec byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FloatCodec {
    /// n little-endian IEEE-754 bit patterns.
    Raw = 1,
    /// XOR bit stream (gorilla.rs).
    Gorilla = 2,
    /// Scaled decimal integers (decimal.rs).
    Decimal = 3,
    /// Scaled decimal residual against other price columns; only valid inside a chunk.
    Residual = 4,
}

impl FloatCodec {
    pub fn from_id(id: u8) -> Option<FloatCodec> {
        Some(match id {
            1 => FloatCodec::Raw,
            2 => FloatCodec::Gorilla,
            3 => FloatCodec::Decimal,
            4 => FloatCodec::Residual,
            _ => return None,
        })
    }
}

/// Appends `values` in the smallest applicable codec and returns which one.
pub fn encode_floats(values: &[f64], out: &mut Vec<u8>) -> FloatCodec {
    let raw = values.len() * 8;
    if let Some(ints) = decimal_scale(values).and_then(|s| Some((s, decimal_ints_at(values, s)?))) {
        // A decimal encoding is at worst ~8.1 bytes a value and almost always far smaller;
        // XOR could only win on data that is mostly repeats, where decimal is tiny too.
        if decimal_len(&ints.1) <= raw {
            encode_decimal_ints(&ints.1, ints.0, out);
            return FloatCodec::Decimal;
        }
    }
    if gorilla_len(values) < raw {
        encode_gorilla(values, out);
        FloatCodec::Gorilla
    } else {
        encode_raw(values, out);
        FloatCodec::Raw
    }
}

pub(crate) fn encode_raw(values: &[f64], out: &mut Vec<u8>) {
    out.reserve(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

pub(crate) fn decode_raw(data: &[u8], out: &mut [f64]) -> Result<(), CodecError> {
    let want = out.len() * 8;
    if data.len() < want {
        return Err(data_err(data.len(), Problem::Truncated));
    }
    if data.len() > want {
        return Err(data_err(
            want,
            Problem::Trailing((data.len() - want) as u64),
        ));
    }
    for (o, c) in out.iter_mut().zip(data.chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        *o = f64::from_bits(u64::from_le_bytes(a));
    }
    Ok(())
}

/// Decodes exactly `out.len()` values written by `encode_floats` with `codec`.
pub fn decode_floats(codec: FloatCodec, data: &[u8], out: &mut [f64]) -> Result<(), CodecError> {
    match codec {
        FloatCodec::Raw => decode_raw(data, out),
        FloatCodec::Gorilla => decode_gorilla(data, out),
        FloatCodec::Decimal => {
            let scale = decode_decimal_ints(data, out)?;
            convert_decimal_in_place(out, scale).map_err(|p| data_err(0, p))
        }
        FloatCodec::Residual => Err(data_err(0, Problem::ResidualAlone)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(v: &[f64]) -> (FloatCodec, usize) {
        let mut buf = Vec::new();
        let codec = encode_floats(v, &mut buf);
        let mut out = vec![0.0; v.len()];
        decode_floats(codec, &buf, &mut out).unwrap();
        let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
        assert_eq!(a, b);
        (codec, buf.len())
    }

    #[test]
    fn two_decimal_prices_use_the_decimal_codec() {
        let mut p = 100.0f64;
        let mut seed = 12345u64;
        let v: Vec<f64> = (0..4096)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                p = ((p * 100.0).round() + ((seed >> 33) % 41) as f64 - 20.0) / 100.0;
                p
            })
            .collect();
        let (codec, len) = roundtrip(&v);
        assert_eq!(codec, FloatCodec::Decimal);
        assert!(len < 4096 * 2, "{len} bytes");
    }

    #[test]
    fn integers_and_three_decimals_use_the_decimal_codec() {
        assert_eq!(roundtrip(&[1.0, 250.0, 17.0, 0.0]).0, FloatCodec::Decimal);
        assert_eq!(roundtrip(&[1.125, 250.5, 17.001]).0, FloatCodec::Decimal);
    }

    #[test]
    fn adversarial_values_fall_back_and_roundtrip() {
        let nasty = [
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff4_0000_0000_beef),
            f64::NAN,
            -0.0,
            0.0,
            f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1 + 0.2,
            1e300,
            -1e-300,
        ];
        let (codec, _) = roundtrip(&nasty);
        assert_ne!(codec, FloatCodec::Decimal);
        // One -0.0 among decimals must not become +0.0.
        let (codec, _) = roundtrip(&[1.5, -0.0, 2.25]);
        assert_ne!(codec, FloatCodec::Decimal);
        // Random bits are incompressible: raw.
        let rnd: Vec<f64> = (0..100u64)
            .map(|i| f64::from_bits(i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)))
            .collect();
        assert_eq!(roundtrip(&rnd).0, FloatCodec::Raw);
        assert_eq!(roundtrip(&[]).0, FloatCodec::Raw);
    }

    #[test]
    fn mixed_decimal_and_huge_jumps_roundtrip() {
        roundtrip(&[0.1 + 0.2, 0.3, 1e15, -1e15, 5e-324, 0.01]);
        roundtrip(&[2e15, -2e15, 0.0, 2e15]);
        roundtrip(&[2251799813685247.0, -2251799813685247.0]);
    }

    fn any_f64_bits() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(i, s)| i as f64 / 10f64.powi(s as i32)),
            Just(-0.0),
            Just(f64::NAN),
            (0u64..16).prop_map(|k| f64::from_bits(0x7ff0_0000_0000_0001 + k)),
            (0u64..1000).prop_map(f64::from_bits),
        ]
    }

    proptest! {
        #[test]
        fn any_bits_roundtrip(v in proptest::collection::vec(any_f64_bits(), 0..400)) {
            roundtrip(&v);
        }

        #[test]
        fn decimal_columns_roundtrip(
            v in proptest::collection::vec(-100_000_000i64..100_000_000, 0..400),
            s in 0i32..10,
        ) {
            let v: Vec<f64> = v.iter().map(|&i| i as f64 / 10f64.powi(s)).collect();
            roundtrip(&v);
        }

        #[test]
        fn random_bytes_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            n in 0usize..300,
            id in 1u8..=4,
        ) {
            let mut out = vec![0.0; n];
            let _ = decode_floats(FloatCodec::from_id(id).unwrap(), &data, &mut out);
        }
    }
}
