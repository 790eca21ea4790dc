//! The backtester against a plain model, hand-worked examples and its own invariants.

use amdb_ta::backtest::{
    builtin, run, run_grid, run_portfolio, BacktestError, BarSeries, Config, Direction,
    ExternalSignals, FillAt, Grid, OrderType, Params, Side, Signal, Sizing,
    Strategy as TradingStrategy,
};
use proptest::prelude::*;

const MIN: i64 = 60_000_000_000;

struct Owned {
    ts: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

impl Owned {
    /// Bars from (open, close) pairs; high/low 1 % outside them.
    fn from_oc(oc: &[(f64, f64)]) -> Owned {
        Owned {
            ts: (0..oc.len() as i64).map(|i| i * 15 * MIN).collect(),
            open: oc.iter().map(|b| b.0).collect(),
            high: oc.iter().map(|b| b.0.max(b.1) * 1.01).collect(),
            low: oc.iter().map(|b| b.0.min(b.1) * 0.99).collect(),
            close: oc.iter().map(|b| b.1).collect(),
            volume: vec![100.0; oc.len()],
        }
    }

    fn series(&self) -> BarSeries<'_> {
        BarSeries::new(
            "T",
            &self.ts,
            &self.open,
            &self.high,
            &self.low,
            &self.close,
            &self.volume,
        )
        .unwrap()
    }
}

/// Plays back a list of signals, one per bar.
struct Script(Vec<Signal>);

impl TradingStrategy for Script {
    fn on_bar(&mut self, i: usize, _: &BarSeries<'_>, _: f64) -> Signal {
        self.0[i]
    }
}

/// The same script, listed up front (the engine's fast path).
struct ListedScript(Vec<Signal>);

impl TradingStrategy for ListedScript {
    fn on_bar(&mut self, _: usize, _: &BarSeries<'_>, _: f64) -> Signal {
        unreachable!("a strategy that lists its decisions is not asked bar by bar")
    }

    fn decisions(&mut self, _: &BarSeries<'_>) -> Option<Vec<(usize, Signal)>> {
        Some(
            self.0
                .iter()
                .enumerate()
                .filter(|(_, s)| !matches!(s, Signal::Hold))
                .map(|(i, s)| (i, *s))
                .collect(),
        )
    }
}

/// Hides a strategy's decision list, so the engine asks it bar by bar.
struct PerBar(Box<dyn TradingStrategy>);

impl TradingStrategy for PerBar {
    fn prepare(&mut self, bars: &BarSeries<'_>, cache: &amdb_ta::backtest::IndicatorCache<'_>) {
        self.0.prepare(bars, cache)
    }

    fn on_bar(&mut self, i: usize, bars: &BarSeries<'_>, position: f64) -> Signal {
        self.0.on_bar(i, bars, position)
    }
}

#[test]
fn listed_decisions_give_what_asking_bar_by_bar_gives() {
    let bars = walk(7, 3000);
    for fill_at in [FillAt::NextOpen, FillAt::Close] {
        let config = Config {
            fill_at,
            allow_short: true,
            ..Config::default()
        };
        for (fast, slow) in [(3.0, 8.0), (7.0, 25.0), (12.0, 40.0)] {
            let params = Params(vec![("fast".into(), fast), ("slow".into(), slow)]);
            let listed = run(
                &bars.series(),
                builtin("ema-cross", &params).unwrap().as_mut(),
                &config,
            )
            .unwrap();
            let mut asked = PerBar(builtin("ema-cross", &params).unwrap());
            let asked = run(&bars.series(), &mut asked, &config).unwrap();
            assert!(listed.trades.len() > 10);
            assert_eq!(listed.equity, asked.equity);
            assert_eq!(listed.fills, asked.fills);
            assert_eq!(
                format!("{:?}", listed.metrics),
                format!("{:?}", asked.metrics)
            );
        }
    }
}

fn market(d: i8) -> Signal {
    match d {
        1 => Signal::Long(OrderType::Market),
        -1 => Signal::Short(OrderType::Market),
        0 => Signal::Flat(OrderType::Market),
        _ => Signal::Hold,
    }
}

#[test]
fn buys_at_the_next_open_with_fees_by_hand() {
    let bars = Owned::from_oc(&[
        (100.0, 100.0),
        (102.0, 104.0),
        (105.0, 110.0),
        (111.0, 108.0),
    ]);
    let config = Config {
        fee_rate: 0.01,
        ..Config::default()
    };
    let mut s = Script(vec![market(1), Signal::Hold, market(0), Signal::Hold]);
    let r = run(&bars.series(), &mut s, &config).unwrap();
    // Decided after bar 0, bought at bar 1's open: 10,000 / (102 × 1.01) units.
    let qty = 10_000.0 / (102.0 * 1.01);
    assert_eq!(r.fills.len(), 2);
    assert_eq!(
        (r.fills[0].bar, r.fills[0].price, r.fills[0].side),
        (1, 102.0, Side::Buy)
    );
    assert!((r.fills[0].qty - qty).abs() < 1e-9);
    // Sold at bar 3's open (111) after deciding on bar 2.
    assert_eq!((r.fills[1].bar, r.fills[1].price), (3, 111.0));
    let cash = qty * 111.0 * 0.99;
    assert!((r.metrics.final_equity - cash).abs() < 1e-9);
    assert_eq!(r.trades.len(), 1);
    let t = &r.trades[0];
    assert_eq!(t.direction, Direction::Long);
    assert!((t.pnl - (cash - 10_000.0)).abs() < 1e-9);
    assert_eq!(t.bars_held, 2);
    // Equity at each close: cash until bar 1, then marked, then cash again.
    let eq: Vec<f64> = r.equity.iter().map(|e| e.1).collect();
    assert_eq!(eq[0], 10_000.0);
    assert!((eq[1] - qty * 104.0).abs() < 1e-9);
    assert!((eq[2] - qty * 110.0).abs() < 1e-9);
    assert!((eq[3] - cash).abs() < 1e-9);
    assert_eq!(r.metrics.trades, 1);
    assert_eq!(r.metrics.win_rate, 1.0);
    assert_eq!(r.metrics.exposure, 0.5);
}

#[test]
fn on_close_fills_at_the_signal_bar_and_slippage_costs() {
    let bars = Owned::from_oc(&[(100.0, 100.0), (100.0, 120.0), (120.0, 120.0)]);
    let config = Config {
        fee_rate: 0.0,
        slippage_bps: 50.0,
        fill_at: FillAt::Close,
        ..Config::default()
    };
    let mut s = Script(vec![market(1), market(0), Signal::Hold]);
    let r = run(&bars.series(), &mut s, &config).unwrap();
    assert_eq!(r.fills[0].bar, 0);
    assert!((r.fills[0].price - 100.5).abs() < 1e-12);
    assert!((r.fills[1].price - 120.0 * 0.995).abs() < 1e-12);
    let expected = 10_000.0 / 100.5 * 120.0 * 0.995;
    assert!((r.metrics.final_equity - expected).abs() < 1e-9);
}

#[test]
fn limit_orders_fill_only_when_the_bar_reaches_them() {
    // Bar 1 trades 99..101 (open 100, close 100.5): a buy limit at 99.5 fills at 99.5,
    // one at 98 does not; a limit above the open fills at the open.
    let bars = Owned::from_oc(&[(100.0, 100.0), (100.0, 100.5), (100.0, 100.0)]);
    let config = Config {
        fee_rate: 0.0,
        ..Config::default()
    };
    for (limit, want) in [(99.5, Some(99.5)), (98.0, None), (103.0, Some(100.0))] {
        let mut s = Script(vec![
            Signal::Long(OrderType::Limit(limit)),
            Signal::Hold,
            Signal::Hold,
        ]);
        let r = run(&bars.series(), &mut s, &config).unwrap();
        assert_eq!(r.fills.first().map(|f| f.price), want, "limit {limit}");
        if want.is_some() {
            assert_eq!(r.fills[0].bar, 1);
        }
    }
}

#[test]
fn shorts_profit_from_a_fall_and_reversals_take_two_fills() {
    let bars = Owned::from_oc(&[
        (100.0, 100.0),
        (100.0, 90.0),
        (80.0, 80.0),
        (80.0, 88.0),
        (90.0, 90.0),
    ]);
    let config = Config {
        fee_rate: 0.0,
        allow_short: true,
        ..Config::default()
    };
    let mut s = Script(vec![
        market(-1),
        Signal::Hold,
        market(1),
        Signal::Hold,
        Signal::Hold,
    ]);
    let r = run(&bars.series(), &mut s, &config).unwrap();
    // Short 100 units at 100, cover at 80 (+2,000), then long 12,000/80 = 150 units.
    assert_eq!(r.fills.len(), 3);
    assert_eq!(r.trades[0].direction, Direction::Short);
    assert!((r.trades[0].pnl - 2_000.0).abs() < 1e-9);
    assert!((r.fills[2].qty - 150.0).abs() < 1e-9);
    assert!((r.metrics.final_equity - 150.0 * 90.0).abs() < 1e-9);
    assert_eq!(r.open_positions, vec![150.0]);

    // Without shorting, Short only closes longs; from flat it does nothing.
    let long_only = Config {
        allow_short: false,
        ..config
    };
    let mut s = Script(vec![
        market(-1),
        Signal::Hold,
        Signal::Hold,
        Signal::Hold,
        Signal::Hold,
    ]);
    let r = run(&bars.series(), &mut s, &long_only).unwrap();
    assert!(r.fills.is_empty());
    assert_eq!(r.metrics.final_equity, 10_000.0);
}

#[test]
fn sizing_by_cash_and_units() {
    let bars = Owned::from_oc(&[(50.0, 50.0), (50.0, 60.0), (60.0, 60.0)]);
    for (sizing, qty) in [
        (Sizing::Cash(1_000.0), 20.0),
        (Sizing::Units(7.0), 7.0),
        (Sizing::Equity(0.5), 100.0),
    ] {
        let config = Config {
            fee_rate: 0.0,
            sizing,
            ..Config::default()
        };
        let r = run(
            &bars.series(),
            &mut Script(vec![market(1), Signal::Hold, Signal::Hold]),
            &config,
        )
        .unwrap();
        assert!((r.fills[0].qty - qty).abs() < 1e-9, "{sizing:?}");
    }
    // A long never spends more than the cash there is.
    let config = Config {
        fee_rate: 0.0,
        sizing: Sizing::Units(1e6),
        ..Config::default()
    };
    let r = run(
        &bars.series(),
        &mut Script(vec![market(1), Signal::Hold, Signal::Hold]),
        &config,
    )
    .unwrap();
    assert!((r.fills[0].qty - 200.0).abs() < 1e-9);
}

#[test]
fn stored_signals_act_after_the_bar_that_contains_them() {
    let bars = Owned::from_oc(&[(10.0, 10.0); 6]);
    // A signal at minute 20 falls in bar 1 (15..30): acted on after bar 1, filled at bar 2.
    let mut s = ExternalSignals::new(vec![(20 * MIN, market(1)), (15 * 4 * MIN, market(0))]);
    let config = Config {
        fee_rate: 0.0,
        ..Config::default()
    };
    let r = run(&bars.series(), &mut s, &config).unwrap();
    let bars_filled: Vec<usize> = r.fills.iter().map(|f| f.bar).collect();
    assert_eq!(bars_filled, vec![2, 5]);
}

#[test]
fn stored_signals_in_a_gap_wait_for_the_next_bar() {
    // 15m bars at 0 and 15m, then a day later: a signal at 02:15 is in the gap after the
    // second bar and must not fill at that bar's close (00:30), before it existed.
    let mut bars = Owned::from_oc(&[(10.0, 10.0); 4]);
    bars.ts = vec![0, 15 * MIN, 24 * 60 * MIN, 24 * 60 * MIN + 15 * MIN];
    let config = Config {
        fee_rate: 0.0,
        fill_at: FillAt::Close,
        ..Config::default()
    };
    let mut s = ExternalSignals::new(vec![(135 * MIN, market(1))]);
    let r = run(&bars.series(), &mut s, &config).unwrap();
    assert_eq!(r.fills.iter().map(|f| f.bar).collect::<Vec<_>>(), vec![2]);
}

#[test]
fn portfolio_fills_at_one_time_never_see_that_times_closes() {
    // A and B both fill at bar 1's open. A's bar-1 close (50) must not size B's order:
    // B sees equity 10,000 (A marked at its previous close, 100), so shorts 500 at 10.
    let a = Owned::from_oc(&[(100.0, 100.0), (100.0, 50.0), (50.0, 50.0)]);
    let b = Owned::from_oc(&[(10.0, 10.0), (10.0, 10.0), (10.0, 10.0)]);
    let config = Config {
        fee_rate: 0.0,
        allow_short: true,
        sizing: Sizing::Equity(0.5),
        ..Config::default()
    };
    let hold = Signal::Hold;
    let mut strategies: Vec<Box<dyn TradingStrategy>> = vec![
        Box::new(Script(vec![market(1), hold, hold])),
        Box::new(Script(vec![market(-1), hold, hold])),
    ];
    let r = run_portfolio(&[a.series(), b.series()], &mut strategies, &config).unwrap();
    let qty: Vec<(usize, f64)> = r.fills.iter().map(|f| (f.symbol, f.qty)).collect();
    assert_eq!(qty, vec![(0, 50.0), (1, 500.0)]);
}

#[test]
fn ema_cross_trades_exactly_at_the_crosses() {
    let closes: Vec<f64> = (0..400)
        .map(|i| 100.0 + 10.0 * (i as f64 / 17.0).sin() + (i as f64 / 50.0))
        .collect();
    let oc: Vec<(f64, f64)> = closes.iter().map(|&c| (c, c)).collect();
    let bars = Owned::from_oc(&oc);
    let params = Params(vec![("fast".into(), 5.0), ("slow".into(), 12.0)]);
    let mut strategy = builtin("ema-cross", &params).unwrap();
    let config = Config {
        fill_at: FillAt::Close,
        ..Config::default()
    };
    let r = run(&bars.series(), strategy.as_mut(), &config).unwrap();
    let (f, s) = (amdb_ta::ema(&closes, 5), amdb_ta::ema(&closes, 12));
    let mut expected = Vec::new();
    let mut long = false;
    for i in 1..closes.len() {
        if !long && f[i] > s[i] && f[i - 1] <= s[i - 1] {
            expected.push((i, Side::Buy));
            long = true;
        } else if long && f[i] < s[i] && f[i - 1] >= s[i - 1] {
            expected.push((i, Side::Sell));
            long = false;
        }
    }
    let got: Vec<(usize, Side)> = r.fills.iter().map(|f| (f.bar, f.side)).collect();
    assert!(expected.len() >= 6, "the series crosses several times");
    assert_eq!(got, expected);
}

#[test]
fn builtins_reject_bad_parameters_in_one_line() {
    let p = |v: &[(&str, f64)]| Params(v.iter().map(|(n, x)| (n.to_string(), *x)).collect());
    for (name, params, needle) in [
        ("ema-cross", p(&[("fast", 30.0)]), "fast < slow"),
        ("ema-cross", p(&[("fats", 3.0)]), "no parameter \"fats\""),
        ("ema-cross", p(&[("fast", 2.5)]), "whole number"),
        ("rsi-reversion", p(&[("lower", 80.0)]), "lower <= exit"),
        ("bollinger-breakout", p(&[("k", -1.0)]), "k > 0"),
        ("nope", p(&[]), "built-in strategies are"),
    ] {
        let err = builtin(name, &params).err().expect(name).to_string();
        assert!(err.contains(needle) && !err.contains('\n'), "{err}");
    }
    for name in ["rsi-reversion", "bollinger-breakout", "ema-cross"] {
        assert!(builtin(name, &Params::default()).is_ok());
    }
}

#[test]
fn bad_bars_and_configs_are_refused() {
    let ts = [0, 2, 1];
    let x = [1.0, 1.0, 1.0];
    let e = BarSeries::new("X", &ts, &x, &x, &x, &x, &x).unwrap_err();
    assert!(e.to_string().contains("not increasing at bar 2"), "{e}");
    let bad = [1.0, f64::NAN, 1.0];
    let e = BarSeries::new("X", &[0, 1, 2], &x, &x, &x, &bad, &x).unwrap_err();
    assert!(e.to_string().contains("close at bar 1"), "{e}");
    let bars = Owned::from_oc(&[(1.0, 1.0)]);
    let config = Config {
        fee_rate: -0.1,
        ..Config::default()
    };
    let e = run(&bars.series(), &mut Script(vec![Signal::Hold]), &config).unwrap_err();
    assert!(matches!(e, BacktestError::Config(_)));
}

fn walk(seed: u64, n: usize) -> Owned {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut p = 100.0;
    let oc: Vec<(f64, f64)> = (0..n)
        .map(|_| {
            let o = p * (1.0 + (next() - 0.5) * 0.01);
            p = o * (1.0 + (next() - 0.5) * 0.04);
            (o, p)
        })
        .collect();
    Owned::from_oc(&oc)
}

#[test]
fn a_portfolio_of_one_equals_a_single_run_and_portfolios_sum_their_sleeves() {
    let a = walk(1, 500);
    let b = walk(2, 300);
    let config = Config::default();
    let params = Params(vec![("fast".into(), 5.0), ("slow".into(), 20.0)]);
    let single = run(
        &a.series(),
        builtin("ema-cross", &params).unwrap().as_mut(),
        &config,
    )
    .unwrap();
    let mut one = vec![builtin("ema-cross", &params).unwrap()];
    let port = run_portfolio(&[a.series()], &mut one, &config).unwrap();
    assert_eq!(single.equity, port.equity);
    assert_eq!(single.metrics, port.metrics);

    // Two symbols, half each, Units sizing so the sleeves do not interact: the portfolio's
    // final equity is the two single runs' P&L added.
    let config = Config {
        sizing: Sizing::Units(10.0),
        ..Config::default()
    };
    let ra = run(
        &a.series(),
        builtin("ema-cross", &params).unwrap().as_mut(),
        &config,
    )
    .unwrap();
    let rb = run(
        &b.series(),
        builtin("ema-cross", &params).unwrap().as_mut(),
        &config,
    )
    .unwrap();
    let mut two = vec![
        builtin("ema-cross", &params).unwrap(),
        builtin("ema-cross", &params).unwrap(),
    ];
    let port = run_portfolio(&[a.series(), b.series()], &mut two, &config).unwrap();
    let expected =
        10_000.0 + (ra.metrics.final_equity - 10_000.0) + (rb.metrics.final_equity - 10_000.0);
    assert!((port.metrics.final_equity - expected).abs() < 1e-6);
    assert_eq!(port.trades.len(), ra.trades.len() + rb.trades.len());
    assert_eq!(port.equity.len(), 500);
}

#[test]
fn grids_equal_the_single_runs_they_stand_for() {
    let owned: Vec<Owned> = (0..3).map(|s| walk(10 + s, 800)).collect();
    let series: Vec<BarSeries<'_>> = owned.iter().map(|o| o.series()).collect();
    let grid = Grid::parse("fast=3..6,slow=5..8").unwrap();
    let config = Config::default();
    let factory = |p: &Params| builtin("ema-cross", p);
    let result = run_grid(&series, &factory, &Params::default(), &grid, &config).unwrap();
    assert_eq!(result.points.len(), 16);
    assert!(result.invalid.as_deref().unwrap().contains("fast < slow"));
    for (p, point) in result.points.iter().enumerate() {
        for (s, bars) in series.iter().enumerate() {
            let single = builtin("ema-cross", point)
                .and_then(|mut st| run(bars, st.as_mut(), &config))
                .ok()
                .map(|r| r.metrics);
            assert_eq!(result.cells[p][s], single, "{} on {s}", point.label());
        }
    }
    let best = result.best("total_return").unwrap();
    assert!(result.mean(best, "total_return") >= result.mean(0, "total_return"));
    // Ranked best first: returns descending, drawdowns ascending; invalid points left out.
    let by_return: Vec<f64> = result
        .ranked("total_return")
        .iter()
        .map(|&p| result.mean(p, "total_return"))
        .collect();
    assert!(by_return.windows(2).all(|w| w[0] >= w[1]));
    let by_dd: Vec<f64> = result
        .ranked("max_drawdown")
        .iter()
        .map(|&p| result.mean(p, "max_drawdown"))
        .collect();
    assert!(by_dd.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        by_dd.len(),
        result
            .points
            .iter()
            .filter(|p| p.get("fast") < p.get("slow"))
            .count()
    );
}

/// A deliberately plain re-statement of the rules, for the property test.
fn model(bars: &Owned, script: &[Signal], c: &Config) -> Vec<f64> {
    // Carries out one signal at a fill opportunity (reference price and the bar's range).
    fn apply(st: &mut (f64, f64), c: &Config, sig: Signal, reference: f64, low: f64, high: f64) {
        let slip = c.slippage_bps / 10_000.0;
        let (want, order) = match sig {
            Signal::Hold => return,
            Signal::Long(o) => (1.0, o),
            Signal::Short(o) => (if c.allow_short { -1.0 } else { 0.0 }, o),
            Signal::Flat(o) => (0.0, o),
        };
        let now = if st.1 > 0.0 {
            1.0
        } else if st.1 < 0.0 {
            -1.0
        } else {
            0.0
        };
        if want == now {
            return;
        }
        let buying = want > now;
        let price = match order {
            OrderType::Market => reference * if buying { 1.0 + slip } else { 1.0 - slip },
            OrderType::Limit(l) if buying && low <= l => reference.min(l),
            OrderType::Limit(l) if !buying && high >= l => reference.max(l),
            OrderType::Limit(_) => return,
        };
        // Close: trading -qty (st.1) moves qty × price into cash (st.0).
        if st.1 != 0.0 {
            st.0 += st.1 * price - c.fee_fixed - c.fee_rate * st.1.abs() * price;
            st.1 = 0.0;
        }
        if want != 0.0 {
            let affordable = |b: f64| (b - c.fee_fixed) / (price * (1.0 + c.fee_rate));
            let mut q = match c.sizing {
                Sizing::Equity(f) => affordable(f * st.0),
                Sizing::Cash(a) => affordable(a),
                Sizing::Units(u) => u,
            };
            if buying {
                q = q.min(affordable(st.0));
            }
            if q > 0.0 {
                st.1 = want * q;
                st.0 -= st.1 * price + c.fee_fixed + c.fee_rate * q * price;
            }
        }
    }
    let mut st = (c.initial_cash, 0.0f64);
    let mut pending = Signal::Hold;
    let mut out = Vec::new();
    for (i, &sig) in script.iter().enumerate() {
        let due = std::mem::replace(&mut pending, Signal::Hold);
        apply(&mut st, c, due, bars.open[i], bars.low[i], bars.high[i]);
        match c.fill_at {
            FillAt::NextOpen => pending = sig,
            FillAt::Close => apply(&mut st, c, sig, bars.close[i], bars.close[i], bars.close[i]),
        }
        out.push(st);
    }
    out.iter()
        .zip(&bars.close)
        .map(|(&(cash, qty), close)| cash + qty * close)
        .collect()
}

fn signal_strategy() -> impl Strategy<Value = Signal> {
    prop_oneof![
        4 => Just(Signal::Hold),
        1 => (-1i8..=1, proptest::option::of(0.97f64..1.03)).prop_map(|(d, limit)| {
            let order = match limit {
                Some(l) => OrderType::Limit(100.0 * l),
                None => OrderType::Market,
            };
            match d {
                1 => Signal::Long(order),
                -1 => Signal::Short(order),
                _ => Signal::Flat(order),
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn matches_the_model_and_conserves_money(
        seed in 0u64..1000,
        script in proptest::collection::vec(signal_strategy(), 1..120),
        fee_rate in prop_oneof![Just(0.0), 0.0f64..0.01],
        fee_fixed in prop_oneof![Just(0.0), 0.0f64..5.0],
        slippage_bps in prop_oneof![Just(0.0), 0.0f64..30.0],
        sizing in prop_oneof![
            (0.1f64..1.0).prop_map(Sizing::Equity),
            (100.0f64..20_000.0).prop_map(Sizing::Cash),
            (1.0f64..200.0).prop_map(Sizing::Units),
        ],
        on_close in any::<bool>(),
        allow_short in any::<bool>(),
    ) {
        let bars = walk(seed, script.len());
        let config = Config {
            fee_rate, fee_fixed, slippage_bps, sizing, allow_short,
            fill_at: if on_close { FillAt::Close } else { FillAt::NextOpen },
            ..Config::default()
        };
        let r = run(&bars.series(), &mut Script(script.clone()), &config).unwrap();
        let listed = run(&bars.series(), &mut ListedScript(script.clone()), &config).unwrap();
        prop_assert_eq!(&listed.equity, &r.equity);
        // Debug text compares NaN fields too.
        prop_assert_eq!(format!("{:?}", listed.metrics), format!("{:?}", r.metrics));
        let want = model(&bars, &script, &config);
        prop_assert_eq!(r.equity.len(), want.len());
        for (i, ((_, got), want)) in r.equity.iter().zip(&want).enumerate() {
            prop_assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "bar {}: {} vs {}", i, got, want);
        }
        // Conservation: final equity = initial + closed P&L + the open position's P&L.
        let closed: f64 = r.trades.iter().map(|t| t.pnl).sum();
        let open = match (r.open_positions[0], r.fills.last()) {
            (q, Some(f)) if q != 0.0 => q * (bars.close[bars.close.len() - 1] - f.price) - f.fee,
            _ => 0.0,
        };
        let expected = config.initial_cash + closed + open;
        prop_assert!((r.metrics.final_equity - expected).abs() <= 1e-7 * expected.abs().max(1.0));
        for f in &r.fills {
            prop_assert!((f.fee - (fee_fixed + fee_rate * f.qty * f.price)).abs() < 1e-9);
            if !on_close {
                prop_assert!(f.bar >= 1, "a next-open fill can never be on the first bar");
            }
        }
        if !allow_short {
            prop_assert!(r.open_positions[0] >= 0.0);
        }
    }
}
