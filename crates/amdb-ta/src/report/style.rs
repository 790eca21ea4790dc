//! Colors, text styles and helpers shared by the charts, so the equity chart and the
//! heatmap (and their PNG and SVG forms) look like one family.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::font::{Metrics, FAMILY};

pub(crate) const INK: RGBColor = RGBColor(33, 37, 41);
pub(crate) const MUTED: RGBColor = RGBColor(108, 117, 125);
pub(crate) const GRID: RGBColor = RGBColor(226, 229, 233);
pub(crate) const AXIS: RGBColor = RGBColor(160, 166, 173);
pub(crate) const STRATEGY: RGBColor = RGBColor(31, 94, 168);
pub(crate) const BENCHMARK: RGBColor = RGBColor(150, 150, 150);
pub(crate) const LOSS: RGBColor = RGBColor(200, 54, 54);
pub(crate) const MISSING: RGBColor = RGBColor(236, 236, 236);

/// How a backend wants its text. Bitmaps get text laid out glyph by glyph from the font's
/// metrics (see [`super::font`] for why); SVG gets whole strings, which the browser lays
/// out with its own font.
pub(crate) trait TextMode {
    const PER_GLYPH: bool;
}

impl TextMode for BitMapBackend<'_> {
    const PER_GLYPH: bool = true;
}

impl TextMode for SVGBackend<'_> {
    const PER_GLYPH: bool = false;
}

/// Size, color and anchoring of a label. The anchor is the point given to [`label`]:
/// `VPos::Top` puts the top of capitals there, `Center` the middle of capitals, `Bottom`
/// the bottom of descenders.
#[derive(Clone, Copy)]
pub(crate) struct TextSpec {
    pub size: f64,
    pub color: RGBColor,
    pub h: HPos,
    pub v: VPos,
    /// Rotated a quarter turn counter-clockwise, reading upwards (for a y-axis title).
    pub vertical: bool,
}

pub(crate) fn spec(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextSpec {
    TextSpec {
        size,
        color,
        h,
        v,
        vertical: false,
    }
}

impl TextSpec {
    pub(crate) fn vertical(self) -> TextSpec {
        TextSpec {
            vertical: true,
            ..self
        }
    }
}

/// The font size actually used: an even number of pixels. plotters positions an
/// ab_glyph glyph at `size / 2` plus its (whole-pixel) top, truncated toward zero, so at
/// odd or fractional sizes tall and short letters land a pixel apart and words look
/// wavy; at even sizes the sum is exact.
pub(crate) fn font_px(size: f64) -> f64 {
    ((size / 2.0).round() * 2.0).max(8.0)
}

fn plotters_style(spec: &TextSpec, h: HPos, v: VPos) -> TextStyle<'static> {
    let transform = if spec.vertical {
        FontTransform::Rotate270
    } else {
        FontTransform::None
    };
    (FAMILY, spec.size)
        .into_font()
        .transform(transform)
        .color(&spec.color)
        .pos(Pos::new(h, v))
}

/// Draws `s` anchored at `pos` (in `area`'s pixels).
pub(crate) fn label<DB: DrawingBackend + TextMode>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (i32, i32),
    spec: TextSpec,
) -> io::Result<()> {
    if s.is_empty() {
        return Ok(());
    }
    let spec = TextSpec {
        size: font_px(spec.size),
        ..spec
    };
    let metrics = Metrics::get().filter(|_| DB::PER_GLYPH);
    let Some(m) = metrics else {
        let style = plotters_style(&spec, spec.h, spec.v);
        return area
            .draw(&Text::new(s.to_string(), (x, y), style))
            .map_err(chart_err);
    };
    let (placed, width) = m.layout(s, spec.size);
    let start = match spec.h {
        HPos::Left => 0.0,
        HPos::Center => -width / 2.0,
        HPos::Right => -width,
    };
    let (cap, descender) = m.cap_and_descender(spec.size);
    let baseline = match spec.v {
        VPos::Top => cap,
        VPos::Center => cap / 2.0,
        VPos::Bottom => -descender,
    };
    // plotters draws a top-anchored ab_glyph glyph with its baseline half the font size
    // below the anchor and the glyph's bitmap starting at the anchor's x.
    let dy = (baseline - spec.size / 2.0).round() as i32;
    let style = plotters_style(&spec, HPos::Left, VPos::Top);
    let transform = style.font.get_transform();
    for p in placed {
        if p.ch.is_whitespace() {
            continue;
        }
        let along = (start + p.pen).round() as i32 + p.bearing.floor() as i32;
        let (ox, oy) = transform.transform(along, dy);
        area.draw(&Text::new(
            p.ch.to_string(),
            (x + ox, y + oy),
            style.clone(),
        ))
        .map_err(chart_err)?;
    }
    Ok(())
}

/// Width and height in pixels of `s` in the embedded font (the font must be registered).
pub(crate) fn text_size(s: &str, size: f64) -> (u32, u32) {
    let size = font_px(size);
    let height = (size / 1.24) as u32;
    match Metrics::get() {
        Some(m) => (m.width(s, size).ceil() as u32, height),
        None => (FAMILY, size)
            .into_font()
            .box_size(s)
            .unwrap_or((0, height)),
    }
}

/// `s`, shortened with an ellipsis until it fits in `max_w` pixels, so a long title never
/// runs off the image or into another label.
pub(crate) fn fit_text(s: &str, size: f64, max_w: u32) -> String {
    if text_size(s, size).0 <= max_w {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    // Longest prefix that fits with the ellipsis, by bisection.
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().chain(['…'].iter()).collect();
        if text_size(&candidate, size).0 <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut out: String = chars[..lo]
        .iter()
        .collect::<String>()
        .trim_end()
        .to_string();
    out.push('…');
    out
}

/// Turns a plotters error into an I/O error (the only error type the report API has).
pub(crate) fn chart_err<E: std::error::Error + Send + Sync>(
    e: DrawingAreaErrorKind<E>,
) -> io::Error {
    io::Error::other(format!("drawing chart: {e}"))
}

/// Image sizes below this leave no room for the labels; above the upper bound the pixel
/// buffer alone would take gigabytes.
pub(crate) fn check_size((w, h): (u32, u32)) -> io::Result<()> {
    if (320..=16_384).contains(&w) && (240..=16_384).contains(&h) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("chart size {w}x{h} is outside 320x240 ..= 16384x16384"),
        ))
    }
}
