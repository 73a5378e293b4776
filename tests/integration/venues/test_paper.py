"""PaperVenue: public data from the sim's HTTP face through ccxt, fills kept local."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.data.datadir import read_ohlcv
from bot.domain import OrderStatus, OrderType, PositionSide, Side, TriggerBy
from bot.venues.base import (
    DuplicateClientIdError,
    InsufficientFundsError,
    OrderNotFoundError,
    OrderRequest,
    RejectedError,
)
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_core import CcxtMarketData
from bot.venues.paper import PaperCosts, PaperVenue
from tests.integration.venues.conftest import HOUR, START
from tests.simserver import SimHandle


def order(cid: str, symbol: str, side: Side, qty: str, **kw: object) -> OrderRequest:
    kw.setdefault("type", OrderType.MARKET)
    return OrderRequest(cid, symbol, side, qty=Decimal(qty), **kw)  # type: ignore[arg-type]


async def test_paper_fills_locally_and_never_sends_orders(sim: SimHandle, data_dir: Path) -> None:
    data = CcxtMarketData(ClientSpec.public("bybit", sim.url, rate_limit_ms=1))
    assert data.public_only
    paper = PaperVenue(data, Decimal(10000), PaperCosts())
    try:
        await paper.load_instruments()
        await paper.ensure_account_modes("isolated")
        await paper.set_leverage("ETHUSDT", Decimal(5))
        tick = (await paper.fetch_tickers())["ETHUSDT"]
        buy = await paper.create_order(order("p-1", "ETHUSDT", Side.BUY, "2"))
        assert buy.status is OrderStatus.FILLED and buy.filled_qty == Decimal(2)
        # The engine's fill model: the mark plus slippage, rounded up to the tick.
        want = (Decimal(repr(tick.mark)) * Decimal("1.0005")).quantize(
            Decimal("0.01"), rounding="ROUND_CEILING"
        )
        assert buy.avg_fill_price == want
        [pos] = await paper.fetch_positions()
        assert (pos.side, pos.qty, pos.leverage) == (PositionSide.LONG, Decimal(2), Decimal(5))
        bal = await paper.fetch_balance()
        fee = Decimal(2) * want * Decimal("0.00055")
        assert bal.wallet_balance == Decimal(10000) - fee
        assert bal.available == bal.wallet_balance - pos.margin

        with pytest.raises(DuplicateClientIdError):
            await paper.create_order(order("p-1", "ETHUSDT", Side.BUY, "1"))
        with pytest.raises(RejectedError) as ro:
            await paper.create_order(order("p-2", "SOLUSDT", Side.SELL, "1", reduce_only=True))
        assert ro.value.code == "110017"
        with pytest.raises(InsufficientFundsError):
            await paper.create_order(order("p-3", "BTCUSDT", Side.BUY, "10"))

        far = order("p-4", "ETHUSDT", Side.BUY, "1", type=OrderType.LIMIT, price=Decimal("100"))
        assert (await paper.create_order(far)).status is OrderStatus.ACCEPTED
        assert (await paper.cancel_order("ETHUSDT", "p-4")).status is OrderStatus.CANCELED
        with pytest.raises(OrderNotFoundError):
            await paper.cancel_order("ETHUSDT", "p-4")

        # A protective stop fires once the mark reaches it, and closes the position. The
        # source data decides the direction: a long with a sell stop at the lowest mark (bar
        # open) of the next 100 bars if the price dips, else a short with a buy stop at the high.
        sol = (await paper.fetch_tickers())["SOLUSDT"]
        src = read_ohlcv(data_dir / "ohlcv" / "SOLUSDT.parquet")
        ahead = src.open[(src.ts > START) & (src.ts <= START + 100 * HOUR)]
        mark0 = Decimal(repr(sol.mark))
        dips = Decimal(repr(float(ahead.min()))) < mark0
        entry, exit_ = (Side.BUY, Side.SELL) if dips else (Side.SELL, Side.BUY)
        trigger = Decimal(repr(float(ahead.min() if dips else ahead.max())))
        await paper.set_leverage("SOLUSDT", Decimal(1))  # far from liquidation
        await paper.create_order(order("p-5", "SOLUSDT", entry, "10"))
        stop = order("p-6", "SOLUSDT", exit_, "10", type=OrderType.STOP_MARKET,
                     trigger_price=trigger, trigger_by=TriggerBy.MARK, reduce_only=True)  # fmt: skip
        assert (await paper.create_order(stop)).status is OrderStatus.ACCEPTED
        reached = (lambda m: m <= trigger) if dips else (lambda m: m >= trigger)
        marks = []
        for _ in range(100):
            await sim.advance(1)
            marks.append(Decimal(repr((await paper.fetch_tickers())["SOLUSDT"].mark)))
            rep = await paper.fetch_order("SOLUSDT", "p-6")
            assert rep is not None
            if rep.status is OrderStatus.FILLED:
                break
        assert rep.status is OrderStatus.FILLED, "stop never reached in 100 bars"
        assert reached(marks[-1]) and not any(reached(m) for m in marks[:-1])
        assert [p.symbol for p in await paper.fetch_positions()] == ["ETHUSDT"]
        assert [e.client_order_id for e in await paper.fetch_executions(0)] == ["p-1", "p-5", "p-6"]
    finally:
        await paper.close()
    # Nothing was sent to the exchange: only public market data was read.
    assert (await sim.state())["orders"] == []
    assert not [k for k in (await sim.requests())["endpoints"] if "/order/" in k]


def test_paper_from_settings_ignores_keys() -> None:
    settings = load_settings(
        None,
        {"mode": "paper", "exchange.api_key": "k" * 18, "exchange.api_secret": "s" * 36},
        environ={},
    )
    paper = PaperVenue.from_settings(settings)
    assert paper.data.public_only and paper.name == "paper:bybit"
    assert paper.costs.fee_taker == Decimal("0.00055")
