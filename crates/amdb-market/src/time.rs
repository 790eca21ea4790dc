//! Text ⇄ UTC-nanosecond timestamps: the ISO 8601 / RFC 3339 forms vendors' files use,
//! MetaTrader's dotted and compact dates, and epoch numbers in any unit.
//!
//! Parsing is the hot path of CSV import, so it works on bytes, allocates nothing and does
//! its own civil-date arithmetic (days-from-civil) instead of going through a date library.

use crate::timeframe::NANOS_PER_SECOND;

const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// The unit of epoch numbers (`1704203100`, `1704203100000`, `1704203100.5`).
///
/// `Auto` decides by the magnitude of the integer part, |n|:
/// `< 1e11` seconds, `< 1e14` milliseconds, `< 1e17` microseconds, else nanoseconds.
/// Each unit is then recognised for every time between 1973-03-03 and 5138-11-16 (and
/// seconds also back to year −1199), which covers market data; a millisecond epoch
/// before 1973-03-03 needs an explicit unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    #[default]
    Auto,
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    /// Nanoseconds per unit; `Auto` picks by the magnitude of `int_part` (see the type).
    fn nanos_for(self, int_part: u64) -> i64 {
        match self {
            TimeUnit::Seconds => 1_000_000_000,
            TimeUnit::Millis => 1_000_000,
            TimeUnit::Micros => 1_000,
            TimeUnit::Nanos => 1,
            TimeUnit::Auto => {
                if int_part < 100_000_000_000 {
                    1_000_000_000
                } else if int_part < 100_000_000_000_000 {
                    1_000_000
                } else if int_part < 100_000_000_000_000_000 {
                    1_000
                } else {
                    1
                }
            }
        }
    }

    /// Converts an epoch integer in this unit to nanoseconds; `None` when out of range.
    pub fn to_nanos(self, v: i64) -> Option<i64> {
        v.checked_mul(self.nanos_for(v.unsigned_abs()))
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => TimeUnit::Auto,
            "s" | "sec" | "secs" | "seconds" => TimeUnit::Seconds,
            "ms" | "millis" | "milliseconds" => TimeUnit::Millis,
            "us" | "micros" | "microseconds" => TimeUnit::Micros,
            "ns" | "nanos" | "nanoseconds" => TimeUnit::Nanos,
            _ => {
                return Err(format!(
                    "invalid time unit {s:?}: expected auto, s, ms, us or ns"
                ))
            }
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
/// Exact for every year an i64 of nanoseconds can reach.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (m as i64 + 9) % 12; // March = 0, so the leap day ends the year
    let doy = (153 * mp + 2) / 5 + d as i64 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month 1..=12, day 1..=31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            era * 400 + yoe + 1
        } else {
            era * 400 + yoe
        },
        m,
        d,
    )
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses a time into UTC nanoseconds since the epoch.
///
/// Accepts, after trimming spaces:
/// - ISO 8601 dates `2024-01-02` (also `2024.01.02` as MetaTrader writes, `2024/01/02`, and
///   compact `20240102`), optionally followed by `T` or spaces and `hh:mm[:ss[.fffffffff]]`
///   (compact `hhmm[ss]` after a compact date), then an optional offset `Z`, `±hh:mm`,
///   `±hhmm`, `±hh` or ` UTC`; no offset means UTC;
/// - epoch numbers, integer or decimal (`1704203100`, `-86400.25`, `1.7042031e9`), in
///   `unit` (see [`TimeUnit`] for how `Auto` decides). Decimals are converted exactly;
///   digits beyond nanoseconds are truncated.
pub fn parse_time(s: &str, unit: TimeUnit) -> Result<i64, String> {
    parse_time_bytes(s.as_bytes(), unit).ok_or_else(|| format!("unparsable time {s:?}"))
}

/// [`parse_time`] on bytes, without building an error message (the CSV hot path).
pub fn parse_time_bytes(s: &[u8], unit: TimeUnit) -> Option<i64> {
    let s = trim(s);
    // A date has a separator or 8 digits then a time; an epoch number is only digits,
    // sign, point and exponent. Compact `yyyymmdd` is 8 digits and would also read as an
    // epoch: as a date it wins, since 8-digit epochs (1970-04) are not market data.
    let looks_like_date = s.len() >= 8
        && s[..4].iter().all(u8::is_ascii_digit)
        && (matches!(s[4], b'-' | b'.' | b'/')
            || (s[..8].iter().all(u8::is_ascii_digit)
                && (s.len() == 8 || matches!(s[8], b'T' | b't' | b' '))));
    if looks_like_date {
        parse_datetime(s)
    } else {
        parse_epoch(s, unit)
    }
}

/// Parses a date field and a separate time-of-day field (MetaTrader's `<DATE>`,`<TIME>`
/// columns, or `Date`,`Time`) as one time.
pub fn parse_date_and_time_bytes(date: &[u8], time: &[u8]) -> Option<i64> {
    let (date, time) = (trim(date), trim(time));
    let mut buf = [0u8; 80];
    let n = date.len() + 1 + time.len();
    if n > buf.len() {
        return None;
    }
    buf[..date.len()].copy_from_slice(date);
    buf[date.len()] = b' ';
    buf[date.len() + 1..n].copy_from_slice(time);
    parse_datetime(&buf[..n])
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Reads exactly `n` ASCII digits at `*i` as a number.
#[inline]
fn digits(s: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let d = s.get(*i..*i + n)?;
    let mut v = 0u32;
    for &c in d {
        let x = c.wrapping_sub(b'0');
        if x > 9 {
            return None;
        }
        v = v * 10 + x as u32;
    }
    *i += n;
    Some(v)
}

fn parse_datetime(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    let year = digits(s, &mut i, 4)? as i64;
    let compact = s[i].is_ascii_digit();
    let (month, day) = if compact {
        (digits(s, &mut i, 2)?, digits(s, &mut i, 2)?)
    } else {
        let sep = s[i];
        i += 1;
        let m = digits(s, &mut i, 2)?;
        if s.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
        (m, digits(s, &mut i, 2)?)
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut nanos_of_day: i64 = 0;
    let mut offset_secs: i64 = 0;
    if i < s.len() {
        // Separator between date and time: `T` or one or more spaces.
        match s[i] {
            b'T' | b't' => i += 1,
            b' ' => {
                while s.get(i) == Some(&b' ') {
                    i += 1;
                }
            }
            _ => return None,
        }
        let hour = digits(s, &mut i, 2)?;
        let time_compact = s.get(i) != Some(&b':');
        if !time_compact {
            i += 1;
        } else if !compact {
            return None; // compact times only follow compact dates
        }
        let minute = digits(s, &mut i, 2)?;
        let mut second = 0;
        let has_seconds = if time_compact {
            s.get(i).is_some_and(u8::is_ascii_digit)
        } else if s.get(i) == Some(&b':') {
            i += 1;
            true
        } else {
            false
        };
        if has_seconds {
            second = digits(s, &mut i, 2)?;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut frac: i64 = 0;
        if has_seconds && matches!(s.get(i), Some(b'.' | b',')) {
            i += 1;
            let start = i;
            let mut scale = 100_000_000;
            while let Some(&c) = s.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                frac += (c - b'0') as i64 * scale;
                scale /= 10;
                i += 1;
            }
            if i == start || i - start > 9 {
                return None;
            }
        }
        nanos_of_day =
            (hour as i64 * 3600 + minute as i64 * 60 + second as i64) * NANOS_PER_SECOND + frac;
        offset_secs = parse_offset(s, &mut i)?;
    }
    if i != s.len() {
        return None;
    }
    // i128 because the day's start may lie outside i64 while the time itself does not
    // (1677-09-21T00:12:43.145224192Z is i64::MIN).
    let ns = days_from_civil(year, month, day) as i128 * NANOS_PER_DAY as i128
        + nanos_of_day as i128
        - offset_secs as i128 * NANOS_PER_SECOND as i128;
    i64::try_from(ns).ok()
}

/// An optional UTC offset at `*i`, in seconds east of UTC.
fn parse_offset(s: &[u8], i: &mut usize) -> Option<i64> {
    while s.get(*i) == Some(&b' ') {
        *i += 1;
    }
    let Some(&c) = s.get(*i) else {
        return Some(0);
    };
    match c {
        b'Z' | b'z' => {
            *i += 1;
            Some(0)
        }
        b'U' if &s[*i..] == b"UTC" => {
            *i += 3;
            Some(0)
        }
        b'+' | b'-' => {
            *i += 1;
            let h = digits(s, i, 2)?;
            let mut m = 0;
            if s.get(*i) == Some(&b':') {
                *i += 1;
                m = digits(s, i, 2)?;
            } else if *i < s.len() {
                m = digits(s, i, 2)?;
            }
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i64;
            Some(if c == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

fn parse_epoch(s: &[u8], unit: TimeUnit) -> Option<i64> {
    let (neg, body) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.iter().any(|&c| c == b'e' || c == b'E') {
        return parse_epoch_float(s, unit);
    }
    let (int, frac) = match body.iter().position(|&c| c == b'.') {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[..0]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in int {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(d as u64)?;
    }
    let per = unit.nanos_for(n) as u64;
    // The fraction of a unit, in nanoseconds, exactly: digits beyond 1 ns are dropped.
    let mut f: u64 = 0;
    let mut scale = per;
    for &c in frac {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        scale /= 10;
        f += d as u64 * scale;
    }
    let total = (n as i128) * per as i128 + f as i128;
    let total = if neg { -total } else { total };
    i64::try_from(total).ok()
}

/// Epochs in exponent notation (`1.7042031e9`, as spreadsheets and pandas floats write).
fn parse_epoch_float(s: &[u8], unit: TimeUnit) -> Option<i64> {
    epoch_f64_to_nanos(std::str::from_utf8(s).ok()?.parse().ok()?, unit)
}

/// A floating-point epoch (SQLite REAL, float columns) in nanoseconds, rounded to the
/// nearest; `None` when not finite or out of range.
pub fn epoch_f64_to_nanos(v: f64, unit: TimeUnit) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    let per = unit.nanos_for(v.abs().min(u64::MAX as f64) as u64) as f64;
    let ns = (v * per).round();
    (ns >= i64::MIN as f64 && ns < i64::MAX as f64).then_some(ns as i64)
}

/// Formats UTC nanoseconds as RFC 3339, `2024-01-02T13:45:00Z`, with the shortest exact
/// fraction (`.5`, `.000000001`) when the time is not a whole second.
pub fn format_time(ns: i64) -> String {
    let mut out = Vec::with_capacity(30);
    push_time(ns, &mut out);
    // push_time writes only ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`format_time`]'s text to `out` without allocating.
pub fn push_time(ns: i64, out: &mut Vec<u8>) {
    TimeFormatter::default().push(ns, out);
}

/// Formats many times as [`format_time`] does, remembering the last date's text: bars of a
/// day share it, so the writers skip the civil-date division for most rows.
#[derive(Debug, Clone)]
pub struct TimeFormatter {
    day: i64,
    date: [u8; 11],
}

impl Default for TimeFormatter {
    fn default() -> Self {
        TimeFormatter {
            day: i64::MIN,
            date: *b"0000-00-00T",
        }
    }
}

impl TimeFormatter {
    #[inline]
    pub fn push(&mut self, ns: i64, out: &mut Vec<u8>) {
        let days = ns.div_euclid(NANOS_PER_DAY);
        let nod = ns.rem_euclid(NANOS_PER_DAY);
        if days != self.day {
            let (y, m, d) = civil_from_days(days);
            // i64 nanoseconds span years 1677..=2262, always four digits.
            let y = y as u32;
            let mut b = *b"0000-00-00T";
            b[0] += (y / 1000 % 10) as u8;
            b[1] += (y / 100 % 10) as u8;
            b[2] += (y / 10 % 10) as u8;
            b[3] += (y % 10) as u8;
            b[5] += (m / 10) as u8;
            b[6] += (m % 10) as u8;
            b[8] += (d / 10) as u8;
            b[9] += (d % 10) as u8;
            self.date = b;
            self.day = days;
        }
        let secs = (nod / NANOS_PER_SECOND) as u32;
        let frac = (nod % NANOS_PER_SECOND) as u32;
        let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
        let mut t = *b"00:00:00";
        t[0] += (hh / 10) as u8;
        t[1] += (hh % 10) as u8;
        t[3] += (mm / 10) as u8;
        t[4] += (mm % 10) as u8;
        t[6] += (ss / 10) as u8;
        t[7] += (ss % 10) as u8;
        out.extend_from_slice(&self.date);
        out.extend_from_slice(&t);
        if frac != 0 {
            let mut f = *b".000000000";
            let mut v = frac;
            for k in (1..10).rev() {
                f[k] += (v % 10) as u8;
                v /= 10;
            }
            let mut len = 10;
            while f[len - 1] == b'0' {
                len -= 1;
            }
            out.extend_from_slice(&f[..len]);
        }
        out.push(b'Z');
    }
}

/// Parses a `--from`/`--to` style command-line argument: anything [`parse_time`] accepts
/// (a date means its midnight UTC; epoch numbers use `Auto`), plus `now` and `today`.
/// The error says what forms are accepted.
pub fn parse_time_or_date_arg(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let now = || {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    };
    match t.to_ascii_lowercase().as_str() {
        "now" => return Ok(now()),
        "today" => return Ok(now().div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY),
        _ => {}
    }
    parse_time(t, TimeUnit::Auto).map_err(|_| {
        format!(
            "invalid time {s:?}: expected a date (2024-01-02), a date and time \
             (2024-01-02T13:45:00Z, 2024-01-02 13:45, offsets like +02:00 allowed), \
             an epoch number (seconds, ms, us or ns), now or today"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: i64 = NANOS_PER_SECOND;

    fn p(s: &str) -> i64 {
        parse_time(s, TimeUnit::Auto).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn iso_forms() {
        let t = 1_704_203_100 * S; // 2024-01-02T13:45:00Z
        assert_eq!(p("2024-01-02T13:45:00Z"), t);
        assert_eq!(p("2024-01-02 13:45:00"), t);
        assert_eq!(p("2024-01-02 13:45"), t);
        assert_eq!(p("  2024-01-02T13:45:00+00:00 "), t);
        assert_eq!(p("2024-01-02T15:45:00+02:00"), t);
        assert_eq!(p("2024-01-02T15:45:00+0200"), t);
        assert_eq!(p("2024-01-02T15:45:00+02"), t);
        assert_eq!(p("2024-01-02T08:15:00-05:30"), t);
        assert_eq!(p("2024-01-02 13:45:00 UTC"), t);
        assert_eq!(p("2024-01-02T13:45:00.5Z"), t + S / 2);
        assert_eq!(p("2024-01-02T13:45:00.000000001Z"), t + 1);
        assert_eq!(p("2024-01-02T13:45:00.123456789"), t + 123_456_789);
        assert_eq!(p("2024-01-02"), 1_704_153_600 * S);
        assert_eq!(p("2024.01.02"), 1_704_153_600 * S);
        assert_eq!(p("2024/01/02"), 1_704_153_600 * S);
        assert_eq!(p("20240102"), 1_704_153_600 * S);
        assert_eq!(p("20240102 13:45"), t);
        assert_eq!(p("20240102 134500"), t);
        assert_eq!(p("20240102T134500Z"), t);
    }

    #[test]
    fn rejects_bad_times() {
        for s in [
            "",
            "x",
            "2024-13-01",
            "2024-02-30",
            "2023-02-29",
            "2024-01-02T24:00",
            "2024-01-02T13:60",
            "2024-01-02T13:45:61",
            "2024-01-02T13:45:00.1234567890",
            "2024-01-02T13:45:00+25:00",
            "2024-01-02X",
            "2024-01.02",
            "2024-01-02 13:45 junk",
            "1e400",
            "12a",
            "3000-01-01",
            "--5",
            ".",
        ] {
            assert!(parse_time(s, TimeUnit::Auto).is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn leap_years_and_pre_1970() {
        assert_eq!(
            p("2024-02-29"),
            days_from_civil(2024, 2, 29) * NANOS_PER_DAY
        );
        assert_eq!(p("2000-02-29"), 951_782_400 * S);
        assert!(parse_time("1900-02-29", TimeUnit::Auto).is_err());
        assert_eq!(p("1969-12-31T23:59:59Z"), -S);
        assert_eq!(p("1969-12-31T23:59:59.999999999Z"), -1);
        assert_eq!(p("1900-01-01"), -2_208_988_800 * S);
        assert_eq!(p("1677-09-21T00:12:43.145224192Z"), i64::MIN);
        assert_eq!(p("2262-04-11T23:47:16.854775807Z"), i64::MAX);
        assert!(parse_time("2262-04-11T23:47:16.854775808Z", TimeUnit::Auto).is_err());
    }

    #[test]
    fn epochs_by_unit_and_magnitude() {
        let t = 1_704_203_100i64;
        assert_eq!(p("1704203100"), t * S);
        assert_eq!(p("1704203100000"), t * S);
        assert_eq!(p("1704203100000000"), t * S);
        assert_eq!(p("1704203100000000000"), t * S);
        assert_eq!(p("1704203100.5"), t * S + S / 2);
        assert_eq!(p("1704203100000.25"), t * S + 250_000);
        assert_eq!(p("-86400"), -86_400 * S);
        assert_eq!(p("-1.5"), -3 * S / 2);
        assert_eq!(p("1.7042031e9"), t * S);
        assert_eq!(parse_time("86400", TimeUnit::Millis), Ok(86_400_000_000));
        assert_eq!(parse_time("5", TimeUnit::Nanos), Ok(5));
        assert_eq!(parse_time("5", TimeUnit::Micros), Ok(5_000));
        assert_eq!(
            parse_time("9223372036854775807", TimeUnit::Nanos),
            Ok(i64::MAX)
        );
        assert!(parse_time("9223372036854775808", TimeUnit::Nanos).is_err());
        assert!(parse_time("99999999999", TimeUnit::Seconds).is_err());
    }

    #[test]
    fn formats_shortest_exact_fraction() {
        assert_eq!(format_time(1_704_203_100 * S), "2024-01-02T13:45:00Z");
        assert_eq!(
            format_time(1_704_203_100 * S + S / 2),
            "2024-01-02T13:45:00.5Z"
        );
        assert_eq!(format_time(1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(format_time(i64::MIN), "1677-09-21T00:12:43.145224192Z");
        assert_eq!(format_time(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    }

    #[test]
    fn cli_args() {
        assert_eq!(parse_time_or_date_arg("2024-01-01"), Ok(1_704_067_200 * S));
        assert!(parse_time_or_date_arg("now").is_ok());
        let e = parse_time_or_date_arg("yesterday").unwrap_err();
        assert!(e.contains("2024-01-02"), "{e}");
    }

    #[test]
    fn civil_days_agree_over_a_wide_range() {
        let mut expect = days_from_civil(1600, 1, 1);
        for y in 1600..2400 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), expect);
                    assert_eq!(civil_from_days(expect), (y, m, d));
                    expect += 1;
                }
            }
        }
    }

    proptest! {
        #[test]
        fn format_parse_roundtrip(ns in any::<i64>()) {
            prop_assert_eq!(parse_time(&format_time(ns), TimeUnit::Auto), Ok(ns));
        }

        #[test]
        fn offsets_shift_exactly(secs in -6_000_000_000i64..9_000_000_000, off_min in -1439i64..=1439) {
            let ns = secs * S;
            let local = ns + off_min * 60 * S;
            let text = format_time(local);
            let sign = if off_min < 0 { '-' } else { '+' };
            let a = off_min.abs();
            let with_off = format!("{}{sign}{:02}:{:02}", &text[..text.len() - 1], a / 60, a % 60);
            if let Ok(v) = parse_time(&with_off, TimeUnit::Auto) {
                prop_assert_eq!(v, ns);
            }
        }

        #[test]
        fn epoch_seconds_roundtrip(secs in -99_999_999_999i64..99_999_999_999) {
            // Eight digits are a compact date by the documented rule, never epoch seconds.
            let compact_date = (10_000_000..=99_999_999).contains(&secs);
            if let (Some(ns), false) = (secs.checked_mul(S), compact_date) {
                prop_assert_eq!(parse_time(&secs.to_string(), TimeUnit::Auto), Ok(ns));
            }
        }
    }
}
