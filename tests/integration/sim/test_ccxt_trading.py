"""Unmodified ccxt bybit trades against the simulator: orders, positions, errors, auth."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest
from ccxt.base.errors import (
    AuthenticationError,
    BadRequest,
    InsufficientFunds,
    InvalidOrder,
    MarginModeAlreadySet,
    OrderNotFound,
)

from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import START
from tests.simserver import SimHandle

RISK = "RISK/USDT:USDT"
BTC = "BTC/USDT:USDT"


def bybit_liq(side: str, ep: Decimal, q: Decimal, lev: Decimal, mmr: Decimal) -> Decimal:
    """RISK.md, Bybit unified account, no fee-to-close: LP = EP ∓ (IM − MM)/Q."""
    n = q * ep
    im, mm = n / lev, n * mmr
    return ep - (im - mm) / q if side == "long" else ep + (im - mm) / q


async def test_set_leverage_works_and_repeats_are_refused(ex: Any, sim: SimHandle) -> None:
    resp = await ex.set_leverage(7, BTC)
    assert resp["retCode"] == 0
    assert sim.ctx is not None and sim.ctx.engine.leverage("BTCUSDT") == 7
    with pytest.raises(BadRequest, match="110043"):
        await ex.set_leverage(7, BTC)
    lev = await ex.fetch_leverage(BTC)
    assert lev["longLeverage"] == 7
    # The fixture switched the new (cross) account to isolated; back and forth works,
    # setting the mode it already has is Bybit's 110026.
    assert (await ex.set_margin_mode("cross", BTC))["retCode"] == 0
    assert (await ex.set_margin_mode("isolated", BTC))["retCode"] == 0
    with pytest.raises(MarginModeAlreadySet):
        await ex.set_margin_mode("isolated", BTC)


async def test_market_order_fills_and_shows_everywhere(ex: Any, sim: SimHandle) -> None:
    await ex.set_leverage(5, BTC)
    placed = await ex.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "m-1"})
    assert placed["id"] and placed["clientOrderId"] == "m-1"
    order = await ex.fetch_order(placed["id"], BTC)
    assert sim.ctx is not None
    inst = sim.ctx.market.instruments["BTCUSDT"]
    bar_open = Decimal(repr(sim.ctx.engine.price_float("BTCUSDT")))
    price = float(inst.round_price(bar_open, ROUND_CEILING))  # a buy rounds up to the tick
    assert order["status"] == "closed" and order["filled"] == 0.01
    assert order["average"] == price  # no slippage configured: fills at the bar open
    closed = await ex.fetch_closed_orders(BTC)
    assert [o["id"] for o in closed] == [placed["id"]]
    trades = await ex.fetch_my_trades(BTC)
    assert len(trades) == 1
    t = trades[0]
    assert (t["order"], t["side"], t["amount"], t["price"]) == (placed["id"], "buy", 0.01, price)
    assert t["takerOrMaker"] == "taker" and t["fee"]["cost"] == pytest.approx(
        price * 0.01 * 0.00055
    )
    bal = await ex.fetch_balance()
    assert bal["USDT"]["total"] == pytest.approx(10000 - t["fee"]["cost"])
    assert bal["USDT"]["used"] == pytest.approx(price * 0.01 / 5)
    assert bal["USDT"]["free"] == pytest.approx(bal["USDT"]["total"] - bal["USDT"]["used"])


async def test_liquidation_price_matches_risk_md(ex: Any) -> None:
    """RISK.md worked example: EP 100, Q 25, L 10, MMR 0.5% → long 90.50 / short 109.50."""
    assert (await ex.fetch_leverage(RISK))["longLeverage"] == 10  # the default
    await ex.create_order(RISK, "market", "buy", 25)
    (pos,) = await ex.fetch_positions()
    assert (pos["side"], pos["contracts"], pos["entryPrice"]) == ("long", 25, 100)
    expect = bybit_liq("long", Decimal(100), Decimal(25), Decimal(10), Decimal("0.005"))
    assert expect == Decimal("90.5")
    assert Decimal(pos["info"]["liqPrice"]) == expect
    assert pos["liquidationPrice"] == 90.5
    assert pos["initialMargin"] == 250
    await ex.create_order(RISK, "market", "sell", 25, params={"reduceOnly": True})
    assert await ex.fetch_positions() == []
    await ex.create_order(RISK, "market", "sell", 25)
    (short,) = await ex.fetch_positions()
    assert short["side"] == "short" and short["liquidationPrice"] == 109.5


async def test_liquidation_price_on_a_random_walk_symbol(ex: Any, sim: SimHandle) -> None:
    assert sim.ctx is not None
    inst = sim.ctx.market.instruments["BTCUSDT"]
    await ex.set_leverage(8, BTC)
    await ex.create_order(BTC, "market", "sell", 0.02)
    (pos,) = await ex.fetch_positions([BTC])
    ep = Decimal(pos["info"]["avgPrice"])
    tier = inst.tier_for_notional(ep * Decimal("0.02"))
    raw = bybit_liq("short", ep, Decimal("0.02"), Decimal(8), tier.mmr)
    # Rounded to the tick towards the entry: liquidation never later than the formula.
    assert Decimal(pos["info"]["liqPrice"]) == inst.round_price(raw, ROUND_FLOOR)
    assert inst.round_price(raw, ROUND_CEILING) - Decimal(pos["info"]["liqPrice"]) <= inst.tick_size


async def test_limit_order_rests_then_cancel_works(ex: Any, sim: SimHandle) -> None:
    assert sim.ctx is not None
    below = round(sim.ctx.engine.price_float("RISKUSDT") * 0.9, 2)
    o = await ex.create_order(RISK, "limit", "buy", 1, below, {"clientOrderId": "lim-1"})
    (open_,) = await ex.fetch_open_orders(RISK)
    assert (open_["id"], open_["status"], open_["price"], open_["remaining"]) == (
        o["id"],
        "open",
        below,
        1,
    )
    await sim.advance(2)  # the flat price never trades through 90
    assert [x["id"] for x in await ex.fetch_open_orders(RISK)] == [o["id"]]
    await ex.cancel_order(o["id"], RISK)
    assert await ex.fetch_open_orders(RISK) == []
    canceled = await ex.fetch_order(o["id"], RISK)
    assert canceled["status"] == "canceled" and canceled["filled"] == 0
    with pytest.raises(OrderNotFound):
        await ex.cancel_order(o["id"], RISK)


async def test_cancel_all_orders(ex: Any) -> None:
    for px in (90, 91, 92):
        await ex.create_order(RISK, "limit", "buy", 1, px)
    assert len(await ex.fetch_open_orders()) == 3
    cancelled = await ex.cancel_all_orders(RISK)
    assert len(cancelled) == 3
    assert await ex.fetch_open_orders() == []


async def test_reduce_only_never_increases_a_position(ex: Any, sim: SimHandle) -> None:
    with pytest.raises(InvalidOrder, match="110017"):
        await ex.create_order(RISK, "market", "sell", 5, params={"reduceOnly": True})
    await ex.create_order(RISK, "market", "buy", 5)
    with pytest.raises(InvalidOrder, match="110017"):
        await ex.create_order(RISK, "market", "buy", 1, params={"reduceOnly": True})
    # Larger than the position: clipped to it, so it closes and never flips.
    await ex.create_order(RISK, "market", "sell", 9, params={"reduceOnly": True})
    assert await ex.fetch_positions() == []
    st = await sim.state()
    assert [o["cumExecQty"] for o in st["orders"]] == ["5", "5"]


async def test_duplicate_client_order_id_raises_invalid_order(ex: Any) -> None:
    await ex.create_order(RISK, "limit", "buy", 1, 90, {"clientOrderId": "dup-1"})
    with pytest.raises(InvalidOrder, match="110072"):
        await ex.create_order(RISK, "limit", "buy", 1, 91, {"clientOrderId": "dup-1"})
    await ex.cancel_order(None, RISK, {"orderLinkId": "dup-1"})
    with pytest.raises(InvalidOrder, match="110072"):  # unique for the account's lifetime
        await ex.create_order(RISK, "limit", "buy", 1, 91, {"clientOrderId": "dup-1"})


async def test_oversize_order_raises_insufficient_funds(ex: Any) -> None:
    await ex.set_leverage(2, RISK)
    with pytest.raises(InsufficientFunds, match="110007"):
        await ex.create_order(RISK, "market", "buy", 300)  # 30,000 USDT at 2x > 10,000
    assert await ex.fetch_positions() == []


async def test_below_min_notional_is_invalid_order(ex: Any) -> None:
    with pytest.raises(InvalidOrder, match="110094"):
        await ex.create_order(BTC, "market", "buy", 0.0001)


async def test_stop_market_triggers_on_the_path(ex: Any, sim: SimHandle) -> None:
    assert sim.ctx is not None
    eng = sim.ctx.engine
    await ex.create_order(BTC, "market", "buy", 0.01)
    m = sim.ctx.market
    i = m.index["BTCUSDT"]
    k = int((START - m.ts[0]) // HOUR_MS)
    # Trigger just above the current bar's low: the bar's path must cross it.
    low = float(m.low[i, k])
    trigger = Decimal(repr(low)).quantize(Decimal("0.1"), rounding=ROUND_CEILING) + Decimal("0.1")
    assert float(trigger) < eng.price_float("BTCUSDT")
    stop = await ex.create_order(
        BTC,
        "market",
        "sell",
        0.01,
        params={"stopLossPrice": float(trigger), "reduceOnly": True},
    )
    (untriggered,) = await ex.fetch_open_orders(BTC)
    assert untriggered["id"] == stop["id"] and untriggered["triggerPrice"] == float(trigger)
    await sim.advance(1)
    filled = await ex.fetch_order(stop["id"], BTC)
    assert filled["status"] == "closed" and filled["filled"] == 0.01
    assert await ex.fetch_positions() == []


async def test_bad_secret_raises_authentication_error(sim: SimHandle) -> None:
    for overrides in ({"secret": "wrong"}, {"apiKey": "unknown-key"}):
        client = ccxt_async.bybit(
            {**_opts(sim), **overrides}  # same config, one credential wrong
        )
        try:
            await client.load_markets()  # public: still works
            with pytest.raises(AuthenticationError):
                await client.fetch_balance()
        finally:
            await client.close()


def _opts(sim: SimHandle) -> dict[str, Any]:
    from tests.simserver import ccxt_options

    return ccxt_options(sim.url, sim.api_key, sim.api_secret)


async def test_state_lists_every_order_in_bybit_names(ex: Any, sim: SimHandle) -> None:
    await ex.create_order(RISK, "market", "buy", 2, params={"clientOrderId": "s-1"})
    await ex.create_order(RISK, "limit", "sell", 1, 150, {"clientOrderId": "s-2"})
    st = await sim.state()
    assert st["time"] == START
    by_link = {o["orderLinkId"]: o for o in st["orders"]}
    assert by_link["s-1"]["orderStatus"] == "Filled" and by_link["s-1"]["orderType"] == "Market"
    assert by_link["s-2"]["orderStatus"] == "New" and by_link["s-2"]["reduceOnly"] is False
    for o in st["orders"]:
        assert {"orderId", "symbol", "side", "createdTime"} <= set(o)
    (pos,) = st["positions"]
    assert (pos["symbol"], pos["side"], pos["size"], pos["avgPrice"]) == (
        "RISKUSDT",
        "Buy",
        "2",
        "100",
    )
    assert pos["liqPrice"]
    assert st["balances"]["USDT"]["walletBalance"]


async def test_cursor_pagination_of_executions(ex: Any, sim: SimHandle) -> None:
    for _ in range(3):
        await ex.create_order(RISK, "market", "buy", 1)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        params = {"category": "linear", "execType": "Trade", "limit": 2, "cursor": cursor}
        status, body = await sim.bybit("GET", "/v5/execution/list", params)
        assert status == 200 and body["retCode"] == 0
        seen += [r["execId"] for r in body["result"]["list"]]
        cursor = body["result"]["nextPageCursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3
    paged = await ex.fetch_my_trades(RISK, params={"paginate": True})
    assert sorted(t["id"] for t in paged) == sorted(seen)


async def test_liquidation_is_listed_and_costs_the_margin(ex: Any, sim: SimHandle) -> None:
    await ex.set_leverage(50, "ETH/USDT:USDT")
    await ex.create_order("ETH/USDT:USDT", "market", "buy", 1)
    (pos,) = await ex.fetch_positions()
    margin, fee = pos["initialMargin"], (await ex.fetch_my_trades())[0]["fee"]["cost"]
    for _ in range(100):
        await sim.advance(1)
        if not await ex.fetch_positions():
            break
    else:
        pytest.fail("a 50x long on a random walk was never liquidated")
    (liq,) = await ex.fetch_my_liquidations(params={"category": "linear"})
    assert liq["symbol"] == "ETH/USDT:USDT" and liq["contracts"] == 1
    assert liq["info"]["execType"] == "BustTrade"
    assert sim.ctx is not None
    funding = sum(float(f.amount) for f in sim.ctx.engine.funding_payments)
    bal = await ex.fetch_balance()
    assert bal["USDT"]["total"] == pytest.approx(10000 - margin - fee + funding)


async def test_funding_payments_are_listed(ex: Any, sim: SimHandle, data_dir: Any) -> None:
    from bot.data.datadir import DataDir

    await ex.create_order(BTC, "market", "buy", 0.01)
    await sim.advance(17)  # across two more 8h settlements
    got = await ex.fetch_funding_history(BTC)
    assert sim.ctx is not None
    paid = sim.ctx.engine.funding_payments
    assert len(got) == len(paid) >= 2
    f = DataDir(data_dir).funding("BTCUSDT")
    assert f is not None
    rates = dict(zip(f.ts.tolist(), f.rate.tolist(), strict=True))
    for row, p in zip(sorted(got, key=lambda r: r["timestamp"]), paid, strict=True):
        assert row["timestamp"] == p.ts and float(row["info"]["feeRate"]) == rates[p.ts]
        # ccxt's amount is Bybit's execFee: positive when paid, i.e. minus the cash flow.
        assert row["amount"] == pytest.approx(-float(p.amount))


async def test_trigger_price_params_as_rotor_sends_them(ex: Any, sim: SimHandle) -> None:
    assert sim.ctx is not None
    await ex.create_order(RISK, "market", "buy", 10)
    params = {
        "triggerPrice": "92",
        "triggerDirection": "descending",
        "triggerBy": "MarkPrice",
        "reduceOnly": True,
        "clientOrderId": "stop-1",
    }
    stop = await ex.create_order(RISK, "market", "sell", 10, None, params)
    (o,) = await ex.fetch_open_orders(RISK)
    assert o["id"] == stop["id"] and o["triggerPrice"] == 92 and o["reduceOnly"] is True
    assert (o["info"]["triggerBy"], o["info"]["triggerDirection"]) == ("MarkPrice", 2)
    assert o["info"]["orderStatus"] == "Untriggered"
    wrong = {**params, "triggerPrice": "105", "clientOrderId": "stop-2"}
    with pytest.raises(InvalidOrder, match="110093"):  # a falling trigger above the price
        await ex.create_order(RISK, "market", "sell", 10, None, wrong)
    await ex.cancel_order(stop["id"], RISK)
    cancelled = await ex.fetch_order(stop["id"], RISK)
    assert cancelled["info"]["orderStatus"] == "Deactivated" and cancelled["status"] == "canceled"
