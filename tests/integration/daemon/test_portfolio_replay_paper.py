"""Issue #20, the portfolio daemon in replay and paper mode: the same ``PortfolioCore`` as in
testnet/live, on the engine's venues (``bot.sim.spot_venue``: one fill model, spot orders on
the engine's spot book, the fee in the coin received).

- Replay: ``rotor run --mode replay`` (the daemon in-process, over both databases) on a slice
  of the bundled sample rebalances; the spot and perp orders, the spot executions with their
  fees and the coins it journals are the venue's (the engine's) exactly.
- Paper: the real ``rotor run --mode paper`` with ``rotor sim serve`` as the live data source
  rebalances with local spot fills, and no order reaches the venue.
"""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.backtest.metrics import iso
from bot.config import load_settings
from bot.data.sample import sample_dir
from bot.domain import Action, OrderStatus
from bot.runtime.daemon import Daemon
from bot.storage import Repository, create_engine
from tests.integration.backtest.test_replay_equals_backtest import copy_until
from tests.integration.daemon.harness import rotor_process, step
from tests.simserver import sim_subprocess

CORE = {"BTC", "ETH", "SOL"}
# As in test_portfolio_daemon: ten weeks into the sample every sector has members with the
# history the signals need, and the rotation sells lagging sectors in its first days.
START_MS = 1_769_904_000_000  # 2026-02-01T00:00Z
END_MS = START_MS + 3 * 24 * 3_600_000 + 3_600_000


async def _books(db_url: str) -> tuple[dict[str, Any], list[Any], list[Any], dict[str, Any]]:
    """Orders by client id, executions, the portfolio's records and positions, as stored."""
    engine = create_engine(db_url)
    try:
        repo = Repository(engine)
        orders = {o.client_order_id: o for o in await repo.list_orders(limit=100_000)}
        execs = await repo.list_executions()
        records = [d for d in await repo.list_decisions() if d.action is Action.PORTFOLIO]
        positions = {p.symbol: p for p in await repo.list_positions()}
        return orders, execs, records, positions
    finally:
        await engine.dispose()


async def replayed(tmp_path: Path, db_url: str, **overrides: Any) -> Daemon:
    """The portfolio mode replayed over the sample's window, run to the end of the data."""
    data = copy_until(sample_dir(), tmp_path / "data", END_MS, n_symbols=1000)
    base: dict[str, Any] = {
        "mode": "replay",
        "strategy.mode": "portfolio",
        "sim.data_dir": str(data),
        "sim.start": iso(START_MS),
        "universe.sector_map": str(data / "sectors.csv"),
        "database.url": db_url,
        "control.enabled": False,
        "logging.level": "WARNING",
    }
    daemon = Daemon(load_settings(None, base | overrides, environ={}), environ={})
    await daemon.start()
    await asyncio.wait_for(daemon.run(), timeout=600)
    return daemon


async def test_replay_rebalances_and_the_books_are_the_venues(tmp_path: Path, db_url: str) -> None:
    daemon = await replayed(tmp_path, db_url)
    eng: Any = daemon.services.bundle.engine
    assert eng.at_end

    # It rebalanced: the core and rotational/speculative coins were bought.
    filled = [o for o in eng.spot_orders if o.status.value == "Filled"]
    assert len(filled) >= 5
    coins = eng.coin_balances()
    assert set(coins) >= CORE, f"the core is bought: {coins}"
    assert len(coins) > len(CORE)

    orders, execs, records, positions = await _books(db_url)
    # Spot orders: the database's are the venue's.
    db_spot = {k: o for k, o in orders.items() if o.symbol.startswith("spot:")}
    assert set(db_spot) == {o.order_link_id for o in eng.spot_orders}
    for vo in eng.spot_orders:
        o = db_spot[vo.order_link_id]
        assert (o.venue_order_id, o.symbol) == (vo.order_id, "spot:" + vo.symbol)
        assert o.status is OrderStatus.FILLED and o.filled_qty == vo.cum_exec_qty
        assert o.side is vo.side and o.intent == "spot"
    # Perp orders (the roles' and their stops) too.
    db_perp = {k: o for k, o in orders.items() if not o.symbol.startswith("spot:")}
    assert set(db_perp) == {o.order_link_id for o in eng.orders}
    for vo in eng.orders:
        assert db_perp[vo.order_link_id].filled_qty == vo.cum_exec_qty
    assert positions == {} and eng.positions == {}, "the end of data closed the perps"

    # Spot executions, with the fee in the coin received: the venue's list exactly.
    def spot_row(e: Any) -> tuple[Any, ...]:
        return (e.exec_id, e.symbol, e.side, e.qty, e.price, e.fee, e.fee_currency, e.ts)

    db_spot_fills = sorted(spot_row(e) for e in execs if e.symbol.startswith("spot:"))
    venue_fills = sorted(
        (e.exec_id, "spot:" + e.symbol, e.side, e.qty, e.price, e.fee, e.fee_currency, e.ts)
        for e in eng.spot_executions
    )
    assert db_spot_fills == venue_fills
    buys = [e for e in execs if e.symbol.startswith("spot:") and e.side.value == "buy"]
    assert buys and all(
        e.fee_currency == e.symbol.removeprefix("spot:").removesuffix("USDT") for e in buys
    ), "a spot buy's fee is paid in the coin bought"
    perp_fills = {e.exec_id for e in execs if not e.symbol.startswith("spot:")}
    assert perp_fills == {e.exec_id for e in eng.executions}

    # The last holdings journaled are the venue's coins.
    last_t = max(r.t for r in records if r.reasons == ("holding",))
    held = {
        r.symbol.removeprefix("spot:").removesuffix("USDT"): Decimal(r.scores["qty"])
        for r in records
        if r.t == last_t and r.reasons == ("holding",) and r.symbol != "USDT"
    }
    assert held == coins


async def test_replay_on_binance_moves_the_sleeves_by_stored_transfers(tmp_path: Path) -> None:
    """Binance's rules in replay: spot in a wallet of its own. The rebalance funds the futures
    sleeve by transfers stored before they are sent, equal to the engine's; the spot books
    are the engine's."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}"
    daemon = await replayed(tmp_path, db_url, **{"exchange.name": "binanceusdm"})
    eng: Any = daemon.services.bundle.engine
    assert eng.at_end and not eng.rules.unified_spot
    assert len([o for o in eng.spot_orders if o.status.value == "Filled"]) >= 5
    assert set(eng.coin_balances()) >= CORE
    engine = create_engine(db_url)
    try:
        stored = await Repository(engine).list_transfers()
    finally:
        await engine.dispose()
    assert stored and {t.status for t in stored} == {"done"}
    assert [(t.tran_id, t.amount if t.kind == "UMFUTURE_MAIN" else -t.amount) for t in stored] == [
        (str(t.tran_id), t.amount) for t in eng.spot_transfers
    ]
    _, execs, _, _ = await _books(db_url)
    assert sorted(e.exec_id for e in execs if e.symbol.startswith("spot:")) == sorted(
        e.exec_id for e in eng.spot_executions
    )


async def test_replay_kill_switch_sells_the_non_core_coins(tmp_path: Path) -> None:
    """The drawdown limit fires inside the window: the kill switch closes the perps, the
    next sync sells every coin but the core (``portfolio.kill_spot = "keep_core"``) on the
    engine's spot book, and nothing trades after."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}"
    daemon = await replayed(tmp_path, db_url, **{"risk.max_drawdown": 0.04})
    eng: Any = daemon.services.bundle.engine
    assert daemon.state.state.value == "HALTED"
    kill_ms = daemon.state.current.ts_ms
    assert eng.positions == {}
    sold = [o for o in eng.spot_orders if o.created_ms >= kill_ms]
    assert sold and all(o.side.value == "sell" for o in sold), "only the kill's sales"
    left = {c: q * eng.spot_price(c + "USDT") for c, q in eng.coin_balances().items()}
    assert set(left) >= CORE
    assert all(v < 5 for c, v in left.items() if c not in CORE), f"dust only: {left}"
    _, execs, records, _ = await _books(db_url)
    assert {e.exec_id for e in execs if e.symbol.startswith("spot:")} == {
        e.exec_id for e in eng.spot_executions
    }, "the kill's sales are in the books"
    # The kill's decisions and the coins it left are journaled: the venue's coins.
    kill = [r for r in records if r.scores.get("kind") == "kill"]
    assert {r.reasons[0] for r in kill} >= {"kill.sell", "kill.keep_core"}
    last_t = max(r.t for r in records if r.reasons == ("holding",))
    assert last_t >= kill_ms
    held = {
        r.symbol.removeprefix("spot:").removesuffix("USDT"): Decimal(r.scores["qty"])
        for r in records
        if r.t == last_t and r.reasons == ("holding",) and r.symbol != "USDT"
    }
    assert held == eng.coin_balances()


def _coins_from_fills(execs: list[Any]) -> dict[str, Decimal]:
    """The coins the recorded spot fills leave: a buy adds its quantity less a fee paid in
    the coin, a sell takes its quantity (its fee is USDT)."""
    out: dict[str, Decimal] = {}
    for e in execs:
        coin = e.symbol.removeprefix("spot:").removesuffix("USDT")
        fee = e.fee if e.fee_currency == coin else Decimal(0)
        out[coin] = out.get(coin, Decimal(0)) + (e.qty if e.side.value == "buy" else -e.qty) - fee
    return {c: q for c, q in out.items() if q != 0}


@pytest.mark.parametrize("venue", ["bybit", "binanceusdm"])
async def test_paper_rebalances_locally_and_sends_nothing(tmp_path: Path, venue: str) -> None:
    """Paper trading polls the venue's public data and fills on a local engine with the
    venue's account rules: Bybit's unified account, or Binance's two wallets (the sleeves
    funded by transfers stored before they are made, on the local engine)."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'paper.db'}"
    args = ["--data", str(sample_dir()), "--speed", "0", "--start", iso(START_MS)]
    args += ["--venue", venue]
    env = {
        "ROTOR__MODE": "paper",
        "ROTOR__STRATEGY__MODE": "portfolio",
        "ROTOR__PORTFOLIO__REBALANCE__INTERVAL_H": "1",
        "ROTOR__UNIVERSE__SYMBOLS": "[]",
        # A rebalance sends dozens of orders; the risk manager refuses tickers older than
        # 3 polls (test_portfolio_daemon says why).
        "ROTOR__EXCHANGE__POLL_INTERVAL_S": "0.5",
    }
    async with sim_subprocess(args) as sim:
        async with rotor_process(sim, db_url, tmp_path / "rotor.log", env) as rotor:
            await step(sim, rotor, 3)
            assert (await rotor.status())["mode"] == "paper"
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
        state = await sim.state()
    assert state["spotOrders"] == [] and state["orders"] == [], "nothing reached the venue"
    assert state["coins"] == {}

    orders, execs, records, _ = await _books(db_url)
    spot = [o for o in orders.values() if o.symbol.startswith("spot:")]
    assert len([o for o in spot if o.status is OrderStatus.FILLED]) >= 5
    spot_fills = [e for e in execs if e.symbol.startswith("spot:")]
    by_order: dict[str, Decimal] = {}
    for e in spot_fills:
        by_order[e.client_order_id] = by_order.get(e.client_order_id, Decimal(0)) + e.qty
    assert by_order == {o.client_order_id: o.filled_qty for o in spot if o.filled_qty > 0}
    # The paper account's coins, journaled at the last rebalance, are what the fills left.
    last_t = max(r.t for r in records if r.reasons == ("holding",))
    held = {
        r.symbol.removeprefix("spot:").removesuffix("USDT"): Decimal(r.scores["qty"])
        for r in records
        if r.t == last_t and r.reasons == ("holding",) and r.symbol != "USDT"
    }
    assert set(held) >= CORE
    assert held == _coins_from_fills(spot_fills)
    engine = create_engine(db_url)
    try:
        transfers = await Repository(engine).list_transfers()
    finally:
        await engine.dispose()
    if venue == "binanceusdm":  # the futures sleeve funded from the spot wallet, locally
        assert transfers and {t.status for t in transfers} == {"done"}
        assert state.get("transfers", []) == [], "no transfer reached the venue"
    else:
        assert transfers == []  # one unified wallet: nothing to move
