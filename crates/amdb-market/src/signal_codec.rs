//! A fast path for the commonest payload: lists of [`Signal`]s as MessagePack maps with field
//! names. It writes exactly the bytes `rmp_serde::to_vec_named` writes (tests compare them),
//! so any MessagePack reader understands them; the decoder handles what that encoder
//! produces (fields in any order) and hands anything else to `rmp_serde`.
//!
//! Why: agents serialise signal batches on every bar, and the generic serde path spends most
//! of its time matching field names and growing buffers.

use crate::error::{Error, Result};
use crate::events::{Side, Signal};

const FIXMAP_4: u8 = 0x84;
const F64: u8 = 0xcb;
const STR8: u8 = 0xd9;
const STR16: u8 = 0xda;
const STR32: u8 = 0xdb;
const ARRAY16: u8 = 0xdc;
const ARRAY32: u8 = 0xdd;

/// Appends `signals` as a MessagePack array of maps.
pub fn encode_signals(signals: &[Signal], out: &mut Vec<u8>) {
    out.reserve(signals.len() * (48 + 16) + 5);
    let n = signals.len();
    if n < 16 {
        out.push(0x90 | n as u8);
    } else if n <= u16::MAX as usize {
        out.push(ARRAY16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(ARRAY32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    for s in signals {
        out.push(FIXMAP_4);
        put_str(out, "side");
        put_str(
            out,
            match s.side {
                Side::Buy => "buy",
                Side::Sell => "sell",
            },
        );
        put_str(out, "strength");
        put_f64(out, s.strength);
        put_str(out, "price");
        put_f64(out, s.price);
        put_str(out, "reason");
        put_str(out, &s.reason);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= u8::MAX as usize {
        out.push(STR8);
        out.push(n as u8);
    } else if n <= u16::MAX as usize {
        out.push(STR16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(STR32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.push(F64);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// Decodes a MessagePack array of signal maps.
pub fn decode_signals(buf: &[u8]) -> Result<Vec<Signal>> {
    match (Fast { buf, pos: 0 }).signals() {
        Some(v) => Ok(v),
        None => rmp_serde::from_slice(buf)
            .map_err(|e| Error::InvalidArgument(format!("signal payload: {e}"))),
    }
}

/// A cursor that gives up (None) on anything outside the fast path's shape.
struct Fast<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fast<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn be16(&mut self) -> Option<usize> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize)
    }

    fn be32(&mut self) -> Option<usize> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    /// The bytes of a string (not yet checked to be UTF-8).
    fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let m = self.byte()?;
        let n = match m {
            0xa0..=0xbf => usize::from(m & 0x1f),
            STR8 => usize::from(self.byte()?),
            STR16 => self.be16()?,
            STR32 => self.be32()?,
            _ => return None,
        };
        self.take(n)
    }

    fn f64(&mut self) -> Option<f64> {
        if self.byte()? != F64 {
            return None;
        }
        Some(f64::from_bits(u64::from_be_bytes(
            self.take(8)?.try_into().ok()?,
        )))
    }

    fn signals(mut self) -> Option<Vec<Signal>> {
        let m = self.byte()?;
        let n = match m {
            0x90..=0x9f => usize::from(m & 0x0f),
            ARRAY16 => self.be16()?,
            ARRAY32 => self.be32()?,
            _ => return None,
        };
        // Each record takes at least 30 bytes, so a forged count cannot over-allocate.
        let mut out = Vec::with_capacity(n.min(self.buf.len() / 30 + 1));
        for _ in 0..n {
            if self.byte()? != FIXMAP_4 {
                return None;
            }
            let (mut side, mut strength, mut price, mut reason) = (None, None, None, None);
            for _ in 0..4 {
                // Keys are compared as bytes: only these four ASCII names are accepted.
                match self.str_bytes()? {
                    b"side" => {
                        side = Some(match self.str_bytes()? {
                            b"buy" => Side::Buy,
                            b"sell" => Side::Sell,
                            _ => return None,
                        })
                    }
                    b"strength" => strength = Some(self.f64()?),
                    b"price" => price = Some(self.f64()?),
                    b"reason" => {
                        reason = Some(std::str::from_utf8(self.str_bytes()?).ok()?.to_owned())
                    }
                    _ => return None,
                }
            }
            out.push(Signal {
                side: side?,
                strength: strength?,
                price: price?,
                reason: reason?,
            });
        }
        (self.pos == self.buf.len()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signal() -> impl Strategy<Value = Signal> {
        (any::<bool>(), any::<f64>(), any::<f64>(), ".{0,300}").prop_map(|(b, s, p, r)| Signal {
            side: if b { Side::Buy } else { Side::Sell },
            strength: s,
            price: p,
            reason: r,
        })
    }

    proptest! {
        #[test]
        fn writes_what_rmp_serde_writes_and_reads_it_back(v in prop::collection::vec(signal(), 0..40)) {
            let mut fast = Vec::new();
            encode_signals(&v, &mut fast);
            prop_assert_eq!(&fast, &rmp_serde::to_vec_named(&v).unwrap());
            let back = decode_signals(&fast).unwrap();
            prop_assert_eq!(back.len(), v.len());
            for (a, b) in back.iter().zip(&v) {
                prop_assert_eq!(a.side, b.side);
                prop_assert_eq!(a.strength.to_bits(), b.strength.to_bits());
                prop_assert_eq!(a.price.to_bits(), b.price.to_bits());
                prop_assert_eq!(&a.reason, &b.reason);
            }
        }
    }

    #[test]
    fn large_arrays_and_other_shapes_fall_back_correctly() {
        let v: Vec<Signal> = (0..70_000)
            .map(|i| Signal {
                side: Side::Sell,
                strength: i as f64,
                price: 1.5,
                reason: "x".repeat(i % 40),
            })
            .collect();
        let mut fast = Vec::new();
        encode_signals(&v, &mut fast);
        assert_eq!(fast, rmp_serde::to_vec_named(&v).unwrap());
        assert_eq!(decode_signals(&fast).unwrap(), v);
        // Struct-as-array encoding is valid MessagePack for the same type: the fallback
        // reads it.
        let compact = rmp_serde::to_vec(&v[..3]).unwrap();
        assert_eq!(decode_signals(&compact).unwrap(), v[..3].to_vec());
        assert!(decode_signals(&fast[..fast.len() - 1]).is_err());
    }
}
