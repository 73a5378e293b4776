"""``rotor scan --exchange bybit --api-url`` against the simulator's Bybit face (real ccxt).

The sim serves a slice of the shared real data; scanning it through the exchange path must
give the same report as scanning the same files with ``--data --at <sim clock>``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.data.datadir import (
    DataDir,
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.panel import HOUR_MS
from bot.signals.scan import iso
from tests.simserver import sim_server

SYMBOLS = [
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "AVAXUSDT", "DOTUSDT", "SUIUSDT",
    "DOGEUSDT", "1000PEPEUSDT", "1000SHIBUSDT", "XRPUSDT", "XLMUSDT", "LINKUSDT",
]  # fmt: skip
CLOCK = 1_754_006_400_000  # 2025-08-01T00:00Z, the sim's "now"
DAYS = 38  # under the engine's minimum history, so both paths see the same rows


def slice_dir(src: Path, out: Path, stamps_before: int | None = None) -> Path:
    """Copy ``DAYS`` of the shared data before CLOCK (and two days after it, which the sim
    must not reveal). ``stamps_before`` drops funding/OI stamped at or after that time."""
    lo, hi = CLOCK - DAYS * 24 * HOUR_MS, CLOCK + 2 * 24 * HOUR_MS
    side_hi = hi if stamps_before is None else stamps_before
    dd = DataDir(src)
    for s in SYMBOLS:
        o = dd.ohlcv(s)
        m = (o.ts >= lo) & (o.ts < hi)
        write_ohlcv(
            out / "ohlcv" / f"{s}.parquet",
            Ohlcv(o.ts[m], o.open[m], o.high[m], o.low[m], o.close[m], o.volume[m]),
        )
        f = dd.funding(s)
        assert f is not None
        m = (f.ts >= lo) & (f.ts < side_hi)
        write_funding(out / "funding" / f"{s}.parquet", Funding(f.ts[m], f.rate[m]))
        oi = dd.open_interest(s)
        if oi is not None:
            m = (oi.ts >= lo) & (oi.ts < side_hi)
            write_open_interest(
                out / "open_interest" / f"{s}.parquet", OpenInterestSeries(oi.ts[m], oi.oi[m])
            )
    return out


def close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.timeout(180)
async def test_exchange_scan_equals_data_scan(shared_data: Path, tmp_path: Path) -> None:
    data = slice_dir(shared_data, tmp_path / "data")
    runner = CliRunner()
    async with sim_server(data, start_ms=CLOCK) as sim:
        res = await asyncio.to_thread(
            runner.invoke, app, ["scan", "--exchange", "bybit", "--api-url", sim.url, "--json"]
        )
    assert res.exit_code == 0, res.output
    live = json.loads(res.stdout)
    # The download takes funding/OI stamped before the venue's current hour; a settlement
    # stamped exactly at the clock is left to the next scan. Compare like with like.
    same = slice_dir(shared_data, tmp_path / "same", stamps_before=CLOCK)
    res2 = runner.invoke(app, ["scan", "--data", str(same), "--at", iso(CLOCK) or "", "--json"])
    assert res2.exit_code == 0, res2.output
    offline = json.loads(res2.stdout)
    assert live["t"] == offline["t"] == iso(CLOCK)
    assert sorted(s["symbol"] for s in live["symbols"]) == sorted(SYMBOLS)
    assert close(live, offline), diff(live, offline)[:20]
    assert any(s["eligible"] for s in live["symbols"])
    assert any(s["score"] is not None for s in live["sectors"])


def test_exchange_flag_conflicts() -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["scan", "--exchange", "bybit", "--at", "2025-01-01T00:00:00Z"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["scan", "--api-url", "http://127.0.0.1:1"])
    assert r.exit_code == 2


def diff(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in a for d in diff(a[k], b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=False))
            for d in diff(x, y, f"{path}[{i}]")
        ]
    return [] if close(a, b) else [f"{path}: {a!r} != {b!r}"]
