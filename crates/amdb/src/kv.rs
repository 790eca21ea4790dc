//! `amdb kv ...`: put, get, del, history, scan, load, stats.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use amdb_engine::ledger::AuditInfo;
use amdb_engine::{
    Db, Keyspace, KeyspaceOptions, ReadOptions, Stats, WriteBatch, DEFAULT_KEYSPACE,
};
use amdb_market::time::format_time;

use crate::cli::{AuditOpts, GlobalArgs, KvArgs, KvCommand};
use crate::escape::{escape_into, unescape};
use crate::ledger_cmd::{self, hex};
use crate::output::{self, human_bytes, print, stdout_err, thousands};
use crate::{open_read_only, open_writable, CliError, CliResult};

/// `kv load` writes a batch once its encoding reaches this size (the engine's maximum is
/// 64 MiB; 4 MiB keeps memory small and each atomic write short).
pub const LOAD_BATCH_BYTES: usize = 4 << 20;

pub fn run(g: &GlobalArgs, args: KvArgs) -> CliResult {
    let explicit_keyspace = args.keyspace.clone();
    let name = args
        .keyspace
        .unwrap_or_else(|| DEFAULT_KEYSPACE.to_string());
    match args.command {
        KvCommand::Put { key, value, audit } => {
            let (db, ks, info) = writable_audited(g, &name, &audit, || format!("kv put {key}"))?;
            let mut batch = WriteBatch::new();
            batch.put(&ks, &key, &value);
            if let Some(info) = info {
                batch.set_audit(info);
            }
            db.write(&batch)?;
            db.close()?;
            Ok(())
        }
        KvCommand::Del { key, audit } => {
            let (db, ks, info) = writable_audited(g, &name, &audit, || format!("kv del {key}"))?;
            let mut batch = WriteBatch::new();
            batch.delete(&ks, &key);
            if let Some(info) = info {
                batch.set_audit(info);
            }
            db.write(&batch)?;
            db.close()?;
            Ok(())
        }
        KvCommand::History { key, json } => {
            let (db, ks) = readable(g, &name)?;
            history(&db, &ks, g, &name, &key, json)
        }
        KvCommand::Get { key } => {
            let (db, ks) = readable(g, &name)?;
            match db.get(&ks, &key)? {
                Some(mut v) => {
                    v.push(b'\n');
                    std::io::stdout().lock().write_all(&v).map_err(stdout_err)
                }
                None => Err(CliError::not_found(format!(
                    "key {key:?} not found in keyspace {name:?} of {}",
                    g.data.display()
                ))),
            }
        }
        KvCommand::Scan {
            prefix,
            from,
            to,
            limit,
            reverse,
        } => {
            let (db, ks) = readable(g, &name)?;
            scan(&db, &ks, prefix, from, to, limit, reverse)
        }
        KvCommand::Load {
            file,
            escaped,
            audit,
        } => load(g, &name, &file, escaped, &audit),
        KvCommand::Demo(args) => crate::kv_demo::run(g, args),
        KvCommand::Stats { json } => {
            let db = open_read_only(&g.data)?;
            if let Some(n) = &explicit_keyspace {
                keyspace(&db, g, n)?;
            }
            let stats = db.stats();
            let mut out = std::io::stdout().lock();
            let text = if json {
                let mut s = stats_json(&stats, explicit_keyspace.as_deref()).to_string();
                s.push('\n');
                s
            } else {
                stats_table(&g.data, &stats, explicit_keyspace.as_deref())
            };
            print(&mut out, &text)
        }
    }
}

/// Opens the database for a kv write and keyspace `name` (created if missing), with the
/// audit record its batches carry: in a database with a ledger always (defaults filled in,
/// `what` giving the default --what), otherwise none, and audit options are then an error.
fn writable_audited(
    g: &GlobalArgs,
    name: &str,
    audit: &AuditOpts,
    what: impl FnOnce() -> String,
) -> CliResult<(Db, Keyspace, Option<AuditInfo>)> {
    // Before opening: a write with audit options must not create a database without a
    // ledger.
    ledger_cmd::check_audit_target(g, audit)?;
    let db = open_writable(&g.data, g.durability)?;
    let info = ledger_cmd::audit_info(&db, g, audit, what)?;
    // In a ledger database every keyspace keeps all versions, so each stays provable.
    let opts = KeyspaceOptions {
        versioned: db.has_ledger(),
        ..KeyspaceOptions::default()
    };
    let ks = db.open_keyspace(name, opts)?;
    Ok((db, ks, info))
}

fn readable(g: &GlobalArgs, name: &str) -> CliResult<(Db, Keyspace)> {
    let db = open_read_only(&g.data)?;
    let ks = keyspace(&db, g, name)?;
    Ok((db, ks))
}

pub fn keyspace(db: &Db, g: &GlobalArgs, name: &str) -> CliResult<Keyspace> {
    db.keyspace(name)
        .map_err(|e| CliError::new(format!("{e} in {}", g.data.display())))
}

/// The intersection of the prefix range and [from, to).
fn scan_bounds(
    prefix: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let (mut lower, mut upper) = match prefix {
        Some(p) => {
            let r = ReadOptions::new().prefix(p.as_bytes());
            (r.lower_bound, r.upper_bound)
        }
        None => (None, None),
    };
    if let Some(f) = from {
        let f = f.as_bytes().to_vec();
        lower = Some(match lower {
            Some(l) if l > f => l,
            _ => f,
        });
    }
    if let Some(t) = to {
        let t = t.as_bytes().to_vec();
        upper = Some(match upper {
            Some(u) if u < t => u,
            _ => t,
        });
    }
    (lower, upper)
}

fn scan(
    db: &Db,
    ks: &Keyspace,
    prefix: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u64>,
    reverse: bool,
) -> CliResult {
    let (lower, upper) = scan_bounds(prefix.as_deref(), from.as_deref(), to.as_deref());
    if let (Some(l), Some(u)) = (&lower, &upper) {
        if l >= u {
            return Ok(());
        }
    }
    let opts = ReadOptions {
        lower_bound: lower,
        upper_bound: upper,
        ..ReadOptions::default()
    };
    let it = db.iter(ks, &opts)?;
    let entries = if reverse { it.backward() } else { it.forward() };
    let mut out = BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    let mut line = Vec::new();
    for entry in entries.take(limit.map_or(usize::MAX, |l| l as usize)) {
        let (k, v) = entry?;
        line.clear();
        escape_into(&k, &mut line);
        line.push(b'\t');
        escape_into(&v, &mut line);
        line.push(b'\n');
        out.write_all(&line).map_err(stdout_err)?;
    }
    out.flush().map_err(stdout_err)
}

/// `kv history`: the versions of `key`, newest first.
fn history(db: &Db, ks: &Keyspace, g: &GlobalArgs, name: &str, key: &str, json: bool) -> CliResult {
    let versions = db.history(ks, key)?;
    if versions.is_empty() {
        return Err(CliError::not_found(format!(
            "key {key:?} has no versions in keyspace {name:?} of {}",
            g.data.display()
        )));
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    for v in &versions {
        line.clear();
        if json {
            let value = v.value.as_deref();
            let j = serde_json::json!({
                "tx": v.tx.map(|t| t.tx),
                "time_ns": v.tx.map(|t| t.time_ns),
                "time": v.tx.map(|t| format_time(t.time_ns)),
                "sequence": v.sequence,
                "op": if value.is_some() { "put" } else { "delete" },
                "value": value.map(hex),
                "value_utf8": value.and_then(|v| std::str::from_utf8(v).ok()),
            });
            line.extend_from_slice(j.to_string().as_bytes());
        } else {
            let (tx, time) = match v.tx {
                Some(t) => (t.tx.to_string(), format_time(t.time_ns)),
                None => ("-".to_string(), "-".to_string()),
            };
            line.extend_from_slice(format!("{tx}\t{time}\t{}\t", v.sequence).as_bytes());
            match &v.value {
                Some(value) => escape_into(value, &mut line),
                None => line.extend_from_slice(b"<deleted>"),
            }
        }
        line.push(b'\n');
        out.write_all(&line).map_err(stdout_err)?;
    }
    out.flush().map_err(stdout_err)
}

fn load(g: &GlobalArgs, name: &str, file: &Path, escaped: bool, audit: &AuditOpts) -> CliResult {
    let stdin = file.as_os_str() == "-";
    let label = if stdin {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    // Open the input first: a typo in the file name should not create a database.
    let (input, size): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = File::open(file).map_err(|e| CliError::new(format!("open {label}: {e}")))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let (db, ks, info) = writable_audited(g, name, audit, || format!("kv load {label}"))?;
    // Every batch is a transaction of its own and carries the same audit record.
    let audit_batch = |batch: &mut WriteBatch| {
        if let Some(info) = &info {
            batch.set_audit(info.clone());
        }
    };
    let pb = match size {
        Some(len) => output::progress_bytes(len, "load"),
        None => output::progress(None, "load"),
    };
    let start = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut batch = WriteBatch::with_capacity(LOAD_BATCH_BYTES + (64 << 10));
    audit_batch(&mut batch);
    let mut raw = Vec::new();
    let mut lineno = 0u64;
    let mut committed = 0u64;
    let mut bytes_read = 0u64;
    let fail = |lineno: u64, committed: u64, what: String| {
        CliError::new(format!(
            "{label}:{lineno}: {what}; nothing from this line's batch was written ({} entries from earlier batches were)",
            thousands(committed)
        ))
    };
    loop {
        raw.clear();
        let n = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| CliError::new(format!("read {label} after line {lineno}: {e}")))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        bytes_read += n as u64;
        let mut line = raw.as_slice();
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l.strip_suffix(b"\r").unwrap_or(l);
        }
        let Some(tab) = line.iter().position(|&b| b == b'\t') else {
            return Err(fail(
                lineno,
                committed,
                "no TAB between key and value (expected key<TAB>value)".into(),
            ));
        };
        let (k, v) = (&line[..tab], &line[tab + 1..]);
        if escaped {
            let k = unescape(k).map_err(|(at, why)| {
                fail(lineno, committed, format!("key at byte {}: {why}", at + 1))
            })?;
            let v = unescape(v).map_err(|(at, why)| {
                fail(
                    lineno,
                    committed,
                    format!("value at byte {}: {why}", tab + 2 + at),
                )
            })?;
            batch.put(&ks, k, v);
        } else {
            batch.put(&ks, k, v);
        }
        if batch.size_bytes() >= LOAD_BATCH_BYTES {
            db.write(&batch)?;
            committed += batch.len() as u64;
            batch.clear();
            audit_batch(&mut batch);
            pb.set_position(if size.is_some() {
                bytes_read
            } else {
                committed
            });
        }
    }
    if !batch.is_empty() {
        db.write(&batch)?;
        committed += batch.len() as u64;
    }
    db.close()?;
    let elapsed = start.elapsed();
    pb.finish_and_clear();
    let mut out = std::io::stdout().lock();
    print(
        &mut out,
        &format!(
            "loaded {} entries from {label} into keyspace {name:?} in {:.3} s ({} entries/s)\n",
            thousands(committed),
            elapsed.as_secs_f64(),
            output::rate(committed, elapsed),
        ),
    )
}

fn selected<'a>(
    stats: &'a Stats,
    only: Option<&'a str>,
) -> impl Iterator<Item = &'a amdb_engine::KeyspaceStats> + 'a {
    stats
        .keyspaces
        .iter()
        .filter(move |k| only.is_none_or(|n| n == k.name))
}

fn stats_json(stats: &Stats, only: Option<&str>) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let counters: Map<String, Value> = stats
        .counters
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let keyspaces: Vec<Value> = selected(stats, only)
        .map(|k| {
            json!({
                "name": k.name,
                "id": k.id,
                "memtable_bytes": k.memtable_bytes,
                "immutable_memtables": k.immutable_memtables,
                "levels": k.levels.iter().map(|l| json!({
                    "level": l.level, "files": l.files, "bytes": l.bytes,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "last_sequence": stats.last_sequence,
        "live_snapshots": stats.live_snapshots,
        "average_group_size": stats.average_group_size(),
        "block_cache": {
            "capacity_bytes": stats.block_cache_capacity,
            "usage_bytes": stats.block_cache_usage,
        },
        "counters": counters,
        "keyspaces": keyspaces,
    })
}

fn stats_table(dir: &Path, stats: &Stats, only: Option<&str>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "database     {}", dir.display());
    let _ = writeln!(s, "last seq     {}", thousands(stats.last_sequence));
    let _ = writeln!(
        s,
        "block cache  {} used of {}",
        human_bytes(stats.block_cache_usage as u64),
        human_bytes(stats.block_cache_capacity as u64)
    );
    let _ = writeln!(s, "snapshots    {}", stats.live_snapshots);
    for k in selected(stats, only) {
        let files: usize = k.levels.iter().map(|l| l.files).sum();
        let bytes: u64 = k.levels.iter().map(|l| l.bytes).sum();
        let _ = writeln!(
            s,
            "\nkeyspace {:?} (id {}): {} files, {} in tables; memtable {}, {} sealed",
            k.name,
            k.id,
            files,
            human_bytes(bytes),
            human_bytes(k.memtable_bytes as u64),
            k.immutable_memtables
        );
        let _ = writeln!(s, "  level  files        bytes");
        // Levels up to the deepest one holding files (always L0).
        let deepest = k.levels.iter().rposition(|l| l.files > 0).unwrap_or(0);
        for l in k.levels.iter().take(deepest + 1) {
            let _ = writeln!(
                s,
                "  L{:<5} {:>5} {:>12}",
                l.level,
                l.files,
                human_bytes(l.bytes)
            );
        }
    }
    let _ = writeln!(
        s,
        "\ncounters (this process since it opened the database; not persisted)"
    );
    for (name, v) in stats.counters.fields() {
        let _ = writeln!(s, "  {name:<28} {:>16}", thousands(v));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_intersect() {
        let b = |p: Option<&str>, f: Option<&str>, t: Option<&str>| {
            let (l, u) = scan_bounds(p, f, t);
            (
                l.map(|v| String::from_utf8(v).unwrap()),
                u.map(|v| String::from_utf8(v).unwrap()),
            )
        };
        assert_eq!(b(None, None, None), (None, None));
        assert_eq!(
            b(Some("ab"), None, None),
            (Some("ab".into()), Some("ac".into()))
        );
        assert_eq!(
            b(Some("ab"), Some("abc"), Some("zz")),
            (Some("abc".into()), Some("ac".into()))
        );
        assert_eq!(
            b(Some("ab"), Some("a"), Some("abd")),
            (Some("ab".into()), Some("abd".into()))
        );
    }
}
