//! PNG output: charts rasterized by plotters into an RGB buffer and encoded by the `png`
//! crate.

use std::io;
use std::path::Path;

use plotters::prelude::*;

use super::equity::draw_equity;
use super::font::ensure_registered;
use super::heatmap::{draw_heatmap, heatmap_layout};
use super::style::{chart_err, check_size};
use super::{write_file, GridReport, RunReport};

/// Rasterizes `draw` on a white `w`x`h` canvas and returns the PNG bytes.
fn render_png(
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> io::Result<()>,
) -> io::Result<Vec<u8>> {
    ensure_registered()?;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(chart_err)?;
    }
    encode_rgb_png(w, h, &rgb)
}

/// Encodes `rgb` (row-major, 3 bytes a pixel) as a PNG file.
pub fn encode_rgb_png(width: u32, height: u32, rgb: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Charts are large flat areas: the best compression is cheap and halves the files.
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header().map_err(io::Error::other)?;
    writer.write_image_data(rgb).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)?;
    Ok(out)
}

/// The equity chart (equity and benchmark on top, drawdown below) as PNG bytes.
/// [`super::DEFAULT_EQUITY_SIZE`] is a good size; text scales with the image.
pub fn render_equity_png(report: &RunReport, size: (u32, u32)) -> io::Result<Vec<u8>> {
    check_size(size)?;
    render_png(size, |root| draw_equity(root, report))
}

/// Writes [`render_equity_png`] to `path`.
pub fn write_equity_png(
    report: &RunReport,
    path: impl AsRef<Path>,
    size: (u32, u32),
) -> io::Result<()> {
    let path = path.as_ref();
    let png = render_equity_png(report, size).map_err(|e| super::io_error_at(path, e))?;
    write_file(path, &png)
}

/// The heatmap of a parameter grid as PNG bytes; the image size follows from the grid
/// ([`heatmap_layout`]).
pub fn render_heatmap_png(grid: &GridReport) -> io::Result<Vec<u8>> {
    let layout = heatmap_layout(grid)?;
    render_png((layout.width, layout.height), |root| {
        draw_heatmap(root, grid, &layout)
    })
}

/// Writes [`render_heatmap_png`] to `path`.
pub fn write_heatmap_png(grid: &GridReport, path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let png = render_heatmap_png(grid).map_err(|e| super::io_error_at(path, e))?;
    write_file(path, &png)
}
