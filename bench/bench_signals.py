"""Signal engine benchmarks (issue 5): one live evaluation and one full precompute.

    .venv/bin/python bench/bench_signals.py [--repeat N]

Goals: live evaluation over 300 symbols × 2,000 1h bars ≤ 20 ms median; precompute over
50 symbols × 8,760 1h bars ≤ 0.2 s. Data: seeded synthetic random walks with 8h funding and
hourly OI, in 12 sectors plus the BTC benchmark.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bot.data.panel import HOUR_MS, Panel
from bot.signals.engine import SignalEngine
from bot.signals.params import resolve

SECTORS = ["payments", "l1", "l2", "defi", "ai", "infra", "gaming", "meme", "rwa", "privacy"]


def synthetic_panel(n_symbols: int, n_bars: int, seed: int = 1) -> Panel:
    """Random-walk OHLCV, funding every 8h and hourly OI."""
    rng = np.random.default_rng(seed)
    ts = 1_704_067_200_000 + np.arange(n_bars, dtype=np.int64) * HOUR_MS
    syms = ["BTCUSDT"] + [f"S{i:03d}USDT" for i in range(n_symbols - 1)]
    secs: list[str | None] = ["benchmark"] + [
        SECTORS[i % len(SECTORS)] for i in range(n_symbols - 1)
    ]
    p = Panel.empty(syms, secs, ts)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.008, (n_symbols, n_bars)), axis=1))
    p.close[:] = c
    p.open[:] = np.concatenate((c[:, :1], c[:, :-1]), axis=1)
    wig = rng.uniform(0, 0.004, (2, n_symbols, n_bars))
    p.high[:] = np.maximum(p.open, c) * (1 + wig[0])
    p.low[:] = np.minimum(p.open, c) * (1 - wig[1])
    p.volume[:] = rng.uniform(1e3, 1e4, (n_symbols, n_bars))
    settle = ((ts + HOUR_MS) % (8 * HOUR_MS)) == 0
    p.funding[:] = np.where(settle, rng.normal(1e-4, 2e-4, (n_symbols, n_bars)), np.nan)
    p.funding_interval_h[:] = np.where(settle, 8.0, np.nan)
    p.oi[:] = 1e6 * np.exp(np.cumsum(rng.normal(0, 0.005, (n_symbols, n_bars)), axis=1))
    return p


def timed(fn, repeat: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Wall-clock and CPU (process) seconds per call; CPU time is less hurt by a busy host."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def show(label: str, runs: tuple[list[float], list[float]], unit: float, suffix: str) -> None:
    wall, cpu = runs
    name = "ms" if unit == 1e3 else "s"
    digits = 1 if unit == 1e3 else 3
    print(
        f"{label}: median {unit * statistics.median(wall):.{digits}f} {name}"
        f"  min {unit * min(wall):.{digits}f} {name}"
        f"  cpu median {unit * statistics.median(cpu):.{digits}f} {name}  {suffix}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    eng = SignalEngine(resolve())

    live_panel = synthetic_panel(300, 2000)
    eng.evaluate(live_panel)  # warm-up (imports, TA-Lib)
    runs = timed(lambda: eng.evaluate(live_panel), args.repeat)
    show(
        "live evaluate, 300 symbols x 2,000 1h bars",
        runs,
        1e3,
        f"(goal <= 20 ms; {args.repeat} runs)",
    )

    pre_panel = synthetic_panel(50, 8760)
    eng.precompute(pre_panel)
    n_pre = max(5, args.repeat // 3)
    runs = timed(lambda: eng.precompute(pre_panel), n_pre)
    show("precompute, 50 symbols x 8,760 1h bars", runs, 1.0, f"(goal <= 0.2 s; {n_pre} runs)")
    n = pre_panel.n_bars
    runs = timed(lambda: eng.evaluate_at(n - 1), args.repeat)
    show("evaluate_at after precompute, 50 symbols", runs, 1e3, "")


if __name__ == "__main__":
    main()
