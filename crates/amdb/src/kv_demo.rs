//! `amdb kv demo`: the engine on its own. Loads synthetic entries into keyspace `demo` of the
//! embedded store, reads a sample back with point gets and scans the loaded range, verifies
//! every value, and reports how fast each step was.

use std::time::{Duration, Instant};

use amdb_engine::{Db, Durability, KeyspaceOptions, ReadOptions, WriteBatch};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::cli::{DemoArgs, GlobalArgs};
use crate::output::{human_bytes, progress, rate, thousands};
use crate::{open_writable, CliError, CliResult};

const KEYSPACE: &str = "demo";
const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;

/// Key `i`: 16 zero-padded decimal digits, so key order is numeric order.
fn demo_key(i: u64) -> [u8; KEY_LEN] {
    amdb_bench::values::key(i)
}

/// Value of key `i`: `v<i>:` then letters from a hash of `i`, 100 bytes; a pure function of
/// `i`, so reruns write the same data and verification needs no stored copy.
fn demo_value(i: u64, out: &mut [u8; VALUE_LEN]) {
    let head = format!("v{i}:");
    let n = head.len().min(VALUE_LEN);
    out[..n].copy_from_slice(&head.as_bytes()[..n]);
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    for b in out[n..].iter_mut() {
        // splitmix64 step
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        *b = b'a' + (z % 26) as u8;
    }
}

fn mismatch(what: &str, i: u64, detail: &str) -> CliError {
    CliError::new(format!(
        "demo verification failed: {what} of key {} {detail}",
        String::from_utf8_lossy(&demo_key(i))
    ))
}

pub fn durability_name(d: Durability) -> String {
    match d {
        Durability::Sync => "sync".into(),
        Durability::Buffered => "buffered".into(),
        Durability::Periodic(p) => format!("periodic:{}", p.as_millis()),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

pub fn run(g: &GlobalArgs, args: DemoArgs) -> CliResult {
    let n = args.entries;
    if n == 0 {
        return Err(CliError::new("--entries must be at least 1"));
    }
    let per_batch = args.batch.max(1);
    let db = open_writable(&g.data, g.durability)?;
    let ks = db.open_keyspace(KEYSPACE, KeyspaceOptions::default())?;
    println!(
        "AmDb demo: {} entries ({KEY_LEN}-byte keys, {VALUE_LEN}-byte values) into keyspace {KEYSPACE:?} of {} (durability {})",
        thousands(n),
        g.data.display(),
        durability_name(g.durability)
    );

    // 1. Load.
    let pb = progress(Some(n), "load");
    let start = Instant::now();
    let mut batch = WriteBatch::with_capacity(per_batch as usize * (KEY_LEN + VALUE_LEN + 4));
    let mut value = [0u8; VALUE_LEN];
    let mut batches = 0u64;
    let mut i = 0;
    while i < n {
        let end = (i + per_batch).min(n);
        batch.clear();
        for j in i..end {
            demo_value(j, &mut value);
            batch.put(&ks, demo_key(j), value);
        }
        db.write(&batch)?;
        batches += 1;
        i = end;
        pb.set_position(i);
    }
    let load = start.elapsed();
    pb.finish_and_clear();
    let user_bytes = n * (KEY_LEN + VALUE_LEN) as u64;
    println!(
        "  load  {} entries in {} batches: {}, {} entries/s, {}/s",
        thousands(n),
        thousands(batches),
        secs(load),
        rate(n, load),
        human_bytes((user_bytes as f64 / load.as_secs_f64().max(1e-9)) as u64)
    );

    // 2. Point gets of a random sample.
    let gets = args.gets.min(n);
    let pb = progress(Some(gets), "get");
    let mut rng = SmallRng::seed_from_u64(0x5eed ^ n);
    let start = Instant::now();
    for done in 0..gets {
        let i = rng.gen_range(0..n);
        demo_value(i, &mut value);
        match db.get(&ks, demo_key(i))? {
            Some(v) if v == value => {}
            Some(_) => return Err(mismatch("get", i, "returned a different value")),
            None => return Err(mismatch("get", i, "found nothing")),
        }
        if done % 4096 == 0 {
            pb.set_position(done);
        }
    }
    let get_time = start.elapsed();
    pb.finish_and_clear();
    println!(
        "  get   {} random keys: {}, {} gets/s, all values match",
        thousands(gets),
        secs(get_time),
        rate(gets, get_time)
    );

    // 3. One full scan of the loaded key range.
    let pb = progress(Some(n), "scan");
    let start = Instant::now();
    let opts = ReadOptions::new().upper_bound(demo_key(n).to_vec());
    let mut it = db.iter(&ks, &opts)?;
    it.seek_to_first();
    let mut seen = 0u64;
    while it.valid() {
        if it.key() != demo_key(seen) {
            return Err(mismatch(
                "scan",
                seen,
                &format!(
                    "is missing (found {:?} in its place)",
                    String::from_utf8_lossy(it.key())
                ),
            ));
        }
        demo_value(seen, &mut value);
        if it.value() != value {
            return Err(mismatch("scan", seen, "returned a different value"));
        }
        seen += 1;
        if seen.is_multiple_of(65536) {
            pb.set_position(seen);
        }
        it.next();
    }
    it.status()?;
    let scan_time = start.elapsed();
    pb.finish_and_clear();
    if seen != n {
        return Err(mismatch("scan", seen, "is missing (the scan ended early)"));
    }
    println!(
        "  scan  {} entries in key order: {}, {} entries/s, all values match",
        thousands(seen),
        secs(scan_time),
        rate(seen, scan_time)
    );

    print_summary(&db, KEYSPACE);
    db.close()?;
    println!("done; rerun anytime, or look around with: amdb kv --keyspace demo scan --limit 3");
    Ok(())
}

fn print_summary(db: &Db, keyspace: &str) {
    let s = db.stats();
    let c = &s.counters;
    println!("engine:");
    println!(
        "  writes   {} batches, {} entries, {} user bytes; WAL {} in {} records, {} fdatasyncs",
        thousands(c.batches_written),
        thousands(c.entries_written),
        human_bytes(c.user_bytes_written),
        human_bytes(c.wal_bytes),
        thousands(c.wal_records),
        thousands(c.wal_syncs)
    );
    println!(
        "  flushes  {} ({}); compactions {} ({} trivial moves, {} read, {} written); stalls {} slowdowns, {} stops, {} ms",
        thousands(c.flushes),
        human_bytes(c.flush_bytes),
        thousands(c.compactions),
        thousands(c.trivial_moves),
        human_bytes(c.compaction_bytes_read),
        human_bytes(c.compaction_bytes_written),
        thousands(c.stall_slowdowns),
        thousands(c.stall_stops),
        thousands(c.stall_micros / 1000)
    );
    let lookups = c.block_cache_hits + c.block_cache_misses;
    println!(
        "  reads    {} gets, {} iterators; block cache {} hits / {} lookups, {} used of {}; bloom ruled out {} of {} table probes",
        thousands(c.gets),
        thousands(c.iterators),
        thousands(c.block_cache_hits),
        thousands(lookups),
        human_bytes(s.block_cache_usage as u64),
        human_bytes(s.block_cache_capacity as u64),
        thousands(c.bloom_useful),
        thousands(c.bloom_checked)
    );
    if let Some(k) = s.keyspaces.iter().find(|k| k.name == keyspace) {
        let levels: Vec<String> = k
            .levels
            .iter()
            .filter(|l| l.files > 0)
            .map(|l| format!("L{}: {} files {}", l.level, l.files, human_bytes(l.bytes)))
            .collect();
        println!(
            "  keyspace {keyspace:?}: memtable {}, {} sealed; {}",
            human_bytes(k.memtable_bytes as u64),
            k.immutable_memtables,
            if levels.is_empty() {
                "no tables yet".to_string()
            } else {
                levels.join(", ")
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_deterministic_and_distinct() {
        let (mut a, mut b, mut c) = ([0; VALUE_LEN], [0; VALUE_LEN], [0; VALUE_LEN]);
        demo_value(42, &mut a);
        demo_value(42, &mut b);
        demo_value(43, &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with(b"v42:"));
    }
}
