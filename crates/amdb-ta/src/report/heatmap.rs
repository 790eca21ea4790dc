//! The parameter-grid heatmap: one colored cell per (x, y) parameter pair, a color bar,
//! the best cell outlined, values written in the cells when the grid is small enough to
//! read them.
//!
//! Drawn with plain rectangles and text rather than a plotters chart: a chart's numeric
//! axes would put ticks at round numbers between cells, while here every tick is a cell
//! and its label is that cell's parameter value.

use std::io;

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::font::ensure_registered;
use super::format::{
    decimals_for_step, format_axis_money, format_axis_number, format_compact, format_param,
    format_percent, format_value, tick_step,
};
use super::style::{
    chart_err, fit_text, label, spec, text_size, TextMode, AXIS, INK, MISSING, MUTED,
};
use super::{GridReport, MetricUnit};

const TITLE_SIZE: f64 = 24.0;
const SUB_SIZE: f64 = 15.0;
const TICK_SIZE: f64 = 14.0;
const NAME_SIZE: f64 = 15.0;
const CELL_TEXT_SIZE: f64 = 13.0;
/// Grids up to this many columns and rows get their values written in the cells.
const ANNOTATE_MAX: usize = 12;
/// Below the title, the subtitle and the color bar's caption.
const PLOT_TOP: i32 = 100;
const COLORBAR_W: i32 = 18;
/// The best cell's outline is pure black, a color the palettes never produce.
pub(crate) const BEST_OUTLINE: RGBColor = RGBColor(0, 0, 0);

/// Where everything goes in the heatmap image. Public so callers (and tests) can find a
/// cell's pixels, e.g. to crop or to check the best cell is marked.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapLayout {
    /// Image size in pixels.
    pub width: u32,
    pub height: u32,
    /// The cell grid: left, top, right, bottom (right and bottom exclusive).
    pub plot: (i32, i32, i32, i32),
    pub cell_w: i32,
    pub cell_h: i32,
    /// Whether values are written in the cells.
    pub annotate: bool,
    /// Width of the outline drawn around the best cell.
    pub best_outline: i32,
    x_stride: usize,
    y_stride: usize,
    bar: (i32, i32, i32, i32),
}

impl HeatmapLayout {
    /// Pixel rectangle `(left, top, right, bottom)`, right/bottom exclusive, of column
    /// `xi`, row `yi` (row 0 is at the bottom, as on a plot).
    pub fn cell_rect(&self, xi: usize, yi: usize) -> (i32, i32, i32, i32) {
        let x0 = self.plot.0 + xi as i32 * self.cell_w;
        let y1 = self.plot.3 - yi as i32 * self.cell_h;
        (x0, y1 - self.cell_h, x0 + self.cell_w, y1)
    }
}

/// Computes the size of the heatmap image and where each part goes. Cells get as much room
/// as fits in about 1000x640 pixels, and at least enough for their value when annotated.
pub fn heatmap_layout(grid: &GridReport) -> io::Result<HeatmapLayout> {
    ensure_registered()?;
    let (nx, ny) = (grid.xs.len(), grid.ys.len());
    if nx == 0 || ny == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("heatmap '{}' has no columns or no rows", grid.title),
        ));
    }
    let annotate = nx <= ANNOTATE_MAX && ny <= ANNOTATE_MAX;
    let widest = |labels: &mut dyn Iterator<Item = String>, size: f64| {
        labels
            .map(|l| text_size(&l, size).0 as i32)
            .max()
            .unwrap_or(0)
    };
    let x_label_w = widest(&mut grid.xs.iter().map(|&v| format_param(v)), TICK_SIZE);
    let y_label_w = widest(&mut grid.ys.iter().map(|&v| format_param(v)), TICK_SIZE);
    let label_h = text_size("0", TICK_SIZE).1 as i32;

    let mut cell_w = (1000 / nx as i32).clamp(4, 96);
    let mut cell_h = (640 / ny as i32).clamp(4, 64);
    if annotate {
        let value_w = (0..ny)
            .flat_map(|yi| (0..nx).map(move |xi| (xi, yi)))
            .map(|(xi, yi)| {
                text_size(
                    &format_compact(grid.value(xi, yi), grid.unit),
                    CELL_TEXT_SIZE,
                )
                .0 as i32
            })
            .max()
            .unwrap_or(0);
        cell_w = cell_w.max(value_w + 14);
        cell_h = cell_h.max(label_h + 16);
    }
    // Label every n-th column/row when neighbours' labels would touch.
    let x_stride = ((x_label_w + 12) as usize).div_ceil(cell_w as usize).max(1);
    let y_stride = ((label_h + 6) as usize).div_ceil(cell_h as usize).max(1);

    let name_h = text_size("Ag", NAME_SIZE).1 as i32;
    let left = 20 + name_h + 12 + y_label_w + 10;
    let plot_w = nx as i32 * cell_w;
    let plot_h = ny as i32 * cell_h;
    let (lo, hi) = grid.finite_range().unwrap_or((0.0, 0.0));
    let bar_ticks = colorbar_ticks(lo, hi);
    let bar_step = tick_step(&bar_ticks);
    let bar_label_w = bar_ticks
        .iter()
        .map(|&v| text_size(&format_tick(v, bar_step, grid.unit), TICK_SIZE).0 as i32)
        .max()
        .unwrap_or(0)
        .max(text_size("not run", TICK_SIZE).0 as i32 + 24);
    let right = 30 + COLORBAR_W + 8 + bar_label_w + 24;
    // The color bar runs beside the grid, with a usable length even for one row.
    let bar_h = plot_h.clamp(120, 420);
    let missing_legend_h = if has_missing(grid) { 44 } else { 0 };
    let bottom = 10 + label_h + 14 + name_h + 22;

    let title_w = text_size(&grid.title, TITLE_SIZE).0 as i32 + 40;
    let needed_w = left + plot_w + right;
    let width = needed_w.max(title_w.min(1400)).max(560);
    // Center the grid and color bar when the title makes the image wider than they are.
    let shift = (width - needed_w) / 2;
    let height = PLOT_TOP + (plot_h + bottom).max(bar_h + missing_legend_h + 24);

    let plot = (
        left + shift,
        PLOT_TOP,
        left + shift + plot_w,
        PLOT_TOP + plot_h,
    );
    let bar_x = plot.2 + 30;
    Ok(HeatmapLayout {
        width: width as u32,
        height: height as u32,
        plot,
        cell_w,
        cell_h,
        annotate,
        best_outline: (cell_w.min(cell_h) / 5).clamp(1, 3),
        x_stride,
        y_stride,
        bar: (bar_x, PLOT_TOP, bar_x + COLORBAR_W, PLOT_TOP + bar_h),
    })
}

fn has_missing(grid: &GridReport) -> bool {
    (0..grid.ys.len()).any(|yi| (0..grid.xs.len()).any(|xi| !grid.value(xi, yi).is_finite()))
}

/// A color-bar tick: as many decimals as the tick spacing needs, in the metric's unit.
fn format_tick(v: f64, step: f64, unit: MetricUnit) -> String {
    match unit {
        MetricUnit::Percent => format_percent(v, decimals_for_step(step * 100.0)),
        MetricUnit::Money => format_axis_money(v, step, v.abs()),
        MetricUnit::Ratio | MetricUnit::Number | MetricUnit::Count => format_axis_number(v, step),
        MetricUnit::Duration => format_compact(v, unit),
    }
}

/// Nice round values within `[lo, hi]` (finite) for the color bar.
fn colorbar_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if lo >= hi {
        return vec![lo];
    }
    RangedCoordf64::from(lo..hi).key_points(6usize)
}

/// Maps values to colors. A grid whose values straddle zero (returns, Sharpe) gets a
/// diverging scale centered on zero, so the sign is visible at a glance; otherwise a
/// sequential dark-to-light scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColorScale {
    lo: f64,
    hi: f64,
    diverging: bool,
}

/// Sequential scale: deep blue through teal and green to yellow, rising in lightness so it
/// also reads in grayscale.
const SEQUENTIAL: [(f64, (u8, u8, u8)); 5] = [
    (0.0, (38, 42, 108)),
    (0.25, (44, 98, 160)),
    (0.5, (36, 152, 148)),
    (0.75, (128, 198, 98)),
    (1.0, (248, 228, 88)),
];
const NEGATIVE: (u8, u8, u8) = (196, 52, 44);
const NEUTRAL: (u8, u8, u8) = (246, 246, 242);
const POSITIVE: (u8, u8, u8) = (0, 116, 112);

impl ColorScale {
    pub(crate) fn for_range(lo: f64, hi: f64) -> ColorScale {
        ColorScale {
            lo,
            hi,
            diverging: lo < 0.0 && hi > 0.0,
        }
    }

    pub(crate) fn color(&self, v: f64) -> RGBColor {
        if !v.is_finite() {
            return MISSING;
        }
        if self.diverging {
            // Each side spans its own range, so a deep loss elsewhere does not wash out
            // the differences among the good cells, which are what people compare.
            return if v < 0.0 {
                lerp(NEUTRAL, NEGATIVE, (v / self.lo).clamp(0.0, 1.0))
            } else {
                lerp(NEUTRAL, POSITIVE, (v / self.hi).clamp(0.0, 1.0))
            };
        }
        let t = if self.hi > self.lo {
            ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let i = SEQUENTIAL
            .windows(2)
            .position(|w| t <= w[1].0)
            .unwrap_or(SEQUENTIAL.len() - 2);
        let (t0, c0) = SEQUENTIAL[i];
        let (t1, c1) = SEQUENTIAL[i + 1];
        lerp(c0, c1, (t - t0) / (t1 - t0))
    }
}

fn lerp(a: (u8, u8, u8), b: (u8, u8, u8), t: f64) -> RGBColor {
    let f = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(f(a.0, b.0), f(a.1, b.1), f(a.2, b.2))
}

/// Dark text on light cells, white on dark ones (by perceived luminance).
fn text_color_on(c: RGBColor) -> RGBColor {
    let lum = 0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2);
    if lum < 140.0 {
        WHITE
    } else {
        INK
    }
}

/// `fast = 10, slow = 30 → Sharpe 1.853`, or a note that nothing ran.
pub(crate) fn best_line(grid: &GridReport) -> String {
    match grid.best() {
        Some((xi, yi, v)) => format!(
            "Best: {} = {}, {} = {}  →  {} {}",
            grid.x_name,
            format_param(grid.xs[xi]),
            grid.y_name,
            format_param(grid.ys[yi]),
            grid.metric_name,
            format_value(v, grid.unit)
        ),
        None => "No combination produced a value".to_string(),
    }
}

pub(crate) fn draw_heatmap<DB: DrawingBackend + TextMode>(
    root: &DrawingArea<DB, Shift>,
    grid: &GridReport,
    layout: &HeatmapLayout,
) -> io::Result<()> {
    root.fill(&WHITE).map_err(chart_err)?;
    let width = layout.width as i32;
    label(
        root,
        &fit_text(&grid.title, TITLE_SIZE, (width - 40) as u32),
        (20, 14),
        spec(TITLE_SIZE, INK, HPos::Left, VPos::Top),
    )?;
    label(
        root,
        &fit_text(&best_line(grid), SUB_SIZE, (width - 40) as u32),
        (20, 50),
        spec(SUB_SIZE, MUTED, HPos::Left, VPos::Top),
    )?;

    let (lo, hi) = grid.finite_range().unwrap_or((0.0, 0.0));
    let scale = ColorScale::for_range(lo, hi);
    let best = grid.best();
    // A 1 px white gap between cells keeps neighbouring similar colors apart.
    let gap = i32::from(layout.cell_w >= 8 && layout.cell_h >= 8);
    let mut any_missing = false;

    for yi in 0..grid.ys.len() {
        for xi in 0..grid.xs.len() {
            let v = grid.value(xi, yi);
            any_missing |= !v.is_finite();
            let (x0, y0, x1, y1) = layout.cell_rect(xi, yi);
            let (x1, y1) = (x1 - gap, y1 - gap);
            let fill = scale.color(v);
            let is_best = best.is_some_and(|(bx, by, _)| bx == xi && by == yi);
            if is_best {
                let o = layout.best_outline;
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], BEST_OUTLINE.filled()))
                    .map_err(chart_err)?;
                // A thin white line inside the black one keeps the outline visible on
                // dark cells too.
                root.draw(&Rectangle::new(
                    [(x0 + o, y0 + o), (x1 - o, y1 - o)],
                    WHITE.filled(),
                ))
                .map_err(chart_err)?;
                root.draw(&Rectangle::new(
                    [(x0 + o + 1, y0 + o + 1), (x1 - o - 1, y1 - o - 1)],
                    fill.filled(),
                ))
                .map_err(chart_err)?;
            } else {
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
                    .map_err(chart_err)?;
            }
            if layout.annotate {
                let cell_text = if v.is_finite() {
                    format_compact(v, grid.unit)
                } else {
                    "–".to_string()
                };
                let color = if v.is_finite() {
                    text_color_on(fill)
                } else {
                    MUTED
                };
                label(
                    root,
                    &cell_text,
                    ((x0 + x1) / 2, (y0 + y1) / 2),
                    spec(CELL_TEXT_SIZE, color, HPos::Center, VPos::Center),
                )?;
            }
        }
    }

    // Axes: ticks and parameter values at cell centers.
    let (px0, py0, px1, py1) = layout.plot;
    for (xi, &x) in grid.xs.iter().enumerate().step_by(layout.x_stride) {
        let (x0, _, x1, _) = layout.cell_rect(xi, 0);
        let cx = (x0 + x1 - gap) / 2;
        root.draw(&PathElement::new(vec![(cx, py1), (cx, py1 + 5)], AXIS))
            .map_err(chart_err)?;
        label(
            root,
            &format_param(x),
            (cx, py1 + 9),
            spec(TICK_SIZE, MUTED, HPos::Center, VPos::Top),
        )?;
    }
    for (yi, &y) in grid.ys.iter().enumerate().step_by(layout.y_stride) {
        let (_, y0, _, y1) = layout.cell_rect(0, yi);
        let cy = (y0 + y1 - gap) / 2;
        root.draw(&PathElement::new(vec![(px0 - 5, cy), (px0, cy)], AXIS))
            .map_err(chart_err)?;
        label(
            root,
            &format_param(y),
            (px0 - 9, cy),
            spec(TICK_SIZE, MUTED, HPos::Right, VPos::Center),
        )?;
    }
    let label_h = text_size("0", TICK_SIZE).1 as i32;
    label(
        root,
        &fit_text(&grid.x_name, NAME_SIZE, (px1 - px0).max(60) as u32),
        ((px0 + px1) / 2, py1 + 9 + label_h + 12),
        spec(NAME_SIZE, INK, HPos::Center, VPos::Top),
    )?;
    let name_h = text_size("Ag", NAME_SIZE).1 as i32;
    label(
        root,
        &fit_text(&grid.y_name, NAME_SIZE, (py1 - py0).max(60) as u32),
        (20 + name_h / 2, (py0 + py1) / 2),
        spec(NAME_SIZE, INK, HPos::Center, VPos::Center).vertical(),
    )?;

    draw_colorbar(root, grid, layout, scale, lo, hi, any_missing)
}

fn draw_colorbar<DB: DrawingBackend + TextMode>(
    root: &DrawingArea<DB, Shift>,
    grid: &GridReport,
    layout: &HeatmapLayout,
    scale: ColorScale,
    lo: f64,
    hi: f64,
    any_missing: bool,
) -> io::Result<()> {
    let (bx0, by0, bx1, by1) = layout.bar;
    let bar_h = by1 - by0;
    label(
        root,
        &fit_text(
            &grid.metric_name,
            TICK_SIZE,
            (layout.width as i32 - bx0 - 10).max(20) as u32,
        ),
        (bx0, by0 - 8),
        spec(TICK_SIZE, INK, HPos::Left, VPos::Bottom),
    )?;
    // Bands of 2 px: smooth to the eye, half as many shapes in the SVG.
    let mut y = 0;
    while y < bar_h {
        let frac = 1.0 - (f64::from(y) + 1.0) / f64::from(bar_h);
        let v = lo + (hi - lo) * frac;
        root.draw(&Rectangle::new(
            [(bx0, by0 + y), (bx1, (by0 + y + 2).min(by1))],
            scale.color(v).filled(),
        ))
        .map_err(chart_err)?;
        y += 2;
    }
    root.draw(&Rectangle::new([(bx0, by0), (bx1, by1)], AXIS))
        .map_err(chart_err)?;
    if grid.finite_range().is_some() {
        let ticks = colorbar_ticks(lo, hi);
        let step = tick_step(&ticks);
        for v in ticks {
            let frac = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            let ty = by1 - (frac * f64::from(bar_h)).round() as i32;
            root.draw(&PathElement::new(vec![(bx1, ty), (bx1 + 4, ty)], AXIS))
                .map_err(chart_err)?;
            label(
                root,
                &format_tick(v, step, grid.unit),
                (bx1 + 8, ty),
                spec(TICK_SIZE, MUTED, HPos::Left, VPos::Center),
            )?;
        }
    }
    if any_missing {
        let y = by1 + 16;
        root.draw(&Rectangle::new([(bx0, y), (bx1, y + 14)], MISSING.filled()))
            .map_err(chart_err)?;
        root.draw(&Rectangle::new([(bx0, y), (bx1, y + 14)], AXIS))
            .map_err(chart_err)?;
        label(
            root,
            "not run",
            (bx1 + 8, y + 7),
            spec(TICK_SIZE, MUTED, HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales() {
        let seq = ColorScale::for_range(1.0, 2.0);
        assert_eq!(seq.color(1.0), RGBColor(38, 42, 108));
        assert_eq!(seq.color(2.0), RGBColor(248, 228, 88));
        assert_eq!(seq.color(f64::NAN), MISSING);
        let div = ColorScale::for_range(-1.0, 2.0);
        assert_eq!(div.color(0.0), RGBColor(246, 246, 242));
        assert_eq!(div.color(2.0), RGBColor(0, 116, 112));
        assert_eq!(div.color(-1.0), RGBColor(196, 52, 44));
        let (n, p) = (div.color(-0.5), div.color(1.0));
        assert!(n.0 > n.2 && p.1 > p.0);
    }
}
