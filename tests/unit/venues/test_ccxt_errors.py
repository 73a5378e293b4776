"""The ccxt → rotor outcome table (issue #4): the same ccxt class means different things
for a read, a create and a cancel."""

from __future__ import annotations

import aiohttp
import ccxt.async_support as ccxt
import pytest

from bot.venues.base import (
    DuplicateClientIdError,
    FatalError,
    InsufficientFundsError,
    OrderNotFoundError,
    RateLimitedError,
    RejectedError,
    StopCrossedError,
    TransientError,
    UnknownOutcomeError,
)
from bot.venues.ccxt_errors import classify, describe_table, map_ccxt_error, venue_code


def bybit(code: int, msg: str = "x") -> str:
    return f'bybit {{"retCode":{code},"retMsg":"{msg}","result":{{}},"retExtInfo":{{}},"time":1}}'


# (exception, read, create, cancel)
CASES = [
    (
        ccxt.RequestTimeout("bybit POST http://h/v5/order/create"),
        TransientError,
        UnknownOutcomeError,
        TransientError,
    ),
    (
        ccxt.ExchangeNotAvailable("bybit GET http://h/v5/x 503 Service Unavailable"),
        TransientError,
        UnknownOutcomeError,
        TransientError,
    ),
    (ccxt.OnMaintenance("maintenance"), TransientError, UnknownOutcomeError, TransientError),
    (ccxt.NetworkError("reset"), TransientError, UnknownOutcomeError, TransientError),
    (ccxt.BadResponse("not json"), TransientError, UnknownOutcomeError, TransientError),
    (ccxt.RateLimitExceeded(bybit(10006)), RateLimitedError, RateLimitedError, RateLimitedError),
    (ccxt.DDoSProtection("418"), RateLimitedError, RateLimitedError, RateLimitedError),
    (ccxt.InvalidNonce(bybit(10002)), TransientError, TransientError, TransientError),
    (
        ccxt.InsufficientFunds(bybit(110007)),
        InsufficientFundsError,
        InsufficientFundsError,
        InsufficientFundsError,
    ),
    (
        ccxt.InvalidOrder(bybit(110072, "OrderLinkedID is duplicate")),
        DuplicateClientIdError,
        DuplicateClientIdError,
        DuplicateClientIdError,
    ),
    (
        ccxt.DuplicateOrderId("dup"),
        DuplicateClientIdError,
        DuplicateClientIdError,
        DuplicateClientIdError,
    ),
    (ccxt.OrderNotFound(bybit(110001)), OrderNotFoundError, OrderNotFoundError, OrderNotFoundError),
    # The stop's trigger is already crossed (rising / falling): StopCrossedError (#36).
    (ccxt.InvalidOrder(bybit(110092)), StopCrossedError, StopCrossedError, StopCrossedError),
    (ccxt.InvalidOrder(bybit(110093)), StopCrossedError, StopCrossedError, StopCrossedError),
    (ccxt.InvalidOrder(bybit(110017, "reduce-only")), RejectedError, RejectedError, RejectedError),
    (ccxt.InvalidOrder(bybit(110094, "min notional")), RejectedError, RejectedError, RejectedError),
    (ccxt.BadRequest(bybit(10001)), RejectedError, RejectedError, RejectedError),
    (ccxt.BadSymbol("Not supported symbols"), RejectedError, RejectedError, RejectedError),
    (ccxt.AuthenticationError(bybit(10004, "sign error")), FatalError, FatalError, FatalError),
    (ccxt.PermissionDenied(bybit(10005)), FatalError, FatalError, FatalError),
    (ccxt.AccountSuspended(bybit(10008)), FatalError, FatalError, FatalError),
    # 10016 "system error" is a plain ExchangeError in ccxt but the server failed mid-request.
    (
        ccxt.ExchangeError(bybit(10016, "System error")),
        TransientError,
        UnknownOutcomeError,
        TransientError,
    ),
    (
        ccxt.ExchangeError(bybit(170213, "something else")),
        RejectedError,
        RejectedError,
        RejectedError,
    ),
    (TimeoutError(), TransientError, UnknownOutcomeError, TransientError),
    (ConnectionResetError(), TransientError, UnknownOutcomeError, TransientError),
]


@pytest.mark.parametrize(("exc", "read", "create", "cancel"), CASES, ids=lambda c: type(c).__name__)
def test_outcome_table(exc: BaseException, read: type, create: type, cancel: type) -> None:
    assert classify(exc, "read") is read
    assert classify(exc, "create") is create
    assert classify(exc, "cancel") is cancel


def test_wrapped_aiohttp_failure_is_a_network_failure() -> None:
    exc = ccxt.ExchangeError("bybit POST http://h/v5/order/create")
    exc.__cause__ = aiohttp.ClientPayloadError("truncated")
    assert classify(exc, "create") is UnknownOutcomeError
    assert classify(exc, "read") is TransientError


def test_mapped_error_keeps_code_and_endpoint() -> None:
    err = map_ccxt_error(
        ccxt.InsufficientFunds(bybit(110007, "ab not enough")), "create", "create_order"
    )
    assert isinstance(err, InsufficientFundsError)
    assert err.code == "110007"
    assert err.endpoint == "create_order"
    assert err.outcome == "rejected"
    assert "create_order" in str(err) and "InsufficientFunds" in str(err)


def test_venue_code_from_http_status_when_no_retcode() -> None:
    assert (
        venue_code(
            ccxt.ExchangeNotAvailable(
                "bybit GET http://h/v5/market/tickers 503 Service Unavailable"
            )
        )
        == "503"
    )
    assert venue_code(ccxt.RequestTimeout("bybit GET http://h/x")) is None


def test_table_lists_every_row_by_name() -> None:
    rows = describe_table()
    assert (
        "InsufficientFunds",
        "InsufficientFundsError",
        "InsufficientFundsError",
        "InsufficientFundsError",
    ) in rows
    assert ("RequestTimeout", "TransientError", "UnknownOutcomeError", "TransientError") in rows


def binance(code: int, msg: str = "x") -> str:
    return f'binanceusdm {{"code":{code},"msg":"{msg}"}}'


# What ccxt raises against a base URL that is not fapi.binance.com (its host-keyed table does
# not apply): the code in the body decides (issue #16). (exception, read, create, cancel)
BINANCE_CASES = [
    (ccxt.ExchangeError(binance(-1007)), TransientError, UnknownOutcomeError, TransientError),
    (ccxt.ExchangeError(binance(-1008)), TransientError, UnknownOutcomeError, TransientError),
    (ccxt.OperationFailed(binance(-1001)), TransientError, UnknownOutcomeError, TransientError),
    (ccxt.ExchangeError(binance(-2019)), *(InsufficientFundsError,) * 3),
    (ccxt.ExchangeError(binance(-2018)), *(InsufficientFundsError,) * 3),
    (ccxt.ExchangeError(binance(-4116)), *(DuplicateClientIdError,) * 3),
    (ccxt.OrderNotFound(binance(-2011)), *(OrderNotFoundError,) * 3),
    (ccxt.ExchangeError(binance(-2022)), *(RejectedError,) * 3),
    (ccxt.ExchangeError(binance(-4164)), *(RejectedError,) * 3),
    (ccxt.RateLimitExceeded(binance(-1015)), *(RateLimitedError,) * 3),
    (
        ccxt.DDoSProtection("binanceusdm 418 I'm a teapot " + binance(-1003)),
        *(RateLimitedError,) * 3,
    ),
    (ccxt.InvalidNonce(binance(-1021)), TransientError, TransientError, TransientError),
    (ccxt.AuthenticationError(binance(-2015)), *(FatalError,) * 3),
    (ccxt.ExchangeError(binance(-1022)), *(FatalError,) * 3),
]


@pytest.mark.parametrize(("exc", "read", "create", "cancel"), BINANCE_CASES)
def test_binance_replies_classified_by_code(
    exc: BaseException, read: type, create: type, cancel: type
) -> None:
    assert classify(exc, "read") is read
    assert classify(exc, "create") is create
    assert classify(exc, "cancel") is cancel
