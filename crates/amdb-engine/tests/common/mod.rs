//! Helpers shared by the integration tests.
#![allow(dead_code)]

use amdb_engine::{Durability, Options};

/// Small buffers and files so tests exercise flushes, compactions and multiple levels.
pub fn tiny_options() -> Options {
    Options {
        durability: Durability::Buffered,
        write_buffer_size: 64 << 10,
        target_file_size: 16 << 10,
        max_bytes_for_level_base: 64 << 10,
        level_size_multiplier: 4,
        l0_compaction_trigger: 2,
        l0_slowdown_trigger: 6,
        l0_stop_trigger: 10,
        block_cache_bytes: 256 << 10,
        ..Options::default()
    }
}
