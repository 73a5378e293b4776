"""Bybit v5 request signing, verified the way Bybit does (SIM-VENUE.md, "Authentication").

``X-BAPI-SIGN = hex HMAC-SHA256(secret, timestamp + apiKey + recvWindow + payload)`` where the
payload is the raw query string (GET) or the raw body (POST).

The recvWindow check uses the server's *wall* clock (shifted by any ``clock_skew`` fault), not
the simulated clock: clients stamp requests with their own wall clock, and the replayed market
time is usually years in the past. Bybit accepts ``server - recvWindow <= ts < server + 1000``.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import unquote

DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000


class AuthError(Exception):
    """Authentication failed with a Bybit retCode."""

    def __init__(self, ret_code: int, msg: str) -> None:
        super().__init__(f"{ret_code}: {msg}")
        self.ret_code = ret_code
        self.msg = msg


def sign(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    """The hex signature a Bybit v5 client sends."""
    text = f"{timestamp}{api_key}{recv_window}{payload}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def verify(
    headers: dict[str, str],
    payload: str,
    *,
    api_key: str,
    secret: str,
    server_wall_ms: int,
) -> None:
    """Raise ``AuthError`` (10003/10004/10002/10001) unless the request is signed correctly."""
    key = headers.get("X-BAPI-API-KEY", "")
    ts = headers.get("X-BAPI-TIMESTAMP", "")
    sig = headers.get("X-BAPI-SIGN", "")
    recv = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW))
    if not key:
        raise AuthError(10003, "API key is invalid. (missing X-BAPI-API-KEY)")
    if not hmac.compare_digest(key, api_key):
        raise AuthError(10003, "API key is invalid.")
    if not ts or not sig:
        raise AuthError(10004, "error sign! missing X-BAPI-TIMESTAMP or X-BAPI-SIGN")
    try:
        ts_ms = int(ts)
        recv_ms = int(recv)
    except ValueError:
        raise AuthError(
            10001, f"X-BAPI-TIMESTAMP / X-BAPI-RECV-WINDOW must be integers, got {ts!r}/{recv!r}"
        ) from None
    # Clients sign the query either percent-encoded or raw (ccxt signs it unquoted).
    payloads = (payload, unquote(payload)) if "%" in payload else (payload,)
    if not any(hmac.compare_digest(sign(secret, ts, key, recv, p), sig.lower()) for p in payloads):
        raise AuthError(10004, f"error sign! origin_string[{ts}{key}{recv}{payload}]")
    if not (server_wall_ms - recv_ms <= ts_ms < server_wall_ms + FUTURE_TOLERANCE_MS):
        raise AuthError(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts_ms}],server_timestamp[{server_wall_ms}],recv_window[{recv_ms}]",
        )
