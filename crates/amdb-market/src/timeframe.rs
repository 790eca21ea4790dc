//! Timeframes: the fixed bucket width of a series (1m, 15m, 1h, 1d, or any custom width).

use std::fmt;
use std::str::FromStr;

pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
const UNITS: [(&str, i64); 5] = [
    ("w", 7 * 86_400 * NANOS_PER_SECOND),
    ("d", 86_400 * NANOS_PER_SECOND),
    ("h", 3_600 * NANOS_PER_SECOND),
    ("m", 60 * NANOS_PER_SECOND),
    ("s", NANOS_PER_SECOND),
];

/// A bucket width in nanoseconds. Buckets are aligned to the Unix epoch (so daily bars open
/// at 00:00 UTC and 4h bars at 00:00, 04:00, ...): pandas' `resample(origin="epoch")`. For
/// widths that divide a day this equals pandas' default (`origin="start_day"`); weekly and
/// multi-day widths differ (a `1w` bucket opens on a Thursday, the epoch's weekday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeframe {
    nanos: i64,
}

impl Timeframe {
    pub const M1: Timeframe = Timeframe::from_secs(60);
    pub const M5: Timeframe = Timeframe::from_secs(300);
    pub const M15: Timeframe = Timeframe::from_secs(900);
    pub const M30: Timeframe = Timeframe::from_secs(1800);
    pub const H1: Timeframe = Timeframe::from_secs(3600);
    pub const H4: Timeframe = Timeframe::from_secs(4 * 3600);
    pub const D1: Timeframe = Timeframe::from_secs(86_400);

    pub const fn from_secs(secs: i64) -> Timeframe {
        Timeframe {
            nanos: secs * NANOS_PER_SECOND,
        }
    }

    /// A timeframe of `nanos` nanoseconds; `None` unless positive.
    pub fn from_nanos(nanos: i64) -> Option<Timeframe> {
        (nanos > 0).then_some(Timeframe { nanos })
    }

    pub fn nanos(self) -> i64 {
        self.nanos
    }

    /// The open time of the bucket containing `ts`.
    pub fn bucket_start(self, ts: i64) -> i64 {
        // Saturates for the few buckets that would start before i64::MIN.
        ts.saturating_sub(ts.rem_euclid(self.nanos))
    }

    /// True when `ts` is a bucket open time of this timeframe.
    pub fn is_aligned(self, ts: i64) -> bool {
        ts.rem_euclid(self.nanos) == 0
    }
}

impl fmt::Display for Timeframe {
    /// The shortest exact form: `15m`, `1h`, `4h`, `1d`, `90s`, `1w`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, n) in UNITS {
            if self.nanos % n == 0 {
                return write!(f, "{}{unit}", self.nanos / n);
            }
        }
        write!(f, "{}ns", self.nanos)
    }
}

impl FromStr for Timeframe {
    type Err = String;

    /// Accepts `<count><unit>` with unit `s`, `m`/`min`, `h`, `d`, `w` (or `ns` for odd
    /// widths), e.g. `1m`, `15m`, `15min`, `1h`, `4h`, `1d`, `90s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (count, unit) = t.split_at(split);
        let bad = || {
            format!("invalid timeframe {s:?}: expected a count and a unit, e.g. 1m, 15m, 1h, 4h, 1d, 90s")
        };
        let count: i64 = count.parse().map_err(|_| bad())?;
        let unit_nanos = match unit.to_ascii_lowercase().as_str() {
            "ns" => 1,
            "s" | "sec" => NANOS_PER_SECOND,
            "m" | "min" | "t" => 60 * NANOS_PER_SECOND,
            "h" => 3_600 * NANOS_PER_SECOND,
            "d" => 86_400 * NANOS_PER_SECOND,
            "w" => 7 * 86_400 * NANOS_PER_SECOND,
            _ => return Err(bad()),
        };
        count
            .checked_mul(unit_nanos)
            .and_then(Timeframe::from_nanos)
            .ok_or_else(|| {
                format!("invalid timeframe {s:?}: must be positive and at most 292 years")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_common_timeframes() {
        for s in ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "90s"] {
            let tf: Timeframe = s.parse().unwrap();
            assert_eq!(tf.to_string(), s);
        }
        assert_eq!("15min".parse::<Timeframe>().unwrap(), Timeframe::M15);
        assert_eq!("60m".parse::<Timeframe>().unwrap(), Timeframe::H1);
        assert!("0m".parse::<Timeframe>().is_err());
        assert!("m".parse::<Timeframe>().is_err());
        assert!("15x".parse::<Timeframe>().is_err());
    }

    #[test]
    fn buckets_align_to_the_epoch_also_before_it() {
        let h = Timeframe::H1.nanos();
        assert_eq!(Timeframe::H1.bucket_start(h + 5), h);
        assert_eq!(Timeframe::H1.bucket_start(-5), -h);
        assert!(Timeframe::D1.is_aligned(0));
    }
}
