//! A run's report: the recommendation as an `ALTER SYSTEM` script, the evidence as
//! Markdown, everything as JSON, and the best-so-far curve as a PNG.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::knob::{Apply, Config, Knob};
use crate::measure::{median, Comparison, Interval, Verdict};
use crate::session::{Outcome, RunMeta, Trial};
use crate::{Error, Result};

/// Everything stored about a run, as `run.json` holds it.
#[derive(Debug, Serialize)]
pub struct RunRecord<'a> {
    pub run: u64,
    pub meta: &'a RunMeta,
    pub trials: &'a [Trial],
    pub outcome: Option<&'a Outcome>,
}

/// Writes `recommendation.sql`, `report.md`, `run.json` and `best-so-far.png` into `dir`.
pub fn write_dir(
    dir: &Path,
    run: u64,
    meta: &RunMeta,
    trials: &[Trial],
    outcome: Option<&Outcome>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io("write", path, e))
    };
    write(
        "recommendation.sql",
        alter_system_script(meta, outcome).as_bytes(),
    )?;
    write("report.md", markdown(run, meta, trials, outcome).as_bytes())?;
    let record = RunRecord {
        run,
        meta,
        trials,
        outcome,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| Error::Store(e.to_string()))?;
    write("run.json", &json)?;
    let png = dir.join("best-so-far.png");
    best_so_far_png(&png, run, meta, trials).map_err(|e| Error::io("write", png, e))
}

fn knob<'a>(meta: &'a RunMeta, name: &str) -> Option<&'a Knob> {
    meta.knobs.iter().find(|k| k.name == name)
}

fn literal(meta: &RunMeta, name: &str, v: &crate::knob::Value) -> String {
    knob(meta, name).map_or_else(|| v.to_string(), |k| k.literal(v))
}

/// The recommendation as SQL a DBA can read and run; comments only when there is none.
pub fn alter_system_script(meta: &RunMeta, outcome: Option<&Outcome>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "-- amdb tune: {} / {}", meta.target, meta.workload);
    let Some(rec) = outcome.and_then(|o| o.recommended.as_ref()) else {
        let _ = writeln!(
            s,
            "-- No configuration beat the baseline beyond the noise of the measurements\n\
             -- (see report.md), so nothing is recommended."
        );
        return s;
    };
    if let Some(t) = outcome
        .and_then(|o| o.confirmation.as_ref())
        .and_then(|c| c.comparison.tps)
    {
        let _ = writeln!(
            s,
            "-- Confirmed: TPS x{:.3} (95% CI {:.3}..{:.3}) over the baseline.",
            t.ratio, t.low, t.high
        );
    }
    let mut restart = false;
    for (name, v) in rec {
        if let Some(k) = knob(meta, name) {
            if let Some(risk) = &k.risk {
                let _ = writeln!(s, "-- UNSAFE: {name} {risk}");
            }
            restart |= k.apply == Apply::Restart;
        }
        let _ = writeln!(
            s,
            "ALTER SYSTEM SET {name} = '{}';",
            literal(meta, name, v).replace('\'', "''")
        );
    }
    let _ = writeln!(s, "SELECT pg_reload_conf();");
    if restart {
        let _ = writeln!(
            s,
            "-- Some of these settings take effect only after a server restart."
        );
    }
    s
}

fn interval(i: Option<Interval>) -> String {
    i.map_or_else(
        || "–".into(),
        |i| format!("{:.3} [{:.3}, {:.3}]", i.ratio, i.low, i.high),
    )
}

fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Better => "better".into(),
        Verdict::Worse => "worse".into(),
        Verdict::WithinNoise => "within noise".into(),
        Verdict::Failed(why) => format!("failed: {why}"),
    }
}

fn evidence_row(s: &mut String, label: &str, c: &Comparison) {
    let med =
        |runs: &[crate::target::RunResult]| median(&runs.iter().map(|r| r.tps).collect::<Vec<_>>());
    let _ = writeln!(
        s,
        "| {label} | {} | {:.0} | {:.0} | {} | {} | {} |",
        c.baseline.len().min(c.candidate.len()),
        med(&c.baseline),
        med(&c.candidate),
        interval(c.tps),
        interval(c.p95),
        verdict(&c.verdict)
    );
}

/// The human-readable report.
pub fn markdown(run: u64, meta: &RunMeta, trials: &[Trial], outcome: Option<&Outcome>) -> String {
    let mut s = String::new();
    let p = &meta.protocol;
    let _ = writeln!(s, "# Tuning run {run}: {}\n", meta.target);
    let _ = writeln!(s, "- workload: `{}`", meta.workload);
    let _ = writeln!(
        s,
        "- optimizer: {}, budget {} trials × {} run(s) of {} s, seed {}",
        meta.optimizer, meta.budget, meta.search_runs, p.seconds, meta.seed
    );
    let _ = writeln!(
        s,
        "- protocol: {} interleaved pairs per comparison (B C C B …), {} s warm-up after each switch, {:.0} % bootstrap intervals of the geometric-mean ratio",
        p.pairs,
        p.warmup_seconds,
        p.confidence * 100.0
    );
    let names: Vec<&str> = meta.knobs.iter().map(|k| k.name.as_str()).collect();
    let _ = writeln!(s, "- knobs ({}): {}", meta.knob_set, names.join(", "));
    for (n, why) in &meta.skipped {
        let _ = writeln!(s, "- not tuned: {n} ({why})");
    }
    if let Some(w) = meta.warm_start {
        let _ = writeln!(s, "- model warm-started from run {w}");
    }

    let _ = writeln!(s, "\n## Recommendation\n");
    match outcome {
        None => {
            let _ = writeln!(
                s,
                "The run has not finished (resume it with `amdb tune postgres --resume {run}`)."
            );
        }
        Some(o) => match &o.recommended {
            None => {
                let _ = writeln!(
                    s,
                    "Nothing is recommended: no configuration was better than the baseline beyond the noise \
                     of the measurements (its TPS interval did not lie above 1 twice in a row)."
                );
            }
            Some(rec) => {
                let _ = writeln!(
                    s,
                    "| knob | baseline | recommended | applies by |\n|---|---|---|---|"
                );
                for (name, v) in rec {
                    let before = o
                        .baseline_config
                        .get(name)
                        .map_or_else(String::new, |b| literal(meta, name, b));
                    let apply = knob(meta, name).map_or("reload", |k| match k.apply {
                        Apply::Reload => "reload",
                        Apply::Restart => "restart",
                    });
                    let _ = writeln!(
                        s,
                        "| {name} | {before} | {} | {apply} |",
                        literal(meta, name, v)
                    );
                }
                for name in rec.keys() {
                    if let Some(risk) = knob(meta, name).and_then(|k| k.risk.as_ref()) {
                        let _ = writeln!(s, "\n**Risk — {name}:** {risk}.");
                    }
                }
                let _ = writeln!(s, "\nThe same as SQL is in `recommendation.sql`.");
            }
        },
    }

    if let Some(o) = outcome {
        let _ = writeln!(s, "\n## Evidence\n");
        let _ = writeln!(
            s,
            "Each row compares a configuration with the baseline in interleaved pairs of runs. Ratios are candidate/baseline \
             (TPS: higher is better; p95 latency: lower is better).\n"
        );
        let _ = writeln!(
            s,
            "| configuration | pairs | baseline TPS (median) | candidate TPS (median) | TPS ratio [CI] | p95 ratio [CI] | verdict |\n|---|---|---|---|---|---|---|"
        );
        for f in &o.finalists {
            evidence_row(
                &mut s,
                &format!("finalist (trial {})", f.trial),
                &f.comparison,
            );
        }
        if let Some(c) = &o.confirmation {
            evidence_row(
                &mut s,
                &format!("confirmation (trial {})", c.trial),
                &c.comparison,
            );
        }
        if !o.ablation.is_empty() {
            let _ = writeln!(s, "\n## Which knobs mattered\n");
            let _ = writeln!(
                s,
                "Each knob of the recommendation put back to its baseline value, compared with the recommendation: \
                 a TPS ratio below 1 means the knob helped.\n"
            );
            let _ = writeln!(s, "| knob | put back to | TPS ratio [CI] | p95 ratio [CI] | verdict |\n|---|---|---|---|---|");
            for a in &o.ablation {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    a.knob,
                    literal(meta, &a.knob, &a.baseline_value),
                    interval(a.comparison.tps),
                    interval(a.comparison.p95),
                    verdict(&a.comparison.verdict)
                );
            }
        }
    }

    let _ = writeln!(s, "\n## Search\n");
    let _ = writeln!(
        s,
        "| trial | objective | TPS ratio | p95 ratio | changed knobs |\n|---|---|---|---|---|"
    );
    let baseline = outcome
        .map(|o| o.baseline_config.clone())
        .unwrap_or_default();
    for t in trials {
        let changed: Config = crate::session::changes(&t.config, &baseline);
        let knobs = changed
            .iter()
            .map(|(n, v)| format!("{n}={}", literal(meta, n, v)))
            .collect::<Vec<_>>()
            .join(" ");
        let ratio = |r: Option<f64>| r.map_or_else(|| "–".into(), |r| format!("{r:.3}"));
        let obj = match &t.failure {
            Some(why) => format!("failed: {}", why.chars().take(80).collect::<String>()),
            None => format!("{:.3}", t.objective),
        };
        let _ = writeln!(
            s,
            "| {} | {obj} | {} | {} | {knobs} |",
            t.n,
            ratio(t.tps_ratio),
            ratio(t.p95_ratio)
        );
    }
    s
}

/// The best objective so far after each trial, and every trial's objective.
pub fn best_so_far(trials: &[Trial]) -> Vec<(f64, f64)> {
    let mut best = f64::NEG_INFINITY;
    trials
        .iter()
        .map(|t| {
            best = best.max(t.objective);
            (t.n as f64 + 1.0, best)
        })
        .collect()
}

fn best_so_far_png(path: &Path, run: u64, meta: &RunMeta, trials: &[Trial]) -> std::io::Result<()> {
    use amdb_ta::report::{write_curve_png, CurveChart, CurveKind, CurveSeries};
    let every = trials
        .iter()
        .filter(|t| t.failure.is_none())
        .map(|t| (t.n as f64 + 1.0, t.objective))
        .collect();
    let chart = CurveChart {
        title: format!("Tuning run {run}: {} on {}", meta.optimizer, meta.workload),
        x_label: "trial".into(),
        y_label: "objective (0 = baseline; 0.4·ln TPS ratio + 0.6·ln 1/p95 ratio)".into(),
        series: vec![
            CurveSeries {
                name: "best so far".into(),
                points: best_so_far(trials),
                kind: CurveKind::Steps,
            },
            CurveSeries {
                name: "trial".into(),
                points: every,
                kind: CurveKind::Points,
            },
        ],
        reference: Some(("baseline".into(), 0.0)),
    };
    write_curve_png(path, &chart)
}
