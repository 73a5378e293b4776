"""Risk manager benchmarks (issue 6): one entry check, one exit check, one liquidation price.

    .venv/bin/python bench/bench_risk.py [--n N]

An entry check runs every guard and limit against 5 open positions, sizes the order, solves
the largest safe leverage on a 4-tier Binance-like schedule (10x, 8% stop → de-levered) and
re-verifies the final order. Figures are medians of per-call wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from decimal import Decimal as D

from bot.domain import Instrument, LeverageTier, OrderIntent, Position, PositionSide, TradingState
from bot.domain.instrument import cumulative_deductions
from bot.risk import AccountView, MarketSnapshot, RiskManager, RiskParams, liquidation_price

NOW = 1_700_000_000_000
TIERS = tuple(
    cumulative_deductions(
        [
            LeverageTier(D(0), D(50_000), D("0.004"), D(125)),
            LeverageTier(D(50_000), D(600_000), D("0.005"), D(100)),
            LeverageTier(D(600_000), D(3_000_000), D("0.01"), D(75)),
            LeverageTier(D(3_000_000), D(10) ** 12, D("0.025"), D(20)),
        ]
    )
)


def view() -> AccountView:
    insts = {
        f"S{i}USDT": Instrument(
            f"S{i}USDT",
            f"S{i}",
            "USDT",
            D("0.01"),
            D("0.001"),
            D("0.001"),
            D(5),
            TIERS,
            sector=f"X{i}",
        )
        for i in range(6)
    }
    market = {s: MarketSnapshot(D(100), D(100), NOW, D("0.0001")) for s in insts}
    positions = tuple(
        Position(
            f"S{i}USDT",
            PositionSide.LONG,
            D(10),
            D(100),
            D(8),
            NOW,
            stop_price=D(95),
            sector=f"X{i}",
        )
        for i in range(1, 5)
    )
    return AccountView(
        NOW, D(100_000), D(100_000), D(80_000), D(100_000), D(100_000), TradingState.ACTIVE, insts,
        market, positions, tuple(NOW - i * 10_000 for i in range(5)),
    )  # fmt: skip


def timeit(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    v = view()
    for venue in ("binance", "bybit"):
        mgr = RiskManager(RiskParams(), venue)  # type: ignore[arg-type]
        entry = OrderIntent("S0USDT", PositionSide.LONG, "entry", D(100), stop_distance=D("0.08"))
        exit_ = OrderIntent("S1USDT", PositionSide.LONG, "exit", D(100))
        r = mgr.check(entry, v)
        assert r.approved, r
        print(f"{venue}: entry check {timeit(lambda: mgr.check(entry, v), n):.0f} µs median "  # noqa: B023
              f"(leverage {r.leverage_used}x), exit check "  # type: ignore[union-attr]
              f"{timeit(lambda: mgr.check(exit_, v), n):.0f} µs")  # noqa: B023  # fmt: skip
    lp = timeit(
        lambda: liquidation_price("binance", PositionSide.SHORT, D(100), D(25), D(10), TIERS), n
    )
    print(f"liquidation_price (4 tiers, re-checked): {lp:.1f} µs median")


if __name__ == "__main__":
    main()
