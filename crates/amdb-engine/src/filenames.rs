//! Names of the files in a database directory (docs/formats.md, "Directory").

use std::path::{Path, PathBuf};

pub const CURRENT: &str = "CURRENT";
pub const LOCK: &str = "LOCK";
pub const OPTIONS: &str = "OPTIONS";
pub const WAL_DIR: &str = "wal";
pub const SST_DIR: &str = "sst";

pub fn table_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(SST_DIR).join(format!("{number:06}.sst"))
}

pub fn wal_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(WAL_DIR).join(format!("{number:06}.log"))
}

pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// Parses "000123.sst" or "000123.log" into 123 when the extension matches.
pub fn parse_numbered(name: &str, ext: &str) -> Option<u64> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

pub fn parse_manifest_name(name: &str) -> Option<u64> {
    let n = name.strip_prefix("MANIFEST-")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Numbers of files with `ext` in `dir`, ascending. A missing directory is empty.
pub fn list_numbered(dir: &Path, ext: &str) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| parse_numbered(s, ext))
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// fsyncs a directory so that created, renamed or removed entries are durable.
pub fn sync_dir(dir: &Path) -> crate::error::Result<()> {
    let f = std::fs::File::open(dir).map_err(|e| crate::error::Error::io("open", dir, e))?;
    f.sync_all()
        .map_err(|e| crate::error::Error::io("fsync", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        assert_eq!(parse_numbered("000042.sst", "sst"), Some(42));
        assert_eq!(parse_numbered("1234567.log", "log"), Some(1234567));
        assert_eq!(parse_numbered("000042.sst.tmp", "sst"), None);
        assert_eq!(parse_numbered(".sst", "sst"), None);
        assert_eq!(parse_manifest_name(&manifest_name(7)), Some(7));
        assert_eq!(parse_manifest_name("MANIFEST-"), None);
    }
}
