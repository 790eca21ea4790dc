//! A time axis with ticks on calendar boundaries (midnights, month and year starts) in UTC.
//!
//! plotters' integer axis would put ticks at round nanosecond counts, which land at odd
//! times of day; people read charts by dates, so ticks go where dates change.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use super::format::{civil_from_ns, days_from_civil, NS_PER_DAY, NS_PER_SEC};

/// The spacing between ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A fixed number of seconds, aligned to multiples of it since the epoch (a week is
    /// aligned to Mondays).
    Seconds(i64),
    Months(u32),
    Years(i64),
}

/// Fixed steps from a minute to a fortnight, then calendar months and years.
const STEPS: &[Step] = &[
    Step::Seconds(1),
    Step::Seconds(5),
    Step::Seconds(15),
    Step::Seconds(30),
    Step::Seconds(60),
    Step::Seconds(5 * 60),
    Step::Seconds(15 * 60),
    Step::Seconds(30 * 60),
    Step::Seconds(3600),
    Step::Seconds(2 * 3600),
    Step::Seconds(3 * 3600),
    Step::Seconds(6 * 3600),
    Step::Seconds(12 * 3600),
    Step::Seconds(86_400),
    Step::Seconds(2 * 86_400),
    Step::Seconds(7 * 86_400),
    Step::Seconds(14 * 86_400),
    Step::Months(1),
    Step::Months(2),
    Step::Months(3),
    Step::Months(6),
    Step::Years(1),
    Step::Years(2),
    Step::Years(5),
    Step::Years(10),
    Step::Years(20),
    Step::Years(50),
    Step::Years(100),
];

/// 1970-01-05 was a Monday: weekly ticks fall on Mondays.
const MONDAY_OFFSET_NS: i64 = 4 * NS_PER_DAY;

/// The axis of an equity chart: UTC nanoseconds from `start` to `end`.
#[derive(Debug, Clone)]
pub(crate) struct TimeAxis {
    start: i64,
    end: i64,
    step: Step,
    ticks: Vec<i64>,
}

impl TimeAxis {
    /// An axis over `[start, end]` with at most `max_ticks` ticks, choosing the finest
    /// calendar step that fits.
    pub(crate) fn new(start: i64, end: i64, max_ticks: usize) -> TimeAxis {
        let end = end.max(start.saturating_add(1));
        let max_ticks = max_ticks.max(2);
        for &step in STEPS {
            let ticks = ticks_for(start, end, step, max_ticks + 1);
            if ticks.len() <= max_ticks {
                return TimeAxis {
                    start,
                    end,
                    step,
                    ticks,
                };
            }
        }
        let step = Step::Years(100);
        TimeAxis {
            start,
            end,
            step,
            ticks: ticks_for(start, end, step, usize::MAX),
        }
    }

    /// The tick label: as precise as the step (a year, a month, a date, a time).
    pub(crate) fn label(&self, t: i64) -> String {
        let c = civil_from_ns(t);
        match self.step {
            Step::Years(_) => format!("{:04}", c.year),
            Step::Months(_) => format!("{:04}-{:02}", c.year, c.month),
            Step::Seconds(s) if s >= 86_400 => {
                format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
            }
            Step::Seconds(s) => {
                let same_day = self.start.div_euclid(NS_PER_DAY) == self.end.div_euclid(NS_PER_DAY);
                let time = if s < 60 {
                    format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
                } else {
                    format!("{:02}:{:02}", c.hour, c.minute)
                };
                if same_day {
                    time
                } else {
                    format!("{:02}-{:02} {time}", c.month, c.day)
                }
            }
        }
    }
}

/// Tick times in `[start, end]` for one step; stops after `limit` ticks so that trying a
/// fine step over decades costs nothing.
fn ticks_for(start: i64, end: i64, step: Step, limit: usize) -> Vec<i64> {
    let mut out = Vec::new();
    match step {
        Step::Seconds(s) => {
            let step_ns = s * NS_PER_SEC;
            let offset = if s == 7 * 86_400 || s == 14 * 86_400 {
                MONDAY_OFFSET_NS
            } else {
                0
            };
            let first = (start - offset).div_euclid(step_ns) * step_ns + offset;
            let mut t = if first < start {
                first + step_ns
            } else {
                first
            };
            while t <= end && out.len() < limit {
                out.push(t);
                t += step_ns;
            }
        }
        Step::Months(k) => {
            let c = civil_from_ns(start);
            // Months counted from year 0 so that "every 3 months" means Jan/Apr/Jul/Oct.
            let mut m = c.year * 12 + i64::from(c.month - 1);
            m += (i64::from(k) - m.rem_euclid(i64::from(k))) % i64::from(k);
            loop {
                let t = days_from_civil(m.div_euclid(12), (m.rem_euclid(12) + 1) as u32, 1)
                    .saturating_mul(NS_PER_DAY);
                if t > end || out.len() >= limit {
                    break;
                }
                if t >= start {
                    out.push(t);
                }
                m += i64::from(k);
            }
        }
        Step::Years(k) => {
            let mut y = civil_from_ns(start).year;
            y += (k - y.rem_euclid(k)) % k;
            loop {
                let t = days_from_civil(y, 1, 1).saturating_mul(NS_PER_DAY);
                if t > end || out.len() >= limit {
                    break;
                }
                if t >= start {
                    out.push(t);
                }
                y += k;
            }
        }
    }
    out
}

impl Ranged for TimeAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = i64;

    fn map(&self, value: &i64, limit: (i32, i32)) -> i32 {
        let frac = (*value as f64 - self.start as f64) / (self.end as f64 - self.start as f64);
        limit.0 + (frac * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<i64> {
        let max = hint.max_num_points().max(1);
        let stride = self.ticks.len().div_ceil(max).max(1);
        self.ticks.iter().copied().step_by(stride).collect()
    }

    fn range(&self) -> Range<i64> {
        self.start..self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d) * NS_PER_DAY
    }

    #[test]
    fn picks_calendar_steps() {
        let a = TimeAxis::new(ns(2019, 6, 15), ns(2024, 2, 1), 8);
        assert_eq!(a.step, Step::Years(1));
        assert_eq!(a.label(a.ticks[0]), "2020");

        let a = TimeAxis::new(ns(2024, 1, 10), ns(2024, 12, 20), 8);
        assert_eq!(a.step, Step::Months(2));
        assert_eq!(a.label(a.ticks[0]), "2024-03");

        let a = TimeAxis::new(ns(2024, 3, 1), ns(2024, 3, 20), 8);
        assert_eq!(a.step, Step::Seconds(7 * 86_400));
        assert_eq!(a.label(a.ticks[0]), "2024-03-04"); // a Monday

        let a = TimeAxis::new(
            ns(2024, 3, 1) + 9 * 3600 * NS_PER_SEC,
            ns(2024, 3, 1) + 17 * 3600 * NS_PER_SEC,
            8,
        );
        assert_eq!(a.step, Step::Seconds(2 * 3600));
        assert_eq!(a.label(a.ticks[0]), "10:00");
    }
}
