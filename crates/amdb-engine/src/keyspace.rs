//! Keyspaces: separate LSM trees (memtables and levels) that share the WAL and the sequence
//! counter, so one batch can span keyspaces atomically and a snapshot covers all of them.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::memtable::MemTable;
use crate::options::KeyspaceOptions;
use crate::version::LevelsVersion;

pub const DEFAULT_KEYSPACE: &str = "default";
pub const DEFAULT_KEYSPACE_ID: u32 = 0;

/// A handle to a keyspace, cheap to clone. Pass it to reads, writes and batches.
#[derive(Clone)]
pub struct Keyspace {
    pub(crate) state: Arc<KeyspaceState>,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyspace({:?})", self.state.name)
    }
}

impl Keyspace {
    pub fn id(&self) -> u32 {
        self.state.id
    }
    pub fn name(&self) -> &str {
        &self.state.name
    }
    pub fn options(&self) -> &KeyspaceOptions {
        &self.state.options
    }
}

/// What readers of a keyspace need, swapped as one unit so a reader never sees a memtable
/// both flushed and still listed, or neither.
pub(crate) struct SuperVersion {
    pub mem: Arc<MemTable>,
    /// Sealed memtables waiting for flush, newest first.
    pub imms: Vec<Arc<MemTable>>,
    pub version: Arc<LevelsVersion>,
}

pub(crate) struct KeyspaceState {
    pub id: u32,
    pub name: String,
    pub options: KeyspaceOptions,
    /// Replaced only under the database's state mutex; read lock-free.
    pub sv: ArcSwap<SuperVersion>,
}

impl KeyspaceState {
    pub fn new(
        id: u32,
        name: String,
        options: KeyspaceOptions,
        version: Arc<LevelsVersion>,
        mem: Arc<MemTable>,
    ) -> Self {
        KeyspaceState {
            id,
            name,
            options,
            sv: ArcSwap::from_pointee(SuperVersion {
                mem,
                imms: Vec::new(),
                version,
            }),
        }
    }
}

/// Validates a keyspace name: 1–255 bytes of printable ASCII without '/'.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err(format!("keyspace name {name:?} must be 1 to 255 bytes"));
    }
    if !name.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        return Err(format!(
            "keyspace name {name:?} may hold only printable ASCII without '/' or spaces"
        ));
    }
    Ok(())
}
