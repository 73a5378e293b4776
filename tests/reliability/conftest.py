"""The execution rig: rotor's order manager and reconciliation talking to the simulator's HTTP
face through the unmodified ccxt client (``CcxtVenue``), persisting to a real database
(SQLite and PostgreSQL through ``migrated_url``).

``Rig.restart()`` is what a process restart does to these objects: everything in memory is
dropped and rebuilt from the database, under a new run id, with a new HTTP client.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.execution.client_ids import ClientIdFactory, order_key
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.reconcile import Reconciler
from bot.storage import Repository, create_engine
from bot.storage.records import RunRecord
from bot.venues.ccxt_client import ClientSpec, Endpoint
from bot.venues.ccxt_venue import CcxtVenue
from tests.reliability.data import flat_dir
from tests.reliability.invariants import Books, read_books
from tests.simserver import T0, SimHandle, sim_server

PREFIX = "rtr"
START = T0 + 8 * 3_600_000
# The order endpoints a scenario faults or counts, per face, as "METHOD /path" (Binance
# creates, queries and cancels on one path; its stops live on the algo-order path).
ENDPOINTS: dict[str, dict[str, tuple[str, ...]]] = {
    "bybit": {
        "create": ("POST /v5/order/create",),
        "query": ("GET /v5/order/realtime", "GET /v5/order/history"),
        "cancel": ("POST /v5/order/cancel",),
    },
    "binanceusdm": {
        "create": ("POST /fapi/v1/order", "POST /fapi/v1/algoOrder"),
        "query": ("GET /fapi/v1/order", "GET /fapi/v1/algoOrder"),
        "cancel": ("DELETE /fapi/v1/order", "DELETE /fapi/v1/algoOrder"),
    },
}


def endpoints(sim: SimHandle, what: str) -> tuple[str, ...]:
    """``what`` (create, query, cancel) on ``sim``'s face."""
    return ENDPOINTS[sim.venue][what]


def faults_on(sim: SimHandle, what: str, **fault: Any) -> list[dict[str, Any]]:
    """One fault per endpoint of ``what`` on ``sim``'s face."""
    return [{**fault, "endpoint": e} for e in endpoints(sim, what)]


async def hand_order(
    sim: SimHandle,
    symbol: str,
    side: str,
    qty: str,
    *,
    price: str | None = None,
    trigger: str | None = None,
    link: str | None = None,
) -> tuple[str, str]:
    """An order placed by hand through ``sim``'s own face, as from the exchange's web page:
    market, limit (``price``) or a stop-market (``trigger``, firing as the price moves
    against ``side``); ``side`` Buy/Sell. Returns its venue order id and the key rotor tracks
    it under: the client id ``link``, or without one what the venue shows (Bybit none, so
    ``venue:<orderId>``; Binance the ``web_…`` one it makes up). On Binance the operator
    picks the symbol's margin type first, which Bybit's account-wide mode does for them."""
    if sim.venue == "binanceusdm":
        mt = {"symbol": symbol, "marginType": "ISOLATED"}
        status, body, _h = await sim.binance("POST", "/fapi/v1/marginType", mt)
        assert status == 200 or body.get("code") == -4046, body
        q: dict[str, Any] = {"symbol": symbol, "side": side.upper(), "quantity": qty}
        if trigger is not None:
            q |= {"algoType": "CONDITIONAL", "type": "STOP_MARKET", "triggerPrice": trigger}
            q |= {"clientAlgoId": link} if link else {}
            status, body, _h = await sim.binance("POST", "/fapi/v1/algoOrder", q)
            assert status == 200, body
            return str(body["algoId"]), str(body["clientAlgoId"])
        if price is not None:
            q |= {"type": "LIMIT", "timeInForce": "GTC", "price": price}
        else:
            q |= {"type": "MARKET"}
        q |= {"newClientOrderId": link} if link else {}
        status, body, _h = await sim.binance("POST", "/fapi/v1/order", q)
        assert status == 200, body
        return str(body["orderId"]), str(body["clientOrderId"])
    b: dict[str, Any] = {"category": "linear", "symbol": symbol, "side": side, "qty": qty}
    if trigger is not None:
        direction = 1 if side == "Buy" else 2
        b |= {"orderType": "Market", "triggerPrice": trigger, "triggerDirection": direction}
    elif price is not None:
        b |= {"orderType": "Limit", "price": price}
    else:
        b |= {"orderType": "Market"}
    b |= {"orderLinkId": link} if link else {}
    status, reply = await sim.bybit("POST", "/v5/order/create", b)
    assert status == 200 and reply["retCode"] == 0, reply
    venue_id = str(reply["result"]["orderId"])
    return venue_id, reply["result"]["orderLinkId"] or order_key("", venue_id)


async def hand_market(sim: SimHandle, symbol: str, side: str, qty: str, link: str) -> None:
    """A market order placed by hand on ``sim``'s face with client id ``link``."""
    await hand_order(sim, symbol, side, qty, link=link)


async def hand_leverage(sim: SimHandle, symbol: str, leverage: int) -> None:
    """The symbol's leverage changed by hand through ``sim``'s own face."""
    if sim.venue == "binanceusdm":
        q = {"symbol": symbol, "leverage": leverage}
        status, reply, _h = await sim.binance("POST", "/fapi/v1/leverage", q)
        assert status == 200, reply
        return
    lev = str(leverage)
    q2 = {"category": "linear", "symbol": symbol, "buyLeverage": lev, "sellLeverage": lev}
    _, body = await sim.bybit("POST", "/v5/position/set-leverage", q2)
    assert body["retCode"] == 0, body


async def hand_cancel_stop(sim: SimHandle, symbol: str, link: str) -> None:
    """Cancel a stop by hand on ``sim``'s face (Binance keeps it among algo orders)."""
    if sim.venue == "binanceusdm":
        q = {"symbol": symbol, "clientAlgoId": link}
        status, body, _h = await sim.binance("DELETE", "/fapi/v1/algoOrder", q)
        assert status == 200, body
        return
    q = {"category": "linear", "symbol": symbol, "orderLinkId": link}
    status, body = await sim.bybit("POST", "/v5/order/cancel", q)
    assert status == 200 and body["retCode"] == 0, body


async def calls(sim: SimHandle, what: str) -> int:
    """Requests the face has served for ``what``."""
    made = (await sim.requests())["calls"]
    return sum(int(made.get(e, 0)) for e in endpoints(sim, what))


def ccxt_venue(sim: SimHandle, *, timeout_ms: int = 2_000, retries: int = 2) -> CcxtVenue:
    """A ``CcxtVenue`` pointed at the simulator the way ``exchange.api_url`` does it (the
    exchange its face serves)."""
    spec = ClientSpec(
        exchange="binanceusdm" if sim.venue == "binanceusdm" else "bybit",
        endpoint=Endpoint.CUSTOM,
        api_url=sim.url,
        api_key=sim.api_key,
        api_secret=sim.api_secret,
        timeout_ms=timeout_ms,
        max_read_retries=retries,
        rate_limit_ms=0,
    )
    return CcxtVenue(spec, backoff_base_s=0.01)


@dataclass
class Rig:
    sim: SimHandle
    db_url: str
    repo: Repository
    venue: CcxtVenue
    orders: OrderManager
    portfolio: Portfolio
    reconciler: Reconciler
    run_id: str
    policy: str = "adopt"
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    def now(self) -> int:
        assert self.sim.ctx is not None
        return int(self.sim.ctx.clock.now_ms())

    @property
    def ids(self) -> ClientIdFactory:
        return self.orders.ids

    async def books(self) -> Books:
        return await read_books(self.sim, self.db_url)

    async def advance(self, bars: int = 1) -> None:
        await self.sim.advance(bars)

    async def reconcile(self) -> Any:
        return await self.reconciler.run()


async def build_rig(
    sim: SimHandle,
    db_url: str,
    *,
    policy: str = "adopt",
    grace_ms: int = 20_000,
    timeout_ms: int = 2_000,
) -> Rig:
    """Fresh in-memory objects over ``db_url`` (a start or a restart)."""
    engine = create_engine(db_url)
    repo = Repository(engine)
    run_id = secrets.token_hex(4)
    assert sim.ctx is not None
    clock = sim.ctx.clock.now_ms
    await repo.start_run(RunRecord(run_id=run_id, mode="test", started_ms=int(clock())))
    venue = ccxt_venue(sim, timeout_ms=timeout_ms)
    await venue.load_instruments()
    await venue.server_time()
    await venue.ensure_account_modes("isolated")  # as the daemon's start-up does
    orders = OrderManager(
        venue,
        repo,
        ClientIdFactory(PREFIX, run_id),
        lambda: int(clock()),
        unknown_grace_ms=grace_ms,
        query_delay_s=0.01,
    )
    for order in await repo.list_open_orders():
        orders.track(order)
    portfolio = Portfolio()
    portfolio.restore(await repo.list_positions())
    reconciler = Reconciler(
        venue,
        repo,
        orders,
        portfolio,
        prefix=PREFIX,
        policy=policy,  # type: ignore[arg-type]
        clock=lambda: int(clock()),
        resume_from_ms=await repo.latest_account_event_ms(),
    )
    rig = Rig(sim, db_url, repo, venue, orders, portfolio, reconciler, run_id, policy)
    rig._closers += [venue.close, engine.dispose]
    return rig


async def close_rig(rig: Rig) -> None:
    for close in rig._closers:
        await close()
    rig._closers.clear()


@pytest.fixture
def flat_data(tmp_path: Path) -> Path:
    return flat_dir(tmp_path / "data")


@pytest.fixture
def face() -> str:
    """The simulator face (venue) of a scenario: Bybit, unless the test parametrises ``face``
    over ``tests.conftest.VENUES`` to run on both (the scenarios where the venue matters)."""
    return "bybit"


@pytest.fixture
async def sim(flat_data: Path, face: str) -> AsyncIterator[SimHandle]:
    async with sim_server(flat_data, start_ms=START, equity=Decimal(10000), venue=face) as handle:
        yield handle


@pytest.fixture
async def rig(sim: SimHandle, migrated_url: str) -> AsyncIterator[Rig]:
    r = await build_rig(sim, migrated_url)
    try:
        yield r
    finally:
        await close_rig(r)


@pytest.fixture
async def lite_rig(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Rig]:
    """The rig on SQLite only, for scenarios about the venue rather than the database."""
    from bot.storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'lite' / 'rotor.db'}"
    await upgrade(url)
    r = await build_rig(sim, url)
    try:
        yield r
    finally:
        await close_rig(r)


@pytest.fixture
async def restart(sim: SimHandle, migrated_url: str) -> AsyncIterator[Any]:
    """``await restart(old_rig, **kw)``: close the old rig and build a new one on the same DB."""
    made: list[Rig] = []

    async def make(old: Rig | None = None, **kw: Any) -> Rig:
        if old is not None:
            await close_rig(old)
        r = await build_rig(sim, migrated_url, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        await close_rig(r)
