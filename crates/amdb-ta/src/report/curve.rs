//! A general line chart over numeric axes: several series drawn as lines, steps or points,
//! a legend, and an optional labelled reference line. The tuner draws its best-so-far
//! curve with it; it shares the family look (font, colours, layout) of the equity chart.

use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::font::ensure_registered;
use super::format::{format_axis_number, tick_step};
use super::png::encode_rgb_png;
use super::style::{
    chart_err, fit_text, label, spec, text_size, TextMode, AXIS, BENCHMARK, GRID, INK, MUTED,
    STRATEGY,
};
use super::write_file;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    /// Points joined by straight lines.
    Line,
    /// Horizontal until the next point, then vertical: a value that holds until it changes
    /// (a best-so-far curve).
    Steps,
    /// Unjoined dots.
    Points,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurveSeries {
    pub name: String,
    /// `(x, y)`; points with a non-finite coordinate are skipped.
    pub points: Vec<(f64, f64)>,
    pub kind: CurveKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurveChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<CurveSeries>,
    /// A labelled horizontal line, e.g. the baseline.
    pub reference: Option<(String, f64)>,
}

/// The size the curve chart is designed at.
pub const DEFAULT_CURVE_SIZE: (u32, u32) = (1000, 600);

const PALETTE: [RGBColor; 4] = [
    STRATEGY,
    RGBColor(230, 126, 34),
    RGBColor(39, 174, 96),
    RGBColor(142, 68, 173),
];
const X_LABELS: usize = 8;
const Y_LABELS: usize = 6;

/// Writes the chart as a PNG of [`DEFAULT_CURVE_SIZE`].
pub fn write_curve_png(path: &Path, chart: &CurveChart) -> io::Result<()> {
    let png =
        render_curve_png(chart, DEFAULT_CURVE_SIZE).map_err(|e| super::io_error_at(path, e))?;
    write_file(path, &png)
}

/// The chart as PNG bytes.
pub fn render_curve_png(chart: &CurveChart, (w, h): (u32, u32)) -> io::Result<Vec<u8>> {
    super::style::check_size((w, h))?;
    ensure_registered()?;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw_curve(&root, chart)?;
        root.present().map_err(chart_err)?;
    }
    encode_rgb_png(w, h, &rgb)
}

fn finite(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect()
}

fn draw_curve<DB: DrawingBackend + TextMode>(
    root: &DrawingArea<DB, Shift>,
    chart: &CurveChart,
) -> io::Result<()> {
    let (w, h) = root.dim_in_pixel();
    let s = (f64::from(w) / 1000.0)
        .min(f64::from(h) / 600.0)
        .clamp(0.75, 3.0);
    let px = |v: f64| (v * s).round() as i32;
    let (wi, hi) = (w as i32, h as i32);
    let margin = px(20.0);
    let tick_size = 14.0 * s;
    root.fill(&WHITE).map_err(chart_err)?;
    let title = fit_text(&chart.title, 22.0 * s, (wi - 2 * margin).max(10) as u32);
    label(
        root,
        &title,
        (margin, px(16.0)),
        spec(22.0 * s, INK, HPos::Left, VPos::Top),
    )?;

    let series: Vec<(&CurveSeries, Vec<(f64, f64)>)> = chart
        .series
        .iter()
        .map(|c| (c, finite(&c.points)))
        .collect();
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    if all.is_empty() {
        return label(
            root,
            "No data",
            (wi / 2, hi / 2),
            spec(18.0 * s, MUTED, HPos::Center, VPos::Center),
        );
    }
    let fold = |f: fn(&(f64, f64)) -> f64| {
        all.iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (x_lo, x_hi) = fold(|p| p.0);
    let (mut y_lo, mut y_hi) = fold(|p| p.1);
    if let Some((_, r)) = chart.reference.as_ref().filter(|(_, r)| r.is_finite()) {
        y_lo = y_lo.min(*r);
        y_hi = y_hi.max(*r);
    }
    let x_pad = ((x_hi - x_lo) * 0.02).max(0.5);
    let y_pad = ((y_hi - y_lo) * 0.08).max(y_hi.abs().max(1.0) * 1e-3);
    let (x_lo, x_hi) = (x_lo - x_pad, x_hi + x_pad);
    let (y_lo, y_hi) = (y_lo - y_pad, y_hi + y_pad);

    let header = px(56.0);
    let (_, body) = root.split_vertically(header);
    let mut c = ChartBuilder::on(&body)
        .margin_left(margin)
        .margin_right(margin + px(10.0))
        .margin_bottom(px(8.0))
        .x_label_area_size(px(56.0))
        .y_label_area_size(px(90.0))
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(chart_err)?;
    c.configure_mesh()
        .x_labels(X_LABELS)
        .y_labels(Y_LABELS)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .draw()
        .map_err(chart_err)?;

    if let Some((name, r)) = chart.reference.as_ref().filter(|(_, r)| r.is_finite()) {
        c.draw_series(LineSeries::new(
            [(x_lo, *r), (x_hi, *r)],
            BENCHMARK.stroke_width(px(1.5).max(1) as u32),
        ))
        .map_err(chart_err)?;
        let (xr, yr) = c.backend_coord(&(x_hi, *r));
        label(
            root,
            name,
            (xr - px(6.0), yr - px(4.0)),
            spec(13.0 * s, MUTED, HPos::Right, VPos::Bottom),
        )?;
    }
    for (i, (cs, points)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let stroke = color.stroke_width(px(2.5).max(1) as u32);
        match cs.kind {
            CurveKind::Line => {
                c.draw_series(LineSeries::new(points.iter().copied(), stroke))
                    .map_err(chart_err)?;
            }
            CurveKind::Steps => {
                let mut stepped = Vec::with_capacity(points.len() * 2);
                for (k, &(x, y)) in points.iter().enumerate() {
                    if k > 0 {
                        stepped.push((x, points[k - 1].1));
                    }
                    stepped.push((x, y));
                }
                c.draw_series(LineSeries::new(stepped, stroke))
                    .map_err(chart_err)?;
            }
            CurveKind::Points => {
                c.draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, px(4.0).max(2), color.mix(0.75).filled())),
                )
                .map_err(chart_err)?;
            }
        }
    }

    // Tick labels and axis titles, laid out by our text helpers.
    let x_ticks = plotters::coord::types::RangedCoordf64::from(x_lo..x_hi).key_points(X_LABELS);
    let y_ticks = plotters::coord::types::RangedCoordf64::from(y_lo..y_hi).key_points(Y_LABELS);
    let (x_step, y_step) = (tick_step(&x_ticks), tick_step(&y_ticks));
    let (plot_left, plot_bottom) = c.backend_coord(&(x_lo, y_lo));
    let (plot_right, plot_top) = c.backend_coord(&(x_hi, y_hi));
    for &x in &x_ticks {
        let (bx, _) = c.backend_coord(&(x, y_lo));
        label(
            root,
            &format_axis_number(x, x_step),
            (bx, plot_bottom + px(8.0)),
            spec(tick_size, MUTED, HPos::Center, VPos::Top),
        )?;
    }
    for &y in &y_ticks {
        let (_, by) = c.backend_coord(&(x_lo, y));
        label(
            root,
            &format_axis_number(y, y_step),
            (plot_left - px(9.0), by),
            spec(tick_size, MUTED, HPos::Right, VPos::Center),
        )?;
    }
    label(
        root,
        &chart.x_label,
        ((plot_left + plot_right) / 2, plot_bottom + px(34.0)),
        spec(15.0 * s, INK, HPos::Center, VPos::Top),
    )?;
    let y_title = fit_text(
        &chart.y_label,
        15.0 * s,
        (plot_bottom - plot_top).max(10) as u32,
    );
    label(
        root,
        &y_title,
        (margin + px(8.0), (plot_top + plot_bottom) / 2),
        spec(15.0 * s, INK, HPos::Center, VPos::Center).vertical(),
    )?;
    draw_legend(
        root,
        &series
            .iter()
            .map(|(c, _)| (c.name.as_str(), c.kind))
            .collect::<Vec<_>>(),
        (plot_right - px(12.0), plot_top + px(12.0)),
        s,
    )
}

/// A legend box whose top-right corner is at `(x, y)`.
fn draw_legend<DB: DrawingBackend + TextMode>(
    root: &DrawingArea<DB, Shift>,
    entries: &[(&str, CurveKind)],
    (x, y): (i32, i32),
    s: f64,
) -> io::Result<()> {
    if entries.len() < 2 {
        return Ok(());
    }
    let px = |v: f64| (v * s).round() as i32;
    let size = 14.0 * s;
    let text_w = entries
        .iter()
        .map(|(t, _)| text_size(t, size).0 as i32)
        .max()
        .unwrap_or(0);
    let row_h = px(22.0);
    let bw = px(12.0) + px(26.0) + px(8.0) + text_w + px(12.0);
    let bh = px(10.0) + row_h * entries.len() as i32;
    let x0 = x - bw;
    root.draw(&Rectangle::new(
        [(x0, y), (x, y + bh)],
        WHITE.mix(0.92).filled(),
    ))
    .map_err(chart_err)?;
    root.draw(&Rectangle::new([(x0, y), (x, y + bh)], AXIS))
        .map_err(chart_err)?;
    for (i, (name, kind)) in entries.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let cy = y + px(5.0) + row_h * i as i32 + row_h / 2;
        match kind {
            CurveKind::Points => root
                .draw(&Circle::new(
                    (x0 + px(25.0), cy),
                    px(4.0).max(2),
                    color.mix(0.75).filled(),
                ))
                .map_err(chart_err)?,
            _ => root
                .draw(&PathElement::new(
                    vec![(x0 + px(12.0), cy), (x0 + px(38.0), cy)],
                    color.stroke_width(px(3.0).max(1) as u32),
                ))
                .map_err(chart_err)?,
        }
        label(
            root,
            name,
            (x0 + px(46.0), cy),
            spec(size, INK, HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height, buf[..info.buffer_size()].to_vec())
    }

    fn has_color(rgb: &[u8], c: RGBColor) -> bool {
        rgb.chunks(3).any(|p| p == [c.0, c.1, c.2])
    }

    #[test]
    fn draws_steps_points_and_reference_in_their_colours() {
        let best: Vec<(f64, f64)> = (1..=20)
            .map(|i| (i as f64, (i as f64).ln() / 10.0))
            .collect();
        let chart = CurveChart {
            title: "Tuning run 1".into(),
            x_label: "trial".into(),
            y_label: "objective".into(),
            series: vec![
                CurveSeries {
                    name: "best so far".into(),
                    points: best.clone(),
                    kind: CurveKind::Steps,
                },
                CurveSeries {
                    name: "trial".into(),
                    points: best
                        .iter()
                        .map(|(x, y)| (*x, y - 0.05))
                        .chain([(21.0, f64::NAN)])
                        .collect(),
                    kind: CurveKind::Points,
                },
            ],
            reference: Some(("baseline".into(), 0.0)),
        };
        let (w, h, rgb) = decode(&render_curve_png(&chart, DEFAULT_CURVE_SIZE).unwrap());
        assert_eq!((w, h), DEFAULT_CURVE_SIZE);
        assert!(has_color(&rgb, PALETTE[0]), "steps colour");
        assert!(has_color(&rgb, BENCHMARK), "reference line");
        let ink = rgb
            .chunks(3)
            .filter(|p| p[0] < 100 && p[1] < 100 && p[2] < 100)
            .count();
        assert!(ink > 500, "text is drawn ({ink} dark pixels)");
    }

    #[test]
    fn an_empty_chart_says_so_instead_of_failing() {
        let chart = CurveChart {
            title: "nothing".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![CurveSeries {
                name: "a".into(),
                points: vec![(f64::NAN, 1.0)],
                kind: CurveKind::Line,
            }],
            reference: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.png");
        write_curve_png(&path, &chart).unwrap();
        let (w, _, rgb) = decode(&std::fs::read(&path).unwrap());
        assert_eq!(w, DEFAULT_CURVE_SIZE.0);
        assert!(rgb.chunks(3).any(|p| p[0] < 200), "the note is drawn");
    }
}
