//! Volume-weighted average price (not in TA-Lib, so defined here).
//!
//! Each bar's price is its typical price tp = (high + low + close) / 3 (a bar's trades are
//! not known, only its range and close), weighted by the bar's volume:
//!
//! - [`vwap`], cumulative: Σ tp·volume / Σ volume over all bars so far (from the first bar,
//!   or from the last [`Vwap::reset`], e.g. at a session start); no warm-up.
//! - [`vwap_rolling`]: the same sums over the last `period` bars; lookback `period - 1`.
//!
//! Where no volume has traded (the sums' volume is 0) there is no volume-weighted price:
//! the output is NaN (`None` from `update`), never a made-up 0. The rolling sums add the
//! entering bar and subtract the leaving one, are summed afresh every 1024 bars so rounding
//! cannot build up, and are exactly 0 whenever the window holds no volume.

use crate::cci::typical_price;
use crate::window::Ring;

/// Bars between fresh sums of the rolling window.
const RESYNC: usize = 1024;

/// Streaming cumulative VWAP.
#[derive(Debug, Clone, Default)]
pub struct Vwap {
    pv: f64,
    volume: f64,
}

impl Vwap {
    pub fn new() -> Vwap {
        Vwap::default()
    }

    /// Starts over, as at the open of a session: the next bar is the first one.
    pub fn reset(&mut self) {
        *self = Vwap::default();
    }

    /// The VWAP including this bar; `None` while no volume has traded.
    pub fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        self.pv += typical_price(high, low, close) * volume;
        self.volume += volume;
        (self.volume != 0.0).then(|| self.pv / self.volume)
    }
}

/// Streaming rolling VWAP over the last `period` bars.
#[derive(Debug, Clone)]
pub struct RollingVwap {
    pv: Ring,
    volumes: Ring,
    seen: usize,
    pv_sum: f64,
    volume_sum: f64,
    /// Bars in the window with nonzero volume.
    trading: usize,
    steps: usize,
}

impl RollingVwap {
    /// Panics if `period` is 0.
    pub fn new(period: usize) -> RollingVwap {
        assert!(period >= 1, "VWAP period must be at least 1");
        RollingVwap {
            pv: Ring::new(period),
            volumes: Ring::new(period),
            seen: 0,
            pv_sum: 0.0,
            volume_sum: 0.0,
            trading: 0,
            steps: 0,
        }
    }

    /// The VWAP of the last `period` bars; `None` during the warm-up and while the window
    /// holds no volume.
    pub fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        let period = self.pv.len();
        let pv = typical_price(high, low, close) * volume;
        let (old_pv, old_volume) = (self.pv.push(pv), self.volumes.push(volume));
        self.pv_sum += pv;
        self.volume_sum += volume;
        self.trading += usize::from(volume != 0.0);
        if self.seen < period {
            self.seen += 1;
        } else {
            self.pv_sum -= old_pv;
            self.volume_sum -= old_volume;
            self.trading -= usize::from(old_volume != 0.0);
            self.steps += 1;
            if self.steps.is_multiple_of(RESYNC) {
                self.pv_sum = self.pv.iter().fold(0.0, |a, v| a + v);
                self.volume_sum = self.volumes.iter().fold(0.0, |a, v| a + v);
            }
        }
        if self.trading == 0 {
            // No volume in the window: the sums are exactly 0, not rounding residue.
            self.pv_sum = 0.0;
            self.volume_sum = 0.0;
        }
        if self.seen < period || self.trading == 0 {
            return None;
        }
        Some(self.pv_sum / self.volume_sum)
    }
}

/// Cumulative VWAP from the first bar; NaN until some volume has traded.
pub fn vwap(high: &[f64], low: &[f64], close: &[f64], volume: &[f64]) -> Vec<f64> {
    crate::run_hlcv(high, low, close, volume, Vwap::new(), Vwap::update)
}

/// VWAP over the last `period` bars; the first `period - 1` outputs are NaN, as are those
/// of windows without volume.
pub fn vwap_rolling(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: usize,
) -> Vec<f64> {
    crate::run_hlcv(
        high,
        low,
        close,
        volume,
        RollingVwap::new(period),
        RollingVwap::update,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_by_hand() {
        // Typical prices 10, 12, 11 (high 11/13/12, low 9/11/10, close = tp).
        let (h, l, c) = (
            [11.0, 13.0, 12.0, 12.0],
            [9.0, 11.0, 10.0, 10.0],
            [10.0, 12.0, 11.0, 11.0],
        );
        let v = vwap(&h, &l, &c, &[100.0, 300.0, 0.0, 600.0]);
        assert_eq!(v[0], 10.0);
        assert_eq!(v[1], (10.0 * 100.0 + 12.0 * 300.0) / 400.0); // 11.5
        assert_eq!(v[2], 11.5, "a bar without volume does not move it");
        assert_eq!(v[3], (1000.0 + 3600.0 + 6600.0) / 1000.0); // 11.2
        assert!(vwap(&h, &l, &c, &[0.0, 0.0, 5.0, 5.0])[..2]
            .iter()
            .all(|x| x.is_nan()));
    }

    #[test]
    fn rolling_by_hand_and_reset() {
        let tp = [10.0, 12.0, 11.0, 13.0, 9.0];
        let vol = [100.0, 300.0, 200.0, 0.0, 0.0];
        let r = vwap_rolling(&tp, &tp, &tp, &vol, 2);
        assert!(r[0].is_nan());
        assert_eq!(r[1], (1000.0 + 3600.0) / 400.0);
        assert_eq!(r[2], (3600.0 + 2200.0) / 500.0);
        assert_eq!(r[3], 11.0);
        assert!(r[4].is_nan(), "no volume in the window");
        let mut s = Vwap::new();
        s.update(10.0, 10.0, 10.0, 5.0);
        s.reset();
        assert_eq!(s.update(20.0, 20.0, 20.0, 1.0), Some(20.0));
    }
}
