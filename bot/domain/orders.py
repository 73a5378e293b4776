"""Orders and their state table (ARCHITECTURE.md, pattern 1).

The table is the single authority on which status changes are legal; ``Order.transition``
raises ``IllegalTransition`` for anything else. Re-reporting the current status is a no-op,
because venues and reconciliation repeat themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell."""
        return 1 if self is Side.BUY else -1

    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"


class TriggerBy(StrEnum):
    MARK = "mark"
    LAST = "last"


class OrderStatus(StrEnum):
    NEW = "NEW"  # persisted, not yet sent
    SUBMITTED = "SUBMITTED"  # sent, no answer yet
    ACCEPTED = "ACCEPTED"  # resting / untriggered on the venue
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"  # outcome unclear: resolve by query or reconciliation, never resend


_S = OrderStatus
_LIVE_EXITS = frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELED}),
    _S.SUBMITTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.UNKNOWN}) | _LIVE_EXITS,
    _S.UNKNOWN: frozenset({_S.ACCEPTED, _S.REJECTED}) | _LIVE_EXITS,
    _S.ACCEPTED: frozenset({_S.REJECTED}) | _LIVE_EXITS,
    _S.PARTIALLY_FILLED: _LIVE_EXITS,
    # A cancel can race a fill on the venue: the fill wins.
    _S.CANCELED: frozenset({_S.FILLED}),
    _S.FILLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}

TERMINAL_STATUSES = frozenset({_S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED})
OPEN_STATUSES = frozenset({_S.SUBMITTED, _S.ACCEPTED, _S.PARTIALLY_FILLED, _S.UNKNOWN})


class IllegalTransition(ValueError):
    """An order status change the state table does not allow."""

    def __init__(self, order_id: str, old: OrderStatus, new: OrderStatus) -> None:
        super().__init__(f"order {order_id}: illegal transition {old} -> {new}")
        self.order_id = order_id
        self.old = old
        self.new = new


def is_legal(old: OrderStatus, new: OrderStatus) -> bool:
    """True when ``old -> new`` is allowed (the same status is always allowed)."""
    return old == new or new in TRANSITIONS[old]


def check_transition(order_id: str, old: OrderStatus, new: OrderStatus) -> None:
    """Raise ``IllegalTransition`` unless ``old -> new`` is in the table."""
    if not is_legal(old, new):
        raise IllegalTransition(order_id, old, new)


@dataclass(slots=True)
class Order:
    """An order as rotor tracks it, from intent to terminal status."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_by: TriggerBy | None = None
    reduce_only: bool = False
    status: OrderStatus = OrderStatus.NEW
    venue_order_id: str | None = None
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    fees: Decimal = Decimal(0)
    reason: str = ""
    intent: str = ""  # entry, exit, stop, kill, adopt, ...
    created_ms: int = 0
    updated_ms: int = 0
    history: list[tuple[int, OrderStatus]] = field(default_factory=list)
    # The protective stop an entry was approved with, stored with the order before it is sent,
    # so a restart between the fill and the stop placement still knows where the stop goes.
    planned_stop: Decimal | None = None

    def transition(self, new: OrderStatus, ts_ms: int) -> bool:
        """Move to ``new``; return False when it was already there, raise if illegal."""
        check_transition(self.client_order_id, self.status, new)
        if new == self.status:
            return False
        self.status = new
        self.updated_ms = ts_ms
        self.history.append((ts_ms, new))
        return True

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty
