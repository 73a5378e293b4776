"""Binance request signing, verified the way Binance does (SIGNED endpoints).

``signature = hex HMAC-SHA256(secret, totalParams)`` where ``totalParams`` is the query string
concatenated with the request body, each as sent and without the ``signature`` parameter
(ccxt sends a POST's parameters in the body, Binance's own SDK in the query; both work).
``X-MBX-APIKEY`` carries the key. ``timestamp`` is required and must satisfy
``server − recvWindow ≤ timestamp < server + 1000`` (``recvWindow`` default 5000, at most
60000), checked against the server's wall clock shifted by any ``clock_skew`` fault.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import unquote

from bot.sim.http.binance.errors import (
    BAD_API_KEY_FMT,
    BAD_RECV_WINDOW,
    INVALID_SIGNATURE,
    INVALID_TIMESTAMP,
    REJECTED_MBX_KEY,
    BinanceError,
    mandatory,
)

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60_000
FUTURE_TOLERANCE_MS = 1000


def sign(secret: str, total_params: str) -> str:
    """The hex signature a Binance client sends for ``total_params``."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` (a query string or form body) without its ``signature`` parameter, and the
    signature (None when absent)."""
    parts = raw.split("&") if raw else []
    sig = None
    kept = []
    for part in parts:
        if part.startswith("signature="):
            sig = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), sig


def verify(
    *,
    api_key_header: str | None,
    query: str,
    body: str,
    timestamp: str | None,
    recv_window: str | None,
    api_key: str,
    secret: str,
    server_wall_ms: int,
) -> None:
    """Raise ``BinanceError`` (-2014/-2015/-1102/-1022/-1021) unless signed correctly."""
    if not api_key_header:
        raise BinanceError(BAD_API_KEY_FMT, "API-key format invalid.")
    if not hmac.compare_digest(api_key_header, api_key):
        raise BinanceError(REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.")
    q, q_sig = strip_signature(query)
    b, b_sig = strip_signature(body)
    sig = q_sig or b_sig
    if not sig:
        raise mandatory("signature")
    if not timestamp:
        raise mandatory("timestamp")
    try:
        ts_ms = int(timestamp)
        recv_ms = int(recv_window) if recv_window else DEFAULT_RECV_WINDOW
    except ValueError:
        raise BinanceError(
            INVALID_TIMESTAMP, f"Invalid timestamp/recvWindow ({timestamp!r}/{recv_window!r})"
        ) from None
    if not 0 < recv_ms <= MAX_RECV_WINDOW:
        raise BinanceError(BAD_RECV_WINDOW, f"recvWindow must be less than {MAX_RECV_WINDOW}.")
    total = q + b
    # Clients sign the string they send; accept it percent-encoded or decoded.
    candidates = (total, unquote(total)) if "%" in total else (total,)
    if not any(hmac.compare_digest(sign(secret, c), sig.lower()) for c in candidates):
        raise BinanceError(INVALID_SIGNATURE, "Signature for this request is not valid.")
    if ts_ms >= server_wall_ms + FUTURE_TOLERANCE_MS:
        raise BinanceError(
            INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if server_wall_ms - ts_ms > recv_ms:
        raise BinanceError(
            INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
        )
