//! Resampling to a coarser timeframe with pandas' semantics (`df.resample("1h",
//! origin="epoch").agg(...)`: left-closed, left-labelled buckets aligned to the Unix epoch,
//! which for widths that divide a day are pandas' default buckets too): open = first,
//! high = max, low = min, close = last, volume = sum.
//!
//! No look-ahead: the bar labelled `t` is built only from source bars in `[t, t + width)`,
//! so at time `t + width` it is final. Buckets without source bars are left out (pandas
//! would emit a NaN row); gaps are reported by `Market::gaps`, never filled.

use crate::bar::{Bar, Bars};
use crate::error::{Error, Result};
use crate::timeframe::Timeframe;

/// Resamples strictly ascending `bars` of timeframe `from` to `to`. With `complete_only`, a
/// last bucket whose source bars do not yet reach its end (the bar still forming) is left
/// out.
pub fn resample(bars: &Bars, from: Timeframe, to: Timeframe, complete_only: bool) -> Result<Bars> {
    if to.nanos() < from.nanos() || to.nanos() % from.nanos() != 0 {
        return Err(Error::InvalidArgument(format!(
            "cannot resample {from} to {to}: the target must be a whole multiple of the source"
        )));
    }
    if !bars.is_strictly_ascending() {
        return Err(Error::InvalidArgument(
            "resample needs bars in ascending time order without repeats".into(),
        ));
    }
    let mut out = Bars::with_capacity(bars.len() / (to.nanos() / from.nanos()) as usize + 1);
    let mut i = 0;
    let n = bars.len();
    while i < n {
        let start = to.bucket_start(bars.ts[i]);
        let end = start.saturating_add(to.nanos());
        let mut b = Bar {
            ts: start,
            open: bars.open[i],
            high: bars.high[i],
            low: bars.low[i],
            close: bars.close[i],
            volume: bars.volume[i],
        };
        let mut j = i + 1;
        while j < n && bars.ts[j] < end {
            b.high = b.high.max(bars.high[j]);
            b.low = b.low.min(bars.low[j]);
            b.close = bars.close[j];
            b.volume += bars.volume[j];
            j += 1;
        }
        let last_source = bars.ts[j - 1];
        let is_last_bucket = j == n;
        let reaches_end = last_source.saturating_add(from.nanos()) >= end;
        if !(complete_only && is_last_bucket && !reaches_end) {
            out.push(b);
        }
        i = j;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: i64, o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
        Bar {
            ts,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    const M15: i64 = 900_000_000_000;

    #[test]
    fn aggregates_like_pandas_ohlc() {
        let bars: Bars = [
            bar(0, 1.0, 2.0, 0.5, 1.5, 10.0),
            bar(M15, 1.5, 3.0, 1.0, 2.0, 20.0),
            bar(2 * M15, 2.0, 2.5, 0.2, 2.2, 30.0),
            bar(3 * M15, 2.2, 2.4, 2.1, 2.3, 40.0),
            bar(4 * M15, 2.3, 2.6, 2.2, 2.5, 5.0),
        ]
        .into_iter()
        .collect();
        let h = resample(&bars, Timeframe::M15, Timeframe::H1, false).unwrap();
        assert_eq!(h.ts, vec![0, 4 * M15]);
        assert_eq!(h.get(0), bar(0, 1.0, 3.0, 0.2, 2.3, 100.0));
        assert_eq!(h.get(1), bar(4 * M15, 2.3, 2.6, 2.2, 2.5, 5.0));
        let complete = resample(&bars, Timeframe::M15, Timeframe::H1, true).unwrap();
        assert_eq!(complete.ts, vec![0], "the forming 01:00 bar is left out");
    }

    #[test]
    fn skips_empty_buckets_and_refuses_finer_targets() {
        let bars: Bars = [
            bar(0, 1.0, 1.0, 1.0, 1.0, 1.0),
            bar(9 * M15, 2.0, 2.0, 2.0, 2.0, 1.0),
        ]
        .into_iter()
        .collect();
        let h = resample(&bars, Timeframe::M15, Timeframe::H1, false).unwrap();
        assert_eq!(h.ts, vec![0, 8 * M15]);
        assert!(resample(&bars, Timeframe::H1, Timeframe::M15, false).is_err());
        assert!(resample(&bars, Timeframe::H1, "90m".parse().unwrap(), false).is_err());
    }
}
