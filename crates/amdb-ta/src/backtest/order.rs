//! What strategies ask for and what the engine did.

use serde::Serialize;

/// What a strategy wants after a bar closes. The engine turns it into orders: `Long` when
/// short first covers, then buys; `Short` when long first sells, then (if shorting is
/// allowed) sells short; `Flat` closes whatever is open. Asking for the position already
/// held does nothing, so strategies may repeat themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    Hold,
    Long(OrderType),
    Short(OrderType),
    Flat(OrderType),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderType {
    Market,
    /// Buy at this price or lower, sell at this price or higher. Lives for one fill
    /// opportunity (the next bar, or this close); unfilled, it is dropped.
    Limit(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Long,
    Short,
}

/// One execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fill {
    pub symbol: usize,
    pub bar: usize,
    pub ts: i64,
    pub side: Side,
    pub qty: f64,
    pub price: f64,
    pub fee: f64,
}

/// A closed round trip. `pnl` is net of both fills' fees; `ret` is `pnl` over the entry
/// value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trade {
    pub symbol: usize,
    pub direction: Direction,
    pub entry_ts: i64,
    pub entry_price: f64,
    pub exit_ts: i64,
    pub exit_price: f64,
    pub qty: f64,
    pub pnl: f64,
    pub ret: f64,
    pub bars_held: usize,
}
