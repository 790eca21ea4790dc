//! Cash, positions and the fill rules: the only place money moves.
//!
//! Invariant: `cash + Σ qty[s] × price[s]` is the portfolio's equity at prices `price`;
//! every fill moves `qty × price + fee` between cash and a position, so equity changes by
//! exactly the fee (and by slippage, which is in the price).

use super::config::{Config, Sizing};
use super::order::{Direction, Fill, OrderType, Side, Signal, Trade};

/// Where an order can fill: a market order at `reference` (the next open or this close,
/// slippage added); a limit order if `[low, high]` reaches its price, at the limit or at
/// `reference` when that is better.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opportunity {
    pub bar: usize,
    pub ts: i64,
    pub reference: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Default)]
struct Position {
    /// Signed quantity: positive long, negative short.
    qty: f64,
    entry_price: f64,
    entry_fee: f64,
    entry_ts: i64,
    entry_bar: usize,
}

#[derive(Debug)]
pub(crate) struct Account<'c> {
    config: &'c Config,
    slip: f64,
    pub cash: f64,
    positions: Vec<Position>,
    pub fills: Vec<Fill>,
    pub trades: Vec<Trade>,
    /// Closed trades and their outcome, counted even when not recorded (grids).
    pub closed: usize,
    pub wins: usize,
    pub gross_profit: f64,
    pub gross_loss: f64,
}

impl<'c> Account<'c> {
    pub fn new(config: &'c Config, symbols: usize) -> Account<'c> {
        Account {
            config,
            slip: config.slippage_bps / 10_000.0,
            cash: config.initial_cash,
            positions: vec![Position::default(); symbols],
            fills: Vec::new(),
            trades: Vec::new(),
            closed: 0,
            wins: 0,
            gross_profit: 0.0,
            gross_loss: 0.0,
        }
    }

    pub fn symbols(&self) -> usize {
        self.positions.len()
    }

    pub fn qty(&self, symbol: usize) -> f64 {
        self.positions[symbol].qty
    }

    /// Carries out `signal` for `symbol` at `at`. `others` is the value of every other
    /// symbol's position at current marks, so sizing sees the whole portfolio's equity.
    pub fn execute(&mut self, symbol: usize, signal: Signal, at: Opportunity, others: f64) {
        let (want, order) = match signal {
            Signal::Hold => return,
            Signal::Long(o) => (1, o),
            Signal::Short(o) => (if self.config.allow_short { -1 } else { 0 }, o),
            Signal::Flat(o) => (0, o),
        };
        let held = self.positions[symbol].qty;
        let now = if held > 0.0 {
            1
        } else if held < 0.0 {
            -1
        } else {
            0
        };
        if want == now {
            return;
        }
        // Every fill of this signal goes the same way: buying (to cover, then to go long)
        // or selling (to close a long, then to go short).
        let side = if want > now { Side::Buy } else { Side::Sell };
        let Some(price) = self.fill_price(side, order, at) else {
            return;
        };
        if now != 0 {
            self.close(symbol, side, price, at);
        }
        if want != 0 {
            self.open(symbol, side, price, at, others);
        }
    }

    fn fill_price(&self, side: Side, order: OrderType, at: Opportunity) -> Option<f64> {
        match (order, side) {
            (OrderType::Market, Side::Buy) => Some(at.reference * (1.0 + self.slip)),
            (OrderType::Market, Side::Sell) => Some(at.reference * (1.0 - self.slip)),
            (OrderType::Limit(limit), Side::Buy) => {
                (at.low <= limit).then(|| at.reference.min(limit))
            }
            (OrderType::Limit(limit), Side::Sell) => {
                (at.high >= limit).then(|| at.reference.max(limit))
            }
        }
    }

    fn fee(&self, qty: f64, price: f64) -> f64 {
        self.config.fee_fixed + self.config.fee_rate * qty * price
    }

    fn close(&mut self, symbol: usize, side: Side, price: f64, at: Opportunity) {
        let pos = std::mem::take(&mut self.positions[symbol]);
        let qty = pos.qty.abs();
        let fee = self.fee(qty, price);
        let (direction, gross) = match side {
            Side::Sell => {
                self.cash += qty * price - fee;
                (Direction::Long, qty * (price - pos.entry_price))
            }
            Side::Buy => {
                self.cash -= qty * price + fee;
                (Direction::Short, qty * (pos.entry_price - price))
            }
        };
        let pnl = gross - pos.entry_fee - fee;
        self.closed += 1;
        if pnl > 0.0 {
            self.wins += 1;
            self.gross_profit += pnl;
        } else {
            self.gross_loss -= pnl;
        }
        if self.config.record {
            self.record_fill(symbol, at, side, qty, price, fee);
            self.trades.push(Trade {
                symbol,
                direction,
                entry_ts: pos.entry_ts,
                entry_price: pos.entry_price,
                exit_ts: at.ts,
                exit_price: price,
                qty,
                pnl,
                ret: pnl / (qty * pos.entry_price),
                bars_held: at.bar - pos.entry_bar,
            });
        }
    }

    fn open(&mut self, symbol: usize, side: Side, price: f64, at: Opportunity, others: f64) {
        let (rate, fixed) = (self.config.fee_rate, self.config.fee_fixed);
        // Quantity whose value plus fees spends `budget`.
        let for_budget = |budget: f64| (budget - fixed) / (price * (1.0 + rate));
        let equity = self.cash + others;
        let mut qty = match self.config.sizing {
            Sizing::Equity(fraction) => for_budget(fraction * equity),
            Sizing::Cash(amount) => for_budget(amount),
            Sizing::Units(units) => units,
        };
        if side == Side::Buy {
            // No borrowing to buy: a long never costs more than the cash there is.
            qty = qty.min(for_budget(self.cash));
        }
        // NaN (a zero price cannot reach here, but a NaN budget could) buys nothing.
        if qty.is_nan() || qty <= 0.0 {
            return;
        }
        let fee = self.fee(qty, price);
        match side {
            Side::Buy => self.cash -= qty * price + fee,
            Side::Sell => self.cash += qty * price - fee,
        }
        self.positions[symbol] = Position {
            qty: if side == Side::Buy { qty } else { -qty },
            entry_price: price,
            entry_fee: fee,
            entry_ts: at.ts,
            entry_bar: at.bar,
        };
        if self.config.record {
            self.record_fill(symbol, at, side, qty, price, fee);
        }
    }

    fn record_fill(
        &mut self,
        symbol: usize,
        at: Opportunity,
        side: Side,
        qty: f64,
        price: f64,
        fee: f64,
    ) {
        self.fills.push(Fill {
            symbol,
            bar: at.bar,
            ts: at.ts,
            side,
            qty,
            price,
            fee,
        });
    }
}
