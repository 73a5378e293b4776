"""Latency of the simulator's Bybit v5 HTTP face, per endpoint, over real HTTP on 127.0.0.1.

Raw signed aiohttp requests (no ccxt client-side throttling), one at a time, on a synthetic
universe (``bot.data.synthetic``). Prints the median and p95 round trip per endpoint.

    .venv/bin/python bench/bench_sim_http.py [--symbols 300] [--n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.data.panel import HOUR_MS  # noqa: E402
from bot.data.synthetic import DEFAULT_START_MS, generate  # noqa: E402
from tests.simserver import SimHandle, sim_server  # noqa: E402


async def _time_calls(
    sim: SimHandle, n: int, method: str, path: str, params: dict[str, Any] | None = None
) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        status, body = await sim.bybit(method, path, params)
        out.append((time.perf_counter() - t) * 1000)
        assert status == 200 and body["retCode"] == 0, body
    return out


async def _order_roundtrip(sim: SimHandle, n: int, symbol: str) -> list[float]:
    out = []
    for k in range(n):
        t = time.perf_counter()
        _, body = await sim.bybit(
            "POST",
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": symbol,
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.01",
                "price": "1000",
                "orderLinkId": f"b-{k}",
            },
        )
        assert body["retCode"] == 0, body
        _, body = await sim.bybit(
            "POST",
            "/v5/order/cancel",
            {"category": "linear", "symbol": symbol, "orderLinkId": f"b-{k}"},
        )
        assert body["retCode"] == 0, body
        out.append((time.perf_counter() - t) * 1000)
    return out


def _row(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return f"{name:<40} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms"


async def main(n_symbols: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data"
        generate(out, n_symbols, 30, seed=1)
        start = DEFAULT_START_MS + 7 * 24 * HOUR_MS
        t = time.perf_counter()
        async with sim_server(out, start_ms=start) as sim:
            print(f"{n_symbols} symbols, 30 days: server ready in {time.perf_counter() - t:.2f} s")
            lin = {"category": "linear"}
            cases = [
                ("GET /v5/market/time", "GET", "/v5/market/time", None),
                (f"GET /v5/market/tickers ({n_symbols} rows)", "GET", "/v5/market/tickers", lin),
                (
                    "GET /v5/market/kline (200 x 1h)",
                    "GET",
                    "/v5/market/kline",
                    {**lin, "symbol": "BTCUSDT", "interval": "60", "limit": 200},
                ),
                (
                    "GET /v5/market/instruments-info",
                    "GET",
                    "/v5/market/instruments-info",
                    {**lin, "limit": 1000},
                ),
                (
                    "GET /v5/account/wallet-balance",
                    "GET",
                    "/v5/account/wallet-balance",
                    {"accountType": "UNIFIED"},
                ),
                (
                    "GET /v5/position/list",
                    "GET",
                    "/v5/position/list",
                    {**lin, "settleCoin": "USDT"},
                ),
            ]
            for name, method, path, params in cases:
                print(_row(name, await _time_calls(sim, n, method, path, params)), flush=True)
            print(
                _row(
                    "POST create + cancel (limit order)", await _order_roundtrip(sim, n, "BTCUSDT")
                )
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    asyncio.run(main(a.symbols, a.n))
