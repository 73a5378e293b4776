"""What one evaluation of the signal engine returns (STRATEGY.md, "Output")."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.domain import Decision, OrderIntent, Position, PositionSide


@dataclass(frozen=True, slots=True)
class PositionView:
    """The little the engine needs to know about an open position (independent of risk)."""

    symbol: str
    side: PositionSide
    entry_ms: int  # fill time, UTC ms (time stops count entry-timeframe closes after it)
    entry_price: float

    @staticmethod
    def of(position: Position) -> PositionView:
        """The view of a domain :class:`~bot.domain.Position`."""
        return PositionView(
            position.symbol,
            position.side,
            position.opened_ms,
            float(position.entry_price),
        )


@dataclass(frozen=True, slots=True)
class RegimeRow:
    """Layer 1 at the evaluation time; ``alts`` counts the alts the index could weigh.

    Without a benchmark bar or any weighable alt the slope is unknown (``None``): the
    regime then counts as risk-off, and the decisions say ``regime_unknown``.
    """

    risk_on: bool
    alt_btc_slope: float | None
    breadth: float | None
    alts: int = 0

    @property
    def known(self) -> bool:
        return self.alt_btc_slope is not None


@dataclass(frozen=True, slots=True)
class SectorRow:
    """Layer 2 for one rotation sector, with the inputs it had.

    ``members`` are mapped; ``listed_members`` have a bar now (others are not listed yet or
    delisted); ``eligible_members`` have clean lookbacks; ``oi_members`` of those have an
    open-interest flow (the rest contribute 0); ``funding_members`` are listed members with a
    funding mean over the heat window.
    """

    sector: str
    members: int
    eligible_members: int
    return_7d: float | None
    return_30d: float | None
    rs_7d: float | None
    rs_30d: float | None
    accel: float | None
    oi_flow: float
    oi_missing: bool
    funding_heat: float | None
    heat_threshold: float | None
    overheated: bool
    score: float | None
    leader: bool
    rotated_out: bool
    listed_members: int = 0
    oi_members: int = 0
    funding_members: int = 0


@dataclass(frozen=True, slots=True)
class SymbolRow:
    """Layer 3 and confirmation for one symbol, whatever its eligibility."""

    symbol: str
    sector: str | None
    eligible: bool
    timeframe: str
    bar_time: int | None  # open time of the latest completed entry-timeframe bar
    close: float | None
    gap: float | None
    zgap: float | None
    rsi: float | None
    adx: float | None
    atr: float | None
    funding_8h: float | None
    oi_flow: float | None
    candidate: bool
    confirmed: bool
    action: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntryIntent:
    """A ranked entry for the risk manager; ``stop_distance`` is a fraction of price."""

    symbol: str
    side: PositionSide
    sector: str | None
    rank: float
    reference_price: float
    stop_distance: float
    size_factor: float
    take_profit: float | None
    reasons: tuple[str, ...]

    def to_order_intent(self) -> OrderIntent:
        """The domain intent (Decimal at the boundary; the venue's precision applies later)."""
        return OrderIntent(
            symbol=self.symbol,
            side=self.side,
            kind="entry",
            reference_price=Decimal(repr(self.reference_price)),
            stop_distance=Decimal(repr(round(self.stop_distance, 10))),
            size_factor=Decimal(repr(self.size_factor)),
            sector=self.sector,
            reason=",".join(self.reasons),
        )


@dataclass(frozen=True, slots=True)
class ExitIntent:
    """Close an open position (reduce-only); the order manager knows the quantity."""

    symbol: str
    side: PositionSide
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation at the close of 1h bar ``index`` (time ``t``, UTC ms)."""

    t: int
    index: int
    preset: str
    regime: RegimeRow
    sectors: list[SectorRow]
    symbols: list[SymbolRow]
    decisions: list[Decision]
    entries: list[EntryIntent]  # ranked, best first
    exits: list[ExitIntent]
    flags: dict[str, Any] = field(default_factory=dict)
