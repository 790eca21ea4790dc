//! `amdb bench SUITE`: parses flags into the suite's config and prints its results.

use std::io::Write;

use amdb_bench::engine::{self, EngineConfig, Step, Workload};
use amdb_bench::kv::{Budget, Engine};
use amdb_engine::Options;

use amdb_bench::market::{self, MarketConfig};

use amdb_bench::ta::{self, Peers, TaConfig};

use crate::cli::{BenchArgs, BenchSuite, EngineArgs, MarketBenchArgs, TaBenchArgs};
use crate::output::{print, stdout_err};
use crate::{CliError, CliResult};

pub fn run(args: BenchArgs) -> CliResult {
    match args.suite {
        BenchSuite::Engine(a) => run_engine(a),
        BenchSuite::Market(a) => run_market(a),
        BenchSuite::Ta(a) => run_ta(a),
    }
}

fn run_ta(a: TaBenchArgs) -> CliResult {
    let peers = match a.peers.as_str() {
        "auto" => Peers::Auto,
        "require" => Peers::Require,
        "off" => Peers::Off,
        other => {
            return Err(CliError::new(format!(
                "--peers {other:?}: expected auto, require or off"
            )))
        }
    };
    let cfg = TaConfig {
        symbols: a.symbols,
        years: a.years,
        frame_rows: a.frame_rows,
        cases: a.cases,
        dir: a.dir,
        peers,
        python: a.peers_python,
        script: a.peers_script,
        peer_grid_symbols: a.peer_grid_symbols,
        reps: a.reps,
    };
    let mut out = std::io::stdout().lock();
    if !a.json {
        print(
            &mut out,
            &format!(
                "AmDb indicator and backtest benchmark: {} symbols x {} years of 15m bars\n",
                cfg.symbols, cfg.years
            ),
        )?;
    }
    let mut printer = Printer::new(out, a.json);
    ta::run(&cfg, &mut |v| printer.line(v, ta::format_human))?;
    printer.finish()
}

fn run_market(a: MarketBenchArgs) -> CliResult {
    if let Some(system) = &a.rss_child {
        let dir = a
            .dir
            .as_ref()
            .ok_or_else(|| CliError::new("--rss-child needs --dir"))?;
        let report = market::rss_child(system, dir)?;
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serializes")
        );
        return Ok(());
    }
    let cfg = MarketConfig {
        symbols: a.symbols,
        years: a.years,
        dir: a.dir.clone(),
        child_exe: std::env::current_exe().ok(),
        agent_seconds: a.agent_seconds,
        agents: a.agents,
        agent_rate: a.agent_rate,
        cases: a.cases.clone(),
        systems: a.systems.clone(),
        read_reps: a.reps,
        progress: !a.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        chunk_rows: a.chunk_rows,
    };
    let mut out = std::io::stdout().lock();
    if !a.json {
        print(
            &mut out,
            &format!(
                "AmDb market benchmark: {} symbols x {} years of 15m bars\n",
                cfg.symbols, cfg.years
            ),
        )?;
    }
    let mut printer = Printer::new(out, a.json);
    market::run(&cfg, &mut |r| printer.line(r, market::format_human))?;
    printer.finish()
}

fn run_engine(a: EngineArgs) -> CliResult {
    let cfg = EngineConfig {
        workloads: Workload::parse_list(&a.workload)?,
        num: a.num.unwrap_or(1_000_000),
        num_explicit: a.num.is_some(),
        threads: a.threads,
        value_size: a.value_size,
        dir: a.dir.clone(),
        seed: a.seed,
        options: Options {
            ledger: a.ledger,
            ..Options::default()
        },
        peers: match &a.vs {
            Some(list) => Engine::parse_list(list)?,
            None => Vec::new(),
        },
        budget: Budget {
            write_buffer: usize::try_from(a.write_buffer).unwrap_or(usize::MAX),
            cache: usize::try_from(a.cache).unwrap_or(usize::MAX),
        },
    };
    let mut out = std::io::stdout().lock();
    if !a.json {
        let where_ = match &a.dir {
            Some(d) => format!("{} (kept)", d.display()),
            None => format!(
                "a new directory in {} (removed afterwards)",
                std::env::temp_dir().display()
            ),
        };
        print(
            &mut out,
            &format!(
                "AmDb engine benchmark\n\
                 Keys:       16 bytes each\n\
                 Values:     {} bytes each (half compressible)\n\
                 Entries:    {} operations per workload, over {} thread(s)\n\
                 Workloads:  {}\n\
                 Ledger:     {}\n\
                 Engines:    {} (memtable {} MiB, cache {} MiB each)\n\
                 Databases:  {}\n\
                 ------------------------------------------------\n",
                cfg.value_size,
                cfg.num,
                cfg.threads,
                cfg.workloads
                    .iter()
                    .map(|s| format!("{s}{}", note(&cfg, *s)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if cfg.options.ledger {
                    "on (system amdb_ledger; fills include the ledger catching up)"
                } else {
                    "off"
                },
                cfg.engines()
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                cfg.budget.write_buffer >> 20,
                cfg.budget.cache >> 20,
                where_
            ),
        )?;
    }
    let mut printer = Printer::new(out, a.json);
    engine::run(&cfg, |r| printer.line(r, engine::format_human))?;
    printer.finish()
}

fn note(cfg: &EngineConfig, s: Step) -> String {
    let ops = cfg.ops_for(s);
    if ops != cfg.num && s.ops.is_none() {
        format!(" ({ops} ops)")
    } else {
        String::new()
    }
}

/// Prints each result as it arrives (a JSON line or the suite's human line), remembering the
/// first failed write to stdout instead of stopping the suite mid-case.
struct Printer<W: Write> {
    out: W,
    json: bool,
    err: Option<CliError>,
}

impl<W: Write> Printer<W> {
    fn new(out: W, json: bool) -> Self {
        Printer {
            out,
            json,
            err: None,
        }
    }

    fn line<R: serde::Serialize>(&mut self, r: &R, human: impl Fn(&R) -> String) {
        if self.err.is_some() {
            return;
        }
        let line = if self.json {
            serde_json::to_string(r).expect("results serialize")
        } else {
            human(r)
        };
        if let Err(e) = writeln!(self.out, "{line}").and_then(|_| self.out.flush()) {
            self.err = Some(stdout_err(e));
        }
    }

    fn finish(self) -> CliResult {
        self.err.map_or(Ok(()), Err)
    }
}
