"""Small hand-made data directories for engine tests (prices chosen so PnL is checkable)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.data.datadir import (
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.panel import HOUR_MS
from bot.sim.market import SimMarket

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a funding hour

# tick 0.01, step 0.01, min notional 5, one tier at MMR 0.5 % up to 100x: hand-checkable.
INSTRUMENT = {
    "tick_size": "0.01",
    "qty_step": "0.01",
    "min_qty": "0.01",
    "min_notional": "5",
    "tiers": [{"floor": "0", "cap": "10000000", "mmr": "0.005", "max_leverage": "100"}],
}

Bars = Sequence[tuple[float, float, float, float] | tuple[float, float, float, float, float]]
MakeMarket = Callable[..., SimMarket]


def write_dir(
    root: Path,
    bars: dict[str, Bars],
    *,
    funding: dict[str, list[tuple[int, float]]] | None = None,
    oi: dict[str, list[tuple[int, float]]] | None = None,
    instruments: dict[str, object] | None = None,
    start: int = T0,
) -> Path:
    """Write ohlcv (+ funding at hour offsets, OI, instruments.json) under ``root``."""
    for sym, rows in bars.items():
        n = len(rows)
        ts = start + np.arange(n, dtype=np.int64) * HOUR_MS
        cols = [np.array([r[j] for r in rows], dtype=np.float64) for j in range(4)]
        vol = np.array([r[4] if len(r) > 4 else 1000.0 for r in rows], dtype=np.float64)
        write_ohlcv(root / "ohlcv" / f"{sym}.parquet", Ohlcv(ts, *cols, vol))
    for sym, fr in (funding or {}).items():
        fts = np.array([start + h * HOUR_MS for h, _ in fr], dtype=np.int64)
        write_funding(
            root / "funding" / f"{sym}.parquet",
            Funding(fts, np.array([r for _, r in fr], dtype=np.float64)),
        )
    for sym, rows2 in (oi or {}).items():
        ots = np.array([start + h * HOUR_MS for h, _ in rows2], dtype=np.int64)
        write_open_interest(
            root / "open_interest" / f"{sym}.parquet",
            OpenInterestSeries(ots, np.array([v for _, v in rows2], dtype=np.float64)),
        )
    inst = instruments if instruments is not None else {s: INSTRUMENT for s in bars}
    (root / "instruments.json").write_text(json.dumps(inst), encoding="utf-8")
    return root


@pytest.fixture
def make_market(tmp_path: Path) -> MakeMarket:
    """Build a ``SimMarket`` from rows of (open, high, low, close[, volume]) per symbol."""
    counter = iter(range(1000))

    def make(bars: dict[str, Bars], **kw: object) -> SimMarket:
        root = tmp_path / f"d{next(counter)}"
        write_dir(root, bars, **kw)  # type: ignore[arg-type]
        return SimMarket.load(root)

    return make


def flat(n: int, price: float = 100.0) -> list[tuple[float, float, float, float]]:
    """``n`` bars that never move (nothing triggers)."""
    return [(price, price, price, price)] * n
