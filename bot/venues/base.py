"""The Venue protocol: one interface for market data and execution (ARCHITECTURE.md, pattern 3).

Every venue (the in-process simulator, ccxt against a real exchange or ``rotor sim serve``,
paper) implements this and produces the same reports, so the order manager and reconciliation
are written once.

Errors are mapped to four outcomes (issue #4) so callers decide uniformly:
- ``TransientError``: nothing happened, a *read* may be retried (network error before send,
  rate limit, 5xx on a query).
- ``RejectedError``: the venue definitely refused (bad params, insufficient funds, reduce-only).
- ``UnknownOutcomeError``: a *command* may or may not have taken effect (timeout, lost reply,
  5xx on create). Never retried blindly: resolve by targeted query or reconciliation.
- ``FatalError``: configuration or credentials are wrong; stop trading.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from bot.domain import (
    BalanceReport,
    Bar,
    CashFlow,
    ExecutionReport,
    FundingPayment,
    FundingRate,
    Instrument,
    OpenInterest,
    OrderReport,
    OrderType,
    PositionReport,
    Side,
    Ticker,
    TriggerBy,
)

MarginMode = Literal["isolated", "cross"]


class VenueError(Exception):
    """Base of every venue failure; ``code`` is the venue's own code when it gave one."""

    outcome = "fatal"

    def __init__(self, message: str, *, code: str | None = None, endpoint: str | None = None):
        super().__init__(message)
        self.code = code
        self.endpoint = endpoint


class TransientError(VenueError):
    outcome = "transient"


class RateLimitedError(TransientError):
    """The venue asked us to slow down; back off across the whole client."""


class RejectedError(VenueError):
    outcome = "rejected"


class InsufficientFundsError(RejectedError):
    pass


class DuplicateClientIdError(RejectedError):
    """The client order id already exists: query the existing order, never resend."""


class OrderNotFoundError(RejectedError):
    pass


class StopCrossedError(RejectedError):
    """A stop whose trigger the price has already crossed (Bybit 110092/110093, Binance
    -2021 "would immediately trigger"): nothing was placed; the position is unprotected."""


class UnknownOutcomeError(VenueError):
    outcome = "unknown"


class FatalError(VenueError):
    outcome = "fatal"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """Exactly what is sent to the venue; built by the order manager after risk approval."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_by: TriggerBy | None = None
    reduce_only: bool = False


def stop_trigger_direction(side: Side) -> int:
    """Bybit ``triggerDirection`` of a rotor stop-market order: a sell stop (protecting a
    long) fires when the price falls to it (2), a buy stop when it rises to it (1). The venue
    refuses a stop whose trigger the price has already crossed (110092/110093)."""
    return 2 if side is Side.SELL else 1


@runtime_checkable
class Venue(Protocol):
    """Market data and execution for linear USDT perpetuals. All times are UTC ms."""

    name: str

    async def load_instruments(self) -> dict[str, Instrument]:
        """Every tradable linear USDT perpetual, keyed by exchange symbol (BTCUSDT)."""
        ...

    async def server_time(self) -> int: ...

    async def fetch_tickers(self) -> dict[str, Ticker]:
        """One bulk request: last, mark, index, bid/ask, funding, next funding, OI."""
        ...

    async def fetch_bars(
        self, symbol: str, timeframe: str, since_ms: int | None, limit: int
    ) -> list[Bar]:
        """Closed candles only, oldest first, starting at ``since_ms`` when given."""
        ...

    async def fetch_funding_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[FundingRate]: ...

    async def fetch_open_interest_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[OpenInterest]: ...

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None: ...

    async def create_order(self, request: OrderRequest) -> OrderReport:
        """Place an order. Never retried by the adapter: outcome errors are raised as-is."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport: ...

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """Targeted query by client order id, open or closed; None when the venue has none."""
        ...

    async def cancel_order_by_venue_id(self, symbol: str, venue_order_id: str) -> OrderReport:
        """Cancel an order the venue knows by its own id only (placed without a client id in
        the venue's web UI, or a position TP/SL set there); report its final state."""
        ...

    async def fetch_order_by_venue_id(self, symbol: str, venue_order_id: str) -> OrderReport | None:
        """Targeted query by the venue's order id, open or closed; None when it has none."""
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...

    async def fetch_executions(
        self, since_ms: int, symbol: str | None = None
    ) -> list[ExecutionReport]:
        """Own fills since ``since_ms``, liquidations (``is_liquidation``) included."""
        ...

    async def fetch_order_executions(
        self, symbol: str, venue_order_id: str
    ) -> list[ExecutionReport]:
        """The fills of one order (by the venue's order id), with no time window: what
        reconciliation reads for an order whose reported fills are not all booked yet."""
        ...

    async def fetch_funding_payments(self, since_ms: int) -> list[FundingPayment]:
        """Funding settled on the account's positions since ``since_ms``, oldest first."""
        ...

    async def fetch_account_events(
        self, since_ms: int
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        """Fills and funding since ``since_ms``: what one reconciliation pass reads (Binance
        finds both in one income-history read)."""
        ...

    async def fetch_cash_flows(self, since_ms: int, until_ms: int) -> list[CashFlow]:
        """Deposits, withdrawals and transfers in or out of the trading account in
        [since_ms, until_ms] (the venue's transaction log), oldest first."""
        ...

    async def fetch_positions(self) -> list[PositionReport]: ...

    async def fetch_balance(self) -> BalanceReport: ...

    async def ensure_account_modes(self, margin_mode: MarginMode) -> None:
        """Put the account in ``margin_mode`` margin and one-way position mode (checking
        first); raise ``FatalError`` naming what to change when the venue refuses."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class ChangeTracking(Protocol):
    """An optional capability of a venue that sees every change of its account as it happens
    (the replay simulator does; an exchange behind ccxt does not, and is read in full).

    Reconciliation (``bot.execution.reconcile``) uses it to read only what can have changed:
    with the account's mark unchanged since its last full pass, it re-reads only what moves
    with the prices (positions, balance); otherwise it reads the fills and funding listed
    since that mark instead of re-reading a time window it has already applied."""

    def account_mark(self) -> tuple[int, ...]:
        """Counters of the account's state, compared for equality: an unchanged mark means
        that nothing reconciliation reads changed (open orders and every order's state,
        fills, funding, positions with their size, leverage and margin, the account's
        modes, transfers), only the marks and what follows from them (unrealised PnL,
        equity, a cross position's liquidation price)."""
        ...

    async def fetch_account_events_after(
        self, mark: tuple[int, ...]
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        """Every fill and funding payment the venue listed after ``mark`` was taken
        (``account_mark``), whatever its time stamp, oldest first."""
        ...


def change_tracking(venue: object) -> ChangeTracking | None:
    """``venue`` when it has the ``ChangeTracking`` capability, else None."""
    return venue if isinstance(venue, ChangeTracking) else None
