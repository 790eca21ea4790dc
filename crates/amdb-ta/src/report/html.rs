//! One self-contained HTML page: inline CSS and inline SVG charts, no scripts, no external
//! fonts, styles or images, so it can be mailed, archived or opened offline and shows the
//! same everywhere. Every piece of caller text is escaped.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::equity::period_line;
use super::format::{
    format_grouped, format_price, format_qty, format_signed_percent, format_value, TimePrecision,
};
use super::svg::{equity_svg, heatmap_svg};
use super::text::TradeStats;
use super::{write_file, GridReport, MetricUnit, RunReport, DEFAULT_EQUITY_SIZE};

/// The trades table shows at most this many (the most recent); a page with hundreds of
/// thousands of rows would be slow to open and useless to scroll.
pub const HTML_MAX_TRADES: usize = 500;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes plotters' standalone SVG document fit inline in HTML: the namespace declaration
/// is implied there (and is the only URL in the page), and an accessible label names it.
fn inline_svg(svg: &str, label: &str) -> String {
    let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let svg = svg.trim_start_matches(|c: char| c != '<');
    let tag = format!("<svg role=\"img\" aria-label=\"{}\"", escape(label));
    match svg.strip_prefix("<svg") {
        Some(rest) => format!("{tag}{rest}"),
        None => svg.to_string(),
    }
}

const CSS: &str = r#"
:root { --ink:#212529; --muted:#6c757d; --line:#e2e5e9; --bg:#f6f7f9; --loss:#c83636; --gain:#1b7f5a; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 26px; margin: 0 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 0 0 12px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:18px 20px; margin:18px 0; }
.params { margin: 8px 0 0; padding:0; list-style:none; display:flex; flex-wrap:wrap; gap:6px; }
.params li { background:#fff; border:1px solid var(--line); border-radius:999px; padding:2px 10px; font-size:13px; }
.params b { font-weight:600; }
.period, .note { color:var(--muted); font-size:13px; margin:8px 0 0; }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap:10px; }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.card .name { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
.card .value { font-size:21px; font-weight:600; font-variant-numeric: tabular-nums; margin-top:2px; }
.neg { color:var(--loss); } .pos { color:var(--gain); }
svg { display:block; width:100%; height:auto; }
.chart-note { color:var(--muted); }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:13px; font-variant-numeric: tabular-nums; }
th, td { padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { text-align:left; color:var(--muted); font-weight:600; position:sticky; top:0; background:#fff; }
td.num, th.num { text-align:right; }
footer { color:var(--muted); font-size:12px; text-align:center; }
"#;

/// Renders the page. Charts that cannot be drawn (an empty grid) are replaced by a note
/// rather than failing the whole report.
pub fn render_html(report: &RunReport, grid: Option<&GridReport>) -> String {
    let title = if report.title.is_empty() {
        "Backtest report"
    } else {
        &report.title
    };
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(title)
    );

    // Header.
    let _ = writeln!(h, "<header>\n<h1>{}</h1>", escape(title));
    if !report.params.is_empty() {
        h.push_str("<ul class=\"params\">");
        for (k, v) in &report.params {
            let _ = write!(h, "<li>{} = <b>{}</b></li>", escape(k), escape(v));
        }
        h.push_str("</ul>\n");
    }
    if let Some(period) = period_line(report) {
        let _ = writeln!(h, "<p class=\"period\">{}</p>", escape(&period));
    }
    h.push_str("</header>\n");

    // Metrics.
    if !report.metrics.is_empty() {
        h.push_str("<section>\n<h2>Metrics</h2>\n<div class=\"cards\">\n");
        for m in &report.metrics {
            // Only signed amounts get a color; a negative ratio is not a loss of money.
            let class = match m.unit {
                MetricUnit::Percent | MetricUnit::Money if m.value < 0.0 => " neg",
                _ => "",
            };
            let _ = writeln!(
                h,
                "<div class=\"card\"><div class=\"name\">{}</div>\
                 <div class=\"value{class}\">{}</div></div>",
                escape(&m.name),
                escape(&format_value(m.value, m.unit))
            );
        }
        h.push_str("</div>\n</section>\n");
    }

    // Equity chart.
    h.push_str("<section>\n<h2>Equity and drawdown</h2>\n");
    push_chart(
        &mut h,
        equity_svg(report, DEFAULT_EQUITY_SIZE),
        "Equity curve and drawdown",
    );
    h.push_str("</section>\n");

    // Grid.
    if let Some(grid) = grid {
        let heading = if grid.title.is_empty() {
            "Parameter grid"
        } else {
            &grid.title
        };
        // The best cell is named in the chart's own subtitle.
        let _ = writeln!(h, "<section>\n<h2>{}</h2>", escape(heading));
        push_chart(
            &mut h,
            heatmap_svg(grid),
            &format!("Heatmap of {}", grid.metric_name),
        );
        h.push_str("</section>\n");
    }

    push_trades(&mut h, report);

    h.push_str("<footer>Generated by AmDb. Times are UTC.</footer>\n</main>\n</body>\n</html>\n");
    h
}

fn push_chart(h: &mut String, svg: io::Result<String>, label: &str) {
    match svg {
        Ok(svg) => h.push_str(&inline_svg(&svg, label)),
        Err(e) => {
            let _ = write!(
                h,
                "<p class=\"chart-note\">Chart unavailable: {}</p>",
                escape(&e.to_string())
            );
        }
    }
    h.push('\n');
}

fn push_trades(h: &mut String, report: &RunReport) {
    let trades = &report.trades;
    h.push_str("<section>\n<h2>Trades</h2>\n");
    if trades.is_empty() {
        h.push_str("<p class=\"note\">No trades.</p>\n</section>\n");
        return;
    }
    let stats = TradeStats::of(trades);
    let summary: Vec<String> = std::iter::once(format!("Closed trades: {}", stats.headline()))
        .chain(stats.rows().into_iter().map(|(k, v)| format!("{k} {v}")))
        .collect();
    let _ = writeln!(h, "<p>{}</p>", escape(&summary.join(" · ")));
    let skip = trades.len().saturating_sub(HTML_MAX_TRADES);
    if skip > 0 {
        let _ = writeln!(
            h,
            "<p class=\"note\">Showing the last {} of {} trades.</p>",
            format_grouped(HTML_MAX_TRADES as f64, 0),
            format_grouped(trades.len() as f64, 0)
        );
    }
    let shown = &trades[skip..];
    let precision =
        TimePrecision::for_timestamps(shown.iter().flat_map(|t| [t.entry_ts, t.exit_ts]));
    h.push_str(
        "<div class=\"table-wrap\"><table>\n<thead><tr><th class=\"num\">#</th><th>Symbol</th>\
         <th>Side</th><th>Entry</th><th class=\"num\">Entry price</th><th>Exit</th>\
         <th class=\"num\">Exit price</th><th class=\"num\">Qty</th><th class=\"num\">PnL</th>\
         <th class=\"num\">Return</th></tr></thead>\n<tbody>\n",
    );
    for (i, t) in shown.iter().enumerate() {
        let class = |v: f64| {
            if v < 0.0 {
                " neg"
            } else if v > 0.0 {
                " pos"
            } else {
                ""
            }
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num{}\">{}</td></tr>",
            skip + i + 1,
            escape(&t.symbol),
            t.side.as_str(),
            precision.format(t.entry_ts),
            format_price(t.entry_price),
            precision.format(t.exit_ts),
            format_price(t.exit_price),
            format_qty(t.qty),
            class(t.pnl),
            format_grouped(t.pnl, 2),
            class(t.return_frac),
            format_signed_percent(t.return_frac, 2),
        );
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// Writes [`render_html`] to `path`.
pub fn write_html(
    report: &RunReport,
    grid: Option<&GridReport>,
    path: impl AsRef<Path>,
) -> io::Result<()> {
    write_file(path.as_ref(), render_html(report, grid).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<b>&"x"'</b>"#),
            "&lt;b&gt;&amp;&quot;x&quot;&#39;&lt;/b&gt;"
        );
    }
}
