"""Small, hand-checkable data directories for the reliability scenarios."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bot.data.datadir import (
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.panel import HOUR_MS
from tests.simserver import T0

INSTRUMENT = {
    "tick_size": "0.01",
    "qty_step": "0.01",
    "min_qty": "0.01",
    "min_notional": "5",
    "tiers": [{"floor": "0", "cap": "10000000", "mmr": "0.005", "max_leverage": "100"}],
}


def flat_dir(
    root: Path,
    symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"),
    *,
    bars: int = 96,
    price: float = 100.0,
    funding_rate: float = 0.0001,
    moves: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> Path:
    """Prices fixed at ``price`` (high +1, low -1), funding every 8 h at ``funding_rate``.

    ``moves`` sets a new price level from a bar on: ``{"BTCUSDT": [(10, 60.0)]}`` gaps BTC to
    60 at the open of bar 10 (and keeps it there), which is how a crash reaches a liquidation.
    """
    ts = T0 + np.arange(bars, dtype=np.int64) * HOUR_MS
    for s in symbols:
        close = np.full(bars, price)
        for start, level in (moves or {}).get(s, ()):
            close[start:] = level
        open_ = np.concatenate([[close[0]], close[:-1]])
        high = np.maximum(open_, close) + 1
        low = np.minimum(open_, close) - 1
        write_ohlcv(
            root / "ohlcv" / f"{s}.parquet", Ohlcv(ts, open_, high, low, close, close * 0 + 1e6)
        )
        fts = ts[ts % (8 * HOUR_MS) == 0]
        write_funding(
            root / "funding" / f"{s}.parquet", Funding(fts, np.full(len(fts), funding_rate))
        )
        write_open_interest(
            root / "open_interest" / f"{s}.parquet", OpenInterestSeries(ts, np.full(bars, 5e4))
        )
    (root / "instruments.json").write_text(json.dumps(dict.fromkeys(symbols, INSTRUMENT)))
    (root / "sectors.csv").write_text(
        "symbol,sector\n"
        + "".join(f"{s},{'benchmark' if s == 'BTCUSDT' else 'l1'}\n" for s in symbols)
    )
    return root
