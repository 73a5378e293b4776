"""What the risk manager sees of the account and the market; the daemon builds it each cycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import Instrument, Position, TradingState

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Latest market facts for one symbol.

    ``ticker_ms`` is when the last ticker arrived (UTC ms); ``missing_bar`` says the latest
    closed bar is absent. ``funding_8h`` is the predicted funding rate normalised to 8 hours.
    """

    last: Decimal | None
    mark: Decimal | None
    ticker_ms: int | None
    funding_8h: Decimal | None = None
    missing_bar: bool = False
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AccountView:
    """A consistent, read-only picture of the account at ``now_ms`` (all money in Decimal).

    ``positions`` are the open positions (isolated margin, one-way mode); ``instruments``
    carries tick/step/min sizes and the maintenance tiers; ``recent_order_ms`` holds the send
    times of recent orders (the order-rate guard looks at the last 60 s).
    """

    now_ms: int
    equity: Decimal  # wallet balance + unrealised PnL
    wallet_balance: Decimal
    free_margin: Decimal
    day_start_equity: Decimal  # equity at 00:00 UTC of the current day
    peak_equity: Decimal
    trading_state: TradingState
    instruments: Mapping[str, Instrument]
    market: Mapping[str, MarketSnapshot] = field(default_factory=dict)
    positions: tuple[Position, ...] = ()
    recent_order_ms: tuple[int, ...] = ()
    poll_interval_ms: int = 15_000

    def position(self, symbol: str) -> Position | None:
        """The open position in ``symbol`` (one-way mode: at most one)."""
        for p in self.positions:
            if p.symbol == symbol and p.qty > 0:
                return p
        return None

    def mark_of(self, symbol: str) -> Decimal | None:
        """The mark price if known and positive, else None."""
        snap = self.market.get(symbol)
        if snap is None or snap.mark is None or not snap.mark.is_finite() or snap.mark <= 0:
            return None
        return snap.mark

    def notional_of(self, p: Position) -> Decimal:
        """Position notional at mark (entry price when no mark is known)."""
        return p.qty * (self.mark_of(p.symbol) or p.entry_price)

    def sector_of(self, p: Position) -> str:
        """Sector of a position; unmapped symbols share one bucket (treated as correlated)."""
        if p.sector:
            return p.sector
        inst = self.instruments.get(p.symbol)
        return (inst.sector if inst is not None and inst.sector else None) or UNMAPPED_SECTOR

    def open_risk_of(self, p: Position) -> Decimal:
        """Money lost if the stop fires now: ``Q·max(0, s·(mark − stop))``.

        Without a stop the isolated margin is what can be lost.
        """
        if p.stop_price is None:
            if p.margin > 0:
                return p.margin
            return p.qty * p.entry_price / max(p.leverage, Decimal(1))
        ref = self.mark_of(p.symbol) or p.entry_price
        return p.qty * max(_ZERO, p.side.sign * (ref - p.stop_price))


UNMAPPED_SECTOR = "<unmapped>"
