"""ccxt structures → rotor reports, on ccxt's own recorded Bybit replies (fixtures/ccxt-bybit)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from bot.domain import OrderStatus, OrderType, PositionSide, Side
from bot.venues.ccxt_map import bybit_ticker, dec, to_tiers
from bot.venues.ccxt_reports import (
    order_status,
    to_balance,
    to_execution,
    to_order_report,
    to_position,
)
from tests.conftest import FIXTURES as BYBIT_FIXTURES

FIXTURES = BYBIT_FIXTURES / "response-bybit.json"


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    return dict(json.loads(FIXTURES.read_text())["methods"])


def test_linear_ticker_row(cases: dict[str, Any]) -> None:
    row = cases["fetchFundingRates"][0]["httpResponse"]["result"]["list"][0]
    t = bybit_ticker(row, ts=1730700000000)
    assert (t.symbol, t.last, t.mark, t.index) == ("BTCUSDT", 68641.3, 68649.9, 68650.75)
    assert (t.bid, t.ask, t.funding_rate) == (68641.2, 68641.3, 0.0001)
    assert (t.next_funding_ms, t.open_interest) == (1730736000000, 69655.813)


def test_position(cases: dict[str, Any]) -> None:
    parsed = cases["fetchPositions"][0]["parsedResponse"][0]
    p = to_position(parsed, None, now_ms=1)
    assert p is not None
    assert (p.symbol, p.side, p.qty) == ("LTCUSDT", PositionSide.LONG, Decimal("1.2"))
    assert p.entry_price == Decimal("64.59947917") and p.leverage == Decimal(6)
    assert p.liquidation_price is None  # Bybit sends "" when there is none
    assert p.margin == Decimal("12.95542633") and p.unrealized_pnl == Decimal("7.800625")
    assert p.ts == 1699948800031
    flat = dict(parsed, contracts=0, info=dict(parsed["info"], size="0"))
    assert to_position(flat, None, now_ms=1) is None


def test_balance_uses_usdt_coin_figures(cases: dict[str, Any]) -> None:
    bal = to_balance(cases["fetchBalance"][0]["parsedResponse"], now_ms=1)
    assert bal.wallet_balance == Decimal("3322.25896609")
    assert bal.equity == Decimal("3304.29766609")
    assert bal.available == Decimal("3229.64065465")  # wallet − locked − position IM


def test_closed_market_order(cases: dict[str, Any]) -> None:
    rep = to_order_report(cases["fetchClosedOrder"][0]["parsedResponse"], None)
    assert (rep.symbol, rep.side, rep.type, rep.status) == (
        "BTCUSDT", Side.BUY, OrderType.MARKET, OrderStatus.FILLED,
    )  # fmt: skip
    assert rep.qty == rep.filled_qty == Decimal("0.001")
    assert rep.avg_fill_price == Decimal(123498) and rep.price is None
    assert rep.created_ms == 1757837580469 and rep.updated_ms == 1757837580473


def test_open_limit_order(cases: dict[str, Any]) -> None:
    rep = to_order_report(cases["fetchOpenOrder"][0]["parsedResponse"], None)
    assert (rep.type, rep.status, rep.price) == (
        OrderType.LIMIT,
        OrderStatus.ACCEPTED,
        Decimal(102000),
    )
    assert rep.filled_qty == 0 and rep.avg_fill_price is None and rep.reject_reason == ""


def test_execution_fee_from_the_raw_string(cases: dict[str, Any]) -> None:
    ex = to_execution(cases["fetchMyTrades"][0]["parsedResponse"][0], None)
    assert (ex.exec_id, ex.side, ex.qty) == ("2100000000047087120", Side.BUY, Decimal("0.000336"))
    assert ex.fee == Decimal("0.000000336") and ex.price == Decimal("29708.7")
    assert ex.client_order_id == "1550857400247129600" and not ex.is_maker


@pytest.mark.parametrize(
    ("raw", "ccxt_status", "filled", "want"),
    [
        ("PartiallyFilledCanceled", "closed", 0.5, OrderStatus.CANCELED),
        ("Deactivated", "canceled", 0, OrderStatus.CANCELED),
        ("Untriggered", "open", 0, OrderStatus.ACCEPTED),
        ("PartiallyFilled", "open", 0.5, OrderStatus.PARTIALLY_FILLED),
        (None, "open", 0.5, OrderStatus.PARTIALLY_FILLED),  # Binance: no raw Bybit status
        (None, "expired", 0, OrderStatus.EXPIRED),
    ],
)
def test_status_mapping(
    raw: str | None, ccxt_status: str, filled: float, want: OrderStatus
) -> None:
    order = {"status": ccxt_status, "filled": filled, "info": {"orderStatus": raw} if raw else {}}
    assert order_status(order) is want


def test_tiers_derive_deductions_when_the_venue_gives_none() -> None:
    tiers = to_tiers(
        [
            {
                "minNotional": 0,
                "maxNotional": 100000.0,
                "maintenanceMarginRate": 0.005,
                "maxLeverage": 100,
            },
            {
                "minNotional": 100000.0,
                "maxNotional": 500000.0,
                "maintenanceMarginRate": 0.01,
                "maxLeverage": 50,
            },
        ],
        None,
    )
    assert [t.mm_deduction for t in tiers] == [0, Decimal("500")]  # 100000 · (0.01 − 0.005)
    [fallback] = to_tiers(None, 25)
    assert fallback.max_leverage == 25 and fallback.mmr == Decimal("0.02")
    assert dec(float("nan")) is None and dec("") is None and dec(0.1) == Decimal("0.1")


def test_a_triggered_binance_algo_order_reports_its_actual_order_id() -> None:
    """Binance forwards a triggered conditional order to the matching engine as an order of
    its own; the fills carry that id (``actualOrderId``), so rotor keeps it, not ``algoId``."""
    import ccxt

    ex = ccxt.binanceusdm()
    ex.set_markets([{**ex.safe_market("BTCUSDT"), "id": "BTCUSDT", "symbol": "BTC/USDT:USDT",
                     "base": "BTC", "quote": "USDT", "settle": "USDT", "type": "swap",
                     "swap": True, "linear": True, "contract": True, "active": True}])  # fmt: skip
    row = {
        "algoId": 2148719, "clientAlgoId": "rtr-1-stop", "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET", "symbol": "BTCUSDT", "side": "SELL",
        "positionSide": "BOTH", "timeInForce": "GTC", "quantity": "0.010",
        "algoStatus": "FINISHED", "actualOrderId": "8886774", "actualPrice": "29990.0",
        "triggerPrice": "30000.0", "price": "0.0", "workingType": "MARK_PRICE",
        "reduceOnly": True, "createTime": 1750485492076, "updateTime": 1750514545091,
        "triggerTime": 1750514545091,
    }  # fmt: skip
    rep = to_order_report(ex.parse_order(row), None)
    assert rep.venue_order_id == "8886774" and rep.client_order_id == "rtr-1-stop"
    untriggered = {**row, "algoStatus": "NEW", "actualOrderId": "", "triggerTime": 0}
    assert to_order_report(ex.parse_order(untriggered), None).venue_order_id == "2148719"
