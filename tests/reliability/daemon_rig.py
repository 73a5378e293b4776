"""The daemon in-process: ``Daemon`` (what ``rotor run`` runs) in testnet mode against the
simulator's HTTP face through unmodified ccxt, with a real database. The test drives the
venue's clock bar by bar and calls the daemon's own loop steps, so each scenario is
deterministic and quick. Process-level behaviour (signals, exit codes) is in the
``test_process_*`` files, which run the real ``rotor run``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.runtime.daemon import Daemon
from tests.simserver import T0, SimHandle, make_data_dir, sim_server

HOUR = 3_600_000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
# make_data_dir(seed 7): rsi-reversion enters SOLUSDT a few bars after this start.
START = T0 + 240 * HOUR
CONTROL_TOKEN = "rel-control-token-7f3a9c"


def trading_data(root: Path, bars: int = 600) -> Path:
    return make_data_dir(root, SYMBOLS, n_bars=bars)


# For a test that steps bars by hand (``bar``) and asserts an entry: the poll interval then only
# sets the stale-data guard's window (3 polls), and 3 s outlasts a cycle on a loaded machine.
SLOW_POLL: dict[str, Any] = {"exchange.poll_interval_s": 1.0}


def daemon_settings(sim: SimHandle, db_url: str, **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "mode": "testnet",
        "exchange.name": sim.venue,
        "exchange.api_url": sim.url,
        "exchange.api_key": sim.api_key,
        "exchange.api_secret": sim.api_secret,
        "exchange.poll_interval_s": 0.05,
        "exchange.rate_limit_ms": 0,
        "exchange.timeout_ms": 2000,
        "exchange.max_read_retries": 1,
        "database.url": db_url,
        "control.enabled": False,
        "strategy.preset": "rsi-reversion",
        "universe.symbols": list(SYMBOLS),
        "execution.kill_retry_max_backoff_s": 0.5,
    }
    base.update(overrides)
    return load_settings(None, base, environ={})


@contextlib.asynccontextmanager
async def running_daemon(sim: SimHandle, db_url: str, **overrides: Any) -> AsyncIterator[Daemon]:
    """A started daemon; shut down (gracefully) at the end of the block."""
    d = Daemon(daemon_settings(sim, db_url, **overrides), environ={})
    try:
        await d.start()
    except BaseException:
        await d.shutdown_partial()
        raise
    try:
        yield d
    finally:
        await d.shutdown()


async def bar(sim: SimHandle, d: Daemon, n: int = 1) -> int:
    """Advance the venue ``n`` bars, running the daemon's cycle after each; returns cycles run."""
    cycles = 0
    for _ in range(n):
        await sim.advance(1)
        await d.handle_operator_requests()
        cycles += int(await d.cycle_if_new_bar())
    return cycles


async def bars_until(sim: SimHandle, d: Daemon, pred: Any, limit: int = 200) -> int:
    """Step bar by bar until ``pred(d)`` holds (bounded); returns the bars stepped."""
    for n in range(1, limit + 1):
        await bar(sim, d)
        if pred(d):
            return n
    raise AssertionError(f"condition not reached within {limit} bars")


@contextlib.asynccontextmanager
async def trading_sim(root: Path, **kw: Any) -> AsyncIterator[SimHandle]:
    async with sim_server(trading_data(root), start_ms=START, **kw) as sim:
        yield sim


@contextlib.asynccontextmanager
async def live(d: Daemon) -> AsyncIterator[asyncio.Task[None]]:
    """Run the daemon's real loop (poll, cycle, back off, degrade) until the block ends."""
    task = asyncio.create_task(d._live_loop())
    try:
        yield task
    finally:
        d.stop_event.set()
        await asyncio.wait_for(task, 30)


async def wait_until(pred: Any, limit_s: float = 20.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or pred}")
        await asyncio.sleep(0.02)


async def step_live(sim: SimHandle, d: Daemon, n: int = 1, limit_s: float = 20.0) -> int:
    """Advance ``n`` bars and wait until the running loop has cycled on each."""
    now = 0
    for _ in range(n):
        now = int((await sim.advance(1))["time"])
        await wait_until(
            lambda now=now: (
                d.services.core.last_report is not None and d.services.core.last_report.t >= now
            ),
            limit_s,
            f"a cycle at {now}",
        )
    return now


def has_position_with_stop(symbol: str = "SOLUSDT") -> Any:
    def pred(d: Daemon) -> bool:
        return symbol in d.services.portfolio.positions and any(
            o.intent == "stop" and o.symbol == symbol for o in d.services.orders.open_orders()
        )

    return pred


async def ticker_price(sim: SimHandle, symbol: str, field: str = "markPrice") -> Decimal:
    """``field`` (``markPrice`` or ``lastPrice``) of ``symbol``'s ticker, read from the
    public market data of ``sim``'s own face."""
    if sim.venue == "binanceusdm":
        path, key = {
            "markPrice": ("/fapi/v1/premiumIndex", "markPrice"),
            "lastPrice": ("/fapi/v1/ticker/price", "price"),
        }[field]
        status, body, _h = await sim.binance("GET", path, {"symbol": symbol}, sign=False)
        assert status == 200, body
        return Decimal(body[key])
    _s, body = await sim.bybit(
        "GET", "/v5/market/tickers", {"category": "linear", "symbol": symbol}
    )
    return Decimal(body["result"]["list"][0][field])


async def hand_cancel(sim: SimHandle, symbol: str, order: dict[str, Any]) -> None:
    """Cancel ``order`` (a ``/sim/state`` row) by hand through ``sim``'s own face, by its venue
    order id, as from the exchange's web page (Binance keeps stops among algo orders)."""
    if sim.venue == "binanceusdm":
        algo = order["triggerPrice"] not in ("", "0")
        path = "/fapi/v1/algoOrder" if algo else "/fapi/v1/order"
        key = "algoId" if algo else "orderId"
        q = {"symbol": symbol, key: sim.face_order_id(order["orderId"])}
        status, body, _h = await sim.binance("DELETE", path, q)
        assert status == 200, body
        return
    q = {"category": "linear", "symbol": symbol, "orderId": order["orderId"]}
    status, body = await sim.bybit("POST", "/v5/order/cancel", q)
    assert status == 200 and body["retCode"] == 0, body
