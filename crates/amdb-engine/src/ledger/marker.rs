//! The transaction marker: the entry the commit leader writes in front of each batch, in the
//! engine's `__ledger` keyspace, so every WAL record says where each transaction starts and
//! what number and time it got (docs/formats.md §13).
//!
//! ```text
//! key   := tx:u64be                        (big-endian, so the keyspace sorts by tx)
//! value := time_ns:i64le count:u32le       (count = the entries the transaction hashes)
//! ```
//! The marker takes the transaction's first sequence number; its entries follow at the next
//! `count` sequences. It is not itself hashed: the transaction header hashes tx and time.

pub(crate) const KEY_LEN: usize = 8;
pub(crate) const VALUE_LEN: usize = 12;

/// A decoded marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    pub tx: u64,
    pub time_ns: i64,
    pub count: u32,
}

impl Marker {
    pub fn key(&self) -> [u8; KEY_LEN] {
        self.tx.to_be_bytes()
    }

    pub fn value(&self) -> [u8; VALUE_LEN] {
        let mut v = [0u8; VALUE_LEN];
        v[..8].copy_from_slice(&self.time_ns.to_le_bytes());
        v[8..].copy_from_slice(&self.count.to_le_bytes());
        v
    }

    /// `None` unless both parts have exactly the marker's sizes.
    pub fn decode(key: &[u8], value: &[u8]) -> Option<Marker> {
        let key: [u8; KEY_LEN] = key.try_into().ok()?;
        if value.len() != VALUE_LEN {
            return None;
        }
        Some(Marker {
            tx: u64::from_be_bytes(key),
            time_ns: i64::from_le_bytes(value[..8].try_into().ok()?),
            count: u32::from_le_bytes(value[8..].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_wrong_sizes() {
        let m = Marker {
            tx: 258,
            time_ns: -5,
            count: 7,
        };
        assert_eq!(Marker::decode(&m.key(), &m.value()), Some(m));
        assert_eq!(m.key(), [0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(Marker::decode(&m.key()[1..], &m.value()), None);
        assert_eq!(Marker::decode(&m.key(), &m.value()[1..]), None);
    }
}
