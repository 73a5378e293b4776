"""Data-layer figures: synthetic generation speed, store append throughput, bounded memory.

Run: .venv/bin/python bench/bench_data.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bot.data.panel import HOUR_MS
from bot.data.store import PanelStore
from bot.data.synthetic import generate
from bot.domain.market import Bar

T0 = 1_767_225_600_000


def bench_generate() -> None:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        generate(Path(d), 50, 365, seed=1)
        dt = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(d).rglob("*") if p.is_file())
    print(f"synthetic generate 50 symbols x 365 days: {dt:.2f} s, {size / 1e6:.1f} MB on disk")


def bench_store(n_sym: int = 300, capacity: int = 2000, bars: int = 20_000) -> None:
    syms = [f"S{i:03d}USDT" for i in range(n_sym)]
    store = PanelStore(syms, capacity=capacity)
    rng = np.random.default_rng(0)
    c = np.exp(rng.uniform(0, 5, n_sym))
    nbytes0 = store.nbytes
    t = time.perf_counter()
    appended = 0
    for j in range(bars):
        c *= np.exp(rng.normal(0, 0.005, n_sym))
        ts = T0 + j * HOUR_MS
        for i, s in enumerate(syms):
            x = float(c[i])
            store.append_bar(Bar(s, ts, x, x * 1.002, x * 0.998, x, 1.0))
            appended += 1
        if j == 2 * capacity:
            break
    dt = time.perf_counter() - t
    t = time.perf_counter()
    p = store.panel(720)
    dt_view = time.perf_counter() - t
    print(
        f"store {n_sym} symbols, capacity {capacity}: {appended / dt:,.0f} bars/s appended "
        f"(quality gate included); panel(720) view {dt_view * 1000:.1f} ms; "
        f"ring memory {nbytes0 / 1e6:.1f} MB before, {store.nbytes / 1e6:.1f} MB after "
        f"{appended // n_sym} bars/symbol; view shape {p.close.shape}"
    )


if __name__ == "__main__":
    bench_generate()
    bench_store()
