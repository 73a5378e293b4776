"""Issue #20, the daemon in portfolio mode: the real ``rotor run --mode testnet`` with
``strategy.mode = "portfolio"`` against ``rotor sim serve`` through unmodified ccxt rebalances
with spot (and, when a role asks, perp) orders; the orders in the database are the venue's,
the spot executions and their fees are the venue's execution list, the coins it journals are
the venue's, and the kill switch sells the non-core coins. On SQLite and PostgreSQL, on a
Bybit unified account and on Binance (spot wallet + USDⓈ-M wallet: the sleeves' transfers
stored are the venue's transfer history)."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.data.sample import sample_dir
from bot.domain import Action
from bot.storage import Repository, create_engine
from bot.venues.ccxt_binance_spot import spot_exec_id
from tests.integration.daemon.harness import rotor_process, step
from tests.simserver import sim_subprocess

CORE = {"BTC", "ETH", "SOL"}
# Ten weeks into the bundled sample: every sector has members with the history the signals
# need (earlier, the rotation has no eligible member and only the core is bought), and in the
# first hours the rotation sells lagging sectors, so the transition role shorts their leaders.
START = "2026-02-01T00:00:00Z"


async def stored(db_url: str) -> tuple[dict[str, Any], list[Any], dict[str, Any], list[Any]]:
    """Orders by client id, the portfolio's records, the positions and the spot executions,
    as the database has them."""
    engine = create_engine(db_url)
    try:
        repo = Repository(engine)
        orders = {o.client_order_id: o for o in await repo.list_orders(limit=100_000)}
        records = [d for d in await repo.list_decisions() if d.action is Action.PORTFOLIO]
        positions = {p.symbol: p for p in await repo.list_positions()}
        spot = [e for e in await repo.list_executions() if e.symbol.startswith("spot:")]
        return orders, records, positions, spot
    finally:
        await engine.dispose()


async def venue_spot_fills(sim: Any, symbols: set[str]) -> list[tuple[Any, ...]]:
    """The venue's spot fills read with an unmodified ccxt: exec id, symbol, side, qty, price,
    fee, fee coin (Bybit ``execution/list``, ``category=spot``, every page; Binance
    ``/api/v3/myTrades`` of each market traded)."""
    if sim.venue == "binanceusdm":
        return await binance_spot_fills(sim, symbols)
    ex = sim.ccxt()
    rows: list[dict[str, Any]] = []
    try:
        cursor = ""
        for _ in range(100):
            q = {"category": "spot", "limit": 100} | ({"cursor": cursor} if cursor else {})
            result = (await ex.privateGetV5ExecutionList(q))["result"]
            rows += result["list"]
            cursor = result.get("nextPageCursor") or ""
            if not cursor:
                break
    finally:
        await ex.close()
    return sorted(
        (
            r["execId"],
            "spot:" + r["symbol"],
            r["side"].lower(),
            Decimal(r["execQty"]),
            Decimal(r["execPrice"]),
            Decimal(r["execFee"]),
            r["feeCurrency"],
        )
        for r in rows
    )


async def binance_spot_fills(sim: Any, symbols: set[str]) -> list[tuple[Any, ...]]:
    ex = sim.binance_spot()
    rows: list[dict[str, Any]] = []
    try:
        for sym in sorted(symbols):
            rows += await ex.privateGetMyTrades({"symbol": sym, "limit": 1000})
    finally:
        await ex.close()
    return sorted(
        (
            spot_exec_id(r["symbol"], str(r["id"])),
            "spot:" + r["symbol"],
            "buy" if r["isBuyer"] else "sell",
            Decimal(r["qty"]),
            Decimal(r["price"]),
            Decimal(r["commission"]),
            r["commissionAsset"],
        )
        for r in rows
    )


async def venue_transfers(sim: Any) -> list[tuple[str, str, Decimal]]:
    """Binance's universal transfer history (both directions), read with an unmodified ccxt:
    tranId, type, amount."""
    ex = sim.binance_spot()
    rows: list[dict[str, Any]] = []
    try:
        for kind in ("MAIN_UMFUTURE", "UMFUTURE_MAIN"):
            got = await ex.sapiGetAssetTransfer({"type": kind, "size": 100, "startTime": 0})
            rows += got.get("rows") or []
    finally:
        await ex.close()
    return sorted((str(r["tranId"]), r["type"], Decimal(r["amount"])) for r in rows)


async def spot_prices(sim: Any) -> dict[str, Decimal]:
    if sim.venue == "binanceusdm":
        path, params = "/api/v3/ticker/price", {}
    else:
        path, params = "/v5/market/tickers", {"category": "spot"}
    async with aiohttp.ClientSession() as s, s.get(sim.url + path, params=params) as r:
        body = await r.json()
    if sim.venue == "binanceusdm":
        return {row["symbol"]: Decimal(row["price"]) for row in body}
    return {row["symbol"]: Decimal(row["lastPrice"]) for row in body["result"]["list"]}


async def stored_transfers(db_url: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        return await Repository(engine).list_transfers()
    finally:
        await engine.dispose()


def env() -> dict[str, str]:
    return {
        "ROTOR__STRATEGY__MODE": "portfolio",
        "ROTOR__PORTFOLIO__REBALANCE__INTERVAL_H": "1",
        "ROTOR__UNIVERSE__SYMBOLS": "[]",
        "ROTOR__EXECUTION__KILL_RETRY_MAX_BACKOFF_S": "1",
        # The risk manager refuses tickers older than 3 polls: a rebalance sends dozens of
        # orders, which takes longer than 3 × the harness's 50 ms.
        "ROTOR__EXCHANGE__POLL_INTERVAL_S": "0.5",
    }


@pytest.mark.parametrize("venue", ["bybit", "binanceusdm"])
async def test_portfolio_daemon_rebalances_spot_and_kill_sells_non_core(
    tmp_path: Path, db_url: str, venue: str
) -> None:
    log = tmp_path / "rotor.log"
    args = ["--data", str(sample_dir()), "--speed", "0", "--start", START, "--venue", venue]
    async with sim_subprocess(args) as sim:
        async with rotor_process(sim, db_url, log, env()) as rotor:
            await step(sim, rotor, 3)
            state = await sim.state()
            spot = {o["orderLinkId"]: o for o in state["spotOrders"]}
            assert len([o for o in spot.values() if o["orderStatus"] == "Filled"]) >= 5
            coins = {c: Decimal(q) for c, q in state["coins"].items()}
            assert set(coins) >= CORE, f"the core is bought: {coins}"
            assert len(coins) > len(CORE), "rotational/speculative coins are bought too"

            orders, records, positions, db_fills = await stored(db_url)
            db_spot = {k: o for k, o in orders.items() if o.symbol.startswith("spot:")}
            assert set(db_spot) == set(spot), "every spot order is in `orders` and vice versa"
            for cid, vo in spot.items():
                o = db_spot[cid]
                assert o.venue_order_id == sim.face_order_id(vo["orderId"])
                assert o.symbol == "spot:" + vo["symbol"]
                assert o.status.value == "FILLED" and o.filled_qty == Decimal(vo["cumExecQty"])
                assert o.side.value == vo["side"].lower()
            # Spot executions: the books are the venue's list, fee and fee coin included
            # (a buy pays its fee in the coin bought).
            venue_fills = await venue_spot_fills(sim, {o["symbol"] for o in spot.values()})
            assert len(venue_fills) >= 5
            assert venue_fills == sorted(
                (e.exec_id, e.symbol, e.side.value, e.qty, e.price, e.fee, e.fee_currency)
                for e in db_fills
            )
            assert {f[6] for f in venue_fills if f[2] == "buy"} - {"USDT"}, "fees in coins"
            perp = {o["orderLinkId"]: o for o in state["orders"]}
            db_perp = {k for k, o in orders.items() if not o.symbol.startswith("spot:")}
            assert set(perp) == db_perp, "perp orders: the database is the venue's"
            for cid, vo in perp.items():
                assert orders[cid].venue_order_id == sim.face_order_id(vo["orderId"])
                assert orders[cid].filled_qty == Decimal(vo["cumExecQty"])
            roles = [
                o
                for o in orders.values()
                if o.reason == "portfolio:transition" and o.filled_qty > 0 and not o.reduce_only
            ]
            assert roles, "the transition role shorted a lagging sector's leaders"
            stops = [o for o in orders.values() if o.type.value == "stop_market"]
            assert {o.symbol for o in stops} >= {o.symbol for o in roles if o.symbol in positions}
            venue_pos = {
                p["symbol"]: Decimal(p["size"])
                for p in state["positions"]
                if Decimal(p["size"]) > 0
            }
            assert venue_pos == {s: p.qty for s, p in positions.items()}, "positions: the venue's"

            # The last holdings journaled are the venue's coins.
            last_t = max(r.t for r in records if r.reasons == ("holding",))
            held = {
                r.symbol.removeprefix("spot:").removesuffix("USDT"): Decimal(r.scores["qty"])
                for r in records
                if r.t == last_t and r.reasons == ("holding",) and r.symbol != "USDT"
            }
            after = await sim.state()
            assert held == {c: Decimal(q) for c, q in after["coins"].items()}
            assert any(r.scores.get("kind") == "bucket" for r in records)

            # A restart: the roles of the open perps are read back from the stored orders.
            assert positions, "the scenario leaves role perps open at the restart"
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
        async with rotor_process(sim, db_url, log, env()) as rotor:
            await step(sim, rotor, 1)
            done = [e for e in rotor.logs() if e["event"] == "rebalance_done"][-1]
            held = {p["symbol"] for p in (await sim.state())["positions"] if Decimal(p["size"]) > 0}
            assert set(done["roles"]) == held, "every open perp is managed by its role"

            rotor.signal(signal.SIGUSR2)  # the kill switch
            await rotor.wait_for(lambda s: s["state"] == "HALTED", limit_s=60, what="HALTED")
            await step(sim, rotor, 1)
            state = await sim.state()
            assert [p for p in state["positions"] if Decimal(p["size"]) > 0] == []
            assert set(state["coins"]) >= CORE, "keep_core: the core stays"
            prices = await spot_prices(sim)
            dust = {
                c: Decimal(q) * prices[c + "USDT"]
                for c, q in state["coins"].items()
                if c not in CORE
            }
            # What the kill leaves outside the core is the fee's sub-step remainder of a buy.
            assert all(v < 5 for v in dust.values()), f"only dust outside the core: {dust}"
            n_spot = len(state["spotOrders"])
            await step(sim, rotor, 2)
            assert len((await sim.state())["spotOrders"]) == n_spot, "no trade while HALTED"
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
            if venue == "binanceusdm":
                # The sleeves' transfers: stored (before sending) = the venue's history.
                xfers = await stored_transfers(db_url)
                assert xfers and {t.status for t in xfers} == {"done"}
                assert sorted((t.tran_id, t.kind, t.amount) for t in xfers) == (
                    await venue_transfers(sim)
                )
                st = await sim.state()
                assert len(st["transfers"]) == len(xfers), "no transfer resent"
    events = [e["event"] for e in rotor.logs()]
    assert "rebalance_done" in events
    kill = [e for e in rotor.logs() if e["event"] == "kill_switch_spot"]
    assert kill and kill[0]["flat"] is True and kill[0]["left"] == []
    assert set(kill[0]["kept"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}


@pytest.mark.parametrize("venue", ["bybit", "binanceusdm"])
async def test_allocate_exchange_reads_the_holdings_from_the_venue(
    tmp_path: Path, venue: str
) -> None:
    """`rotor allocate --exchange bybit|binanceusdm --api-url URL --mode testnet` allocates on
    the coins, USDT and perps the venue shows (bought here with an unmodified ccxt; on
    Binance from the spot wallet, the USDT of both wallets counted)."""
    import asyncio
    import json
    import os
    import sys

    from tests.conftest import ROOT
    from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET

    args = ["--data", str(sample_dir()), "--speed", "0", "--start", START, "--venue", venue]
    async with sim_subprocess(args) as sim:
        if venue == "binanceusdm":
            spot = sim.binance_spot()
        else:
            spot = sim.ccxt(
                options={"defaultType": "spot", "fetchMarkets": {"types": ["spot", "linear"]}}
            )
        try:
            await spot.load_markets()
            if venue == "binanceusdm":
                await spot.transfer("USDT", 3000, "linear", "spot")
            await spot.create_order("ETH/USDT", "market", "buy", 0.5)
            await spot.create_order("DOGE/USDT", "market", "buy", 2000)
        finally:
            await spot.close()
        coins = (await sim.state())["coins"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
        env |= {
            "ROTOR__EXCHANGE__API_KEY": DEFAULT_KEY,
            "ROTOR__EXCHANGE__API_SECRET": DEFAULT_SECRET,
            # A few symbols: the command downloads their recent history from the venue.
            "ROTOR__UNIVERSE__SYMBOLS": json.dumps(
                ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "1000PEPEUSDT", "ADAUSDT"]
            ),
        }
        cmd = [sys.executable, "-m", "bot.cli", "allocate", "--exchange", venue]
        cmd += ["--api-url", sim.url, "--mode", "testnet", "--json"]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
            cwd=str(ROOT),
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 300)
        assert proc.returncode == 0, err.decode()[-2000:]
        report = json.loads(out)
        held = {t["symbol"]: Decimal(t["qty"]) for t in report["tokens"] if Decimal(t["qty"]) > 0}
        assert held == {"ETHUSDT": Decimal(coins["ETH"]), "DOGEUSDT": Decimal(coins["DOGE"])}
        assert Decimal(report["nav"]) > 0
        if venue == "binanceusdm":  # both wallets USDT + the coins: 10 000 less fees, spread
            spent = 10_000 - Decimal(report["nav"])
            assert 0 < spent < 100, report["nav"]
