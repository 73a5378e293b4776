"""Round-trip trades rebuilt from what the simulator recorded.

A trade opens with the first fill on a flat symbol and closes when the position is flat
again. Fees are every fill's fee, funding every settlement paid or received while the trade
was open. A settlement and a fill at the same instant: the settlement comes first
(``bot.execution.ledger.event_key``, the ledger's rule), so an entry filled at the settlement
instant does not pay it and an exit filled then has paid it, as the engine charges it. The gross PnL is the venue's
closed PnL (``side·q·(exit − average entry)``; minus the isolated margin for a liquidation),
so ``pnl = gross − fees + funding`` adds up to the change in wallet balance exactly.

The exit reason comes from the order that closed the position: the signal rule that asked for
the exit, the protective stop, a liquidation, the kill switch, or the end of the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import Order, PositionSide, Side
from bot.execution.ledger import FILL, FUNDING, event_key
from bot.sim.types import SimExecution, SimFunding

ZERO = Decimal(0)

# Signal exit reasons (bot.signals.rules.exit_reasons) → report categories.
_SIGNAL_REASONS = {
    "exit_rsi": "signal_exit",
    "exit_ema": "signal_exit",
    "exit_gap": "signal_exit",
    "time_stop": "time_stop",
    "rotation_out": "rotation_exit",
    "take_profit": "take_profit",
}
END_OF_DATA = "end of data"
EXIT_REASONS = (
    "signal_exit",
    "time_stop",
    "rotation_exit",
    "take_profit",
    "stop_loss",
    "liquidation",
    "kill_switch",
    "end_of_data",
    "other",
)


@dataclass(slots=True)
class Trade:
    """One round trip; money in Decimal, times in UTC ms."""

    symbol: str
    sector: str | None
    side: PositionSide
    entry_time: int
    entry_price: Decimal
    qty: Decimal
    leverage: Decimal | None = None
    stop_price: Decimal | None = None
    exit_time: int | None = None
    exit_price: Decimal | None = None
    gross: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    exit_reason: str = ""
    exit_detail: str = ""
    _entry_value: Decimal = ZERO
    _exit_value: Decimal = ZERO
    _exit_qty: Decimal = ZERO
    _open_qty: Decimal = ZERO
    _reasons: list[str] = field(default_factory=list)

    @property
    def pnl(self) -> Decimal:
        """Net PnL: closed PnL minus fees plus funding (positive = received)."""
        return self.gross - self.fees + self.funding

    @property
    def closed(self) -> bool:
        return self.exit_time is not None


def exit_reason_of(order: Order | None, execution: SimExecution) -> tuple[str, str]:
    """(category, detail) for the fill that closed (part of) a position."""
    if execution.exec_type == "BustTrade":
        return "liquidation", "liquidated at the bankruptcy price"
    if execution.exec_type == "Delivery":
        return "other", "delisted: settled at the delivery price"
    if order is None:
        return "other", "fill of an untracked order"
    if order.intent == "stop":
        return "stop_loss", "protective stop"
    if order.intent == "kill":
        return "kill_switch", order.reason or "kill switch"
    if order.reason == END_OF_DATA:
        return "end_of_data", END_OF_DATA
    codes = [c for c in order.reason.split(",") if c]
    for code in codes:
        if code in _SIGNAL_REASONS:
            return _SIGNAL_REASONS[code], order.reason
    return "other", order.reason


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """Leverage and stop the risk manager approved for the entry opened at ``opened_ms``."""

    leverage: Decimal
    stop_price: Decimal | None


def build_trades(
    executions: Iterable[SimExecution],
    funding: Iterable[SimFunding],
    orders: Mapping[str, Order],
    entries: Mapping[tuple[str, int], EntryInfo],
    sectors: Mapping[str, str | None],
) -> list[Trade]:
    """Every round trip, in the order they were opened (still-open ones at the end too)."""
    events: list[tuple[tuple[int, int, str | int], SimExecution | SimFunding]] = []
    for n, e in enumerate(executions):
        events.append((event_key(e.ts, FILL, n), e))
    for n, f in enumerate(funding):
        events.append((event_key(f.ts, FUNDING, n), f))
    events.sort(key=lambda x: x[0])
    open_: dict[str, Trade] = {}
    done: list[Trade] = []
    for _key, ev in events:
        if isinstance(ev, SimFunding):
            t = open_.get(ev.symbol)
            if t is not None:
                t.funding += ev.amount
            continue
        _fill(ev, open_, done, orders, entries, sectors)
    done.extend(open_.values())
    done.sort(key=lambda t: (t.entry_time, t.symbol))
    return done


def _fill(
    e: SimExecution,
    open_: dict[str, Trade],
    done: list[Trade],
    orders: Mapping[str, Order],
    entries: Mapping[tuple[str, int], EntryInfo],
    sectors: Mapping[str, str | None],
) -> None:
    t = open_.get(e.symbol)
    side = PositionSide.LONG if e.side is Side.BUY else PositionSide.SHORT
    if t is None or t.side is side:
        if t is None:
            info = entries.get((e.symbol, e.ts))
            t = Trade(
                e.symbol,
                sectors.get(e.symbol),
                side,
                e.ts,
                e.price,
                ZERO,
                info.leverage if info else None,
                info.stop_price if info else None,
            )
            open_[e.symbol] = t
        t._open_qty += e.qty
        t.qty += e.qty
        t._entry_value += e.qty * e.price
        t.entry_price = t._entry_value / t.qty
        t.fees += e.fee
        return
    closed = e.closed_size if e.closed_size > 0 else min(e.qty, t._open_qty)
    share = closed / e.qty if e.qty else ZERO
    t.fees += e.fee * share
    t.gross += e.closed_pnl
    t._exit_qty += closed
    t._exit_value += closed * e.price
    t._open_qty -= closed
    reason, detail = exit_reason_of(orders.get(e.order_link_id), e)
    if reason not in t._reasons:
        t._reasons.append(reason)
    if t._open_qty <= 0:
        t.exit_time = e.ts
        t.exit_price = t._exit_value / t._exit_qty
        t.exit_reason = t._reasons[-1]
        t.exit_detail = detail
        done.append(open_.pop(e.symbol))
    if closed < e.qty:  # the rest opens the other way (never with reduce-only orders)
        rest = e.qty - closed
        flipped = SimExecution(
            e.exec_id, e.order_id, e.order_link_id, e.symbol, e.side, rest, e.price,
            e.fee - e.fee * share, e.fee_rate, e.ts, e.is_maker,
        )  # fmt: skip
        _fill(flipped, open_, done, orders, entries, sectors)
