//! LEB128 unsigned varints and zigzag mapping. Small magnitudes of either sign take one
//! byte, which is what run lengths, deltas and frame-of-reference bases mostly are.

/// Maps signed to unsigned so that values near zero stay small: 0,-1,1,-2 -> 0,1,2,3.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn uvarint_len(v: u64) -> usize {
    // 1 byte per started 7 bits; 0 still takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Reader;

    #[test]
    fn zigzag_roundtrips_extremes() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn varint_roundtrips_and_len_matches() {
        for v in [0, 1, 127, 128, 16383, 16384, u64::MAX / 3, u64::MAX] {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, v);
            assert_eq!(buf.len(), uvarint_len(v));
            let mut r = Reader::new(&buf);
            assert_eq!(r.uvarint(), Ok(v));
            assert!(r.finish().is_ok());
        }
    }

    #[test]
    fn overlong_varints_are_rejected() {
        // 10th byte may only carry the single top bit of a u64.
        let mut buf = vec![0xff; 9];
        buf.push(0x02);
        assert!(Reader::new(&buf).uvarint().is_err());
        assert!(Reader::new(&[0x80; 11]).uvarint().is_err());
        assert!(Reader::new(&[0x80]).uvarint().is_err());
    }
}
