"""Replay speed of the in-process simulator (issue #3, "Performance").

Generates 50 symbols × 8,760 1h bars with ``bot.data.synthetic.generate`` into a temp data
directory, then measures:
- idle: replaying every bar one ``advance()`` call at a time with no orders or positions
  (goal < 0.3 s: per-bar work must not scale with the universe);
- tickers: one ``tickers()`` call per bar (computed on request from the bar index);
- busy: the same replay while keeping 5 positions open, each with a reduce-only stop-market 8 %
  away and a take-profit limit 8 % away, re-entering on another symbol whenever one closes.

Usage: ``.venv/bin/python bench/bench_sim.py [--symbols 50] [--days 365] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from bot.data.synthetic import generate
from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimError, SimMarket
from bot.sim.account import CROSS, ISOLATED


def idle_run(market: SimMarket) -> tuple[float, int]:
    """Replay bar by bar with nothing open; return (seconds, bars)."""
    eng = SimEngine(market)
    n = 0
    t0 = time.perf_counter()
    while not eng.at_end:
        eng.advance(1)
        n += 1
    return time.perf_counter() - t0, n


def tickers_run(market: SimMarket, bars: int = 2000) -> float:
    """Seconds per ``tickers()`` call (the whole universe), one call per bar."""
    eng = SimEngine(market)
    t0 = time.perf_counter()
    n = 0
    while not eng.at_end and n < bars:
        eng.tickers()
        eng.advance(1)
        n += 1
    return (time.perf_counter() - t0) / max(n, 1)


def _enter(eng: SimEngine, sym: str) -> None:
    inst = eng.market.instruments[sym]
    price = eng.mark_price(sym)
    qty = inst.round_qty_down(Decimal(400) / price)  # ~400 USDT notional, 40 USDT margin at 10x
    if qty < inst.min_qty or qty * price < inst.min_notional:
        return
    try:
        eng.place_order(sym, Side.BUY, OrderType.MARKET, qty)
        stop = inst.round_price(price * Decimal("0.92"), ROUND_FLOOR)
        tp = inst.round_price(price * Decimal("1.08"), ROUND_CEILING)
        eng.place_order(
            sym, Side.SELL, OrderType.STOP_MARKET, qty,
            trigger_price=stop, trigger_direction=2, reduce_only=True,
        )  # fmt: skip
        eng.place_order(sym, Side.SELL, OrderType.LIMIT, qty, price=tp, reduce_only=True)
    except SimError:
        return


def busy_run(
    market: SimMarket, n_positions: int = 5, margin_mode: str = ISOLATED
) -> tuple[float, int, int]:
    """Replay with ``n_positions`` bracketed positions kept open; (seconds, bars, fills).

    Isolated margin (rotor's mode) by default; cross margin re-derives every position's
    account-level liquidation level each bar."""
    eng = SimEngine(market, margin_mode=margin_mode)
    syms = market.symbols
    nxt = 0
    n = 0
    t0 = time.perf_counter()
    while not eng.at_end:
        while len(eng.positions) < n_positions:
            sym = syms[nxt % len(syms)]
            nxt += 1
            if sym not in eng.positions:
                eng.cancel_all(sym)
                _enter(eng, sym)
        eng.advance(1)
        n += 1
    return time.perf_counter() - t0, n, len(eng.executions)


def main() -> None:
    """Generate the data, time load, idle and busy replays, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        t0 = time.perf_counter()
        generate(root, args.symbols, args.days, args.seed)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        market = SimMarket.load(root)
        t_load = time.perf_counter() - t0
    s, t = len(market.symbols), market.n_bars
    print(f"data: {s} symbols x {t} 1h bars (generated in {t_gen:.2f} s, loaded in {t_load:.2f} s)")
    idle = [idle_run(market) for _ in range(args.repeat)]
    times = [x[0] for x in idle]
    print(
        f"idle replay, advance(1) x {idle[0][1]}: median {statistics.median(times):.4f} s, "
        f"best {min(times):.4f} s (goal < 0.3 s)"
    )
    tick = [tickers_run(market) for _ in range(args.repeat)]
    print(f"tickers() for all {s} symbols: median {statistics.median(tick) * 1e3:.3f} ms per call")
    for mode, label in ((ISOLATED, "isolated"), (CROSS, "cross")):
        busy = [busy_run(market, margin_mode=mode) for _ in range(args.repeat)]
        btimes = [x[0] for x in busy]
        print(
            f"busy replay ({label}), 5 positions + stop + take-profit, {busy[0][2]} fills: "
            f"median {statistics.median(btimes):.4f} s, best {min(btimes):.4f} s"
        )


if __name__ == "__main__":
    main()
