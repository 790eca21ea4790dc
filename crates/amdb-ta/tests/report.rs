//! The report module end to end: real files in a temporary directory, PNGs decoded by an
//! independent decoder (the `png` crate), HTML checked for self-containment and escaping,
//! JSON read back.
//!
//! Set `AMDB_REPORT_TEST_OUT=/some/dir` to also keep the sample report there for a look.

use std::collections::HashSet;
use std::path::Path;

use amdb_ta::report::{
    self, from_json, grid_from_json, grid_to_json, heatmap_layout, render_equity_png,
    render_heatmap_png, render_html, text_summary, to_json, write_report_dir, GridReport, Metric,
    MetricUnit, RunReport, TradeRow, TradeSide,
};

const DAY_NS: i64 = 86_400_000_000_000;
/// 2021-01-04 00:00 UTC.
const START_NS: i64 = 1_609_718_400_000_000_000;

/// Deterministic pseudo-random numbers in [0, 1) (a 64-bit LCG), so the sample data and
/// therefore the images are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn sample_report(title: &str, days: i64, n_trades: usize) -> RunReport {
    let mut rng = Lcg(7);
    let mut equity = Vec::new();
    let mut bench = Vec::new();
    let (mut e, mut b) = (100_000.0, 100_000.0);
    for d in 0..days {
        let shock = rng.next() - 0.5;
        b *= 1.0 + 0.03 * shock + 0.0003;
        e *= 1.0 + 0.018 * shock + 0.012 * (rng.next() - 0.5) + 0.0006;
        equity.push((START_NS + d * DAY_NS, e));
        bench.push((START_NS + d * DAY_NS, b));
    }
    let trades = (0..n_trades)
        .map(|i| {
            let entry = START_NS + (i as i64 % days.max(1)) * DAY_NS + 14 * 3_600_000_000_000;
            let ret = (rng.next() - 0.45) * 0.2;
            let price = 30_000.0 + 10_000.0 * rng.next();
            let short = i % 4 == 0;
            TradeRow {
                symbol: if i % 3 == 0 { "ETHUSDT" } else { "BTCUSDT" }.to_string(),
                side: if short {
                    TradeSide::Short
                } else {
                    TradeSide::Long
                },
                entry_ts: entry,
                entry_price: price,
                exit_ts: entry + (1 + i as i64 % 9) * DAY_NS / 2,
                exit_price: price * if short { 1.0 - ret } else { 1.0 + ret },
                qty: 0.25,
                pnl: 0.25 * price * ret,
                return_frac: ret,
            }
        })
        .collect();
    RunReport {
        title: title.to_string(),
        params: vec![
            ("fast".into(), "10".into()),
            ("slow".into(), "30".into()),
            ("fee".into(), "0.10%".into()),
        ],
        metrics: vec![
            Metric::new("Total return", 0.12345, MetricUnit::Percent),
            Metric::new("Sharpe", 1.23456, MetricUnit::Ratio),
            Metric::new("Sortino", f64::NAN, MetricUnit::Ratio),
            Metric::new("Max drawdown", -0.0871, MetricUnit::Percent),
            Metric::new("Trades", n_trades as f64, MetricUnit::Count),
            Metric::new("Final equity", 1_234_567.891, MetricUnit::Money),
            Metric::new("Avg holding", 277_200.0, MetricUnit::Duration),
        ],
        equity,
        benchmark: Some(bench),
        trades,
    }
}

fn sample_grid(nx: usize, ny: usize) -> GridReport {
    let xs: Vec<f64> = (0..nx).map(|i| 5.0 + 5.0 * i as f64).collect();
    let ys: Vec<f64> = (0..ny).map(|i| 20.0 + 10.0 * i as f64).collect();
    let values = ys
        .iter()
        .map(|&y| {
            xs.iter()
                .map(|&x| {
                    if x >= y {
                        f64::NAN // fast must be below slow
                    } else {
                        // A ridge with its top at x = 15, y = 60, negative far from it.
                        1.8 - ((x - 15.0) / 12.0).powi(2) - ((y - 60.0) / 35.0).powi(2)
                    }
                })
                .collect()
        })
        .collect();
    GridReport {
        title: "Sharpe over fast × slow SMA periods".into(),
        x_name: "fast".into(),
        xs,
        y_name: "slow".into(),
        ys,
        metric_name: "Sharpe".into(),
        unit: MetricUnit::Ratio,
        values,
    }
}

struct Decoded {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Decoded {
    fn pixel(&self, x: i32, y: i32) -> (u8, u8, u8) {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }
}

/// Checks the signature and IHDR by hand, then decodes with the `png` crate.
fn decode_png(bytes: &[u8]) -> Decoded {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let ihdr_w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let ihdr_h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    let mut reader = png::Decoder::new(bytes).read_info().expect("PNG header");
    let mut rgb = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).expect("PNG data decodes");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    assert_eq!((info.width, info.height), (ihdr_w, ihdr_h));
    rgb.truncate(info.buffer_size());
    Decoded {
        width: info.width,
        height: info.height,
        rgb,
    }
}

/// A chart, not a blank or single-color canvas: many colors, and a fair share of the
/// pixels not white.
fn assert_not_blank(img: &Decoded) {
    let colors: HashSet<(u8, u8, u8)> = img.rgb.chunks(3).map(|p| (p[0], p[1], p[2])).collect();
    assert!(colors.len() > 50, "only {} distinct colors", colors.len());
    let inked = img.rgb.chunks(3).filter(|p| p != &[255, 255, 255]).count();
    let share = inked as f64 / (img.width * img.height) as f64;
    assert!(share > 0.03, "only {:.2}% of pixels drawn", share * 100.0);
}

fn keep_bytes(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("AMDB_REPORT_TEST_OUT") {
        std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
    }
}

fn keep_for_inspection(name: &str, report: &RunReport, grid: Option<&GridReport>) {
    if let Ok(dir) = std::env::var("AMDB_REPORT_TEST_OUT") {
        write_report_dir(Path::new(&dir).join(name), report, grid).unwrap();
    }
}

#[test]
fn report_dir_has_every_file_and_pngs_are_charts() {
    let report = sample_report("SMA cross 10/30 on BTCUSDT 1d", 730, 57);
    let grid = sample_grid(8, 10);
    keep_for_inspection("sample", &report, Some(&grid));

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out/run-1");
    let written = write_report_dir(&dir, &report, Some(&grid)).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "summary.txt",
            "result.json",
            "equity.png",
            "report.html",
            "heatmap.png",
            "grid.json"
        ]
    );
    for p in &written {
        assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
    }

    // The JSON files are the documented values, readable line by line.
    let text = std::fs::read_to_string(dir.join("result.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, to_json(&report));
    assert!(
        !text
            .lines()
            .any(|l| l.trim().trim_end_matches(',').parse::<f64>().is_ok()),
        "series stay on one line each"
    );
    let parsed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grid.json")).unwrap()).unwrap();
    assert_eq!(parsed, grid_to_json(&grid));
    let summary = std::fs::read_to_string(dir.join("summary.txt")).unwrap();
    assert_eq!(summary, text_summary(&report));

    let equity = decode_png(&std::fs::read(dir.join("equity.png")).unwrap());
    assert_eq!((equity.width, equity.height), report::DEFAULT_EQUITY_SIZE);
    assert_not_blank(&equity);

    let heat = decode_png(&std::fs::read(dir.join("heatmap.png")).unwrap());
    let layout = heatmap_layout(&grid).unwrap();
    assert_eq!((heat.width, heat.height), (layout.width, layout.height));
    assert_not_blank(&heat);

    // Without a grid there is no heatmap.
    let written = write_report_dir(tmp.path().join("no-grid"), &report, None).unwrap();
    assert_eq!(written.len(), 4);
}

#[test]
fn equity_png_has_the_requested_size_and_shows_both_curves() {
    let report = sample_report("sizes", 400, 10);
    for size in [(1200, 700), (800, 480), (1920, 1080)] {
        let bytes = render_equity_png(&report, size).unwrap();
        keep_bytes(&format!("equity-{}x{}.png", size.0, size.1), &bytes);
        let img = decode_png(&bytes);
        assert_eq!((img.width, img.height), size);
        assert_not_blank(&img);
        let count = |c: (u8, u8, u8)| {
            (0..img.height as i32)
                .flat_map(|y| (0..img.width as i32).map(move |x| (x, y)))
                .filter(|&(x, y)| img.pixel(x, y) == c)
                .count()
        };
        // Strategy line (blue) and benchmark line (gray) are both drawn.
        assert!(count((31, 94, 168)) > 500, "strategy line at {size:?}");
        assert!(count((150, 150, 150)) > 300, "benchmark line at {size:?}");
    }
    assert!(render_equity_png(&report, (10, 10)).is_err());
}

#[test]
fn heatmap_marks_the_best_cell() {
    for (nx, ny) in [(8, 10), (3, 2), (30, 25)] {
        let grid = sample_grid(nx, ny);
        let (bx, by, best) = grid.best().unwrap();
        let max = grid
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(best, max);

        let layout = heatmap_layout(&grid).unwrap();
        let bytes = render_heatmap_png(&grid).unwrap();
        keep_bytes(&format!("heatmap-{nx}x{ny}.png"), &bytes);
        let img = decode_png(&bytes);
        // The outline: the left edge of the best cell, half-way down, is black; the same
        // spot of every other cell is not.
        let edge = |xi: usize, yi: usize| {
            let (x0, y0, _, y1) = layout.cell_rect(xi, yi);
            img.pixel(x0, (y0 + y1) / 2)
        };
        assert_eq!(edge(bx, by), (0, 0, 0), "best cell at {nx}x{ny}");
        for yi in 0..ny {
            for xi in 0..nx {
                if (xi, yi) != (bx, by) {
                    assert_ne!(edge(xi, yi), (0, 0, 0), "cell {xi},{yi} at {nx}x{ny}");
                }
            }
        }
        assert_eq!(layout.annotate, nx <= 12 && ny <= 12);
    }
}

#[test]
fn html_is_self_contained_escaped_and_complete() {
    let mut report = sample_report("<b>& \"quoted\" title", 500, 620);
    report
        .params
        .push(("note".into(), "<script>alert(1)</script>".into()));
    report.trades[619].symbol = "A&B<i>".into();
    let grid = sample_grid(8, 10);
    let html = render_html(&report, Some(&grid));

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>&lt;b&gt;&amp; &quot;quoted&quot; title</title>"));
    assert!(html.contains("<h1>&lt;b&gt;&amp; &quot;quoted&quot; title</h1>"));
    assert!(!html.contains("<b>& \"quoted"), "raw title leaked");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("A&amp;B&lt;i&gt;"));
    // Nothing is fetched: no scripts at all, no URLs, no external resources.
    let lower = html.to_lowercase();
    for needle in [
        "<script", "http:", "https:", "src=", "href=", "url(", "@import",
    ] {
        assert!(!lower.contains(needle), "found {needle}");
    }
    // Both charts inline, with the title escaped inside the SVG text too.
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(html.matches("</svg>").count(), 2);
    assert!(html.contains("&lt;b&gt;&amp;"));
    // Metric values as formatted for people.
    for value in [
        "12.35%",
        "1.235",
        "n/a",
        "-8.71%",
        "1,234,567.89",
        "3d 5h",
        ">620<",
    ] {
        assert!(html.contains(value), "missing {value}");
    }
    // The trades table is capped to the most recent ones.
    assert!(html.contains("Showing the last 500 of 620 trades."));
    assert!(html.contains("620 ("), "trade statistics");
    assert_eq!(html.matches("<tr>").count(), 1 + 500);
    assert!(html.contains("<td class=\"num\">620</td>"));
    assert!(!html.contains("<td class=\"num\">120</td>"));
}

#[test]
fn json_round_trips_with_the_documented_keys() {
    let report = sample_report("json", 90, 12);
    let v = to_json(&report);
    let obj = v.as_object().unwrap();
    for key in [
        "schema",
        "title",
        "params",
        "metrics",
        "period",
        "equity",
        "max_drawdown",
        "benchmark",
        "trades",
    ] {
        assert!(obj.contains_key(key), "missing {key}");
    }
    assert_eq!(v["schema"], "amdb.report.run/1");
    assert_eq!(v["metrics"][0]["unit"], "percent");
    assert_eq!(v["metrics"][0]["display"], "12.35%");
    assert!(v["metrics"][2]["value"].is_null(), "NaN becomes null");
    assert_eq!(v["period"]["start"], "2021-01-04T00:00:00Z");
    assert_eq!(v["equity"]["ts_ns"][0], START_NS);
    assert_eq!(v["equity"]["drawdown"][0], 0.0);
    assert_eq!(v["trades"][0]["side"], "short");
    assert_eq!(v["trades"][0]["entry_time"], "2021-01-04T14:00:00Z");
    assert!(v["max_drawdown"].as_f64().unwrap() < 0.0);

    // Text round trip keeps every number exactly.
    let text = serde_json::to_string(&v).unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, v);

    // And the report itself comes back (NaN metric aside, which is never equal to itself).
    let mut read = from_json(&back).unwrap();
    assert!(read.metrics[2].value.is_nan());
    read.metrics[2].value = report.metrics[2].value;
    let mut expected = report.clone();
    expected.metrics[2].value = read.metrics[2].value;
    assert_eq!(
        format!("{read:?}"),
        format!("{expected:?}"),
        "report survives JSON"
    );

    let grid = sample_grid(4, 3);
    let gv = grid_to_json(&grid);
    assert_eq!(gv["schema"], "amdb.report.grid/1");
    assert_eq!(gv["x"]["name"], "fast");
    assert_eq!(gv["values"].as_array().unwrap().len(), 3);
    assert!(
        gv["values"][0][3].is_null(),
        "fast 20 >= slow 20 was not run"
    );
    assert_eq!(gv["best"]["x"], 15.0);
    let g2 = grid_from_json(&gv).unwrap();
    assert_eq!(format!("{g2:?}"), format!("{grid:?}"));

    let mut broken = v.clone();
    broken["trades"][1]["side"] = "sideways".into();
    let err = from_json(&broken).unwrap_err();
    assert_eq!(err.path, "/trades/1/side");
    assert!(err.to_string().contains("/trades/1/side"));
    assert!(from_json(&gv).is_err(), "a grid is not a run report");
}

#[test]
fn text_summary_aligns_formatted_metrics() {
    let report = sample_report("SMA cross", 730, 57);
    let s = text_summary(&report);
    println!("{s}");
    assert!(s.starts_with("SMA cross\n=========\n"));
    assert!(s.contains("fast = 10   slow = 30   fee = 0.10%"));
    assert!(s.contains("Period: 2021-01-04 → 2023-01-03 UTC (729 days, 730 points)"));
    let metric_lines: Vec<&str> = s
        .lines()
        .skip_while(|l| *l != "Metrics")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(metric_lines.len(), report.metrics.len());
    // Values are right-aligned: every metric line has the same width.
    let widths: HashSet<usize> = metric_lines.iter().map(|l| l.chars().count()).collect();
    assert_eq!(widths.len(), 1, "{metric_lines:#?}");
    for (line, value) in metric_lines.iter().zip([
        "12.35%",
        "1.235",
        "n/a",
        "-8.71%",
        "57",
        "1,234,567.89",
        "3d 5h",
    ]) {
        assert!(line.ends_with(value), "{line:?} should end with {value}");
    }
    assert!(s.contains("Trades: 57 ("));
    assert!(s.contains("win rate)"));
    assert!(s.contains("  Best "));
    assert!(s.contains("  Worst "));

    let empty = text_summary(&RunReport::default());
    assert!(empty.contains("Trades: none"));
}

#[test]
fn empty_and_short_reports_still_render() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing at all.
    write_report_dir(tmp.path().join("empty"), &RunReport::default(), None).unwrap();
    // A single point, no benchmark.
    let one = RunReport {
        title: "one bar".into(),
        equity: vec![(START_NS, 100.0)],
        ..RunReport::default()
    };
    write_report_dir(tmp.path().join("one"), &one, None).unwrap();
    // One trading day of minute bars, with a gap of NaNs.
    let intraday = RunReport {
        title: "intraday".into(),
        equity: (0..390)
            .map(|m| {
                let v = if (100..110).contains(&m) {
                    f64::NAN
                } else {
                    1_000.0 + (m as f64 / 20.0).sin() * 15.0
                };
                (START_NS + (14 * 60 + 30 + m) * 60_000_000_000, v)
            })
            .collect(),
        ..RunReport::default()
    };
    keep_for_inspection("intraday", &intraday, None);
    let dir = tmp.path().join("intraday");
    write_report_dir(&dir, &intraday, None).unwrap();
    assert_not_blank(&decode_png(&std::fs::read(dir.join("equity.png")).unwrap()));
    // A grid with nothing valid, and a 1x1 grid.
    let mut nothing = sample_grid(3, 3);
    nothing.values = vec![vec![f64::NAN; 3]; 3];
    render_heatmap_png(&nothing).unwrap();
    render_heatmap_png(&sample_grid(1, 1)).unwrap();
    let empty_grid = GridReport {
        xs: vec![],
        ..sample_grid(1, 1)
    };
    assert!(render_heatmap_png(&empty_grid).is_err());
    // The page says so instead of failing.
    assert!(render_html(&one, Some(&empty_grid)).contains("Chart unavailable"));
}

#[test]
fn io_errors_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = write_report_dir(&file, &sample_report("x", 10, 1), None).unwrap_err();
    assert!(
        err.to_string().contains("not-a-dir"),
        "error should name the path: {err}"
    );
}
