//! CSV (and TSV, semicolon- and pipe-separated) bars.
//!
//! Reading is the import hot path. The file is read in one go; when it has no `"` (so no
//! field can hide a delimiter or newline) it is cut into chunks at newline boundaries that
//! rayon parses in parallel, one line at a time without allocating. Files with quotes go
//! through the `csv` crate sequentially. Both paths share the per-row code, so they accept
//! and refuse the same rows with the same messages.

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use super::TimeColumns;
use super::{check_bar, detect_columns, headerless_layout, ColumnMap, ImportError, Layout};
use crate::bar::{Bar, Bars};
use crate::time::{parse_date_and_time_bytes, parse_time_bytes, TimeFormatter, TimeUnit};

/// How to read a CSV file; every `None` is detected from the file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// One of `,` `;` `\t` `|`, detected from the first lines when `None`.
    pub delimiter: Option<u8>,
    /// When `None`, the first row is a header if its time field does not parse as a time.
    pub has_header: Option<bool>,
    /// The unit of epoch-number times.
    pub time_unit: TimeUnit,
    pub columns: ColumnMap,
}

/// How times are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// RFC 3339 UTC, `2024-01-02T13:45:00Z`, fraction only when needed.
    #[default]
    Iso,
    EpochNanos,
    /// Whole milliseconds, with an exact decimal fraction when the time has finer parts.
    EpochMillis,
    /// Whole seconds, with an exact decimal fraction when the time has finer parts.
    EpochSeconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvWriteOptions {
    pub delimiter: u8,
    pub time_format: TimeFormat,
    pub header: bool,
}

impl Default for CsvWriteOptions {
    fn default() -> Self {
        CsvWriteOptions {
            delimiter: b',',
            time_format: TimeFormat::Iso,
            header: true,
        }
    }
}

/// Chunks of about this size are parsed in parallel; between rounds progress is reported.
const CHUNK_BYTES: usize = 4 << 20;
/// Rows whose used columns go past this index take the sequential path.
const MAX_FAST_FIELDS: usize = 32;

/// Reads bars from a CSV file, in file order. `progress(done, total)` is called with bytes.
pub fn read_csv(
    path: impl AsRef<Path>,
    opts: &CsvOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Bars, ImportError> {
    let path = path.as_ref();
    let data = std::fs::read(path).map_err(|e| ImportError::io(path, e))?;
    parse_csv(&data, path, opts, progress)
}

/// Parses CSV `data` as [`read_csv`] does; `path` only names the source in errors.
pub fn parse_csv(
    data: &[u8],
    path: &Path,
    opts: &CsvOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Bars, ImportError> {
    let total = data.len() as u64;
    progress(0, total);
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);

    // The first non-blank line: a header or the first data row.
    let mut pos = 0;
    let mut line_no = 1u64;
    let first = loop {
        if pos >= data.len() {
            return Err(ImportError::line(path, line_no, "file is empty"));
        }
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        let line = &data[pos..end];
        let next = (end + 1).min(data.len());
        if !is_blank(line) {
            break (line, next);
        }
        pos = next;
        line_no += 1;
    };
    let (first_line, after_first) = first;
    let first_line_no = line_no;
    let err_first = |msg: String| ImportError::line(path, first_line_no, msg);

    let delim = match opts.delimiter {
        Some(d) => d,
        None => detect_delimiter(&data[pos..]),
    };
    let first_fields = split_quoted(first_line, delim);
    let nfields = first_fields.len();
    let has_header = match opts.has_header {
        Some(h) => h,
        None => parse_time_bytes(first_fields[0].as_bytes(), opts.time_unit).is_none(),
    };
    let layout = if has_header {
        let names: Vec<&str> = first_fields.iter().map(String::as_str).collect();
        detect_columns(&names, &opts.columns).map_err(err_first)?
    } else {
        headerless_layout(nfields, &opts.columns).map_err(err_first)?
    };
    if layout.max_index() >= nfields {
        return Err(err_first(format!(
            "column {} is past the {nfields} columns of the file",
            layout.max_index()
        )));
    }
    let rows = RowParser {
        layout,
        unit: opts.time_unit,
        nfields,
        delim,
    };
    let (body, body_line) = if has_header {
        (&data[after_first..], first_line_no + 1)
    } else {
        (&data[pos..], first_line_no)
    };
    let offset = (data.len() - body.len()) as u64 + (total - data.len() as u64);

    let bars = if body.contains(&b'"') || layout.max_index() >= MAX_FAST_FIELDS {
        rows.parse_sequential(body, body_line, path, offset, total, progress)?
    } else {
        rows.parse_parallel(body, body_line, path, offset, total, progress)?
    };
    progress(total, total);
    Ok(bars)
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

/// Picks the delimiter that splits the first lines into the same number (> 0) of fields,
/// preferring the one giving the most fields; else the most frequent in the first line.
fn detect_delimiter(data: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !is_blank(l))
        .take(5)
        .collect();
    let count = |l: &[u8], d: u8| l.iter().filter(|&&b| b == d).count();
    let consistent = CANDIDATES
        .iter()
        .filter_map(|&d| {
            let n = count(lines[0], d);
            (n > 0 && lines.iter().all(|l| count(l, d) == n)).then_some((n, d))
        })
        .max_by_key(|&(n, d)| (n, std::cmp::Reverse(d == b',')));
    if let Some((_, d)) = consistent {
        return d;
    }
    CANDIDATES
        .iter()
        .map(|&d| (count(lines[0], d), d))
        .filter(|&(n, _)| n > 0)
        .max_by_key(|&(n, _)| n)
        .map_or(b',', |(_, d)| d)
}

/// Fields of one line, honouring quotes (only for the first line: a header may be quoted).
fn split_quoted(line: &[u8], delim: u8) -> Vec<String> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    let mut rec = ::csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect(),
        _ => vec![String::new()],
    }
}

/// What a parsing chunk returns: its bars and line count, or its first bad line (0-based
/// within the chunk) and why.
type ChunkResult = Result<(Bars, u64), (u64, String)>;

struct RowParser {
    layout: Layout,
    unit: TimeUnit,
    nfields: usize,
    delim: u8,
}

impl RowParser {
    /// One row from its fields (`get(i)` is field `i`), validated.
    #[inline]
    fn bar<'a>(&self, get: impl Fn(usize) -> &'a [u8]) -> Result<Bar, String> {
        let l = &self.layout;
        let ts = match l.time {
            TimeColumns::One(i) => parse_time_bytes(get(i), self.unit),
            TimeColumns::DateTime(d, t) => parse_date_and_time_bytes(get(d), get(t)),
        };
        let Some(ts) = ts else {
            return Err(match l.time {
                TimeColumns::One(i) => format!("unparsable time {:?}", lossy(get(i))),
                TimeColumns::DateTime(d, t) => format!(
                    "unparsable date and time {:?} {:?}",
                    lossy(get(d)),
                    lossy(get(t))
                ),
            });
        };
        let num = |i: usize, name: &str| {
            parse_f64(get(i)).ok_or_else(|| format!("unparsable {name} {:?}", lossy(get(i))))
        };
        let bar = l.bar(ts, num)?;
        check_bar(&bar)?;
        Ok(bar)
    }

    /// Parses the lines of one chunk (no quotes anywhere).
    fn parse_chunk(&self, chunk: &[u8], est_rows: usize) -> ChunkResult {
        let mut out = Bars::with_capacity(est_rows);
        let mut fields: [&[u8]; MAX_FAST_FIELDS] = [&[]; MAX_FAST_FIELDS];
        let mut line_idx = 0u64;
        let mut start = 0;
        while start < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |i| start + i);
            let mut line = &chunk[start..end];
            start = end + 1;
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if !line.is_empty() && !is_blank(line) {
                let mut n = 0;
                for f in line.split(|&b| b == self.delim) {
                    if n < MAX_FAST_FIELDS {
                        fields[n] = f;
                    }
                    n += 1;
                }
                if n != self.nfields {
                    return Err((line_idx, self.count_message(n)));
                }
                match self.bar(|i| fields[i]) {
                    Ok(b) => out.push(b),
                    Err(e) => return Err((line_idx, e)),
                }
            }
            line_idx += 1;
        }
        Ok((out, line_idx))
    }

    fn count_message(&self, n: usize) -> String {
        format!("expected {} fields, found {n}", self.nfields)
    }

    fn parse_parallel(
        &self,
        body: &[u8],
        first_line: u64,
        path: &Path,
        offset: u64,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Bars, ImportError> {
        let threads = rayon::current_num_threads().max(1);
        let n_chunks = body.len().div_ceil(CHUNK_BYTES).div_ceil(threads).max(1) * threads;
        let chunks = split_at_newlines(body, n_chunks);
        // Row capacity per chunk from the line length of a sample, so columns don't regrow.
        let sample = &body[..body.len().min(1 << 16)];
        let avg_line = (sample.len() / memchr::memchr_iter(b'\n', sample).count().max(1)).max(1);

        let mut parts: Vec<Bars> = Vec::with_capacity(chunks.len());
        let mut line = first_line;
        let mut done = offset;
        for group in chunks.chunks(threads) {
            let results: Vec<ChunkResult> = group
                .par_iter()
                .map(|c| self.parse_chunk(c, c.len() / avg_line + c.len() / avg_line / 8 + 16))
                .collect();
            for (res, c) in results.into_iter().zip(group) {
                match res {
                    Ok((bars, lines)) => {
                        parts.push(bars);
                        line += lines;
                    }
                    Err((at, msg)) => return Err(ImportError::line(path, line + at, msg)),
                }
                done += c.len() as u64;
            }
            progress(done.min(total), total);
        }
        if parts.len() == 1 {
            return Ok(parts.pop().unwrap_or_default());
        }
        let mut out = Bars::with_capacity(parts.iter().map(Bars::len).sum());
        for p in &parts {
            out.extend_from(p);
        }
        Ok(out)
    }

    fn parse_sequential(
        &self,
        body: &[u8],
        first_line: u64,
        path: &Path,
        offset: u64,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Bars, ImportError> {
        let mut rdr = ::csv::ReaderBuilder::new()
            .delimiter(self.delim)
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut rec = ::csv::ByteRecord::new();
        let mut out = Bars::new();
        loop {
            let more = rdr.read_byte_record(&mut rec).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() - 1);
                ImportError::line(path, first_line + line, e.to_string())
            })?;
            if !more {
                break;
            }
            let line = first_line + rec.position().map_or(0, |p| p.line() - 1);
            if rec.len() == 1 && is_blank(&rec[0]) {
                continue;
            }
            if rec.len() != self.nfields {
                return Err(ImportError::line(path, line, self.count_message(rec.len())));
            }
            let bar = self
                .bar(|i| &rec[i])
                .map_err(|m| ImportError::line(path, line, m))?;
            out.push(bar);
            if out.len().is_multiple_of(65_536) {
                let byte = rec.position().map_or(0, |p| p.byte());
                progress(offset + byte, total);
            }
        }
        Ok(out)
    }
}

/// Cuts `body` into about `n` pieces, each ending just after a newline (except the last).
fn split_at_newlines(body: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let target = body.len() / n.max(1) + 1;
    let mut start = 0;
    while start < body.len() {
        let want = (start + target).min(body.len());
        let end = match memchr::memchr(b'\n', &body[want..]) {
            _ if want == body.len() => body.len(),
            Some(i) => want + i + 1,
            None => body.len(),
        };
        out.push(&body[start..end]);
        start = end;
    }
    if out.is_empty() {
        out.push(body);
    }
    out
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

/// A number field: Rust's correctly rounded parser (so written floats read back bit-exactly),
/// after trimming spaces; a decimal comma (`1,5` in semicolon files) is accepted too.
#[inline]
fn parse_f64(field: &[u8]) -> Option<f64> {
    let f = field.trim_ascii();
    let s = std::str::from_utf8(f).ok()?;
    match s.parse::<f64>() {
        Ok(v) => Some(v),
        Err(_) if s.bytes().filter(|&b| b == b',').count() == 1 && !s.contains('.') => {
            s.replacen(',', ".", 1).parse().ok()
        }
        Err(_) => None,
    }
}

/// Rows formatted per parallel task when writing.
const WRITE_CHUNK_ROWS: usize = 32 * 1024;

/// Writes bars as CSV in the given order. Floats use the shortest text that reads back to
/// the same bits, so a write→read round trip is exact. Rows are formatted in parallel in
/// rounds of one chunk per thread and written in order, so memory stays at a few MB.
pub fn write_csv<W: Write>(bars: &Bars, mut w: W, opts: &CsvWriteOptions) -> std::io::Result<()> {
    if opts.header {
        let d = [opts.delimiter];
        let d = std::str::from_utf8(&d).unwrap_or(",");
        let header = ["time", "open", "high", "low", "close", "volume"].join(d);
        w.write_all(header.as_bytes())?;
        w.write_all(b"\n")?;
    }
    let threads = rayon::current_num_threads().max(1);
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); threads];
    let n = bars.len();
    let mut start = 0;
    while start < n {
        let round_end = (start + threads * WRITE_CHUNK_ROWS).min(n);
        bufs.par_iter_mut().enumerate().for_each(|(k, buf)| {
            buf.clear();
            let from = (start + k * WRITE_CHUNK_ROWS).min(round_end);
            let to = (from + WRITE_CHUNK_ROWS).min(round_end);
            format_rows(bars, from..to, opts, buf);
        });
        for buf in &bufs {
            w.write_all(buf)?;
        }
        start = round_end;
    }
    w.flush()
}

fn format_rows(
    bars: &Bars,
    rows: std::ops::Range<usize>,
    opts: &CsvWriteOptions,
    buf: &mut Vec<u8>,
) {
    let d = opts.delimiter;
    buf.reserve(rows.len() * 64);
    let mut fb = ryu::Buffer::new();
    let mut ib = itoa::Buffer::new();
    let mut tf = TimeFormatter::default();
    for i in rows {
        let ts = bars.ts[i];
        match opts.time_format {
            TimeFormat::Iso => tf.push(ts, buf),
            TimeFormat::EpochNanos => buf.extend_from_slice(ib.format(ts).as_bytes()),
            TimeFormat::EpochMillis => push_epoch(ts, 1_000_000, 6, buf, &mut ib),
            TimeFormat::EpochSeconds => push_epoch(ts, 1_000_000_000, 9, buf, &mut ib),
        }
        for v in [
            bars.open[i],
            bars.high[i],
            bars.low[i],
            bars.close[i],
            bars.volume[i],
        ] {
            buf.push(d);
            push_f64(v, buf, &mut fb);
        }
        buf.push(b'\n');
    }
}

/// Shortest text of `v` that reads back to the same bits (so write→read is exact).
///
/// Prices and volumes mostly have few decimals, so a fast path comes first: if
/// `k = round(v·10^d)` gives back `k / 10^d == v` (d = 8 below 10^7, else 4 below 10^11), then
/// `v` is the double nearest to the decimal k·10^-d (IEEE division and correctly rounded
/// parsing both pick the nearest), which has at most 15 significant digits and so is the
/// unique shortest text of `v`; it is printed with trailing zeros trimmed. Everything else
/// goes through ryu.
#[inline]
pub(crate) fn push_f64(v: f64, buf: &mut Vec<u8>, fb: &mut ryu::Buffer) {
    let a = v.abs();
    let (scale, digits) = if a < 1e7 {
        (100_000_000u64, 8)
    } else if a < 1e11 {
        (10_000, 4)
    } else {
        (0, 0)
    };
    if scale != 0 {
        // +0.5 and truncation rounds without a libm call (a < 1e15 here, so it fits);
        // any k that is off fails the check below and takes the ryu path.
        let k = (a * scale as f64 + 0.5) as u64;
        if k as f64 / scale as f64 == a {
            if v.is_sign_negative() {
                buf.push(b'-');
            }
            let mut ib = itoa::Buffer::new();
            buf.extend_from_slice(ib.format(k / scale).as_bytes());
            push_fraction(k % scale, digits, buf);
            return;
        }
    }
    buf.extend_from_slice(fb.format(v).as_bytes());
}

/// Appends `.` and the `digits`-digit fraction `frac` (zero-padded on the left) without
/// trailing zeros; nothing when `frac` is 0. `digits` is at most 9.
fn push_fraction(mut frac: u64, digits: usize, buf: &mut Vec<u8>) {
    if frac == 0 {
        return;
    }
    let mut d = [b'0'; 9];
    for k in (0..digits).rev() {
        d[k] += (frac % 10) as u8;
        frac /= 10;
    }
    let mut len = digits;
    while d[len - 1] == b'0' {
        len -= 1;
    }
    buf.push(b'.');
    buf.extend_from_slice(&d[..len]);
}

/// `ns` in units of `per` nanoseconds, with an exact decimal fraction when not whole.
fn push_epoch(ns: i64, per: u64, frac_digits: usize, buf: &mut Vec<u8>, ib: &mut itoa::Buffer) {
    let abs = ns.unsigned_abs();
    if ns < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(ib.format(abs / per).as_bytes());
    push_fraction(abs % per, frac_digits, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: f64) -> String {
        let mut b = Vec::new();
        push_f64(v, &mut b, &mut ryu::Buffer::new());
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn floats_are_shortest_and_exact() {
        for (v, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (100.0, "100"),
            (7012.34, "7012.34"),
            (-1.5, "-1.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-7, "0.0000001"),
            (1.5e-9, "1.5e-9"),
            (0.00000001, "0.00000001"),
            (9_999_999.999_999_99, "9999999.99999999"),
            (123_456_789.012_5, "123456789.0125"),
            (1e300, "1e300"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(text(v), want);
            assert_eq!(text(v).parse::<f64>().unwrap().to_bits(), v.to_bits());
        }
    }

    #[test]
    fn epochs_keep_their_fraction() {
        let mut b = Vec::new();
        let mut ib = itoa::Buffer::new();
        push_epoch(-1_500_000, 1_000_000, 6, &mut b, &mut ib);
        b.push(b' ');
        push_epoch(1_704_203_100_000_000_001, 1_000_000_000, 9, &mut b, &mut ib);
        assert_eq!(b, b"-1.5 1704203100.000000001");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn every_float_reads_back_bit_exactly(bits in proptest::prelude::any::<u64>(), cents in -10_000_000_000_000i64..10_000_000_000_000) {
            for v in [f64::from_bits(bits), cents as f64 / 100.0, cents as f64 / 1e8] {
                if v.is_finite() {
                    proptest::prop_assert_eq!(text(v).parse::<f64>().unwrap().to_bits(), v.to_bits());
                }
            }
        }
    }
}
