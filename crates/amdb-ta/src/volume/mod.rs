//! Indicators of our own (not in TA-Lib), named for what they compute, one per file:
//! - [`volume_ratio`]: a bar's volume over the mean volume of the last `period` bars;
//! - [`volatility`]: the standard deviation of the last `period` simple returns.

mod ratio;
mod volatility;

pub use ratio::{volume_ratio, volume_ratio_into, VolumeRatio};
pub use volatility::{volatility, volatility_into, Volatility};
