//! The one font every chart uses, compiled into the binary, and its metrics.
//!
//! plotters' default text path asks the system (font-kit, fontconfig) for a font, which
//! fails on a bare server or container without fonts installed. With its `ab_glyph`
//! feature it rasterizes from bytes we hand it instead, so PNGs look the same everywhere.
//! The font is DejaVu Sans (Bitstream Vera license, see `fonts/LICENSE-DejaVu.txt`).
//!
//! plotters 0.3.7 places each ab_glyph glyph at the pen position without its left side
//! bearing, so letters with a wide bearing drift left ("B TC", "s low"). The bitmap
//! charts therefore lay text out themselves, glyph by glyph, from the advance widths,
//! bearings and kerning read here (see `style::label`); plotters only rasterizes.

use std::collections::HashMap;
use std::io;
use std::sync::OnceLock;

use plotters::style::FontStyle;

static DEJAVU_SANS: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Family name the charts ask for. Registering the embedded font under the generic name
/// means SVG output says `font-family="sans-serif"`, which every browser resolves.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the font with plotters once per process; every chart calls this first.
pub(crate) fn ensure_registered() -> io::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "embedded chart font could not be parsed",
        ))
    }
}

/// Horizontal metrics of the embedded font, in font units.
pub(crate) struct Metrics {
    /// Ascender minus descender: ab_glyph scales a font so that this is the requested
    /// pixel size, so one unit is `size / height` pixels.
    height: f64,
    cap_height: f64,
    descender: f64,
    /// Glyph id of every Basic Multilingual Plane character (0 = missing).
    glyph_of: Vec<u16>,
    advance: Vec<u16>,
    lsb: Vec<i16>,
    kern: HashMap<(u16, u16), i16>,
}

/// One glyph placed on a line: its character, and pixel offsets from the line start of
/// its pen position and of its outline's left edge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    pub ch: char,
    pub pen: f64,
    pub bearing: f64,
}

impl Metrics {
    /// The embedded font's metrics, or `None` if the tables cannot be read (then text
    /// falls back to plotters' own layout).
    pub(crate) fn get() -> Option<&'static Metrics> {
        static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();
        METRICS.get_or_init(|| parse(DEJAVU_SANS)).as_ref()
    }

    fn glyph(&self, c: char) -> u16 {
        self.glyph_of.get(c as usize).copied().unwrap_or(0)
    }

    fn advance_of(&self, g: u16) -> f64 {
        // Glyphs past the last long metric share its advance (the `hmtx` rule).
        let i = usize::from(g).min(self.advance.len().saturating_sub(1));
        self.advance.get(i).copied().map_or(0.0, f64::from)
    }

    /// Lays out `text` at `size`: each glyph's place, and the total advance width, all in
    /// pixels. Pen positions include kerning, as ab_glyph's own measurement does.
    pub(crate) fn layout(&self, text: &str, size: f64) -> (Vec<Placed>, f64) {
        let scale = size / self.height;
        let mut pen = 0.0;
        let mut prev: Option<u16> = None;
        let mut out = Vec::with_capacity(text.len());
        for ch in text.chars() {
            let g = self.glyph(ch);
            if let Some(p) = prev {
                pen += f64::from(self.kern.get(&(p, g)).copied().unwrap_or(0)) * scale;
            }
            let lsb = self.lsb.get(usize::from(g)).copied().unwrap_or(0);
            out.push(Placed {
                ch,
                pen,
                bearing: f64::from(lsb) * scale,
            });
            pen += self.advance_of(g) * scale;
            prev = Some(g);
        }
        (out, pen)
    }

    pub(crate) fn width(&self, text: &str, size: f64) -> f64 {
        self.layout(text, size).1
    }

    /// Capital height and descender depth in pixels at `size`.
    pub(crate) fn cap_and_descender(&self, size: f64) -> (f64, f64) {
        (
            self.cap_height * size / self.height,
            self.descender * size / self.height,
        )
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Reads `hhea`, `hmtx`, `OS/2`, `cmap` (format 4) and `kern` (format 0) from a TrueType
/// file, per the OpenType specification.
fn parse(d: &[u8]) -> Option<Metrics> {
    let num_tables = be16(d, 4)?;
    let mut tables = HashMap::new();
    for i in 0..usize::from(num_tables) {
        let rec = 12 + 16 * i;
        let tag = d.get(rec..rec + 4)?;
        let offset = be32(d, rec + 8)? as usize;
        let len = be32(d, rec + 12)? as usize;
        tables.insert(tag, d.get(offset..offset.checked_add(len)?)?);
    }

    let hhea = *tables.get(&b"hhea"[..])?;
    let ascender = f64::from(be16(hhea, 4)? as i16);
    let descender = f64::from(be16(hhea, 6)? as i16);
    let long_metrics = usize::from(be16(hhea, 34)?);

    let hmtx = *tables.get(&b"hmtx"[..])?;
    let mut advance = Vec::with_capacity(long_metrics);
    let mut lsb = Vec::with_capacity(long_metrics);
    for i in 0..long_metrics {
        advance.push(be16(hmtx, 4 * i)?);
        lsb.push(be16(hmtx, 4 * i + 2)? as i16);
    }
    // Any glyphs after the long metrics have only a bearing.
    let mut at = 4 * long_metrics;
    while let Some(v) = be16(hmtx, at) {
        lsb.push(v as i16);
        at += 2;
    }

    // Capital height from OS/2 (version 2 and later); 70% of the ascender otherwise.
    let cap_height = tables
        .get(&b"OS/2"[..])
        .filter(|os2| be16(os2, 0).is_some_and(|v| v >= 2))
        .and_then(|os2| be16(os2, 88))
        .map_or(ascender * 0.7, |v| f64::from(v as i16));

    Some(Metrics {
        height: ascender - descender,
        cap_height,
        descender: -descender,
        glyph_of: parse_cmap(tables.get(&b"cmap"[..])?)?,
        advance,
        lsb,
        kern: tables
            .get(&b"kern"[..])
            .and_then(|k| parse_kern(k))
            .unwrap_or_default(),
    })
}

/// The Windows Unicode BMP subtable (platform 3, encoding 1), format 4: segments of
/// consecutive codes mapped either by a delta or through a glyph id array.
fn parse_cmap(cmap: &[u8]) -> Option<Vec<u16>> {
    let n = usize::from(be16(cmap, 2)?);
    let sub = (0..n).find_map(|i| {
        let rec = 4 + 8 * i;
        (be16(cmap, rec)? == 3 && be16(cmap, rec + 2)? == 1)
            .then(|| be32(cmap, rec + 4))
            .flatten()
    })? as usize;
    let t = cmap.get(sub..)?;
    if be16(t, 0)? != 4 {
        return None;
    }
    let segs = usize::from(be16(t, 6)?) / 2;
    let end_at = 14;
    let start_at = end_at + 2 * segs + 2;
    let delta_at = start_at + 2 * segs;
    let range_at = delta_at + 2 * segs;
    let mut map = vec![0u16; 0x1_0000];
    for s in 0..segs {
        let end = be16(t, end_at + 2 * s)?;
        let start = be16(t, start_at + 2 * s)?;
        let delta = be16(t, delta_at + 2 * s)?;
        let range = usize::from(be16(t, range_at + 2 * s)?);
        if start > end {
            continue;
        }
        for c in start..=end {
            let g = if range == 0 {
                c.wrapping_add(delta)
            } else {
                // The offset is relative to this segment's own idRangeOffset entry.
                let at = range_at + 2 * s + range + 2 * usize::from(c - start);
                match be16(t, at)? {
                    0 => 0,
                    g => g.wrapping_add(delta),
                }
            };
            map[usize::from(c)] = g;
        }
    }
    Some(map)
}

/// Pair kerning from a version-0 `kern` table's horizontal format-0 subtables.
fn parse_kern(k: &[u8]) -> Option<HashMap<(u16, u16), i16>> {
    if be16(k, 0)? != 0 {
        return None;
    }
    let n = be16(k, 2)?;
    let mut pairs = HashMap::new();
    let mut at = 4;
    for _ in 0..n {
        let len = usize::from(be16(k, at + 2)?);
        let coverage = be16(k, at + 4)?;
        // Format 0 (high byte) and horizontal (bit 0) only.
        if coverage >> 8 == 0 && coverage & 1 == 1 {
            let count = usize::from(be16(k, at + 6)?);
            for p in 0..count {
                let rec = at + 14 + 6 * p;
                pairs.insert((be16(k, rec)?, be16(k, rec + 2)?), be16(k, rec + 4)? as i16);
            }
        }
        at += len.max(6);
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::IntoFont;

    #[test]
    fn metrics_agree_with_the_rasterizer() {
        ensure_registered().unwrap();
        let m = Metrics::get().expect("embedded font parses");
        // Same total advance as ab_glyph's measurement (which truncates to whole pixels).
        for s in ["Hello, World", "BTCUSDT 2024-03-15", "AVATAR Tokyo", "ſ→·…"] {
            let ours = m.width(s, 100.0);
            let theirs = f64::from((FAMILY, 100.0).into_font().box_size(s).unwrap().0);
            assert!((ours - theirs).abs() <= 1.0, "{s}: {ours} vs {theirs}");
        }
        let (_, width) = m.layout("B", 100.0);
        assert!(width > 50.0);
        let (placed, _) = m.layout("l", 100.0);
        assert!(placed[0].bearing > 5.0, "'l' has a visible left bearing");
        let (cap, desc) = m.cap_and_descender(100.0);
        assert!(cap > 55.0 && cap < 70.0 && desc > 15.0 && desc < 25.0);
    }
}
