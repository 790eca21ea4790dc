//! The plain-text summary for a terminal: title, parameters, period, an aligned metrics
//! table and a few lines about the trades.

use std::fmt::Write as _;

use super::equity::{params_line, period_line};
use super::format::{
    format_duration_secs, format_grouped, format_percent, format_price, format_signed_percent,
    format_value, TimePrecision, NS_PER_DAY, NS_PER_SEC,
};
use super::{RunReport, TradeRow};

/// Renders the summary. Values are right-aligned in one column so magnitudes compare at a
/// glance; widths count characters, not bytes, so non-ASCII names stay aligned.
pub fn text_summary(report: &RunReport) -> String {
    let mut out = String::new();
    let title = if report.title.is_empty() {
        "Backtest"
    } else {
        &report.title
    };
    out.push_str(title);
    out.push('\n');
    out.push_str(&"=".repeat(width(title)));
    out.push('\n');
    if !report.params.is_empty() {
        out.push_str(&params_line(report).replace("  ·  ", "   "));
        out.push('\n');
    }
    if let Some(period) = period_line(report) {
        let (first, last) = (report.equity[0].0, report.equity[report.equity.len() - 1].0);
        let span_days = (last - first) as f64 / NS_PER_DAY as f64;
        let span = if span_days >= 2.0 {
            format!("{} days", format_grouped(span_days.round(), 0))
        } else {
            format_duration_secs((last - first) as f64 / NS_PER_SEC as f64)
        };
        let _ = writeln!(
            out,
            "Period: {period} ({span}, {} points)",
            format_grouped(report.equity.len() as f64, 0)
        );
    }

    if !report.metrics.is_empty() {
        out.push_str("\nMetrics\n");
        let rows: Vec<(String, String)> = report
            .metrics
            .iter()
            .map(|m| (m.name.clone(), format_value(m.value, m.unit)))
            .collect();
        push_table(&mut out, &rows);
    }

    out.push('\n');
    out.push_str(&trades_summary(&report.trades));
    out
}

/// Two columns: names left-aligned, values right-aligned, indented by two spaces.
fn push_table(out: &mut String, rows: &[(String, String)]) {
    let name_w = rows.iter().map(|r| width(&r.0)).max().unwrap_or(0);
    let value_w = rows.iter().map(|r| width(&r.1)).max().unwrap_or(0);
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "  {name}{}   {}{value}",
            " ".repeat(name_w - width(name)),
            " ".repeat(value_w - width(value))
        );
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Counts and averages over the closed trades, shared by the text and HTML reports.
pub(crate) struct TradeStats {
    pub count: usize,
    pub won: usize,
    pub lost: usize,
    pub shorts: usize,
    pub net_pnl: f64,
    pub avg_return: f64,
    pub avg_holding_secs: f64,
}

impl TradeStats {
    pub(crate) fn of(trades: &[TradeRow]) -> TradeStats {
        // NaN fields (a trade the caller could not price) are left out of sums and means
        // rather than turning every aggregate into NaN.
        let finite_mean = |f: &dyn Fn(&TradeRow) -> f64| {
            let vals: Vec<f64> = trades.iter().map(f).filter(|v| v.is_finite()).collect();
            if vals.is_empty() {
                f64::NAN
            } else {
                vals.iter().sum::<f64>() / vals.len() as f64
            }
        };
        TradeStats {
            count: trades.len(),
            won: trades.iter().filter(|t| t.pnl > 0.0).count(),
            lost: trades.iter().filter(|t| t.pnl < 0.0).count(),
            shorts: trades
                .iter()
                .filter(|t| t.side == super::TradeSide::Short)
                .count(),
            net_pnl: trades.iter().map(|t| t.pnl).filter(|v| v.is_finite()).sum(),
            avg_return: finite_mean(&|t| t.return_frac),
            avg_holding_secs: finite_mean(&|t| (t.exit_ts - t.entry_ts) as f64 / NS_PER_SEC as f64),
        }
    }

    /// `57 (32 won, 25 lost, 56.1% win rate)`.
    pub(crate) fn headline(&self) -> String {
        format!(
            "{} ({} won, {} lost, {} win rate)",
            format_grouped(self.count as f64, 0),
            format_grouped(self.won as f64, 0),
            format_grouped(self.lost as f64, 0),
            format_percent(self.won as f64 / self.count as f64, 1)
        )
    }

    /// Name and formatted value of each average, in display order.
    pub(crate) fn rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![
            ("Net PnL".to_string(), format_grouped(self.net_pnl, 2)),
            (
                "Average return".to_string(),
                format_signed_percent(self.avg_return, 2),
            ),
            (
                "Average holding".to_string(),
                format_duration_secs(self.avg_holding_secs),
            ),
        ];
        if self.shorts > 0 {
            rows.push((
                "Long / short".to_string(),
                format!(
                    "{} / {}",
                    format_grouped((self.count - self.shorts) as f64, 0),
                    format_grouped(self.shorts as f64, 0)
                ),
            ));
        }
        rows
    }
}

fn trades_summary(trades: &[TradeRow]) -> String {
    if trades.is_empty() {
        return "Trades: none\n".to_string();
    }
    let stats = TradeStats::of(trades);
    let mut out = format!("Trades: {}\n", stats.headline());
    let rows = stats.rows();
    push_table(&mut out, &rows);

    let precision =
        TimePrecision::for_timestamps(trades.iter().flat_map(|t| [t.entry_ts, t.exit_ts]));
    let by_return = |a: &&TradeRow, b: &&TradeRow| a.return_frac.total_cmp(&b.return_frac);
    let finite = || trades.iter().filter(|t| t.return_frac.is_finite());
    let extremes = [
        ("Best", finite().max_by(by_return)),
        ("Worst", finite().min_by(by_return)),
    ];
    let ret_w = extremes
        .iter()
        .filter_map(|(_, t)| *t)
        .map(|t| width(&format_signed_percent(t.return_frac, 2)))
        .max()
        .unwrap_or(0);
    for (label, trade) in extremes {
        if let Some(t) = trade {
            let ret = format_signed_percent(t.return_frac, 2);
            let _ = writeln!(
                out,
                "  {label:<6}{}{ret}  {} {} {} @ {} → {} @ {}",
                " ".repeat(ret_w - width(&ret)),
                t.symbol,
                t.side.as_str(),
                precision.format(t.entry_ts),
                format_price(t.entry_price),
                precision.format(t.exit_ts),
                format_price(t.exit_price),
            );
        }
    }
    out
}
