//! `agents_p95`: threads of trading agents writing signals at a fixed total rate, each write
//! durable (as durable as the system's configuration makes a commit).
//!
//! Open-loop pacing: the run has a schedule — write number `g` is due at `start + g / rate`,
//! and agent `t` owns the writes with `g % agents == t`. An agent sleeps until a write is due
//! and sends it; a late agent sends at once. Latency is measured from the write's due time,
//! not from when it was actually sent, so a system that stalls is charged for the writes
//! queued up behind the stall (no coordinated omission). Writes still unsent at the cutoff
//! (twice the run time plus a second) are counted as `missed` and enter the histogram with the
//! time they had waited by then, a lower bound.

use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use amdb_market::events::{Side, Signal};
use hdrhistogram::Histogram;

use super::BarStore;
use crate::Result;

/// What the agents measured.
pub struct AgentStats {
    /// Latency from due time to acknowledgement, in nanoseconds, of every acknowledged write
    /// and (as a lower bound) every missed one.
    pub hist: Histogram<u64>,
    /// Writes acknowledged.
    pub ops: u64,
    /// Writes that returned an error (e.g. `SQLITE_BUSY`).
    pub errors: u64,
    /// Writes not sent by the cutoff.
    pub missed: u64,
    /// From the schedule's start to the last agent's end.
    pub wall: Duration,
    pub first_error: Option<String>,
}

pub fn new_histogram() -> Histogram<u64> {
    // 1 ns to 1 hour at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// The signal of write number `g`.
pub fn signal(g: u64) -> Signal {
    Signal {
        side: if g.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        strength: ((g % 201) as f64 - 100.0) / 100.0,
        price: 100.0 + (g % 10_000) as f64 * 0.01,
        reason: format!("sma20 crossed sma50 (write {g})"),
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Runs `agents` threads writing `rate` signals per second in total for `seconds`.
pub fn run(
    store: &dyn BarStore,
    agents: usize,
    rate: f64,
    seconds: f64,
    symbols: &[String],
) -> Result<AgentStats> {
    let total = (rate * seconds).round().max(1.0) as u64;
    let cutoff = Duration::from_secs_f64(seconds * 2.0 + 1.0);
    let barrier = Barrier::new(agents);
    let start_cell: Mutex<Option<Instant>> = Mutex::new(None);
    let outs: Vec<Result<(AgentStats, Instant)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..agents)
            .map(|t| {
                let (barrier, start_cell) = (&barrier, &start_cell);
                s.spawn(move || -> Result<(AgentStats, Instant)> {
                    let writer = store.signal_writer();
                    // Everyone opens (or fails to open) its writer before the clock starts.
                    if barrier.wait().is_leader() {
                        *start_cell.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now() + Duration::from_millis(10));
                    }
                    barrier.wait();
                    let mut writer = writer?;
                    let start = start_cell
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .expect("the leader set the start");
                    let agent = format!("agent-{t:02}");
                    let mut st = AgentStats {
                        hist: new_histogram(),
                        ops: 0,
                        errors: 0,
                        missed: 0,
                        wall: Duration::ZERO,
                        first_error: None,
                    };
                    let mut g = t as u64;
                    while g < total {
                        let due = start + Duration::from_secs_f64(g as f64 / rate);
                        let now = Instant::now();
                        if now >= start + cutoff {
                            // Give up on the rest; each waited at least until now.
                            while g < total {
                                let due = start + Duration::from_secs_f64(g as f64 / rate);
                                let waited = now.saturating_duration_since(due);
                                st.hist.saturating_record((waited.as_nanos() as u64).max(1));
                                st.missed += 1;
                                g += agents as u64;
                            }
                            break;
                        }
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        let symbol = &symbols[(g as usize) % symbols.len()];
                        let r = writer.put(now_ns(), &agent, symbol, &signal(g));
                        let done = Instant::now();
                        match r {
                            Ok(()) => {
                                st.ops += 1;
                                let lat = done.saturating_duration_since(due);
                                st.hist.saturating_record((lat.as_nanos() as u64).max(1));
                            }
                            Err(e) => {
                                st.errors += 1;
                                st.first_error.get_or_insert_with(|| e.to_string());
                            }
                        }
                        g += agents as u64;
                    }
                    drop(writer);
                    Ok((st, start))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("agent thread panicked"))
            .collect()
    });
    let end = Instant::now();
    let mut merged = AgentStats {
        hist: new_histogram(),
        ops: 0,
        errors: 0,
        missed: 0,
        wall: Duration::ZERO,
        first_error: None,
    };
    for o in outs {
        let (o, start) = o?;
        merged.hist.add(&o.hist).expect("equal histogram bounds");
        merged.ops += o.ops;
        merged.errors += o.errors;
        merged.missed += o.missed;
        merged.wall = merged.wall.max(end.saturating_duration_since(start));
        if merged.first_error.is_none() {
            merged.first_error = o.first_error;
        }
    }
    Ok(merged)
}
