"""Deterministic client order ids: ``<prefix>-<run>-<seq>``, at most 36 characters.

The prefix lets reconciliation recognise rotor's own orders on the venue (and adopt them
after a crash); the run part keeps ids unique across restarts; the sequence is allocated
from the database so a restart never reuses one.
"""

from __future__ import annotations

import re
import secrets
import time

MAX_LEN = 36  # Bybit orderLinkId limit (Binance allows 36 too)
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def new_run_id(now_ms: int | None = None) -> str:
    """A short, sortable, unique run id: base36 start time + 4 random chars."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{_base36(ms)}{secrets.token_hex(2)}"


class ClientIdFactory:
    """Issues ``prefix-run-seq`` ids for one run."""

    def __init__(self, prefix: str, run_id: str, next_seq: int = 1) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]{1,7}", prefix):
            raise ValueError(f"client id prefix {prefix!r}: 2-8 lowercase letters/digits")
        if not re.fullmatch(r"[a-z0-9]{1,16}", run_id):
            raise ValueError(f"run id {run_id!r}: 1-16 lowercase letters/digits")
        self.prefix = prefix
        self.run_id = run_id
        self._seq = next_seq

    def make(self, seq: int) -> str:
        cid = f"{self.prefix}-{self.run_id}-{_base36(seq)}"
        if len(cid) > MAX_LEN:
            raise ValueError(f"client order id {cid!r} longer than {MAX_LEN}")
        return cid

    def next(self) -> str:
        cid = self.make(self._seq)
        self._seq += 1
        return cid

    @property
    def next_seq(self) -> int:
        return self._seq

    def is_own(self, client_order_id: str | None) -> bool:
        """True for any id this prefix issued, in any run."""
        return is_own(self.prefix, client_order_id)


def is_own(prefix: str, client_order_id: str | None) -> bool:
    """True when ``client_order_id`` was issued by rotor with ``prefix`` (any run)."""
    if not client_order_id:
        return False
    return (
        re.fullmatch(rf"{re.escape(prefix)}-[a-z0-9]{{1,16}}-[a-z0-9]+", client_order_id)
        is not None
    )


# Orders placed without a client id (the venue's web UI, a position TP/SL set there) are
# tracked under this key made of the venue's order id; commands on them go by venue id.
VENUE_KEY_PREFIX = "venue:"


def order_key(client_order_id: str, venue_order_id: str) -> str:
    """The key rotor tracks and stores an order under: its client id, or (none given) one
    made of the venue order id, so the same venue order always maps to the same row."""
    return client_order_id or f"{VENUE_KEY_PREFIX}{venue_order_id}"


def is_venue_keyed(key: str) -> bool:
    """True for an order the venue knows by its own id only (no client id on the venue)."""
    return key.startswith(VENUE_KEY_PREFIX)
