//! Bounds-checked cursor over untrusted bytes. Every read either succeeds or returns an
//! error carrying the offset of the item that failed; nothing here can panic.

use super::{data_err, CodecError, Problem};

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread tail, for decoders that read ahead of the cursor (bit unpacking).
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub fn err(&self, problem: Problem) -> CodecError {
        data_err(self.pos, problem)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.remaining() {
            return Err(self.err(Problem::Truncated));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u64_le(&mut self) -> Result<u64, CodecError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(a))
    }

    pub fn uvarint(&mut self) -> Result<u64, CodecError> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(data_err(start, Problem::Truncated));
            };
            self.pos += 1;
            // The 10th byte holds bit 63 only; anything more would be silently dropped.
            if i == 9 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(data_err(start, Problem::Varint))
    }

    pub fn ivarint(&mut self) -> Result<i64, CodecError> {
        Ok(super::varint::unzigzag(self.uvarint()?))
    }

    /// Fails unless every byte was consumed: one byte string, one meaning.
    pub fn finish(&self) -> Result<(), CodecError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.err(Problem::Trailing(n as u64))),
        }
    }
}
