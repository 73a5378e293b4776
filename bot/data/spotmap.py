"""Which spot market a perpetual trades, and which perpetual a ``spot/`` file belongs to.

A USDT perpetual ``1000PEPEUSDT`` is 1000 coins of the spot market ``PEPEUSDT``; ``BTCUSDT``
is one coin of ``BTCUSDT``. A data directory's optional spot file is named by the spot
market's own id (``spot/PEPEUSDT.parquet``), and one whose market no perpetual of ``ohlcv/``
trades is refused: it is most likely misnamed (``spot/1000PEPEUSDT.parquet``), and silently
ignoring it would price that coin at its perpetual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

_MULTIPLIED = re.compile(r"^(10+)([A-Z][A-Z0-9]*)USDT$")
_ONE = Decimal(1)


def spot_symbol_of(perp: str) -> tuple[str, Decimal]:
    """The spot symbol a USDT perpetual trades and the coins per contract unit:
    ``1000PEPEUSDT`` → (``PEPEUSDT``, 1000); ``BTCUSDT`` → (``BTCUSDT``, 1)."""
    m = _MULTIPLIED.match(perp)
    if m is None:
        return perp, _ONE
    return f"{m.group(2)}USDT", Decimal(m.group(1))


def perps_by_spot(perps: Iterable[str]) -> dict[str, str]:
    """{spot symbol: the perpetual it follows}; when two perpetuals trade one coin, the first
    in sorted order (the engine's choice, ``bot.sim.spot``)."""
    out: dict[str, str] = {}
    for p in sorted(perps):
        out.setdefault(spot_symbol_of(p)[0], p)
    return out


def orphan_problem(path: Path, perps: Iterable[str]) -> str | None:
    """Why the spot file ``path`` has no perpetual in the data (None: it has one)."""
    spot = path.stem
    if spot in perps_by_spot(perps):
        return None
    return (
        f"{path}: spot market {spot} is traded by no perpetual in ohlcv/ (a spot file is named "
        "by the spot market's own id, e.g. spot/PEPEUSDT.parquet for the 1000PEPEUSDT perpetual)"
    )
