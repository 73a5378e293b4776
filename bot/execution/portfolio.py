"""Positions as rotor tracks them, built from executions (each applied once) and funding."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from bot.domain import ExecutionReport, FundingPayment, Position, PositionReport, PositionSide

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What one execution did to a position."""

    symbol: str
    kind: str  # open, increase, reduce, close, flip
    realized_pnl: Decimal
    fee: Decimal
    position: Position | None  # after the fill; None when flat
    closed: Position | None = None  # the position as it was when this fill closed it


class Portfolio:
    """Open positions plus running totals of realised PnL, fees and funding."""

    def __init__(self) -> None:
        self.positions: dict[str, Position] = {}
        self.realized_pnl = ZERO
        self.fees = ZERO
        self.funding = ZERO

    def apply_fill(
        self,
        fill: ExecutionReport,
        *,
        leverage: Decimal = Decimal(1),
        sector: str | None = None,
    ) -> FillEffect:
        """Apply one execution; the caller guarantees it is applied once (by exec id)."""
        signed = fill.qty if fill.side.sign > 0 else -fill.qty
        self.fees += fill.fee
        pos = self.positions.get(fill.symbol)
        if pos is None:
            new = self._open(fill, signed, leverage, sector)
            return FillEffect(fill.symbol, "open", ZERO, fill.fee, new)
        pos.fees += fill.fee
        if pos.side.sign * signed > 0:  # same direction: increase, average the entry
            total = pos.qty + fill.qty
            pos.entry_price = (pos.entry_price * pos.qty + fill.price * fill.qty) / total
            pos.qty = total
            return FillEffect(fill.symbol, "increase", ZERO, fill.fee, pos)
        closing = min(pos.qty, fill.qty)
        pnl = pos.side.sign * closing * (fill.price - pos.entry_price)
        self.realized_pnl += pnl
        pos.realized_pnl += pnl
        remaining = pos.qty - closing
        if remaining > 0:
            pos.qty = remaining
            return FillEffect(fill.symbol, "reduce", pnl, fill.fee, pos)
        closed = self.positions.pop(fill.symbol)
        leftover = fill.qty - closing
        if leftover > 0:  # a fill larger than the position flips it (never with reduce-only)
            flipped = self._open(fill, signed / abs(signed) * leftover, leverage, sector)
            return FillEffect(fill.symbol, "flip", pnl, fill.fee, flipped, closed)
        return FillEffect(fill.symbol, "close", pnl, fill.fee, None, closed)

    def apply_funding(self, payment: FundingPayment) -> None:
        """Book a funding payment (signed cash) against the position and the totals."""
        self.funding += payment.amount
        pos = self.positions.get(payment.symbol)
        if pos is not None:
            pos.funding += payment.amount

    def adopt(self, report: PositionReport, ts_ms: int, sector: str | None = None) -> Position:
        """Take over a position found on the venue (reconciliation's ``adopt`` policy)."""
        pos = position_from_report(report, ts_ms, sector)
        self.positions[report.symbol] = pos
        return pos

    def trial(self, symbol: str) -> Portfolio:
        """A scratch portfolio holding a copy of ``symbol``'s position (totals at zero), to
        compute what an event will do before it is stored and applied for real."""
        out = Portfolio()
        pos = self.positions.get(symbol)
        if pos is not None:
            out.positions[symbol] = replace(pos)
        return out

    def restore(self, positions: list[Position]) -> None:
        """Load positions persisted by an earlier run."""
        self.positions = {p.symbol: p for p in positions}

    def _open(
        self, fill: ExecutionReport, signed: Decimal, leverage: Decimal, sector: str | None
    ) -> Position:
        side = PositionSide.LONG if signed > 0 else PositionSide.SHORT
        pos = Position(
            symbol=fill.symbol,
            side=side,
            qty=abs(signed),
            entry_price=fill.price,
            leverage=leverage,
            opened_ms=fill.ts,
            sector=sector,
            fees=fill.fee,
        )
        self.positions[fill.symbol] = pos
        return pos


def position_from_report(report: PositionReport, ts_ms: int, sector: str | None = None) -> Position:
    """A position as the venue reports it (totals at zero, opened at ``ts_ms``)."""
    return Position(
        symbol=report.symbol,
        side=report.side,
        qty=report.qty,
        entry_price=report.entry_price,
        leverage=report.leverage,
        opened_ms=ts_ms,
        liquidation_price=report.liquidation_price,
        margin=report.margin,
        sector=sector,
        synced_ms=report.ts,
    )
