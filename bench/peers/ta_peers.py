#!/usr/bin/env python3
"""Peer measurements for `amdb bench ta`: TA-Lib, polars, pandas and vectorbt computing the
same indicators and backtests as amdb-ta, on the same Parquet files, in the same run.

    bench/peers/.venv/bin/python bench/peers/ta_peers.py --data DIR \
        [--cases rsi_1000,frame_1m,backtest_one,grid_64x100] [--grid-symbols N] [--repeat N]

DIR is what `amdb bench ta` writes: DIR/bars_15m/SYM000.parquet ... SYM063.parquet
(140,256 fifteen-minute bars each) and DIR/frame_1m.parquet (1,000,000 one-minute bars);
columns ts (timestamp, ns, UTC), open, high, low, close, volume (Float64).

stdout carries only JSON objects, one per line: first {"suite": "ta", "case": "versions",
...}, then one line per (case, system) with at least suite, case, system, seconds (the
time of one operation: the median over --repeat timed runs after an untimed warm-up),
ops, repeats, and result fields to cross-check against amdb's own numbers. Progress and
library chatter go to stderr. README.md beside this file states each case exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# Everything below may print; keep stdout for our JSON lines only.
_JSON_OUT = sys.stdout
sys.stdout = sys.stderr

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow  # noqa: E402
import talib  # noqa: E402

SUITE = "ta"
ALL_CASES = ["rsi_1000", "frame_1m", "backtest_one", "grid_64x100"]
ALL_SYMBOLS = 64

RSI_PERIOD = 14
EMA_FAST, EMA_SLOW = 7, 25
ROLL = 20  # volume-ratio window and volatility window
FEES = 0.001
INIT_CASH = 10_000.0
GRID_FAST = list(range(5, 15))  # 5..14
GRID_SLOW = list(range(20, 30))  # 20..29
TALIB_ZERO = 1e-8  # TA-Lib's TA_IS_ZERO threshold, used by RSI when gains + losses vanish


# --------------------------------------------------------------------------- output


def log(msg: str) -> None:
    print(f"[ta_peers] {msg}", file=sys.stderr, flush=True)


def emit(case: str, system: str, **fields) -> None:
    row = {"suite": SUITE, "case": case, "system": system}
    row.update(fields)
    _JSON_OUT.write(json.dumps(row, default=_json_default) + "\n")
    _JSON_OUT.flush()


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON-serialisable: {type(v)}")


def num(x) -> float | None:
    """A float for JSON; NaN/inf become null (JSON has neither)."""
    x = float(x)
    return x if np.isfinite(x) else None


class Timings:
    """Wall-clock (perf_counter) and process CPU (process_time, all threads) seconds of each
    timed run; cpu/wall above 1 means the library used more than one core."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    def fields(self, runs_key: str, cpu_key: str = "cpu_seconds") -> dict:
        return {
            runs_key: [round(t, 6) for t in self.wall],
            cpu_key: statistics.median(self.cpu),
        }


def timed_runs(fn, repeat: int, warmup: bool = True) -> tuple[Timings, object]:
    """Calls fn() once untimed (warm-up, unless the caller did its own), then `repeat` times
    timed. Returns the Timings and the last call's result."""
    result = fn() if warmup else None
    t = Timings()
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        w1, c1 = time.perf_counter(), time.process_time()
        t.wall.append(w1 - w0)
        t.cpu.append(c1 - c0)
    return t, result


# --------------------------------------------------------------------------- data


def read_bars(path: Path) -> pl.DataFrame:
    df = pl.read_parquet(path, columns=["ts", "open", "high", "low", "close", "volume"])
    if df.is_empty():
        raise SystemExit(f"{path}: no rows")
    return df


def symbol_path(data: Path, i: int) -> Path:
    return data / "bars_15m" / f"SYM{i:03d}.parquet"


def close_series(bars: pl.DataFrame) -> pd.Series:
    """Closes as a pandas Series on a DatetimeIndex of the bar times, tz-naive in UTC.

    Naive on purpose: with a tz-aware index, vectorbt 1.2 on pandas 3 turns the index into
    an object array of Timestamps while wrapping results, about 1.3 s per 140k-bar backtest
    here (40x the simulation itself). That is a pitfall a user can avoid, not a cost of
    backtesting, so the peer gets the fast path."""
    index = pd.DatetimeIndex(bars["ts"].dt.replace_time_zone(None).to_numpy(), name="ts")
    return pd.Series(bars["close"].to_numpy(), index=index, name="close")


# --------------------------------------------------------------------------- cases


def case_rsi_1000(data: Path, repeat: int, calls: int = 10_000) -> None:
    """rsi_1000: TA-Lib RSI(14) over the first 1,000 closes of SYM000 (15m).

    Timing, timeit-style: one batch = `calls` back-to-back calls of talib.RSI on the same
    float64 array (already in memory, contiguous); one untimed warm-up batch, then
    `repeat` timed batches; `seconds` = median batch time / calls (one call). `ops` = values
    per call (1,000), as amdb's line has it; `calls` = calls per batch.
    Result: `last` = the RSI of the 1,000th bar.
    """
    close = np.ascontiguousarray(read_bars(symbol_path(data, 0))["close"].head(1000).to_numpy(), dtype=np.float64)
    if close.size < 1000:
        raise SystemExit(f"SYM000 has only {close.size} rows; rsi_1000 needs 1,000")
    rsi = talib.RSI

    def batch():
        out = None
        for _ in range(calls):
            out = rsi(close, RSI_PERIOD)
        return out

    t, out = timed_runs(batch, repeat)
    per_call = t.median / calls
    emit(
        "rsi_1000", "talib",
        seconds=per_call, ops=int(close.size), calls=calls, repeats=repeat,
        micros_per_call=round(per_call * 1e6, 3),
        **t.fields("batch_seconds"),
        last=num(out[-1]),
    )


def _frame_checksum(cols: dict[str, np.ndarray]) -> float:
    """Sum of the last value of each of the five output columns."""
    return float(sum(float(c[-1]) for c in cols.values()))


def polars_frame_exprs() -> list[pl.Expr]:
    """The five frame_1m columns as polars expressions, TA-Lib semantics throughout.

    polars' ewm_mean(adjust=False) seeds with the first value; TA-Lib seeds EMA with the SMA
    of the first `period` values (placed at index period-1) and RSI's averages with the SMA
    of the first 14 gains/losses (at index 14). So each series fed to ewm_mean is first
    rewritten in polars: null before the seed index, the SMA at it, the raw values after.
    ewm_mean then runs y = (1-a)*y + a*x from the seed, which is TA-Lib's recursion
    (up to floating-point rounding: TA-Lib writes (x-y)*k+y and (13*y+x)/14).
    """
    idx = pl.int_range(pl.len())
    close, volume = pl.col("close"), pl.col("volume")

    def ema(x: pl.Expr, period: int) -> pl.Expr:
        seeded = (
            pl.when(idx < period - 1).then(None)
            .when(idx == period - 1).then(x.head(period).mean())
            .otherwise(x)
        )
        return seeded.ewm_mean(alpha=2.0 / (period + 1), adjust=False)

    def wilder(x: pl.Expr, period: int) -> pl.Expr:
        # x is a per-bar gain or loss, null at index 0; seed = mean of x[1..=period].
        seeded = (
            pl.when(idx < period).then(None)
            .when(idx == period).then(x.slice(1, period).mean())
            .otherwise(x)
        )
        return seeded.ewm_mean(alpha=1.0 / period, adjust=False)

    diff = close.diff()
    avg_gain = wilder(diff.clip(lower_bound=0.0), RSI_PERIOD)
    avg_loss = wilder((-diff).clip(lower_bound=0.0), RSI_PERIOD)
    total = avg_gain + avg_loss
    rsi = pl.when(total.abs() < TALIB_ZERO).then(0.0).otherwise(100.0 * avg_gain / total)

    vol_mean = volume.rolling_mean(window_size=ROLL)
    vol_ratio = pl.when(vol_mean == 0.0).then(0.0).otherwise(volume / vol_mean)

    prev = close.shift(1)
    ret = pl.when(prev == 0.0).then(0.0).otherwise(close / prev - 1.0)
    volatility = ret.rolling_std(window_size=ROLL, ddof=0)

    return [
        ema(close, EMA_FAST).alias("ema_fast"),
        ema(close, EMA_SLOW).alias("ema_slow"),
        rsi.alias("rsi"),
        vol_ratio.alias("volume_ratio"),
        volatility.alias("volatility"),
    ]


def talib_frame(close: np.ndarray, volume: pd.Series, close_s: pd.Series) -> dict[str, np.ndarray]:
    """frame_1m with TA-Lib for EMA and RSI, pandas rolling windows for the other two."""
    vol_mean = volume.rolling(ROLL).mean()
    vol_ratio = (volume / vol_mean).where(vol_mean != 0.0, 0.0)
    prev = close_s.shift(1)
    ret = (close_s / prev - 1.0).where(prev != 0.0, 0.0)  # NaN on bar 0 (NaN != 0 keeps it)
    return {
        "ema_fast": talib.EMA(close, EMA_FAST),
        "ema_slow": talib.EMA(close, EMA_SLOW),
        "rsi": talib.RSI(close, RSI_PERIOD),
        "volume_ratio": vol_ratio.to_numpy(),
        "volatility": ret.rolling(ROLL).std(ddof=0).to_numpy(),
    }


def pandas_frame(close_s: pd.Series, volume: pd.Series) -> dict[str, np.ndarray]:
    """frame_1m in pandas alone: ewm(adjust=False) over SMA-seeded series (as polars_frame_exprs
    explains), rolling windows for volume ratio and volatility."""

    def ema(x: pd.Series, period: int) -> pd.Series:
        seeded = x.copy()
        seeded.iloc[: period - 1] = np.nan
        seeded.iloc[period - 1] = x.iloc[:period].mean()
        return seeded.ewm(alpha=2.0 / (period + 1), adjust=False).mean()

    def wilder(x: pd.Series, period: int) -> pd.Series:
        seeded = x.copy()
        seeded.iloc[:period] = np.nan
        seeded.iloc[period] = x.iloc[1 : period + 1].mean()
        return seeded.ewm(alpha=1.0 / period, adjust=False).mean()

    diff = close_s.diff()
    avg_gain = wilder(diff.clip(lower=0.0), RSI_PERIOD)
    avg_loss = wilder((-diff).clip(lower=0.0), RSI_PERIOD)
    total = avg_gain + avg_loss
    rsi = (100.0 * avg_gain / total).mask(total.abs() < TALIB_ZERO, 0.0)

    vol_mean = volume.rolling(ROLL).mean()
    vol_ratio = (volume / vol_mean).where(vol_mean != 0.0, 0.0)
    prev = close_s.shift(1)
    ret = (close_s / prev - 1.0).where(prev != 0.0, 0.0)
    return {
        "ema_fast": ema(close_s, EMA_FAST).to_numpy(),
        "ema_slow": ema(close_s, EMA_SLOW).to_numpy(),
        "rsi": rsi.to_numpy(),
        "volume_ratio": vol_ratio.to_numpy(),
        "volatility": ret.rolling(ROLL).std(ddof=0).to_numpy(),
    }


def case_frame_1m(data: Path, repeat: int) -> None:
    """frame_1m: over frame_1m.parquet (1,000,000 one-minute bars) compute five columns:
    EMA(7) and EMA(25) of close (TA-Lib: SMA-seeded), RSI(14) (TA-Lib/Wilder), volume ratio
    = volume / mean of the last 20 volumes incl. the current one (0 where that mean is 0),
    volatility = population std (ddof=0) of the last 20 simple returns close/prev - 1.

    Systems: "polars" (one DataFrame.select of expressions; ewm_mean fed SMA-seeded inputs so
    it equals TA-Lib, see polars_frame_exprs), "talib" (talib.EMA/RSI + pandas rolling),
    "pandas" (pandas alone, same seeding trick as polars).
    Timing: the computation only, from columns already in memory (a polars DataFrame, numpy
    arrays / pandas Series) to five materialised float64 columns; one untimed warm-up, then
    `repeat` timed runs; `seconds` = their median. Result: `checksum` = sum of the five
    columns' last values.
    """
    df = read_bars(data / "frame_1m.parquet").select("close", "volume")
    rows = df.height
    close = np.ascontiguousarray(df["close"].to_numpy(), dtype=np.float64)
    close_s = pd.Series(close)
    volume_s = pd.Series(np.ascontiguousarray(df["volume"].to_numpy(), dtype=np.float64))
    exprs = polars_frame_exprs()

    def run_polars():
        out = df.select(exprs)
        return {name: out[name].to_numpy() for name in out.columns}

    systems = [
        ("polars", run_polars, {
            "threads": pl.thread_pool_size(),
            "note": "polars ewm_mean(adjust=False) seeds with the first value, TA-Lib with the "
                    "SMA of the first period values; the EMA and RSI inputs are rewritten in "
                    "polars (null before the seed bar, the SMA on it) so ewm_mean reproduces "
                    "TA-Lib's seeding exactly; that rewrite is part of the timed work",
        }),
        ("talib", lambda: talib_frame(close, volume_s, close_s), {
            "note": "talib.EMA/RSI; volume ratio and volatility with pandas rolling(20)",
        }),
        ("pandas", lambda: pandas_frame(close_s, volume_s), {
            "note": "pandas ewm(adjust=False) over SMA-seeded inputs (TA-Lib seeding), "
                    "pandas rolling(20) for volume ratio and volatility",
        }),
    ]
    for system, fn, extra in systems:
        log(f"frame_1m: {system}")
        t, cols = timed_runs(fn, repeat)
        emit(
            "frame_1m", system,
            seconds=t.median, ops=1, repeats=repeat, rows=rows,
            **t.fields("run_seconds"),
            checksum=num(_frame_checksum(cols)),
            last={k: num(v[-1]) for k, v in cols.items()},
            **extra,
        )


# ----- vectorbt


def vbt_engines(requested: list[str]) -> list[tuple[str, str]]:
    """(system name, vectorbt engine) pairs to run: "vectorbt" = numba engine (vectorbt's
    default without the Rust extension), "vectorbt_rust" = the vectorbt-rust engine."""
    from vectorbt._engine import is_rust_available

    out = []
    for eng in requested:
        if eng == "numba":
            out.append(("vectorbt", "numba"))
        elif eng == "rust":
            if is_rust_available():
                out.append(("vectorbt_rust", "rust"))
            else:
                log("vectorbt-rust not installed: skipping engine rust")
        else:
            raise SystemExit(f"unknown vectorbt engine {eng!r} (numba, rust)")
    return out


def cross_signals(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries and exits of an EMA cross, per column of 1-D or 2-D (bars x params) arrays.
    entry[t] = fast[t] > slow[t] and fast[t-1] <= slow[t-1]; exit[t] = fast[t] < slow[t] and
    fast[t-1] >= slow[t-1]; any NaN among the four values (EMA warm-up) means no signal;
    bar 0 never signals."""
    entries = np.zeros(fast.shape, dtype=bool)
    exits = np.zeros(fast.shape, dtype=bool)
    entries[1:] = (fast[1:] > slow[1:]) & (fast[:-1] <= slow[:-1])
    exits[1:] = (fast[1:] < slow[1:]) & (fast[:-1] >= slow[:-1])
    return entries, exits


def ema_cross_backtest(vbt, close: pd.Series, fast_period: int, slow_period: int, engine: str):
    """One EMA-cross backtest as a vectorbt user writes it: TA-Lib EMAs, cross signals,
    Portfolio.from_signals (long only, at the signal bar's close, fees 0.1 %, all cash),
    then total_return. Returns (portfolio, total_return)."""
    c = close.to_numpy()
    fast = talib.EMA(c, fast_period)
    slow = talib.EMA(c, slow_period)
    entries, exits = cross_signals(fast, slow)
    pf = vbt.Portfolio.from_signals(
        close, entries, exits,
        fees=FEES, init_cash=INIT_CASH, direction="longonly", freq="15min", engine=engine,
    )
    return pf, pf.total_return()


def case_backtest_one(data: Path, repeat: int, engines: list[tuple[str, str]]) -> None:
    """backtest_one: vectorbt EMA(7)/EMA(25) cross on SYM000's 15-minute closes.

    Entries: fast crosses above slow (see cross_signals); exits: crosses below; long only;
    orders fill at the close of the signal bar (vectorbt's default price); fees 0.001 of the
    traded value; no slippage; init_cash 10,000; size = all available cash (vectorbt's
    default size=inf: buys cash / (close * 1.001) units, fractional); an exit sells the whole
    position. Timing covers everything a user pays once the closes are in memory (a pandas
    Series with the timestamp index, tz-naive UTC: see close_series): both talib.EMA calls,
    the signals, from_signals and total_return(). Warm-up: one untimed run (numba
    compilation, or loading its on-disk cache) reported as `warmup_seconds`; then `repeat`
    timed runs, `seconds` = median.
    Results: total_return, trades (closed trades), open_trades (0 or 1), final_value,
    orders.
    """
    import vectorbt as vbt

    close = close_series(read_bars(symbol_path(data, 0)))
    for system, engine in engines:
        log(f"backtest_one: {system} (warm-up compiles on first use)")
        t0 = time.perf_counter()
        ema_cross_backtest(vbt, close, EMA_FAST, EMA_SLOW, engine)
        warmup = time.perf_counter() - t0
        t, (pf, total_return) = timed_runs(
            lambda: ema_cross_backtest(vbt, close, EMA_FAST, EMA_SLOW, engine), repeat, warmup=False
        )
        trades = pf.trades
        emit(
            "backtest_one", system,
            seconds=t.median, ops=1, repeats=repeat, bars=len(close),
            **t.fields("run_seconds"),
            warmup_seconds=round(warmup, 3),
            engine=engine,
            total_return=num(total_return),
            trades=int(trades.closed.count()),
            open_trades=int(trades.open.count()),
            final_value=num(pf.final_value()),
            orders=int(pf.orders.count()),
        )


def grid_backtest(vbt, close: pd.Series, engine: str):
    """The 10x10 EMA-cross grid on one symbol, vectorised the vectorbt way: ten fast and ten
    slow talib.EMA columns, expanded to 100 (fast, slow) columns, signals as (bars x 100)
    boolean frames, one Portfolio.from_signals over all 100 columns, then total_return().
    Same trading rules as backtest_one. Returns total_return, a Series indexed by
    (fast, slow)."""
    c = close.to_numpy()
    nf, ns = len(GRID_FAST), len(GRID_SLOW)
    fast = np.column_stack([talib.EMA(c, p) for p in GRID_FAST])
    slow = np.column_stack([talib.EMA(c, p) for p in GRID_SLOW])
    entries, exits = cross_signals(np.repeat(fast, ns, axis=1), np.tile(slow, (1, nf)))
    columns = pd.MultiIndex.from_product([GRID_FAST, GRID_SLOW], names=["fast", "slow"])
    pf = vbt.Portfolio.from_signals(
        close,
        pd.DataFrame(entries, index=close.index, columns=columns),
        pd.DataFrame(exits, index=close.index, columns=columns),
        fees=FEES, init_cash=INIT_CASH, direction="longonly", freq="15min", engine=engine,
    )
    return pf.total_return()


def case_grid(data: Path, repeat: int, symbols: int, engines: list[tuple[str, str]], all_symbols: int = ALL_SYMBOLS) -> None:
    """grid_64x100: the 10x10 EMA-cross grid (fast 5..14, slow 20..29; 100 backtests per
    symbol, rules as backtest_one) on each of 64 symbols, one from_signals per symbol.

    Only the first `symbols` symbols (--grid-symbols, default 4) are measured: their closes
    are loaded first (untimed); one untimed warm-up run on SYM000; then `repeat` timed
    passes, each running grid_backtest on every measured symbol in turn. `seconds_measured`
    = median pass time; `seconds` = seconds_measured * 64 / symbols, the 64-symbol estimate
    (`extrapolated` false only when all 64 were measured). `ops` = backtests in the 64-symbol
    run (6,400). Results for SYM000: best_total_return with best_fast/best_slow (first best
    in fast-major order on ties), and sum_total_return over its 100 combinations.
    """
    import vectorbt as vbt

    closes = []
    for i in range(symbols):
        closes.append(close_series(read_bars(symbol_path(data, i))))
    combos = len(GRID_FAST) * len(GRID_SLOW)
    for system, engine in engines:
        log(f"grid_64x100: {system} on {symbols} symbol(s), {repeat} pass(es)")
        t0 = time.perf_counter()
        grid_backtest(vbt, closes[0], engine)
        warmup = time.perf_counter() - t0

        def one_pass():
            return [grid_backtest(vbt, c, engine) for c in closes]

        t, results = timed_runs(one_pass, repeat, warmup=False)
        measured = t.median
        tr0 = results[0]
        values = tr0.to_numpy()
        best = int(np.nanargmax(values))
        best_fast, best_slow = tr0.index[best]
        emit(
            "grid_64x100", system,
            seconds=measured * all_symbols / symbols, ops=all_symbols * combos, repeats=repeat,
            symbols_measured=symbols, seconds_measured=measured,
            **t.fields("pass_seconds", "cpu_seconds_measured"),
            warmup_seconds=round(warmup, 3),
            extrapolated=symbols != all_symbols, all_symbols=all_symbols,
            combos_per_symbol=combos, bars_per_symbol=len(closes[0]), engine=engine,
            best_total_return=num(values[best]), best_fast=int(best_fast), best_slow=int(best_slow),
            best_params=f"fast={int(best_fast)} slow={int(best_slow)}",
            sum_total_return=num(np.nansum(values)),
        )


# --------------------------------------------------------------------------- main


def versions() -> dict:
    import numba
    import vectorbt as vbt

    try:
        import vectorbt_rust

        vbt_rust = vectorbt_rust.__version__
    except ImportError:
        vbt_rust = None
    return {
        "python": platform.python_version(),
        "talib": talib.__version__,
        "ta_lib_c": talib.__ta_version__.decode() if isinstance(talib.__ta_version__, bytes) else str(talib.__ta_version__),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "polars": pl.__version__,
        "polars_threads": pl.thread_pool_size(),
        "vectorbt": vbt.__version__,
        "vectorbt_rust": vbt_rust,
        "numba": numba.__version__,
        "cpu_count": os.cpu_count(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="directory written by `amdb bench ta`")
    ap.add_argument("--cases", default=",".join(ALL_CASES), help=f"comma-separated, from {','.join(ALL_CASES)}")
    ap.add_argument("--grid-symbols", type=int, default=4, help="symbols measured in grid_64x100 (1..64), default 4")
    ap.add_argument("--all-symbols", type=int, default=ALL_SYMBOLS,
                    help="symbols amdb ran the grid on; the measured time is scaled to this many (default 64)")
    ap.add_argument("--repeat", type=int, default=5, help="timed repeats after the warm-up, default 5")
    ap.add_argument("--grid-repeat", type=int, default=None,
                    help="timed passes for grid_64x100 (default: --repeat, at most 3)")
    ap.add_argument("--rsi-calls", type=int, default=10_000, help="talib.RSI calls per timed batch in rsi_1000")
    ap.add_argument("--vbt-engines", default="numba,rust",
                    help="vectorbt engines: numba (system vectorbt), rust (system vectorbt_rust, if installed)")
    args = ap.parse_args()

    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in ALL_CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {ALL_CASES}")
    if args.all_symbols < 1:
        ap.error("--all-symbols must be at least 1")
    if not 1 <= args.grid_symbols <= args.all_symbols:
        ap.error("--grid-symbols must be in 1..--all-symbols")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    grid_repeat = args.grid_repeat if args.grid_repeat is not None else min(args.repeat, 3)
    if grid_repeat < 1:
        ap.error("--grid-repeat must be at least 1")
    if not args.data.is_dir():
        ap.error(f"--data {args.data}: not a directory")

    emit("versions", "python", seconds=0.0, **versions())
    needs_vbt = any(c in cases for c in ("backtest_one", "grid_64x100"))
    engines = vbt_engines([e for e in args.vbt_engines.split(",") if e]) if needs_vbt else []

    for case in cases:
        log(f"case {case}")
        if case == "rsi_1000":
            case_rsi_1000(args.data, args.repeat, args.rsi_calls)
        elif case == "frame_1m":
            case_frame_1m(args.data, args.repeat)
        elif case == "backtest_one":
            case_backtest_one(args.data, args.repeat, engines)
        elif case == "grid_64x100":
            case_grid(args.data, grid_repeat, args.grid_symbols, engines, args.all_symbols)
    return 0


if __name__ == "__main__":
    sys.exit(main())
