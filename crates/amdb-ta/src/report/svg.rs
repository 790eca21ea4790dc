//! SVG output of the same charts as the PNGs, for the HTML page: vector, small, and with
//! real text the browser renders in its own sans-serif font.

use std::io;

use plotters::prelude::*;

use super::equity::draw_equity;
use super::font::ensure_registered;
use super::heatmap::{draw_heatmap, heatmap_layout};
use super::style::{chart_err, check_size};
use super::{GridReport, RunReport};

fn render_svg(
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> io::Result<()>,
) -> io::Result<String> {
    // Text is measured with the embedded font even in SVG, to place labels.
    ensure_registered()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(chart_err)?;
    }
    Ok(out)
}

/// The equity chart as a standalone SVG document.
pub fn equity_svg(report: &RunReport, size: (u32, u32)) -> io::Result<String> {
    check_size(size)?;
    render_svg(size, |root| draw_equity(root, report))
}

/// The heatmap as a standalone SVG document.
pub fn heatmap_svg(grid: &GridReport) -> io::Result<String> {
    let layout = heatmap_layout(grid)?;
    render_svg((layout.width, layout.height), |root| {
        draw_heatmap(root, grid, &layout)
    })
}
