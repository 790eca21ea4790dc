//! `amdb`: the command-line tool. Thin by design: it parses arguments, calls the library
//! crates and prints. Errors are one line on stderr, `amdb: error: ...`, and a non-zero exit
//! (a failed verification: `amdb: ledger verification failed: ...` or `amdb: proof
//! verification failed: ...`).

mod backtest_cmd;
mod bars;
mod bench;
mod cli;
mod demo;
mod escape;
mod events;
mod export;
mod gen;
mod import;
mod kv;
mod kv_demo;
mod ledger_cmd;
mod market;
mod output;
mod resample_cmd;
mod sink;
mod symbols;
mod ta_cmd;
mod tune_cmd;

use std::path::Path;
use std::process::ExitCode;

use amdb_engine::{Db, Durability, Options};
use clap::Parser;

use cli::{Cli, Command};

/// Exit codes: 0 success, 1 "not found" (`kv get` of a missing key), 2 usage, I/O, corruption
/// and every other error (clap also uses 2 for usage errors), 3 a verification that ran and
/// failed (`ledger verify`, `ledger verify-proof`): the data or the proof is not what it
/// claims, as opposed to the check not being able to run.
pub const EXIT_NOT_FOUND: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_VERIFY_FAILED: u8 = 3;

/// A failure to report: one line, and the exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_ERROR,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<amdb_engine::Error> for CliError {
    fn from(e: amdb_engine::Error) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<amdb_bench::BenchError> for CliError {
    fn from(e: amdb_bench::BenchError) -> Self {
        CliError::new(e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

/// Opens the database for writing (creating it if missing) with the chosen durability.
pub fn open_writable(dir: &Path, durability: Durability) -> CliResult<Db> {
    Ok(Db::open(
        dir,
        Options {
            create_if_missing: true,
            durability,
            ..Options::default()
        },
    )?)
}

/// Opens the database read-only: works while another process writes, and never creates one.
pub fn open_read_only(dir: &Path) -> CliResult<Db> {
    Ok(Db::open_read_only(dir)?)
}

/// Keeps large buffers (decoded columns, chunk values) in one heap instead of mapping and
/// unmapping fresh pages for each one. With glibc's defaults every block over 128 KiB went
/// back to the kernel on free, and per-thread arenas released whole heaps, so each read of a
/// series paid a page fault per 4 KiB of its columns (`amdb bench market`: read_one 4.1 ms
/// before, 1.5 ms after; read_all 218 ms before, 129 ms after). One arena costs nothing
/// measurable here: the hot paths allocate little, and big allocations are rare.
/// `AMDB_MALLOC_DEFAULTS=1` keeps glibc's defaults (to compare, or to return memory sooner).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    if std::env::var_os("AMDB_MALLOC_DEFAULTS").is_some_and(|v| v == "1") {
        return;
    }
    // SAFETY: mallopt only changes allocator parameters; called before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&cli.global, args),
        Command::Gen(args) => gen::run(&cli.global, args),
        Command::Import(args) => import::run(&cli.global, args),
        Command::Bars(args) => bars::run(&cli.global, args),
        Command::Export(args) => export::run(&cli.global, args),
        Command::Resample(args) => resample_cmd::run(&cli.global, args),
        Command::Symbols(args) => symbols::run(&cli.global, args),
        Command::Events(args) => events::run(&cli.global, args),
        Command::Ta(args) => ta_cmd::run(&cli.global, *args),
        Command::Backtest(args) => backtest_cmd::run(&cli.global, *args),
        Command::Kv(args) => kv::run(&cli.global, args),
        Command::Ledger(args) => ledger_cmd::run(&cli.global, args),
        Command::Audit(args) => ledger_cmd::run_audit(&cli.global, args),
        Command::Tune(args) => tune_cmd::run(&cli.global, args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`amdb kv scan | head`) is not an error worth a message.
        Err(e) if e.message == output::BROKEN_PIPE => ExitCode::SUCCESS,
        // The message says what failed ("ledger verification failed: ...").
        Err(e) if e.code == EXIT_VERIFY_FAILED => {
            eprintln!("amdb: {}", e.message);
            ExitCode::from(e.code)
        }
        Err(e) => {
            eprintln!("amdb: error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
