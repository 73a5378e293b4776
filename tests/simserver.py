"""Test helper: start the simulator (Bybit v5 or Binance USDⓈ-M face) in-process or as a
subprocess, talk to it.

Usage (any async test)::

    from tests.simserver import make_data_dir, sim_server

    async def test_something(tmp_path):
        data = make_data_dir(tmp_path / "data")
        async with sim_server(data, start_ms=...) as sim:
            ex = sim.ccxt()                       # unmodified ccxt.async_support.bybit
            try:
                await ex.load_markets()
                ...
            finally:
                await ex.close()
            st = await sim.state()               # GET /sim/state
            await sim.advance(3)                 # POST /sim/advance {"bars": 3}
            await sim.set_faults([{"kind": "latency", "endpoint": "*", "ms": 5}], seed=1)
            counts = await sim.requests()        # GET /sim/requests
            sim.ctx.engine                       # in-process only: the engine itself

        async with sim_server(data, venue="binanceusdm") as sim:
            ex = sim.ccxt()                       # unmodified ccxt.async_support.binanceusdm
            status, body = await sim.binance("GET", "/fapi/v3/account")  # a raw signed call

``sim_subprocess(...)`` runs ``rotor sim serve`` exactly as a user would and yields the same
handle (``ctx`` is None there; everything else works over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import ccxt.async_support as ccxt_async
import numpy as np
import yarl

from bot.data.datadir import (
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.panel import HOUR_MS
from bot.sim.http.binance.auth import sign as binance_sign
from bot.sim.http.binance.views import ACTUAL_ID_OFFSET
from bot.sim.http.binance.wire import num as binance_num
from bot.sim.http.bybit.auth import sign as auth_sign
from bot.sim.http.context import SimContext
from bot.sim.http.server import SimServer, SimServerConfig, build_context

DEFAULT_KEY = "sim-test-key"
DEFAULT_SECRET = "sim-test-secret"
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
ROOT = Path(__file__).resolve().parents[1]


def ccxt_options(base_url: str, api_key: str, api_secret: str, **extra: Any) -> dict[str, Any]:
    """The ccxt config from SIM-VENUE.md ("ccxt options for pointing at it")."""
    cfg: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "urls": {"api": dict.fromkeys(("spot", "futures", "v2", "public", "private"), base_url)},
        "has": {"fetchCurrencies": False},
        "options": {
            "defaultType": "swap",
            "defaultSubType": "linear",
            "defaultSettle": "USDT",
            "fetchMarkets": {"types": ["linear"]},
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
            "unifiedMarginStatus": 6,
            "adjustForTimeDifference": False,
            "fetchOrder": {"acknowledged": True},
        },
    }
    opts = extra.pop("options", None)
    if opts:
        cfg["options"].update(opts)
    cfg.update(extra)
    return cfg


# ccxt's binanceusdm URL groups: the fapi ones to the face, everything else to a path the face
# does not serve, so a stray spot/sapi call fails loudly (CCXT-ENDPOINTS.md, section 1).
_FAPI_GROUPS = {
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "sapi": "/sapi/v1",
}


def ccxt_binance_options(
    base_url: str, api_key: str, api_secret: str, **extra: Any
) -> dict[str, Any]:
    """An unmodified ccxt binanceusdm pointed at the Binance face (every URL group local;
    ``fetchCurrencies`` off, or load_markets would call the spot wallet API first)."""
    groups = ccxt_async.binanceusdm().urls["api"]
    urls = {k: base_url + _FAPI_GROUPS.get(k, "/unsupported/" + k) for k in groups}
    cfg: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "urls": {"api": urls},
        "options": {"fetchCurrencies": False, "adjustForTimeDifference": False},
    }
    opts = extra.pop("options", None)
    if opts:
        cfg["options"].update(opts)
    cfg.update(extra)
    return cfg


@dataclass
class SimHandle:
    """A running simulator: base URL, credentials, admin calls and a ccxt factory."""

    url: str
    api_key: str
    api_secret: str
    ctx: SimContext | None = None  # in-process only
    venue: str = "bybit"
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call a ``/sim/*`` admin endpoint and return its JSON (raises on HTTP errors)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        async with self._session.request(method, self.url + path, json=body) as resp:
            data = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"{method} {path} -> {resp.status}: {data}")
            return data

    async def bybit(
        self, method: str, path: str, params: dict[str, Any] | None = None, *, sign: bool = True
    ) -> tuple[int, Any]:
        """A raw (optionally signed) Bybit v5 call; returns ``(http_status, json_or_text)``."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        params = params or {}
        if method == "GET":
            payload = urlencode(params, quote_via=quote)
            full = f"{self.url}{path}?{payload}" if payload else self.url + path
            url, body = yarl.URL(full, encoded=True), None  # send exactly what was signed
        else:
            payload = json.dumps(params)
            url, body = yarl.URL(self.url + path), payload
        headers = {"Content-Type": "application/json"}
        if sign:
            ts, recv = str(int(time.time() * 1000)), "5000"
            headers |= {
                "X-BAPI-API-KEY": self.api_key,
                "X-BAPI-TIMESTAMP": ts,
                "X-BAPI-RECV-WINDOW": recv,
                "X-BAPI-SIGN": auth_sign(self.api_secret, ts, self.api_key, recv, payload),
            }
        async with self._session.request(method, url, data=body, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def binance(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        sign: bool = True,
        in_query: bool = False,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """A raw (optionally signed) Binance call; returns ``(status, json_or_text,
        headers)``. POST parameters go in the form body (as ccxt sends them) unless
        ``in_query`` (as Binance's SDK sends them)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        params = dict(params or {})
        hdrs = dict(headers or {})
        if sign:
            params["timestamp"] = timestamp if timestamp is not None else int(time.time() * 1000)
            params.setdefault("recvWindow", 5000)
            hdrs.setdefault("X-MBX-APIKEY", self.api_key)
        text = urlencode(params, quote_via=quote)
        if sign:
            text += "&signature=" + binance_sign(self.api_secret, text)
        body = None
        if method in ("GET", "DELETE") or in_query:
            full = f"{self.url}{path}?{text}" if text else self.url + path
        else:
            full = self.url + path
            body = text
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        url = yarl.URL(full, encoded=True)
        async with self._session.request(method, url, data=body, headers=hdrs) as resp:
            raw = await resp.text()
            try:
                data = json.loads(raw)
            except ValueError:
                data = raw
            return resp.status, data, dict(resp.headers)

    async def state(self) -> dict[str, Any]:
        """GET /sim/state."""
        return dict(await self.admin("GET", "/sim/state"))

    async def requests(self) -> dict[str, Any]:
        """GET /sim/requests."""
        return dict(await self.admin("GET", "/sim/requests"))

    async def advance(self, bars: int = 1) -> dict[str, Any]:
        """POST /sim/advance."""
        return dict(await self.admin("POST", "/sim/advance", {"bars": bars}))

    async def set_faults(self, faults: Sequence[dict[str, Any]], seed: int = 1) -> dict[str, Any]:
        """POST /sim/faults (replaces the active set; ``[]`` clears it)."""
        return dict(await self.admin("POST", "/sim/faults", {"seed": seed, "faults": list(faults)}))

    def face_order_id(self, engine_id: str) -> str:
        """The id this face shows for an engine order id (``/sim/state``'s ``orderId``):
        Bybit shows it as is, Binance as an integer."""
        return str(binance_num(engine_id)) if self.venue == "binanceusdm" else engine_id

    def filled_order_id(self, row: dict[str, Any]) -> str:
        """The id a ``/sim/state`` order's fills carry and rotor keeps for it: on Binance a
        triggered conditional order fills as an actual order with an id of its own."""
        triggered = row["triggerPrice"] not in ("", "0") and row["orderStatus"] in (
            "Triggered",
            "PartiallyFilled",
            "Filled",
            "PartiallyFilledCanceled",
        )
        if self.venue == "binanceusdm" and triggered:
            return str(binance_num(row["orderId"]) + ACTUAL_ID_OFFSET)
        return self.face_order_id(row["orderId"])

    def binance_spot(self) -> Any:
        """An unmodified ccxt ``binance`` (spot and the wallet) with its spot and wallet URL
        groups on the Binance face (the rest unserved)."""
        groups = ccxt_async.binance().urls["api"]
        local = {"public": "/api/v3", "private": "/api/v3", "sapi": "/sapi/v1"}
        urls = {k: self.url + local.get(k, "/unsupported/" + k) for k in groups}
        return ccxt_async.binance(
            {
                "apiKey": self.api_key,
                "secret": self.api_secret,
                "urls": {"api": urls},
                "options": {
                    "defaultType": "spot",
                    "fetchMarkets": {"types": ["spot"]},
                    "fetchCurrencies": False,
                    "adjustForTimeDifference": False,
                },
            }
        )

    def ccxt(self, **extra: Any) -> Any:
        """An unmodified ccxt client of this face (``bybit`` or ``binanceusdm``)."""
        if self.venue == "binanceusdm":
            cfg = ccxt_binance_options(self.url, self.api_key, self.api_secret, **extra)
            return ccxt_async.binanceusdm(cfg)
        return ccxt_async.bybit(ccxt_options(self.url, self.api_key, self.api_secret, **extra))

    async def close(self) -> None:
        """Close the admin HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


@contextlib.asynccontextmanager
async def sim_server(
    data_dir: Path,
    *,
    api_key: str = DEFAULT_KEY,
    api_secret: str = DEFAULT_SECRET,
    speed: float = 0.0,
    start_ms: int | None = None,
    equity: Decimal = Decimal(10000),
    faults: dict[str, Any] | None = None,
    symbols: list[str] | None = None,
    engine_kwargs: dict[str, Any] | None = None,
    venue: str = "bybit",
) -> AsyncIterator[SimHandle]:
    """Run the simulator (``venue``'s face) inside this event loop on a free port."""
    cfg = SimServerConfig(
        data_dir=Path(data_dir),
        api_key=api_key,
        api_secret=api_secret,
        speed=speed,
        start_ms=start_ms,
        equity=equity,
        faults=faults,
        symbols=symbols,
        engine_kwargs=engine_kwargs or {},
        venue=venue,
    )
    server = SimServer(build_context(cfg))
    url = await server.start()
    handle = SimHandle(url, api_key, api_secret, ctx=server.ctx, venue=venue)
    try:
        yield handle
    finally:
        await handle.close()
        await server.stop()


@contextlib.asynccontextmanager
async def sim_subprocess(
    args: Sequence[str] = (),
    *,
    api_key: str = DEFAULT_KEY,
    api_secret: str = DEFAULT_SECRET,
    ready_timeout: float = 60.0,
    exit_codes: list[int] | None = None,
) -> AsyncIterator[SimHandle]:
    """Run ``rotor sim serve --port 0 ARGS`` (key/secret via env) until the block ends.

    Yields once the ``sim_ready`` line is read; on exit sends SIGTERM and appends the
    process's return code to ``exit_codes`` when given.
    """
    env = dict(os.environ, ROTOR_SIM_API_KEY=api_key, ROTOR_SIM_API_SECRET=api_secret)
    cmd = [sys.executable, "-m", "bot.cli", "sim", "serve", "--port", "0", *args]
    # stderr goes to a file, not a pipe: an undrained pipe could block the server.
    with tempfile.TemporaryFile() as errf:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=errf, env=env, cwd=str(ROOT)
        )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), ready_timeout)
            if not line:
                await proc.wait()
                errf.seek(0)
                err = errf.read().decode(errors="replace")
                raise RuntimeError(f"rotor sim serve exited before ready: {err}")
            ready = json.loads(line)
            assert ready.get("event") == "sim_ready", ready
            handle = SimHandle(
                str(ready["url"]), api_key, api_secret, venue=str(ready.get("venue", "bybit"))
            )
            try:
                yield handle
            finally:
                await handle.close()
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                rc = await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                rc = await proc.wait()
            if exit_codes is not None:
                exit_codes.append(rc)


def make_data_dir(
    root: Path,
    symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT", "SOLUSDT"),
    n_bars: int = 240,
    start_ms: int = T0,
    seed: int = 7,
    prices: Sequence[float] = (40000.0, 2500.0, 100.0),
    open_interest: bool = True,
) -> Path:
    """A small, valid data directory written with ``bot.data.datadir`` writers.

    Seeded random walks (hourly), funding every 8h, hourly open interest, a sectors.csv.
    """
    rng = np.random.default_rng(seed)
    ts = start_ms + HOUR_MS * np.arange(n_bars, dtype=np.int64)
    sectors = []
    for k, sym in enumerate(symbols):
        p0 = prices[k % len(prices)]
        rets = rng.normal(0.0, 0.006, n_bars)
        close = p0 * np.exp(np.cumsum(rets))
        open_ = np.concatenate([[p0], close[:-1]])
        wig = np.abs(rng.normal(0.0, 0.003, n_bars))
        high = np.maximum(open_, close) * (1 + wig)
        low = np.minimum(open_, close) * (1 - wig)
        vol = rng.uniform(100.0, 1000.0, n_bars) * 40000.0 / p0
        # Round like an exchange would print, so values are exact short decimals.
        o, h, lo, c = (np.round(a, 2 if p0 >= 100 else 4) for a in (open_, high, low, close))
        h = np.maximum.reduce([h, o, c])
        lo = np.minimum.reduce([lo, o, c])
        write_ohlcv(root / "ohlcv" / f"{sym}.parquet", Ohlcv(ts, o, h, lo, c, np.round(vol, 3)))
        fts = ts[ts % (8 * HOUR_MS) == 0]
        rates = np.round(rng.normal(0.0001, 0.0002, len(fts)), 6)
        write_funding(root / "funding" / f"{sym}.parquet", Funding(fts, rates))
        if open_interest:
            oi = np.round(rng.uniform(1e4, 2e4, n_bars) * 40000.0 / p0, 3)
            write_open_interest(
                root / "open_interest" / f"{sym}.parquet", OpenInterestSeries(ts, oi)
            )
        sectors.append(f"{sym},{'benchmark' if sym == 'BTCUSDT' else 'l1'}")
    (root / "sectors.csv").write_text("symbol,sector\n" + "\n".join(sectors) + "\n")
    return root
