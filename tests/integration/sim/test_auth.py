"""Bybit v5 HMAC authentication, checked with raw HTTP requests."""

from __future__ import annotations

import json
import time

import aiohttp

from bot.sim.http.bybit.auth import sign
from tests.simserver import SimHandle


def _headers(
    sim: SimHandle,
    payload: str,
    ts: int | None = None,
    secret: str | None = None,
    key: str | None = None,
    recv: str = "5000",
) -> dict[str, str]:
    t = str(ts if ts is not None else int(time.time() * 1000))
    k = key if key is not None else sim.api_key
    return {
        "X-BAPI-API-KEY": k,
        "X-BAPI-TIMESTAMP": t,
        "X-BAPI-RECV-WINDOW": recv,
        "X-BAPI-SIGN": sign(secret or sim.api_secret, t, k, recv, payload),
        "Content-Type": "application/json",
    }


async def _code(s: aiohttp.ClientSession, method: str, url: str, **kw: object) -> int:
    async with s.request(method, url, **kw) as r:  # type: ignore[arg-type]
        assert r.status == 200
        return int((await r.json())["retCode"])


async def test_signatures_keys_and_recv_window(sim: SimHandle) -> None:
    q = "accountType=UNIFIED"
    url = f"{sim.url}/v5/account/wallet-balance?{q}"
    body = json.dumps(
        {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "3", "sellLeverage": "3"}
    )
    post = f"{sim.url}/v5/position/set-leverage"
    now = int(time.time() * 1000)
    async with aiohttp.ClientSession() as s:
        assert await _code(s, "GET", url, headers=_headers(sim, q)) == 0
        assert await _code(s, "GET", url) == 10003  # no key at all
        assert await _code(s, "GET", url, headers=_headers(sim, q, key="other")) == 10003
        assert await _code(s, "GET", url, headers=_headers(sim, q, secret="bad")) == 10004
        assert await _code(s, "GET", url, headers=_headers(sim, "accountType=SPOT")) == 10004
        assert await _code(s, "GET", url, headers=_headers(sim, q, ts=now - 6000)) == 10002
        assert await _code(s, "GET", url, headers=_headers(sim, q, ts=now + 5000)) == 10002
        wide = _headers(sim, q, ts=now - 6000, recv="20000")
        assert await _code(s, "GET", url, headers=wide) == 0
        tampered = body.replace('"3"', '"4"')
        assert await _code(s, "POST", post, data=tampered, headers=_headers(sim, body)) == 10004
        assert await _code(s, "POST", post, data=body, headers=_headers(sim, body)) == 0
        assert await _code(s, "GET", f"{sim.url}/v5/market/time") == 0  # public: no auth
    assert sim.ctx is not None and str(sim.ctx.engine.leverage("BTCUSDT")) == "3"
