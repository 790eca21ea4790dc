//! Number and UTC date formatting shared by every output, so the terminal, the charts and
//! the HTML page show a value the same way.

use super::MetricUnit;

pub(crate) const NS_PER_SEC: i64 = 1_000_000_000;
pub(crate) const SECS_PER_DAY: i64 = 86_400;
pub(crate) const NS_PER_DAY: i64 = NS_PER_SEC * SECS_PER_DAY;

/// Shown for `NaN` everywhere but JSON.
pub(crate) const NOT_AVAILABLE: &str = "n/a";

// ---------------------------------------------------------------------------------------
// Calendar

/// Days since 1970-01-01 of a proleptic Gregorian date.
///
/// Counts in 400-year eras (146,097 days, always the same) starting on March 1st, so the
/// leap day is the last day of the counted year and needs no special case.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // 0..=399
    let day_of_year = (153 * i64::from(m) + 2) / 5 + i64::from(day) - 1; // from March 1st
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The date `(year, month 1..=12, day 1..=31)` of a day count since 1970-01-01; the
/// inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // 0..=146,096
                                        // Undo the 4-, 100- and 400-year leap corrections to get the year within the era.
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // month counted from March, 0..=11
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A UTC instant broken into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

pub(crate) fn civil_from_ns(ns: i64) -> Civil {
    let days = ns.div_euclid(NS_PER_DAY);
    let secs_of_day = ns.rem_euclid(NS_PER_DAY) / NS_PER_SEC;
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (secs_of_day / 3600) as u32,
        minute: (secs_of_day / 60 % 60) as u32,
        second: (secs_of_day % 60) as u32,
    }
}

/// `2024-03-15`.
pub(crate) fn format_date(ns: i64) -> String {
    let c = civil_from_ns(ns);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// RFC 3339 in UTC with whole seconds, `2024-03-15T14:30:00Z` (for JSON; the nanoseconds
/// are kept separately there).
pub(crate) fn format_rfc3339(ns: i64) -> String {
    let c = civil_from_ns(ns);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// How much of a timestamp a table shows: no more than the data needs, so daily bars show
/// dates, not a column of `00:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimePrecision {
    Day,
    Minute,
    Second,
}

impl TimePrecision {
    /// The coarsest precision that shows every timestamp exactly (to the second).
    pub(crate) fn for_timestamps(ts: impl IntoIterator<Item = i64>) -> TimePrecision {
        let mut precision = TimePrecision::Day;
        for t in ts {
            if t.rem_euclid(NS_PER_SEC * 60) != 0 {
                return TimePrecision::Second;
            }
            if t.rem_euclid(NS_PER_DAY) != 0 {
                precision = TimePrecision::Minute;
            }
        }
        precision
    }

    pub(crate) fn format(self, ns: i64) -> String {
        let c = civil_from_ns(ns);
        match self {
            TimePrecision::Day => format!("{:04}-{:02}-{:02}", c.year, c.month, c.day),
            TimePrecision::Minute => format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                c.year, c.month, c.day, c.hour, c.minute
            ),
            TimePrecision::Second => format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                c.year, c.month, c.day, c.hour, c.minute, c.second
            ),
        }
    }
}

/// A span in seconds as the two largest units: `3d 4h`, `2h 15m`, `5m 30s`, `45s`.
pub(crate) fn format_duration_secs(secs: f64) -> String {
    if !secs.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let sign = if secs < 0.0 { "-" } else { "" };
    let s = secs.abs().round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let body = if d > 0 {
        format!("{}d {h}h", group_thousands(&d.to_string()))
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    };
    format!("{sign}{body}")
}

// ---------------------------------------------------------------------------------------
// Numbers

/// Inserts `,` every three digits into the integer part of a plain decimal string
/// (`-1234567.89` becomes `-1,234,567.89`).
pub(crate) fn group_thousands(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    out.push_str(sign);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out.push_str(frac);
    out
}

/// Fixed decimals with thousands separators; `-0.00` becomes `0.00` because a sign on zero
/// reads as a loss that did not happen.
pub(crate) fn format_grouped(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    };
    group_thousands(&s)
}

fn non_finite(v: f64) -> String {
    if v.is_nan() {
        NOT_AVAILABLE.to_string()
    } else if v > 0.0 {
        "inf".to_string()
    } else {
        "-inf".to_string()
    }
}

/// Drops trailing zeros after the decimal point (and the point itself if nothing is left).
pub(crate) fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" {
        "0".to_string()
    } else {
        t.to_string()
    }
}

pub(crate) fn format_percent(frac: f64, decimals: usize) -> String {
    if !frac.is_finite() {
        return non_finite(frac);
    }
    format!("{}%", format_grouped(frac * 100.0, decimals))
}

/// Like [`format_percent`] with an explicit `+` on gains, for returns in trade lists.
pub(crate) fn format_signed_percent(frac: f64, decimals: usize) -> String {
    let s = format_percent(frac, decimals);
    // A gain that rounds to zero gets no sign: "+0.00%" would claim a direction.
    if frac > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{s}")
    } else {
        s
    }
}

/// Sharpe-like ratios: 3 decimals below 10, where the third digit still matters when
/// comparing runs, 2 above.
pub(crate) fn format_ratio(v: f64) -> String {
    if v.is_finite() && v.abs() >= 10.0 {
        format_grouped(v, 2)
    } else {
        format_grouped(v, 3)
    }
}

/// A price with as many decimals as its magnitude needs (about 6 significant digits, at
/// least 2 decimals, at most 8), so BTC, EURUSD and a micro-cap token all read well.
pub(crate) fn format_price(v: f64) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    if v == 0.0 {
        return "0.00".to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(2, 8) as usize;
    let s = format_grouped(v, decimals);
    // Drop zeros beyond the second decimal: 150.230 reads as 150.23.
    let keep = s.find('.').map_or(s.len(), |p| p + 3);
    let trimmed = s.trim_end_matches('0');
    if trimmed.len() < keep {
        s[..keep].to_string()
    } else {
        trimmed.to_string()
    }
}

/// Quantities: up to 6 decimals, trailing zeros dropped (`0.5`, `1,200`, `0.000125`).
pub(crate) fn format_qty(v: f64) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    trim_zeros(format_grouped(v, 6))
}

/// Parameter values on axes and in titles: integers without a point, others with up to 4
/// decimals (`10`, `0.5`, `2.25`).
pub(crate) fn format_param(v: f64) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    trim_zeros(format!("{v:.4}"))
}

pub(crate) fn format_value(v: f64, unit: MetricUnit) -> String {
    match unit {
        MetricUnit::Ratio => format_ratio(v),
        MetricUnit::Percent => format_percent(v, 2),
        MetricUnit::Count => format_grouped(v.round(), 0),
        MetricUnit::Money => format_grouped(v, 2),
        MetricUnit::Duration => format_duration_secs(v),
        MetricUnit::Number => {
            if v.is_finite() {
                trim_zeros(format_grouped(v, 4))
            } else {
                non_finite(v)
            }
        }
    }
}

/// Shorter form for chart cells and color-bar ticks, where width is scarce: one decimal
/// fewer for percents and ratios.
pub(crate) fn format_compact(v: f64, unit: MetricUnit) -> String {
    match unit {
        MetricUnit::Percent => format_percent(v, 1),
        MetricUnit::Ratio => format_grouped(v, 2),
        MetricUnit::Money => format_money_compact(v),
        _ => format_value(v, unit),
    }
}

/// Money on axes: `950`, `12.5k`, `1.25M`.
pub(crate) fn format_money_compact(v: f64) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{}B", trim_zeros(format!("{:.2}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim_zeros(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim_zeros(format!("{:.1}", v / 1e3)))
    } else {
        trim_zeros(format_grouped(v, 2))
    }
}

/// An axis tick: as many decimals as the tick spacing needs, with thousands separators.
pub(crate) fn format_axis_number(v: f64, step: f64) -> String {
    format_grouped(v, decimals_for_step(step))
}

/// Fewest decimals that show a multiple of `step` exactly (`2.5` needs 1, `0.25` 2,
/// `100` none), at most 6.
pub(crate) fn decimals_for_step(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6)
}

/// Money on a chart axis: `k`/`M`/`B` suffixes from ten thousand up, with as many
/// decimals as the tick spacing `step` needs so neighbouring ticks never read the same.
pub(crate) fn format_axis_money(v: f64, step: f64, largest: f64) -> String {
    let (unit, suffix) = if largest >= 1e9 {
        (1e9, "B")
    } else if largest >= 1e6 {
        (1e6, "M")
    } else if largest >= 1e4 {
        (1e3, "k")
    } else {
        return format_axis_number(v, step);
    };
    format!(
        "{}{suffix}",
        format_grouped(v / unit, decimals_for_step(step / unit))
    )
}

/// The spacing of sorted tick values (the smallest gap, ignoring repeats).
pub(crate) fn tick_step(ticks: &[f64]) -> f64 {
    ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(
            civil_from_days(days_from_civil(1900, 3, 1) - 1),
            (1900, 2, 28)
        );
        for d in -800_000..800_000 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(
            format_rfc3339(1_710_513_000 * NS_PER_SEC),
            "2024-03-15T14:30:00Z"
        );
        assert_eq!(format_date(-1), "1969-12-31");
    }

    #[test]
    fn numbers() {
        assert_eq!(group_thousands("1234567.891"), "1,234,567.891");
        assert_eq!(group_thousands("-123"), "-123");
        assert_eq!(format_grouped(-0.001, 2), "0.00");
        assert_eq!(format_value(0.12345, MetricUnit::Percent), "12.35%");
        assert_eq!(format_value(1.23456, MetricUnit::Ratio), "1.235");
        assert_eq!(format_value(12.3456, MetricUnit::Ratio), "12.35");
        assert_eq!(
            format_value(1_234_567.891, MetricUnit::Money),
            "1,234,567.89"
        );
        assert_eq!(format_value(1234.0, MetricUnit::Count), "1,234");
        assert_eq!(format_value(f64::NAN, MetricUnit::Ratio), "n/a");
        assert_eq!(format_value(277_200.0, MetricUnit::Duration), "3d 5h");
        assert_eq!(format_value(0.5, MetricUnit::Number), "0.5");
        assert_eq!(format_price(43_000.5), "43,000.50");
        assert_eq!(format_price(1.08453), "1.08453");
        assert_eq!(format_price(150.23), "150.23");
        assert_eq!(format_price(0.00001234), "0.00001234");
        assert_eq!(format_param(10.0), "10");
        assert_eq!(format_param(0.25), "0.25");
        assert_eq!(format_money_compact(12_500.0), "12.5k");
        assert_eq!(format_money_compact(1_250_000.0), "1.25M");
        assert_eq!(format_signed_percent(0.05, 2), "+5.00%");
        assert_eq!(format_axis_number(0.25, 0.05), "0.25");
        assert_eq!(format_axis_money(102_500.0, 2_500.0, 110_000.0), "102.5k");
        assert_eq!(format_axis_money(110_000.0, 10_000.0, 110_000.0), "110k");
        assert_eq!(
            format_axis_money(1_200_500.0, 500.0, 1_300_000.0),
            "1.2005M"
        );
        assert_eq!(format_axis_money(9_500.0, 500.0, 9_800.0), "9,500");
    }
}
