//! Shared pieces of the market commands: opening the store, parsing times, timeframes and
//! `--as-of`, and naming series files.

use std::path::Path;

use amdb_market::time::parse_time_or_date_arg as parse_time_arg;
use amdb_market::{AsOf, Market, MarketOptions, Timeframe};

use crate::cli::GlobalArgs;
use crate::{open_read_only, open_writable, CliError, CliResult};

impl From<amdb_market::Error> for CliError {
    fn from(e: amdb_market::Error) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<amdb_market::io::ImportError> for CliError {
    fn from(e: amdb_market::io::ImportError) -> Self {
        CliError::new(e.to_string())
    }
}

/// The store for writing (created if missing).
pub fn writable(g: &GlobalArgs) -> CliResult<Market> {
    let db = open_writable(&g.data, g.durability)?;
    Ok(Market::new(db, MarketOptions::default())?)
}

/// The store for reading: opened read-only, so it works beside a writing process.
pub fn readable(g: &GlobalArgs) -> CliResult<Market> {
    if !g.data.exists() {
        return Err(CliError::new(format!(
            "no database at {} (create one with `amdb gen bars` or `amdb import bars`, or pass --data DIR)",
            g.data.display()
        )));
    }
    let db = open_read_only(&g.data)?;
    Ok(Market::new(db, MarketOptions::default())?)
}

pub fn parse_timeframe(s: &str) -> Result<Timeframe, String> {
    s.parse()
}

/// `--from`/`--to`: an RFC 3339 time, a date (midnight UTC) or epoch seconds/ms/ns.
pub fn parse_time(s: &str) -> Result<i64, String> {
    parse_time_arg(s)
}

/// `--as-of`: a version number (`7`, or `v7` for any number) or a time (anything `--from`
/// accepts; a plain integer of 8 or more digits is a time, e.g. `20240102`).
pub fn parse_as_of(s: &str) -> Result<AsOf, String> {
    let (digits, explicit) = match s.strip_prefix('v') {
        Some(d) => (d, true),
        None => (s, false),
    };
    let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if plain && (explicit || digits.len() < 8) {
        return digits
            .parse()
            .map(AsOf::Version)
            .map_err(|e| format!("{s:?}: {e}"));
    }
    parse_time_arg(s)
        .map(AsOf::Time)
        .map_err(|e| format!("{e} (or give a version number such as 3)"))
}

/// File name of a series export: `SYMBOL_TF.ext`. Bytes of the symbol other than ASCII
/// letters, digits, `-`, `_` and `.` are written `%XX`, so distinct symbols give distinct
/// names and importing the file gives back the symbol (`BTC/USDT` gives `BTC%2FUSDT_15m.csv`).
pub fn series_file_name(symbol: &str, tf: Timeframe, ext: &str) -> String {
    let mut safe = String::with_capacity(symbol.len());
    for b in symbol.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            safe.push(b as char);
        } else {
            safe.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{safe}_{tf}.{ext}")
}

/// Undoes the `%XX` escapes of [`series_file_name`]; text that is not a valid escape stays.
fn unescape_symbol(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Symbol and timeframe from a file named like an export (`BTC-USDT_15m.csv`), or the stem
/// alone as the symbol.
pub fn series_from_file_name(path: &Path) -> (Option<String>, Option<Timeframe>) {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return (None, None);
    };
    if let Some((sym, tf)) = stem.rsplit_once('_') {
        if let Ok(tf) = tf.parse::<Timeframe>() {
            return (Some(unescape_symbol(sym)), Some(tf));
        }
    }
    (Some(unescape_symbol(stem)), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_is_a_version_or_a_time() {
        assert_eq!(parse_as_of("3"), Ok(AsOf::Version(3)));
        assert_eq!(parse_as_of("v12"), Ok(AsOf::Version(12)));
        assert_eq!(parse_as_of("v20240102"), Ok(AsOf::Version(20240102)));
        assert!(matches!(parse_as_of("20240102"), Ok(AsOf::Time(_))));
        assert!(matches!(parse_as_of("2024-01-01"), Ok(AsOf::Time(_))));
        assert!(parse_as_of("yesterday").is_err());
    }

    #[test]
    fn file_names_round_trip() {
        for symbol in [
            "BTC/USDT", "BTC-USDT", "BTC:USDT", "a%b", "\u{c4}_x", "100%",
        ] {
            let name = series_file_name(symbol, Timeframe::M15, "csv");
            assert_eq!(
                series_from_file_name(Path::new(&name)),
                (Some(symbol.into()), Some(Timeframe::M15)),
                "{name}"
            );
        }
        assert_eq!(
            series_file_name("BTC/USDT", Timeframe::M15, "csv"),
            "BTC%2FUSDT_15m.csv"
        );
        assert_eq!(
            series_from_file_name(Path::new("x/AAPL.csv")),
            (Some("AAPL".into()), None)
        );
    }
}
