"""Map ccxt exceptions to rotor's four outcomes (``bot.venues.base``; ARCHITECTURE.md pattern 2).

The same ccxt class means different things depending on what was asked:

- a *read* that failed on the network did nothing, so it is ``TransientError`` (retry is safe);
- a *create* that failed on the network may have reached the matching engine, so it is
  ``UnknownOutcomeError`` and must be resolved by a targeted query, never by resending;
- a *cancel* is idempotent, so a network failure is ``TransientError`` like a read.

An explicit answer from the venue (a Bybit ``retCode`` or an HTTP 429) is definite in every
context: nothing happened, or the venue refused.

``MAPPING`` is the table, checked in order (the first class that matches wins, so
subclasses come before their parents). ``map_ccxt_error`` applies it.

Binance replies are classified by their error code first (``BINANCE_CODES``): ccxt picks its
Binance exception table by the request's hostname (``fapi.binance.com``), so against any other
base URL most codes arrive as a bare ``ExchangeError`` (margin insufficient would read as a
plain refusal) or as ccxt's generic class (-1001 "internal error" as ``OperationFailed``, a
*definite* refusal, although Binance says the outcome of a 5xx is unknown). The code in the
body means the same whatever the host.
"""

from __future__ import annotations

import asyncio
import re
from typing import Literal

import aiohttp
import ccxt.async_support as ccxt

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
    VenueError,
)

Op = Literal["read", "create", "cancel"]

# Bybit retCodes that need a finer class than ccxt gives them.
BYBIT_DUPLICATE_LINK_ID = "110072"
BYBIT_SYSTEM_ERROR = "10016"
BYBIT_LEVERAGE_NOT_MODIFIED = "110043"
BINANCE_DUPLICATE_CLIENT_ID = "-4116"
BINANCE_TIMESTAMP_ERROR = "-1021"
# A stop whose trigger the price already crossed (Bybit: rising / falling; Binance -2021).
STOP_CROSSED_CODES = frozenset({"110092", "110093", "-2021"})

_RETCODE = re.compile(r'"(?:retCode|ret_code|code)"\s*:\s*"?(-?\d+)')
_HTTP_STATUS = re.compile(r"\b(?:GET|POST|PUT|DELETE) \S+ (\d{3})\b")

ErrorFactory = type[VenueError]
# Per context: (read, create, cancel)
Row = tuple[ErrorFactory, ErrorFactory, ErrorFactory]

_T, _U, _R = TransientError, UnknownOutcomeError, RejectedError
_NETWORK: Row = (_T, _U, _T)

MAPPING: list[tuple[type[BaseException], Row]] = [
    # Credentials or account problems: stop trading, whatever was asked.
    (ccxt.AuthenticationError, (FatalError, FatalError, FatalError)),  # incl. PermissionDenied
    (ccxt.AccountSuspended, (FatalError, FatalError, FatalError)),
    # The venue answered "slow down": nothing happened, even for a create.
    (ccxt.RateLimitExceeded, (RateLimitedError, RateLimitedError, RateLimitedError)),
    (ccxt.DDoSProtection, (RateLimitedError, RateLimitedError, RateLimitedError)),
    # "Request expired" (clock skew / recvWindow): refused before matching.
    (ccxt.InvalidNonce, (_T, _T, _T)),
    # Lost or unanswered requests: a create may have been applied.
    (ccxt.RequestTimeout, _NETWORK),
    (ccxt.ExchangeNotAvailable, _NETWORK),  # incl. OnMaintenance, HTTP 5xx, connection reset
    (ccxt.NetworkError, _NETWORK),
    (ccxt.BadResponse, _NETWORK),  # unparseable reply: we cannot know what happened
    # Definite refusals.
    (
        ccxt.InsufficientFunds,
        (InsufficientFundsError, InsufficientFundsError, InsufficientFundsError),
    ),
    (
        ccxt.DuplicateOrderId,
        (DuplicateClientIdError, DuplicateClientIdError, DuplicateClientIdError),
    ),
    (ccxt.OrderNotFound, (OrderNotFoundError, OrderNotFoundError, OrderNotFoundError)),
    (ccxt.InvalidOrder, (_R, _R, _R)),
    (ccxt.BadRequest, (_R, _R, _R)),  # incl. BadSymbol
    (ccxt.NotSupported, (FatalError, FatalError, FatalError)),
    (ccxt.ArgumentsRequired, (FatalError, FatalError, FatalError)),
    (ccxt.OperationRejected, (_R, _R, _R)),
    (ccxt.ExchangeError, (_R, _R, _R)),
]

_LIMITED: Row = (RateLimitedError, RateLimitedError, RateLimitedError)
_FATAL: Row = (FatalError, FatalError, FatalError)
_FUNDS: Row = (InsufficientFundsError, InsufficientFundsError, InsufficientFundsError)
_NOT_FOUND: Row = (OrderNotFoundError, OrderNotFoundError, OrderNotFoundError)
_REFUSED: Row = (_R, _R, _R)
_CROSSED: Row = (StopCrossedError, StopCrossedError, StopCrossedError)

# Binance USDⓈ-M error codes (developers.binance.com, "Error Codes"; the simulator's face
# answers the same, bot/sim/http/binance/errors.py). Codes not listed fall back to ``MAPPING``.
BINANCE_CODES: dict[str, Row] = {
    # The server failed mid-request: Binance documents the execution status as unknown.
    "-1000": _NETWORK,  # UNKNOWN: an unknown error occurred while processing the request
    "-1001": _NETWORK,  # DISCONNECTED: internal error; unable to process your request
    "-1006": _NETWORK,  # UNEXPECTED_RESP: execution status unknown
    "-1007": _NETWORK,  # TIMEOUT: timeout waiting for the backend; send status unknown
    "-1008": _NETWORK,  # SERVER_BUSY / throttled by system-level protection
    # Slow down: nothing happened (HTTP 429 with Retry-After; 418 is an IP ban).
    "-1003": _LIMITED,  # TOO_MANY_REQUESTS (request weight)
    "-1015": _LIMITED,  # TOO_MANY_ORDERS (order count)
    # Refused before matching: the signing clock is re-synced and the request retried.
    BINANCE_TIMESTAMP_ERROR: (_T, _T, _T),  # INVALID_TIMESTAMP: outside recvWindow
    # Keys or permissions: stop trading.
    "-1002": _FATAL,  # UNAUTHORIZED
    "-1022": _FATAL,  # INVALID_SIGNATURE
    "-2014": _FATAL,  # BAD_API_KEY_FMT
    "-2015": _FATAL,  # REJECTED_MBX_KEY: invalid API key, IP or permissions
    # Definite refusals with a finer meaning.
    "-2018": _FUNDS,  # BALANCE_NOT_SUFFICIENT
    "-2019": _FUNDS,  # MARGIN_NOT_SUFFICIENT
    BINANCE_DUPLICATE_CLIENT_ID: (
        DuplicateClientIdError,
        DuplicateClientIdError,
        DuplicateClientIdError,
    ),  # DUPLICATED_CLIENT_ID: among *open* orders only
    "-2011": _NOT_FOUND,  # CANCEL_REJECTED: unknown order sent
    "-2013": _NOT_FOUND,  # NO_SUCH_ORDER
    "-2021": _CROSSED,  # ORDER_WOULD_IMMEDIATELY_TRIGGER: the stop's price is already crossed
    "-2022": _REFUSED,  # REDUCE_ONLY_REJECT
    "-2027": _REFUSED,  # MAX_LEVERAGE_RATIO: beyond the tier at this leverage
    "-4131": _REFUSED,  # MARKET_ORDER_REJECT: counterparty's best price outside PERCENT_PRICE
    "-4164": _REFUSED,  # MIN_NOTIONAL
    "-5021": _REFUSED,  # FOK order rejected (could not be filled)
    "-5022": _REFUSED,  # GTX (post-only) order rejected (would take liquidity)
}

_CONTEXT_INDEX: dict[Op, int] = {"read": 0, "create": 1, "cancel": 2}


def venue_code(exc: BaseException) -> str | None:
    """The venue's own error code (Bybit ``retCode``, Binance ``code``, else HTTP status)."""
    text = str(exc)
    m = _RETCODE.search(text)
    if m:
        return m.group(1)
    m = _HTTP_STATUS.search(text)
    return m.group(1) if m else None


def _override(exc: BaseException, code: str | None) -> Row | None:
    """Cases the class alone gets wrong."""
    if isinstance(exc, ccxt.DDoSProtection):
        # Binance's HTTP 429/418 (and ccxt's "-2015 after a successful login is a temporary
        # ban"): slow down, whatever code the body carries.
        return _LIMITED
    if code is not None and code in BINANCE_CODES:
        return BINANCE_CODES[code]
    if code == BYBIT_DUPLICATE_LINK_ID:
        return (DuplicateClientIdError, DuplicateClientIdError, DuplicateClientIdError)
    if code in STOP_CROSSED_CODES:
        return _CROSSED
    # Bybit 10016 "system error" is a plain ExchangeError in ccxt, but the server failed
    # mid-request: for a create the order may exist.
    if code == BYBIT_SYSTEM_ERROR:
        return _NETWORK
    # ccxt wraps non-connection aiohttp failures (payload errors, ...) in a bare ExchangeError.
    if type(exc) is ccxt.ExchangeError and isinstance(exc.__cause__, aiohttp.ClientError):
        return _NETWORK
    return None


def classify(exc: BaseException, op: Op) -> ErrorFactory:
    """The rotor error class for ``exc`` raised during an ``op``."""
    idx = _CONTEXT_INDEX[op]
    row = _override(exc, venue_code(exc))
    if row is None:
        for cls, r in MAPPING:
            if isinstance(exc, cls):
                row = r
                break
    if row is None:
        # Not a ccxt error (asyncio timeout, aiohttp leak, ...): treat as a network failure.
        row = _NETWORK
    return row[idx]


def map_ccxt_error(exc: BaseException, op: Op, endpoint: str) -> VenueError:
    """Build the rotor error for ``exc``; the message keeps ccxt's text (already redacted
    by the logging pipeline when logged) and names the endpoint."""
    if isinstance(exc, VenueError):
        return exc
    cls = classify(exc, op)
    code = venue_code(exc)
    kind = type(exc).__name__
    msg = f"{endpoint}: {kind}: {exc}" if str(exc) else f"{endpoint}: {kind}"
    return cls(msg, code=code, endpoint=endpoint)


def is_ip_ban(exc: BaseException) -> bool:
    """Binance's HTTP 418: the IP is banned until ``Retry-After`` (after ignoring 429s)."""
    return isinstance(exc, ccxt.DDoSProtection) and " 418 " in f" {exc} "


def is_timeout(exc: BaseException) -> bool:
    """True for client-side timeouts (used to label metrics/logs)."""
    return isinstance(exc, ccxt.RequestTimeout | asyncio.TimeoutError | TimeoutError)


def describe_table() -> list[tuple[str, str, str, str]]:
    """The mapping as rows of names (class, read, create, cancel), for docs and the report."""
    return [(c.__name__, r[0].__name__, r[1].__name__, r[2].__name__) for c, r in MAPPING]
