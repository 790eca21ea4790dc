//! The equity chart: a header, the equity curve (and benchmark) on top, the drawdown below
//! on the same time axis. Drawn on any plotters backend, so the PNG and the SVG in the
//! HTML page are the same picture.
//!
//! plotters draws the grid, axes, tick marks and series; every piece of text is placed by
//! [`label`] (see `font.rs` for why), at positions taken from the charts' coordinates.

use std::io;

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::TimeAxis;
use super::format::{
    decimals_for_step, format_axis_money, format_date, format_percent, tick_step, TimePrecision,
};
use super::series::{drawdown, thin_for_chart};
use super::style::{
    chart_err, fit_text, label, spec, text_size, TextMode, AXIS, BENCHMARK, GRID, INK, LOSS, MUTED,
    STRATEGY,
};
use super::RunReport;

/// Parameters as one line: `fast = 10 · slow = 30`.
pub(crate) fn params_line(report: &RunReport) -> String {
    report
        .params
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join("  ·  ")
}

/// The time span of the equity curve, `2020-01-02 → 2024-12-31 UTC`.
pub(crate) fn period_line(report: &RunReport) -> Option<String> {
    let first = report.equity.first()?.0;
    let last = report.equity.last()?.0;
    let precision = TimePrecision::for_timestamps([first, last]);
    Some(format!(
        "{} → {} UTC",
        precision.format(first),
        precision.format(last)
    ))
}

const Y_LABELS: usize = 6;
const DD_LABELS: usize = 4;

pub(crate) fn draw_equity<DB: DrawingBackend + TextMode>(
    root: &DrawingArea<DB, Shift>,
    report: &RunReport,
) -> io::Result<()> {
    let (w, h) = root.dim_in_pixel();
    // Sizes are designed at 1200x700 and scaled with the image, within limits so a small
    // image stays legible and a huge one does not get comic-sized text.
    let s = (f64::from(w) / 1200.0)
        .min(f64::from(h) / 700.0)
        .clamp(0.75, 3.0);
    let px = |v: f64| (v * s).round() as i32;
    let (wi, hi) = (w as i32, h as i32);
    let margin = px(20.0);
    let title_size = 26.0 * s;
    let sub_size = 15.0 * s;
    let tick_size = 14.0 * s;
    let desc_size = 15.0 * s;

    root.fill(&WHITE).map_err(chart_err)?;

    // Header: title on the first line, parameters and period on the second.
    let period = period_line(report).unwrap_or_default();
    let period_w = text_size(&period, sub_size).0 as i32;
    let title = fit_text(&report.title, title_size, (wi - 2 * margin).max(10) as u32);
    label(
        root,
        &title,
        (margin, px(18.0)),
        spec(title_size, INK, HPos::Left, VPos::Top),
    )?;
    let params = fit_text(
        &params_line(report),
        sub_size,
        (wi - 3 * margin - period_w).max(10) as u32,
    );
    let sub_y = px(54.0);
    label(
        root,
        &params,
        (margin, sub_y),
        spec(sub_size, MUTED, HPos::Left, VPos::Top),
    )?;
    label(
        root,
        &period,
        (wi - margin, sub_y),
        spec(sub_size, MUTED, HPos::Right, VPos::Top),
    )?;

    let header_h = px(84.0);
    let (_, body) = root.split_vertically(header_h);
    let equity = thin_for_chart(&report.equity, w as usize);
    if equity.is_empty() {
        return label(
            root,
            "No equity data",
            (wi / 2, (hi + header_h) / 2),
            spec(18.0 * s, MUTED, HPos::Center, VPos::Center),
        );
    }
    let benchmark = report
        .benchmark
        .as_deref()
        .map(|b| thin_for_chart(b, w as usize))
        .filter(|b| !b.is_empty());
    let dd: Vec<(i64, f64)> = thin_for_chart(&drawdown(&report.equity), w as usize);

    let t_start = equity[0]
        .0
        .min(benchmark.as_ref().map_or(i64::MAX, |b| b[0].0));
    let t_end = equity[equity.len() - 1]
        .0
        .max(benchmark.as_ref().map_or(i64::MIN, |b| b[b.len() - 1].0));
    // About one date label per 150 px keeps "2024-03-15" labels well apart.
    let axis = TimeAxis::new(
        t_start,
        t_end,
        ((f64::from(w) / (150.0 * s)) as usize).max(2),
    );
    let x_ticks = axis.key_points(usize::MAX);

    // Left of the plots: the rotated axis title, then the tick labels.
    let y_label_w = px(64.0);
    let y_area = y_label_w + px(30.0);
    let plot_margin_right = margin + px(12.0);
    let (top, bottom) = body.split_vertically((f64::from(h) - f64::from(header_h)) * 0.66);

    // Equity panel: values padded so the curve never touches the frame.
    let (lo, hi_v) = equity
        .iter()
        .chain(benchmark.iter().flatten())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    let pad = ((hi_v - lo) * 0.06).max(hi_v.abs().max(1.0) * 1e-3);
    let (y_lo, y_hi) = (lo - pad, hi_v + pad);
    let y_ticks = RangedCoordf64::from(y_lo..y_hi).key_points(Y_LABELS);
    let y_step = tick_step(&y_ticks);
    let y_largest = y_lo.abs().max(y_hi.abs());

    let mut chart = ChartBuilder::on(&top)
        .margin_left(margin)
        .margin_right(plot_margin_right)
        .margin_top(px(6.0))
        .x_label_area_size(0)
        .y_label_area_size(y_area)
        .build_cartesian_2d(axis.clone(), y_lo..y_hi)
        .map_err(chart_err)?;
    chart
        .configure_mesh()
        .x_labels(x_ticks.len().max(1))
        .y_labels(Y_LABELS)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .draw()
        .map_err(chart_err)?;
    if let Some(b) = &benchmark {
        chart
            .draw_series(LineSeries::new(
                b.iter().copied(),
                BENCHMARK.stroke_width(px(2.0).max(1) as u32),
            ))
            .map_err(chart_err)?;
    }
    chart
        .draw_series(LineSeries::new(
            equity.iter().copied(),
            STRATEGY.stroke_width(px(2.0).max(1) as u32),
        ))
        .map_err(chart_err)?;
    let plot_left = chart.backend_coord(&(t_start, y_lo)).0;
    for &v in &y_ticks {
        let (_, y) = chart.backend_coord(&(t_start, v));
        label(
            root,
            &format_axis_money(v, y_step, y_largest),
            (plot_left - px(9.0), y),
            spec(tick_size, MUTED, HPos::Right, VPos::Center),
        )?;
    }
    let (_, top_y0) = chart.backend_coord(&(t_start, y_hi));
    let (_, top_y1) = chart.backend_coord(&(t_start, y_lo));
    label(
        root,
        "Equity",
        (margin + px(8.0), (top_y0 + top_y1) / 2),
        spec(desc_size, INK, HPos::Center, VPos::Center).vertical(),
    )?;
    if benchmark.is_some() {
        draw_legend(root, (plot_left + px(12.0), top_y0 + px(12.0)), s)?;
    }

    // Drawdown panel.
    let worst = dd
        .iter()
        .copied()
        .filter(|p| p.1.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let dd_lo = worst.map_or(0.0, |p| p.1).min(-0.01) * 1.12;
    let dd_ticks = RangedCoordf64::from(dd_lo..0.0).key_points(DD_LABELS);
    let dd_decimals = decimals_for_step(tick_step(&dd_ticks) * 100.0);

    let x_area = px(56.0);
    let mut dd_chart = ChartBuilder::on(&bottom)
        .margin_left(margin)
        .margin_right(plot_margin_right)
        .margin_top(px(14.0))
        .margin_bottom(px(8.0))
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(axis.clone(), dd_lo..0.0)
        .map_err(chart_err)?;
    dd_chart
        .configure_mesh()
        .x_labels(x_ticks.len().max(1))
        .y_labels(DD_LABELS)
        .max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .draw()
        .map_err(chart_err)?;
    let finite_dd: Vec<(i64, f64)> = dd.iter().copied().filter(|p| p.1.is_finite()).collect();
    dd_chart
        .draw_series(
            AreaSeries::new(finite_dd, 0.0, LOSS.mix(0.28))
                .border_style(LOSS.stroke_width(px(1.0).max(1) as u32)),
        )
        .map_err(chart_err)?;
    for &v in &dd_ticks {
        let (_, y) = dd_chart.backend_coord(&(t_start, v));
        label(
            root,
            &format_percent(v, dd_decimals),
            (plot_left - px(9.0), y),
            spec(tick_size, MUTED, HPos::Right, VPos::Center),
        )?;
    }
    let (_, dd_y0) = dd_chart.backend_coord(&(t_start, 0.0));
    let (_, dd_y1) = dd_chart.backend_coord(&(t_start, dd_lo));
    label(
        root,
        "Drawdown",
        (margin + px(8.0), (dd_y0 + dd_y1) / 2),
        spec(desc_size, INK, HPos::Center, VPos::Center).vertical(),
    )?;

    // Date labels under the drawdown panel, kept inside the image at the edges.
    let plot_right = dd_chart.backend_coord(&(t_end, 0.0)).0;
    for &t in &x_ticks {
        let text = axis.label(t);
        let (x, _) = dd_chart.backend_coord(&(t, dd_lo));
        let half = text_size(&text, tick_size).0 as i32 / 2;
        let x = x.clamp(half + 2, wi - half - 2);
        label(
            root,
            &text,
            (x, dd_y1 + px(10.0)),
            spec(tick_size, MUTED, HPos::Center, VPos::Top),
        )?;
    }
    label(
        root,
        "Date (UTC)",
        ((plot_left + plot_right) / 2, dd_y1 + px(36.0)),
        spec(desc_size, INK, HPos::Center, VPos::Top),
    )?;

    // Mark the deepest point, since that number is what people look for first.
    if let Some((t, v)) = worst.filter(|p| p.1 < 0.0) {
        let (x, y) = dd_chart.backend_coord(&(t, v));
        root.draw(&Circle::new((x, y), px(4.0), LOSS.filled()))
            .map_err(chart_err)?;
        let text = format!(
            "max drawdown {} on {}",
            format_percent(v, 2),
            format_date(t)
        );
        let (tw, th) = text_size(&text, tick_size);
        let (tw, th) = (tw as i32, th as i32);
        // Left of the point when it is in the right half, so the label stays inside.
        let x0 = if x > (plot_left + plot_right) / 2 {
            x - px(10.0) - tw
        } else {
            x + px(10.0)
        };
        let y0 = y - px(6.0) - th;
        // A white plate keeps the label readable over the curve and the fill.
        root.draw(&Rectangle::new(
            [
                (x0 - px(4.0), y0 - px(3.0)),
                (x0 + tw + px(4.0), y0 + th + px(2.0)),
            ],
            WHITE.mix(0.9).filled(),
        ))
        .map_err(chart_err)?;
        label(
            root,
            &text,
            (x0, y0 + th / 2),
            spec(tick_size, LOSS, HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}

/// A small boxed legend with the two lines' colors.
fn draw_legend<DB: DrawingBackend + TextMode>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    s: f64,
) -> io::Result<()> {
    let px = |v: f64| (v * s).round() as i32;
    let size = 14.0 * s;
    let entries = [("Strategy", STRATEGY), ("Buy & hold", BENCHMARK)];
    let text_w = entries
        .iter()
        .map(|(t, _)| text_size(t, size).0 as i32)
        .max()
        .unwrap_or(0);
    let row_h = px(22.0);
    let (bw, bh) = (
        px(12.0) + px(26.0) + px(8.0) + text_w + px(12.0),
        px(10.0) + row_h * 2,
    );
    root.draw(&Rectangle::new(
        [(x, y), (x + bw, y + bh)],
        WHITE.mix(0.92).filled(),
    ))
    .map_err(chart_err)?;
    root.draw(&Rectangle::new([(x, y), (x + bw, y + bh)], AXIS))
        .map_err(chart_err)?;
    for (i, (name, color)) in entries.iter().enumerate() {
        let cy = y + px(5.0) + row_h * i as i32 + row_h / 2;
        root.draw(&PathElement::new(
            vec![(x + px(12.0), cy), (x + px(38.0), cy)],
            color.stroke_width(px(3.0).max(1) as u32),
        ))
        .map_err(chart_err)?;
        label(
            root,
            name,
            (x + px(46.0), cy),
            spec(size, INK, HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}
