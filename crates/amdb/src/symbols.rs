//! `amdb symbols`: the stored series with their size, range and latest version.

use amdb_market::time::format_time;
use clap::Args;

use crate::cli::GlobalArgs;
use crate::market::readable;
use crate::output::{print, thousands};
use crate::CliResult;

#[derive(Debug, Args)]
pub struct SymbolsArgs {
    /// One JSON object per series instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &GlobalArgs, a: SymbolsArgs) -> CliResult {
    let market = readable(g)?;
    let series = market.series()?;
    let mut out = std::io::stdout().lock();
    let t = |x: Option<i64>| x.map(format_time).unwrap_or_default();
    if !a.json {
        print(
            &mut out,
            &format!(
                "{:<16} {:>5} {:>12} {:<24} {:<24} {:>8}\n",
                "symbol", "tf", "bars", "first", "last", "version"
            ),
        )?;
    }
    for s in &series {
        let l = &s.latest;
        let line = if a.json {
            serde_json::json!({
                "symbol": s.symbol, "timeframe": s.timeframe.to_string(), "bars": l.rows,
                "first": t(l.first_ts), "last": t(l.last_ts), "version": l.version,
            })
            .to_string()
        } else {
            format!(
                "{:<16} {:>5} {:>12} {:<24} {:<24} {:>8}",
                s.symbol,
                s.timeframe.to_string(),
                thousands(l.rows),
                t(l.first_ts),
                t(l.last_ts),
                l.version
            )
        };
        print(&mut out, &format!("{line}\n"))?;
    }
    Ok(())
}
