"""Spot price files: ``<dir>/spot/<SPOT_SYMBOL>.parquet`` (optional; SIM-VENUE.md).

Same columns as an ``ohlcv/`` file (timestamp UTC ms candle open, open, high, low, close,
volume), prices per coin and volume in coins, named by the spot market's own id
(``PEPEUSDT`` for the ``1000PEPEUSDT`` perpetual: ``bot.data.spotmap``). Where the data has
one, the simulator prices that spot market from it; without one, the spot market follows its
perpetual (price / multiplier).

A spot file is held to the candle rules of ``rotor data check`` (``check_candles``) when it
is loaded, whole, before any work: a NaN, a non-positive price, high < low, an open or close
outside the range, a negative volume, a duplicate, backwards or off-the-hour timestamp is a
``DataFileError`` naming the file, the rows and the rule. (Missing hours are allowed: they are
the spot market's missing bars.)

``derive_spot`` writes spot files from the perpetuals' (a basis plus a slow noise), for
``rotor sim generate --spot-basis`` and for tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.data.check import FileReport, check_candles
from bot.data.datadir import DataDir, Ohlcv, read_ohlcv, write_ohlcv
from bot.data.schema import DataFileError
from bot.data.spotmap import perps_by_spot, spot_symbol_of


def spot_path(root: Path, spot: str) -> Path:
    return root / "spot" / f"{spot}.parquet"


def spot_files(root: Path) -> list[str]:
    """The spot symbols with a file, sorted."""
    sub = root / "spot"
    return sorted(p.stem for p in sub.glob("*.parquet")) if sub.is_dir() else []


def read_spot(path: Path) -> Ohlcv:
    """One spot file, read and held to the candle rules (``DataFileError`` on any bad row)."""
    o = read_ohlcv(path)
    if len(o) == 0:
        raise DataFileError(path, "no rows")
    rep = FileReport(path=str(path), kind="spot")
    cols = {"timestamp": o.ts, "open": o.open, "high": o.high, "low": o.low, "close": o.close}
    check_candles({**cols, "volume": o.volume}, rep)
    if rep.n_bad:
        what = ", ".join(f"{n} x {reason}" for reason, n in sorted(rep.bad_rows.items()))
        raise DataFileError(path, f"bad rows ({what}); first: {'; '.join(rep.examples[:3])}")
    return o


def load_spot(dd: DataDir, perps: list[str]) -> dict[str, tuple[str, Ohlcv]]:
    """{spot symbol: (its perpetual, its candles)} for the spot files of ``perps``' markets
    (opening ``dd`` refused a spot file no perpetual of the directory trades)."""
    names = spot_files(dd.root)
    if not names:
        return {}
    chosen = perps_by_spot(perps)
    return {s: (chosen[s], read_spot(spot_path(dd.root, s))) for s in names if s in chosen}


def derive_spot(
    root: Path,
    basis_bps: float,
    *,
    noise_bps: float = 0.0,
    volume_share: float = 0.5,
    seed: int = 0,
    symbols: list[str] | None = None,
) -> list[str]:
    """Write ``spot/`` files from the perpetuals of ``root`` (or of ``symbols``): each bar's
    prices per coin are the perpetual's / multiplier x (1 + basis), the basis ``basis_bps``
    plus an AR(1) noise of ``noise_bps`` (one factor per bar, so high ≥ open, close ≥ low
    still hold); volume in coins is ``volume_share`` of the perpetual's. The spot symbols
    written, sorted."""
    dd = DataDir(root)
    rng = np.random.default_rng(seed)
    written: list[str] = []
    for spot, perp in perps_by_spot(symbols if symbols is not None else dd.symbols()).items():
        o = dd.ohlcv(perp)
        mult = float(spot_symbol_of(perp)[1])
        noise = np.zeros(len(o))
        level = 0.0
        shocks = rng.standard_normal(len(o)) * noise_bps * 1e-4 * 0.3
        for t in range(len(o)):
            level = 0.95 * level + float(shocks[t])
            noise[t] = level
        f = (1.0 + basis_bps * 1e-4 + noise) / mult
        ok = np.isfinite(o.open + o.high + o.low + o.close + o.volume) & (o.low > 0)
        bars = Ohlcv(
            o.ts[ok], (o.open * f)[ok], (o.high * f)[ok], (o.low * f)[ok], (o.close * f)[ok],
            (o.volume * mult * volume_share)[ok],
        )  # fmt: skip
        write_ohlcv(spot_path(dd.root, spot), bars)
        written.append(spot)
    return sorted(written)
