"""The "nothing lost" conditions of RELIABILITY.md, checked against the simulator's own books.

- every order on the venue is tracked in the database, with the venue's id and status;
- there is exactly one venue order per order intent (no resend, no duplicated entry);
- every fill is recorded exactly once;
- the positions in the database equal the positions on the venue after reconciliation;
- no secret appears in anything a test captured.

The venue's side is read over HTTP (``/sim/state`` and the face's own signed fill and funding
reads: Bybit's ``/v5/execution/list``, Binance's ``/fapi/v1/userTrades`` per symbol and
``/fapi/v1/income``), so the same checks work for both faces, in-process or as a ``rotor sim
serve`` subprocess. Fills are keyed by the id each face gives them (what rotor stores).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.domain import OrderStatus
from bot.execution.client_ids import order_key
from bot.storage import Repository, create_engine
from tests.simserver import SimHandle

# Bybit order status → the rotor status the database must hold for it.
VENUE_STATUS = {
    "New": {OrderStatus.ACCEPTED},
    "Untriggered": {OrderStatus.ACCEPTED},
    "Triggered": {OrderStatus.ACCEPTED},
    "PartiallyFilled": {OrderStatus.PARTIALLY_FILLED},
    "Filled": {OrderStatus.FILLED},
    "Cancelled": {OrderStatus.CANCELED},
    "Deactivated": {OrderStatus.CANCELED},
    "Rejected": {OrderStatus.REJECTED},
}
FILL_TYPES = ("Trade", "BustTrade", "AdlTrade")
# Where the Binance face words a status differently: a stop the system deactivated (its
# position closed) is an EXPIRED algo order there, one cancelled by a user CANCELED.
BINANCE_STATUS = VENUE_STATUS | {"Deactivated": {OrderStatus.CANCELED, OrderStatus.EXPIRED}}


async def venue_executions(sim: SimHandle, exec_type: str | None = None) -> list[dict[str, Any]]:
    """Every execution-list row the venue has (signed Bybit calls, cursor paging)."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(10_000):
        params: dict[str, Any] = {"category": "linear", "limit": 100}
        if exec_type:
            params["execType"] = exec_type
        if cursor:
            params["cursor"] = cursor
        status, body = await sim.bybit("GET", "/v5/execution/list", params)
        assert status == 200 and body["retCode"] == 0, body
        rows.extend(body["result"]["list"])
        cursor = body["result"].get("nextPageCursor") or ""
        if not cursor:
            return rows
    raise AssertionError("execution list did not end")


async def binance_books(
    sim: SimHandle, symbols: Iterable[str], link_of: dict[str, str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Fills (``/fapi/v1/userTrades`` from id 0, per symbol) and funding (``/fapi/v1/income``
    FUNDING_FEE) of the Binance face, in the execution-list fields the checks read."""
    fills: dict[str, dict[str, Any]] = {}
    for sym in sorted(set(symbols)):
        from_id = 0
        for _ in range(1_000):
            status, rows, _h = await sim.binance(
                "GET", "/fapi/v1/userTrades", {"symbol": sym, "fromId": from_id, "limit": 1000}
            )
            assert status == 200, rows
            for r in rows:
                fills[str(r["id"])] = {
                    "execId": str(r["id"]),
                    "execTime": r["time"],
                    "symbol": sym,
                    "execQty": r["qty"],
                    "side": "Buy" if r["side"] == "BUY" else "Sell",
                    "orderLinkId": link_of.get(str(r["orderId"]), ""),
                }
            if len(rows) < 1000:
                break
            from_id = int(rows[-1]["id"]) + 1
    funding: dict[str, dict[str, Any]] = {}
    for page in range(1, 1_000):
        status, rows, _h = await sim.binance(
            "GET",
            "/fapi/v1/income",
            {"incomeType": "FUNDING_FEE", "startTime": 0, "limit": 1000, "page": page},
        )
        assert status == 200, rows
        funding |= {str(r["tranId"]): r for r in rows}
        if len(rows) < 1000:
            break
    return fills, funding


# The client id Binance makes up for an order placed without one (in its web UI).
BINANCE_HAND_PREFIX = "web_"


def hand_key(venue: str, order_id: str) -> str:
    """The key rotor tracks an order placed by hand without a client id under: Bybit shows
    none (``"venue:<orderId>"``), Binance shows the one it made up (``web_<orderId>``)."""
    if venue == "binanceusdm":
        return f"{BINANCE_HAND_PREFIX}{order_id}"
    return order_key("", order_id)


def is_hand_key(key: str) -> bool:
    return key.startswith(("venue:", BINANCE_HAND_PREFIX))


@dataclass
class Books:
    """Both sides at one moment."""

    # By orderLinkId; an order placed by hand without one by ``hand_key`` (rotor's key).
    venue_orders: dict[str, dict[str, Any]]
    venue_fills: dict[str, dict[str, Any]]  # by execId
    venue_funding: dict[str, dict[str, Any]]
    venue_positions: dict[str, tuple[str, Decimal]]  # symbol -> (long/short, qty)
    db_orders: dict[str, Any]
    db_fills: dict[str, Any]
    db_funding: list[Any]
    db_positions: dict[str, tuple[str, Decimal]]
    db_closed: list[Any]
    liquidation_orders: list[dict[str, Any]] = field(default_factory=list)
    venue: str = "bybit"


async def read_books(sim: SimHandle, db_url: str) -> Books:
    state = await sim.state()
    venue_orders: dict[str, dict[str, Any]] = {}
    liq: list[dict[str, Any]] = []
    for o in state["orders"]:
        o = {**o, "orderId": sim.filled_order_id(o)}  # the id rotor keeps and fills carry
        if o["orderLinkId"]:
            assert o["orderLinkId"] not in venue_orders, f"duplicate link id {o['orderLinkId']}"
            venue_orders[o["orderLinkId"]] = o
        elif o.get("createType", "CreateByUser") == "CreateByUser":
            venue_orders[hand_key(sim.venue, str(o["orderId"]))] = o
        else:
            liq.append(o)
    if sim.venue == "binanceusdm":
        link_of = {o["orderId"]: link for link, o in venue_orders.items()}
        symbols = [o["symbol"] for o in state["orders"]] + [p["symbol"] for p in state["positions"]]
        fills, funding = await binance_books(sim, symbols, link_of)
    else:
        rows = await venue_executions(sim)
        fills = {r["execId"]: r for r in rows if r["execType"] in FILL_TYPES}
        funding = {r["execId"]: r for r in rows if r["execType"] == "Funding"}
    venue_positions = {
        p["symbol"]: ("long" if p["side"] == "Buy" else "short", Decimal(p["size"]))
        for p in state["positions"]
        if Decimal(p["size"]) > 0
    }
    engine = create_engine(db_url)
    try:
        repo = Repository(engine)
        db_orders = {o.client_order_id: o for o in await repo.list_orders()}
        db_fills_list = await repo.list_executions()
        db_funding = await repo.list_funding()
        db_positions = {p.symbol: (p.side.value, p.qty) for p in await repo.list_positions()}
        db_closed = await repo.list_closed_positions()
    finally:
        await engine.dispose()
    db_fills: dict[str, Any] = {}
    for e in db_fills_list:
        assert e.exec_id not in db_fills, f"fill {e.exec_id} recorded twice"
        db_fills[e.exec_id] = e
    return Books(
        venue_orders,
        fills,
        funding,
        venue_positions,
        db_orders,
        db_fills,
        db_funding,
        db_positions,
        db_closed,
        liq,
        sim.venue,
    )


def duplicated_entries(books: Books) -> list[str]:
    """Entry orders that added to a position already open on the same side (rotor never
    pyramids, so such an order can only be a resend or a double decision)."""
    by_exec = sorted(books.venue_fills.values(), key=lambda r: (int(r["execTime"]), r["execId"]))
    qty: dict[str, Decimal] = defaultdict(Decimal)
    counted: set[str] = set()
    dupes: list[str] = []
    for r in by_exec:
        sym, q = r["symbol"], Decimal(r["execQty"])
        signed = q if r["side"] == "Buy" else -q
        link = r["orderLinkId"]
        order = books.venue_orders.get(link)
        entry = order is not None and not order.get("reduceOnly") and link not in counted
        if entry and qty[sym] != 0 and (qty[sym] > 0) == (signed > 0):
            dupes.append(link)
        if link:
            counted.add(link)
        qty[sym] += signed
    return dupes


def nothing_lost(books: Books, *, foreign_prefixes: Iterable[str] = ()) -> list[str]:
    """Every violation of the nothing-lost conditions (empty when all hold)."""
    problems: list[str] = []
    foreign = tuple(foreign_prefixes)
    for link, vo in books.venue_orders.items():
        row = books.db_orders.get(link)
        if row is None:
            problems.append(f"venue order {link} ({vo['orderStatus']}) is not in the database")
            continue
        if row.venue_order_id != vo["orderId"]:
            problems.append(f"{link}: venue id {vo['orderId']} stored as {row.venue_order_id}")
        want = (BINANCE_STATUS if books.venue == "binanceusdm" else VENUE_STATUS)[vo["orderStatus"]]
        if row.status not in want:
            problems.append(f"{link}: venue {vo['orderStatus']}, database {row.status.value}")
        if Decimal(vo["cumExecQty"]) != row.filled_qty:
            problems.append(f"{link}: filled {vo['cumExecQty']} on venue, {row.filled_qty} stored")
    for cid, row in books.db_orders.items():
        if cid in books.venue_orders or cid.startswith(foreign):
            continue
        if row.status is not OrderStatus.REJECTED:
            problems.append(f"{cid}: {row.status.value} in the database but not on the venue")
    for eid in books.venue_fills:
        if eid not in books.db_fills:
            problems.append(f"venue fill {eid} not recorded")
    for eid in books.db_fills:
        if eid not in books.venue_fills:
            problems.append(f"recorded fill {eid} unknown to the venue")
    if books.db_positions != books.venue_positions:
        problems.append(
            f"positions: database {books.db_positions} != venue {books.venue_positions}"
        )
    dupes = duplicated_entries(books)
    if dupes:
        problems.append(f"duplicated entry orders: {dupes}")
    return problems


def assert_nothing_lost(books: Books, **kw: Any) -> None:
    problems = nothing_lost(books, **kw)
    assert not problems, "nothing-lost violated:\n  " + "\n  ".join(problems)


def secret_leaks(texts: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """``where: secret`` for every secret found in any captured text."""
    found = []
    for where, text in texts.items():
        for s in secrets:
            if s and s in text:
                found.append(f"{where}: {s[:3]}…")
    return found


def assert_no_secrets(texts: dict[str, str], secrets: Iterable[str]) -> None:
    leaks = secret_leaks(texts, list(secrets))
    assert not leaks, f"secrets leaked into captured output: {leaks}"


def without_hand_fills(books: Books) -> Books:
    """The books less the market orders placed by hand (no client id) that filled at once:
    rotor never saw them open, only their fills, which are checked like every fill."""
    for key, o in list(books.venue_orders.items()):
        if is_hand_key(key) and o["orderType"] == "Market" and key not in books.db_orders:
            del books.venue_orders[key]
    return books
