"""Fidelity with Binance's official SDK for USDⓈ-M futures (``binance-sdk-derivatives-
trading-usds-futures``, unmodified, from PyPI) against the Binance face: public, private and
error paths. The only change to the client is its base URL.

The SDK validates every reply against its pydantic models and logs a warning when a reply
does not match the declared types; these tests fail on any such warning, so they check the
reply types field by field as the official client declares them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_common.errors import (
    BadRequestError,
    RateLimitBanError,
    TooManyRequestsError,
    UnauthorizedError,
)
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import enums as E

from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import RISK_SYMBOL, START
from tests.simserver import SimHandle

T = TypeVar("T")


def client(sim: SimHandle, secret: str | None = None) -> Any:
    cfg = ConfigurationRestAPI(
        api_key=sim.api_key,
        api_secret=secret or sim.api_secret,
        base_path=sim.url,  # the one change: the simulator instead of fapi.binance.com
        retries=0,
        timeout=10_000,
    )
    return DerivativesTradingUsdsFutures(config_rest_api=cfg).rest_api


async def run(fn: Callable[..., Any], **kw: Any) -> Any:
    """Call the (synchronous) SDK in a thread; return the parsed reply."""
    resp = await asyncio.to_thread(fn, **kw)
    return resp.data()


@pytest.fixture(autouse=True)
def strict_models(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every reply must parse into the SDK's models with their declared types."""
    with caplog.at_level(logging.WARNING):
        yield
    records = caplog.get_records("call")  # the test's own phase (this runs in teardown)
    bad = [r.getMessage() for r in records if "response" in r.getMessage()]
    assert not bad, bad


async def test_public_endpoints(bsim: SimHandle) -> None:
    api = client(bsim)
    assert (await run(api.check_server_time)).server_time == START
    info = await run(api.exchange_information)
    assert {s.symbol for s in info.symbols} >= {"BTCUSDT", RISK_SYMBOL}
    kl = await run(api.kline_candlestick_data, symbol="BTCUSDT",
                   interval=E.KlineCandlestickDataIntervalEnum.INTERVAL_1h, limit=3)  # fmt: skip
    assert [row[0] for row in kl] == [START - 2 * HOUR_MS, START - HOUR_MS, START]
    mark = (await run(api.mark_price, symbol="BTCUSDT")).actual_instance
    assert mark.next_funding_time == START + 8 * HOUR_MS
    t24 = (await run(api.ticker24hr_price_change_statistics, symbol="BTCUSDT")).actual_instance
    assert float(t24.last_price) == float(mark.mark_price)
    hist = await run(api.get_funding_rate_history, symbol="BTCUSDT", limit=2)
    assert [h.funding_time for h in hist] == [START - 8 * HOUR_MS, START]
    assert any(i.symbol == "BTCUSDT" and i.funding_interval_hours == 8
               for i in await run(api.get_funding_rate_info))  # fmt: skip
    oi = await run(api.open_interest, symbol="BTCUSDT")
    assert float(oi.open_interest) > 0
    stats = await run(api.open_interest_statistics, symbol="BTCUSDT",
                      period=E.OpenInterestStatisticsPeriodEnum.PERIOD_1h, limit=2)  # fmt: skip
    assert [s.timestamp for s in stats] == [START - HOUR_MS, START]
    book = await run(api.order_book, symbol="BTCUSDT", limit=5)
    assert len(book.bids) == 5


async def test_private_trading_paths(bsim: SimHandle) -> None:
    api = client(bsim)
    assert (await run(api.get_current_position_mode)).dual_side_position is False
    [cfg] = await run(api.symbol_configuration, symbol=RISK_SYMBOL)
    assert (cfg.margin_type, cfg.leverage) == ("CROSSED", 20)  # a new Binance account
    await run(api.change_margin_type, symbol=RISK_SYMBOL,
              margin_type=E.ChangeMarginTypeMarginTypeEnum.ISOLATED)  # fmt: skip
    lev = await run(api.change_initial_leverage, symbol=RISK_SYMBOL, leverage=10)
    assert lev.leverage == 10
    placed = await run(api.new_order, symbol=RISK_SYMBOL, side=E.NewOrderSideEnum.BUY,
                       type=E.NewOrderTypeEnum.MARKET, quantity=25.0,
                       new_client_order_id="sdk-1")  # fmt: skip
    assert placed.status == "FILLED" and placed.client_order_id == "sdk-1"
    got = await run(api.query_order, symbol=RISK_SYMBOL, orig_client_order_id="sdk-1")
    assert got.order_id == placed.order_id and got.executed_qty == "25"
    stop = await run(api.new_algo_order, algo_type=E.NewAlgoOrderAlgoTypeEnum.CONDITIONAL,
                     symbol=RISK_SYMBOL, side=E.NewAlgoOrderSideEnum.SELL,
                     type=E.NewAlgoOrderTypeEnum.STOP_MARKET, quantity=25.0,
                     trigger_price=95.0, reduce_only="true",
                     working_type=E.NewAlgoOrderWorkingTypeEnum.MARK_PRICE)  # fmt: skip
    assert stop.algo_status == "NEW" and stop.working_type == "MARK_PRICE"
    q = await run(api.query_algo_order, algo_id=stop.algo_id)
    assert q.actual_order_id == "" and q.trigger_price == "95.00"
    [pos] = await run(api.position_information_v3, symbol=RISK_SYMBOL)
    assert pos.position_amt == "25" and pos.liquidation_price == "90.46000000"
    acct = await run(api.account_information_v3)
    assert float(acct.total_wallet_balance) < 10000  # the taker fee
    await run(api.cancel_algo_order, algo_id=stop.algo_id)
    assert (await run(api.current_all_algo_open_orders, symbol=RISK_SYMBOL)) == []
    trades = await run(api.account_trade_list, symbol=RISK_SYMBOL)
    assert [t.order_id for t in trades] == [placed.order_id]
    await bsim.advance(8)  # through the 8h settlement
    income = await run(api.get_income_history, symbol=RISK_SYMBOL,
                       income_type=E.GetIncomeHistoryIncomeTypeEnum.FUNDING_FEE)  # fmt: skip
    assert [i.time for i in income] == [START + 8 * HOUR_MS]
    brackets = await run(api.notional_and_leverage_brackets, symbol=RISK_SYMBOL)
    assert brackets is not None


async def test_error_paths(bsim: SimHandle) -> None:
    api = client(bsim)
    with pytest.raises(BadRequestError) as err:
        await run(api.new_order, symbol=RISK_SYMBOL, side=E.NewOrderSideEnum.BUY,
                  type=E.NewOrderTypeEnum.MARKET, quantity=3000.0)  # fmt: skip
    assert err.value.status_code == -2019
    with pytest.raises(BadRequestError) as err:
        await run(api.query_order, symbol=RISK_SYMBOL, order_id=999)
    assert err.value.status_code == -2013
    with pytest.raises(BadRequestError) as err:
        await run(api.change_position_mode, dual_side_position="false")
    assert err.value.status_code == -4059
    with pytest.raises(BadRequestError) as err:
        await run(client(bsim, secret="wrong").account_information_v3)
    assert err.value.status_code == -1022
    with pytest.raises(UnauthorizedError):
        bad_key = client(bsim)
        bad_key.configuration.api_key = "nope"
        bad_key.configuration.base_headers["X-MBX-APIKEY"] = "nope"
        await run(bad_key.account_information_v3)
    for scope, exc in (("ip", TooManyRequestsError), ("ban", RateLimitBanError)):
        await bsim.set_faults([{"kind": "rate_limit", "endpoint": "/fapi/v1/time",
                                "requests": 0, "window_ms": 60_000, "scope": scope}])  # fmt: skip
        with pytest.raises(exc) as limited:
            await run(api.check_server_time)
        assert limited.value.retry_after is not None and limited.value.retry_after >= 1
    await bsim.set_faults([])
