//! `amdb tune`: tune PostgreSQL's knobs for a workload, compare configurations head to
//! head, and show stored runs. Runs are kept in the database directory (`--data`).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use amdb_tune::knob::{Config, Knob};
use amdb_tune::measure::{self, Comparison, Protocol, Verdict};
use amdb_tune::optimize::OptimizerKind;
use amdb_tune::pg::catalog::KnobSet;
use amdb_tune::pg::{Binaries, Cluster, Conn, PgTarget, Server};
use amdb_tune::pgtune;
use amdb_tune::report;
use amdb_tune::session::{self, Event, RunMeta};
use amdb_tune::settings_file;
use amdb_tune::store::Store;
use amdb_tune::target::Target;
use amdb_tune::workload::Workload;
use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::{open_writable, output, CliError, CliResult};

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(subcommand)]
    command: TuneCommand,
}

#[derive(Debug, Subcommand)]
enum TuneCommand {
    /// Tune a PostgreSQL server's knobs for a workload. The search scales each trial by
    /// baseline runs interleaved with it; the best candidates are then compared with the
    /// baseline in interleaved pairs and recommended only when their bootstrap confidence
    /// interval excludes "no change", twice. Writes a report directory.
    Postgres(PostgresArgs),
    /// Compare the baseline (default) configuration, PGTune's and a tuned run's
    /// recommendation head to head with the measurement protocol.
    Compare(CompareArgs),
    /// Print a stored run's report (or list the runs), optionally writing its report dir.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Create a throwaway cluster with the installed initdb/pg_ctl (as the postgres user
    /// when run as root), on a Unix socket in a temporary directory; removed afterwards.
    /// The default when no --dsn is given.
    #[arg(long, conflicts_with = "dsn")]
    spawn: bool,
    /// Tune an existing server (libpq connection string or URI; needs a superuser for
    /// ALTER SYSTEM). Its settings are restored when amdb finishes or fails.
    #[arg(long, value_name = "URL")]
    dsn: Option<String>,
    /// Allow changing knobs that need a server restart (shared_buffers, wal_buffers);
    /// only for --spawn, since amdb restarts only servers it started.
    #[arg(long)]
    allow_restart: bool,
    /// Size memory ranges for this much RAM instead of this machine's (for a --dsn server
    /// on another machine), e.g. 16GiB.
    #[arg(long, value_name = "SIZE", value_parser = crate::cli::parse_size)]
    ram: Option<u64>,
    /// The workload: pgbench:scale=N,clients=N,seconds=N[,threads=N] or
    /// sql:FILE[,init=FILE],clients=N,seconds=N.
    #[arg(long, default_value = "pgbench:scale=50,clients=8,seconds=15")]
    workload: Workload,
    /// Interleaved pairs of runs per comparison with the baseline.
    #[arg(long, default_value_t = 5)]
    pairs: usize,
    /// Seconds of the discarded warm-up run after each configuration switch
    /// (default: a quarter of a run, 1 to 5 s).
    #[arg(long, value_name = "SECONDS")]
    warmup: Option<u32>,
}

#[derive(Debug, Args)]
struct PostgresArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Knob set: seed (the six knobs of the predecessor) or extended (adds shared_buffers,
    /// WAL, checkpoint, background-writer and I/O knobs).
    #[arg(long, default_value = "seed", value_name = "SET")]
    knobs: KnobSet,
    /// Also tune knobs that trade durability for speed (synchronous_commit, fsync,
    /// full_page_writes); the report says what each risks.
    #[arg(long)]
    allow_unsafe: bool,
    /// ddpg (actor-critic, CDBTune's reward), bo (Gaussian process + expected improvement)
    /// or random.
    #[arg(long, default_value = "bo")]
    optimizer: OptimizerKind,
    /// Configurations to try.
    #[arg(long, default_value_t = 20)]
    budget: usize,
    /// Measured runs per trial during the search.
    #[arg(long, default_value_t = 1)]
    search_runs: usize,
    /// Best trials compared with the baseline by the full protocol.
    #[arg(long, default_value_t = 3)]
    finalists: usize,
    /// Skip the ablation (which knobs of the recommendation mattered).
    #[arg(long)]
    no_ablation: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Continue run N (same knobs and workload) from its stored trials and model.
    #[arg(long, value_name = "RUN", conflicts_with = "warm_start")]
    resume: Option<u64>,
    /// Start the optimizer from run N's trained model (same optimizer and knobs).
    #[arg(long, value_name = "RUN")]
    warm_start: Option<u64>,
    /// Report directory (default ./tune-run-N).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The tuned configuration: run N's recommendation (default: the latest run that has
    /// one).
    #[arg(long, value_name = "RUN")]
    run: Option<u64>,
    /// The tuned configuration from a file instead of a run: `name = value` lines (as in
    /// postgresql.conf) or `ALTER SYSTEM SET name = 'value';` lines (as in a run's
    /// recommendation.sql). Values must lie in the ranges amdb allows on this machine.
    #[arg(long, value_name = "FILE", conflicts_with = "run")]
    config: Option<PathBuf>,
    /// PGTune's database type: web, oltp, dw, desktop or mixed.
    #[arg(long, default_value = "oltp")]
    pgtune_type: pgtune::DbType,
    /// PGTune's storage type: ssd, hdd or san.
    #[arg(long, default_value = "ssd")]
    pgtune_storage: pgtune::Storage,
    /// Write compare.md and compare.json here.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The run number; without it, list the runs.
    run: Option<u64>,
    /// Also write the run's report directory here.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: TuneArgs) -> CliResult {
    // Ctrl-C stops after the current run and cleans up instead of leaving a cluster behind.
    amdb_tune::interrupt::install_handlers();
    match args.command {
        TuneCommand::Postgres(a) => postgres(global, a),
        TuneCommand::Compare(a) => compare(global, a),
        TuneCommand::Show(a) => show(global, a),
    }
}

fn tune_err(e: amdb_tune::Error) -> CliError {
    CliError::new(e.to_string())
}

fn open_store(global: &GlobalArgs) -> CliResult<Store> {
    let db = open_writable(&global.data, global.durability)?;
    Store::new(db).map_err(tune_err)
}

fn server(a: &ServerArgs) -> CliResult<Server> {
    match &a.dsn {
        Some(dsn) => {
            let bins = Binaries::find().map_err(tune_err)?;
            let workdir = std::env::temp_dir();
            Ok(Server::Dsn(Conn::new(bins, dsn.clone(), workdir)))
        }
        None => {
            eprintln!("starting a throwaway PostgreSQL cluster ...");
            Ok(Server::Spawned(Cluster::spawn().map_err(tune_err)?))
        }
    }
}

/// The PostgreSQL target for `names`, on the server the arguments choose.
fn open_target(a: &ServerArgs, names: &[&str]) -> CliResult<PgTarget> {
    PgTarget::new(server(a)?, names, a.allow_restart, a.ram).map_err(tune_err)
}

fn protocol(a: &ServerArgs, seed: u64) -> Protocol {
    let mut p = Protocol::new(a.pairs, a.workload.seconds);
    if let Some(w) = a.warmup {
        p.warmup_seconds = w;
    }
    p.seed = seed;
    p
}

fn postgres(global: &GlobalArgs, a: PostgresArgs) -> CliResult {
    let store = open_store(global)?;
    let names = a.knobs.names(a.allow_unsafe);
    let mut target = open_target(&a.server, &names)?;
    let run = match a.resume {
        Some(run) => {
            let meta = store.meta(run).map_err(tune_err)?;
            if meta.workload != a.server.workload {
                return Err(CliError::new(format!(
                    "run {run} used workload {}, not {}; resume with the same --workload",
                    meta.workload, a.server.workload
                )));
            }
            run
        }
        None => {
            let meta = RunMeta {
                target: target.describe(),
                knobs: target.catalog().to_vec(),
                skipped: target.skipped().to_vec(),
                knob_set: format!("{:?}", a.knobs).to_lowercase(),
                workload: a.server.workload.clone(),
                optimizer: a.optimizer,
                budget: a.budget,
                search_runs: a.search_runs.max(1),
                finalists: a.finalists.max(1),
                ablation: !a.no_ablation,
                protocol: protocol(&a.server, a.seed),
                seed: a.seed,
                allow_unsafe: a.allow_unsafe,
                allow_restart: a.server.allow_restart,
                warm_start: a.warm_start,
                started_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            };
            store.create_run(&meta).map_err(tune_err)?
        }
    };
    let warm = match a.warm_start {
        Some(w) => {
            let from = store.meta(w).map_err(tune_err)?;
            if from.optimizer != a.optimizer || !same_knobs(&from.knobs, target.catalog()) {
                return Err(CliError::new(format!(
                    "run {w} trained {:?} on other knobs; warm-start needs the same optimizer and knob set",
                    from.optimizer
                )));
            }
            Some(
                store
                    .model(w)
                    .map_err(tune_err)?
                    .ok_or_else(|| CliError::new(format!("run {w} has no model")))?,
            )
        }
        None => None,
    };
    for (name, why) in target.skipped() {
        eprintln!("not tuning {name}: {why}");
    }
    let meta = store.meta(run).map_err(tune_err)?;
    eprintln!(
        "run {run}: {} on {}, {} knobs, {}, budget {}",
        meta.workload,
        target.describe(),
        meta.knobs.len(),
        meta.optimizer,
        meta.budget
    );
    let bar = output::progress(Some(meta.budget as u64), "trials");
    let mut on_event = progress_printer(&bar);
    let outcome = session::tune(&mut target, &store, run, warm, &mut on_event).map_err(tune_err)?;
    bar.finish_and_clear();
    target.rollback().map_err(tune_err)?;
    let trials = store.trials(run).map_err(tune_err)?;
    let dir = a
        .report
        .unwrap_or_else(|| PathBuf::from(format!("tune-run-{run}")));
    report::write_dir(&dir, run, &meta, &trials, Some(&outcome)).map_err(tune_err)?;
    match &outcome.recommended {
        Some(rec) => {
            let c = outcome.confirmation.as_ref().and_then(|c| c.comparison.tps);
            println!(
                "run {run}: recommend {} setting(s); confirmed TPS ratio {}",
                rec.len(),
                c.map_or("?".into(), |t| format!(
                    "{:.3} (95% CI {:.3}..{:.3})",
                    t.ratio, t.low, t.high
                ))
            );
            print!("{}", report::alter_system_script(&meta, Some(&outcome)));
        }
        None => println!(
            "run {run}: no configuration beat the baseline beyond noise; nothing recommended"
        ),
    }
    println!("report: {}", dir.display());
    Ok(())
}

fn same_knobs(a: &[Knob], b: &[Knob]) -> bool {
    a.iter().map(|k| &k.name).eq(b.iter().map(|k| &k.name))
}

/// Turns session events into progress-bar messages.
fn progress_printer(bar: &ProgressBar) -> impl FnMut(Event) + '_ {
    move |e| match e {
        Event::Baseline => bar.set_message("baseline"),
        Event::Trial { n, .. } => {
            bar.set_position(n as u64);
            bar.set_message(format!("trial {}", n + 1));
        }
        Event::Finalist { i, of } => {
            bar.set_position(bar.length().unwrap_or(0));
            bar.set_message(format!("finalist {}/{of}", i + 1));
        }
        Event::Confirm => bar.set_message("confirming the winner"),
        Event::Ablation { i, of } => bar.set_message(format!("ablation {}/{of}", i + 1)),
        Event::Step(_) => bar.tick(),
    }
}

#[derive(Serialize)]
struct CompareRow {
    candidate: String,
    against: String,
    comparison: Comparison,
}

/// Where `compare`'s tuned configuration comes from.
enum TunedSource {
    /// Run N's recommendation, its knobs and their values.
    Run(u64, Vec<Knob>, Config),
    /// A settings file and its lines.
    File(PathBuf, Vec<settings_file::Line>),
}

impl TunedSource {
    fn label(&self) -> String {
        match self {
            TunedSource::Run(run, ..) => format!("run {run}"),
            TunedSource::File(path, _) => path.display().to_string(),
        }
    }
}

fn tuned_source(global: &GlobalArgs, a: &CompareArgs) -> CliResult<TunedSource> {
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("read {}: {e}", path.display())))?;
        let lines = settings_file::parse(&text).map_err(|e| CliError::new(e.at(path)))?;
        return Ok(TunedSource::File(path.clone(), lines));
    }
    let store = open_store(global)?;
    let runs = store.runs().map_err(tune_err)?;
    for (run, meta) in runs.iter().rev() {
        if a.run.is_some_and(|r| r != *run) {
            continue;
        }
        let rec = store
            .outcome(*run)
            .map_err(tune_err)?
            .and_then(|o| o.recommended);
        match rec {
            Some(rec) => return Ok(TunedSource::Run(*run, meta.knobs.clone(), rec)),
            None if a.run.is_some() => {
                return Err(CliError::new(format!(
                    "run {run} has no recommendation to compare"
                )))
            }
            None => {}
        }
    }
    Err(match a.run {
        Some(run) => CliError::new(format!("there is no tuning run {run} in this database")),
        None => CliError::new(
            "no tuning run with a recommendation in this database; run `amdb tune postgres` first, or pass --config FILE",
        ),
    })
}

/// The tuned configuration as values of `target`'s knobs; every setting must be a knob
/// of the target and lie in its range.
fn tuned_config(target: &PgTarget, source: &TunedSource) -> CliResult<Config> {
    let mut out = Config::new();
    match source {
        TunedSource::Run(run, _, rec) => {
            for (name, v) in rec {
                match target.catalog().iter().find(|k| k.name == *name) {
                    Some(k) if k.admits(v) => {
                        out.insert(name.clone(), v.clone());
                    }
                    _ => {
                        return Err(CliError::new(format!(
                            "run {run}'s {name} cannot be applied to this server"
                        )))
                    }
                }
            }
        }
        TunedSource::File(path, lines) => {
            for l in lines {
                let at = format!("{}:{}", path.display(), l.line);
                let Some(k) = target.catalog().iter().find(|k| k.name == l.name) else {
                    let why = target
                        .skipped()
                        .iter()
                        .find(|(n, _)| *n == l.name)
                        .map_or("not a setting amdb can tune on this server", |(_, w)| {
                            w.as_str()
                        });
                    return Err(CliError::new(format!("{at}: {}: {why}", l.name)));
                };
                let v = k.parse_literal(&l.value).ok_or_else(|| {
                    CliError::new(format!(
                        "{at}: {} = {:?} is not a value of this setting",
                        l.name, l.value
                    ))
                })?;
                if !k.admits(&v) {
                    return Err(CliError::new(format!(
                        "{at}: {} = {} is outside the range amdb allows on this machine ({})",
                        l.name,
                        l.value,
                        k.describe_domain()
                    )));
                }
                out.insert(k.name.clone(), v);
            }
        }
    }
    Ok(out)
}

fn compare(global: &GlobalArgs, a: CompareArgs) -> CliResult {
    let source = tuned_source(global, &a)?;
    let input = pgtune::Input::for_this_machine(a.pgtune_type, a.pgtune_storage);
    let pg_settings = pgtune::recommend(&input);
    let mut names: Vec<&str> = match &source {
        TunedSource::Run(_, knobs, _) => knobs.iter().map(|k| k.name.as_str()).collect(),
        TunedSource::File(_, lines) => lines.iter().map(|l| l.name.as_str()).collect(),
    };
    for s in &pg_settings {
        if !names.contains(&s.name) {
            names.push(s.name);
        }
    }
    let mut target = open_target(&a.server, &names)?;
    for (name, why) in target.skipped() {
        if pg_settings.iter().any(|s| s.name == name) {
            eprintln!("PGTune's {name} left out: {why}");
        }
    }
    let pgtune_config = pgtune_config(&target, &pg_settings);
    let tuned_config = tuned_config(&target, &source)?;
    let label = source.label();
    let p = protocol(&a.server, 7);
    let default = Config::new();
    let plan = [
        ("pgtune", "default", &pgtune_config, &default),
        ("tuned", "default", &tuned_config, &default),
        ("tuned", "pgtune", &tuned_config, &pgtune_config),
    ];
    eprintln!(
        "comparing default, PGTune ({}) and {label} on {}",
        a.pgtune_type, a.server.workload
    );
    let bar = output::progress(Some((plan.len() * 2 * p.pairs) as u64), "runs");
    let mut rows = Vec::new();
    for (cand, against, c, b) in plan {
        bar.set_message(format!("{cand} vs {against}"));
        let cmp = measure::compare(&mut target, &a.server.workload, b, c, &p, &mut |s| {
            if let measure::Step::Run { .. } = s {
                bar.inc(1)
            }
        })
        .map_err(tune_err)?;
        rows.push(CompareRow {
            candidate: cand.into(),
            against: against.into(),
            comparison: cmp,
        });
    }
    bar.finish_and_clear();
    let text = compare_markdown(
        &a,
        &label,
        &target,
        &pgtune_config,
        &tuned_config,
        &rows,
        &p,
    );
    print!("{text}");
    if let Some(dir) = &a.report {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::new(format!("create {}: {e}", dir.display())))?;
        std::fs::write(dir.join("compare.md"), &text).map_err(|e| {
            CliError::new(format!("write {}: {e}", dir.join("compare.md").display()))
        })?;
        let json = serde_json::to_string_pretty(&rows).map_err(|e| CliError::new(e.to_string()))?;
        std::fs::write(dir.join("compare.json"), json).map_err(|e| {
            CliError::new(format!("write {}: {e}", dir.join("compare.json").display()))
        })?;
    }
    Ok(())
}

/// PGTune's settings as a configuration of `target`'s knobs: values outside a knob's
/// tuned range are clamped to it (and said so), knobs the target lacks are dropped.
fn pgtune_config(target: &PgTarget, settings: &[pgtune::Setting]) -> Config {
    let mut out = Config::new();
    for s in settings {
        let Some(k) = target.catalog().iter().find(|k| k.name == s.name) else {
            continue;
        };
        match k.parse_literal(&s.value) {
            Some(v) if k.admits(&v) => {
                out.insert(k.name.clone(), v);
            }
            Some(v) => {
                let clamped = k.value_at(k.coordinate(&v));
                eprintln!(
                    "PGTune's {} = {} is outside the tuned range; using {}",
                    k.name,
                    s.value,
                    k.literal(&clamped)
                );
                out.insert(k.name.clone(), clamped);
            }
            None => eprintln!("PGTune's {} = {} cannot be read; left out", k.name, s.value),
        }
    }
    out
}

fn compare_markdown(
    a: &CompareArgs,
    label: &str,
    target: &PgTarget,
    pgtune: &Config,
    tuned: &Config,
    rows: &[CompareRow],
    p: &Protocol,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "# default vs PGTune vs tuned ({label})\n");
    let _ = writeln!(
        s,
        "- target: {}\n- workload: `{}`",
        target.describe(),
        a.server.workload
    );
    let _ = writeln!(
        s,
        "- protocol: {} interleaved pairs per comparison, {} s runs, {} s warm-up, {:.0} % bootstrap intervals\n",
        p.pairs,
        p.seconds,
        p.warmup_seconds,
        p.confidence * 100.0
    );
    let lit = |c: &Config| {
        c.iter()
            .map(|(n, v)| {
                let l = target
                    .catalog()
                    .iter()
                    .find(|k| k.name == *n)
                    .map_or(v.to_string(), |k| k.literal(v));
                format!("{n}={l}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        s,
        "- PGTune ({}, {}): {}",
        a.pgtune_type,
        a.pgtune_storage,
        lit(pgtune)
    );
    let _ = writeln!(s, "- tuned: {}\n", lit(tuned));
    let _ = writeln!(
        s,
        "| candidate | against | pairs | TPS ratio [95% CI] | p95 ratio [95% CI] | verdict |\n|---|---|---|---|---|---|"
    );
    for r in rows {
        let c = &r.comparison;
        let iv = |i: Option<measure::Interval>| {
            i.map_or("–".into(), |i| {
                format!("{:.3} [{:.3}, {:.3}]", i.ratio, i.low, i.high)
            })
        };
        let verdict = match &c.verdict {
            Verdict::Better => "better".to_string(),
            Verdict::Worse => "worse".to_string(),
            Verdict::WithinNoise => "within noise".to_string(),
            Verdict::Failed(w) => format!("failed: {w}"),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {verdict} |",
            r.candidate,
            r.against,
            c.candidate.len().min(c.baseline.len()),
            iv(c.tps),
            iv(c.p95)
        );
    }
    s
}

fn show(global: &GlobalArgs, a: ShowArgs) -> CliResult {
    let store = open_store(global)?;
    let Some(run) = a.run else {
        let runs = store.runs().map_err(tune_err)?;
        if runs.is_empty() {
            println!("no tuning runs in {}", global.data.display());
        }
        for (run, m) in runs {
            let outcome = store.outcome(run).map_err(tune_err)?;
            let state = match outcome {
                None => "unfinished".to_string(),
                Some(o) => match o.recommended {
                    Some(r) => format!("recommends {} setting(s)", r.len()),
                    None => "nothing recommended".into(),
                },
            };
            println!(
                "{run}\t{}\t{}\t{} knobs\tbudget {}\t{state}",
                m.optimizer,
                m.workload,
                m.knobs.len(),
                m.budget
            );
        }
        return Ok(());
    };
    let meta = store.meta(run).map_err(tune_err)?;
    let trials = store.trials(run).map_err(tune_err)?;
    let outcome = store.outcome(run).map_err(tune_err)?;
    print!(
        "{}",
        report::markdown(run, &meta, &trials, outcome.as_ref())
    );
    if let Some(dir) = a.report {
        report::write_dir(&dir, run, &meta, &trials, outcome.as_ref()).map_err(tune_err)?;
        eprintln!("report: {}", dir.display());
    }
    Ok(())
}
