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
# A stop whose trigger the price already crossed (Bybit: rising / falling; Binance).
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
    if code in (BYBIT_DUPLICATE_LINK_ID, BINANCE_DUPLICATE_CLIENT_ID):
        return (DuplicateClientIdError, DuplicateClientIdError, DuplicateClientIdError)
    if code in STOP_CROSSED_CODES:
        return (StopCrossedError, StopCrossedError, StopCrossedError)
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


def is_timeout(exc: BaseException) -> bool:
    """True for client-side timeouts (used to label metrics/logs)."""
    return isinstance(exc, ccxt.RequestTimeout | asyncio.TimeoutError | TimeoutError)


def describe_table() -> list[tuple[str, str, str, str]]:
    """The mapping as rows of names (class, read, create, cancel), for docs and the report."""
    return [(c.__name__, r[0].__name__, r[1].__name__, r[2].__name__) for c, r in MAPPING]
