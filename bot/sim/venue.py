"""The in-process face: ``SimEngine`` behind rotor's ``Venue`` protocol (no HTTP).

Backtests and offline replay use it. Engine refusals become the venue error classes the order
manager already handles: 110007 → InsufficientFundsError, 110072 → DuplicateClientIdError,
110001 → OrderNotFoundError, every other code → RejectedError.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal

from bot.data.panel import HOUR_MS
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
    PositionReport,
    Ticker,
    TriggerBy,
)
from bot.sim.account import CROSS, ISOLATED
from bot.sim.core import EngineCore
from bot.sim.engine import SimEngine
from bot.sim.reports import execution_report, funding_payment, order_report, venue_error
from bot.sim.spot_venue import SpotEngineVenue
from bot.sim.types import SimError
from bot.venues.base import (
    FatalError,
    MarginMode,
    OrderRequest,
    RejectedError,
    stop_trigger_direction,
)
from bot.venues.spot import is_spot


class EngineVenue(SpotEngineVenue):
    """The trading half of ``Venue`` over any ``EngineCore`` (the one fill model): the
    replay's ``SimVenue`` and the paper venue share it. A ``spot:`` symbol is an order on the
    engine's spot book (``bot.sim.spot_venue``)."""

    engine: EngineCore

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set leverage; setting the current value again is not an error here (ccxt-like)."""
        try:
            self.engine.set_leverage(symbol, leverage)
        except SimError as exc:
            if exc.code != SimError.LEVERAGE_NOT_MODIFIED:
                raise venue_error(exc, "set_leverage") from exc

    async def create_order(self, request: OrderRequest) -> OrderReport:
        if is_spot(request.symbol):
            try:
                return order_report(self._spot_order(request), request.symbol)
            except SimError as exc:
                raise venue_error(exc, "create_order") from exc
        try:
            o = self.engine.place_order(
                request.symbol,
                request.side,
                request.type,
                request.qty,
                price=request.price,
                trigger_price=request.trigger_price,
                trigger_by=request.trigger_by or TriggerBy.MARK,
                trigger_direction=stop_trigger_direction(request.side)
                if request.trigger_price is not None
                else None,
                reduce_only=request.reduce_only,
                order_link_id=request.client_order_id,
            )
        except SimError as exc:
            raise venue_error(exc, "create_order") from exc
        return order_report(o)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        return self._cancel(symbol, order_link_id=client_order_id)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        return self._get(symbol, order_link_id=client_order_id)

    async def cancel_order_by_venue_id(self, symbol: str, venue_order_id: str) -> OrderReport:
        return self._cancel(symbol, order_id=venue_order_id)

    async def fetch_order_by_venue_id(self, symbol: str, venue_order_id: str) -> OrderReport | None:
        return self._get(symbol, order_id=venue_order_id)

    def _cancel(self, symbol: str, **by: str) -> OrderReport:
        """Cancel one open order by ``order_id`` or ``order_link_id``."""
        if is_spot(symbol):
            self._spot_cancel(symbol, **by)
        try:
            o = self.engine.cancel_order(symbol, **by)
        except SimError as exc:
            raise venue_error(exc, "cancel_order") from exc
        return order_report(o)

    def _get(self, symbol: str, **by: str) -> OrderReport | None:
        """One order (open or closed) by ``order_id`` or ``order_link_id``, in ``symbol``."""
        if is_spot(symbol):
            spot = self._spot_get(symbol, **by)
            return None if spot is None else order_report(spot, symbol)
        o = self.engine.get_order(**by)
        if o is None or o.symbol != symbol:
            return None
        return order_report(o)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return [order_report(o) for o in self.engine.open_orders(symbol)]

    async def fetch_executions(
        self, since_ms: int, symbol: str | None = None
    ) -> list[ExecutionReport]:
        """Fills at or after ``since_ms``, in the order they happened."""
        execs = self.engine.executions
        # Fill times are non-decreasing at hour granularity (bot.sim.matching), so bisect.
        start = bisect_left(execs, since_ms // HOUR_MS, key=lambda e: e.ts // HOUR_MS)
        return [
            execution_report(e)
            for e in execs[start:]
            if e.ts >= since_ms and (symbol is None or e.symbol == symbol)
        ]

    async def fetch_order_executions(
        self, symbol: str, venue_order_id: str
    ) -> list[ExecutionReport]:
        """The fills of one order, in the order they happened."""
        return [
            execution_report(e)
            for e in self.engine.executions
            if e.order_id == venue_order_id and e.symbol == symbol
        ]

    async def fetch_funding_payments(self, since_ms: int) -> list[FundingPayment]:
        """Funding settled on the account at or after ``since_ms`` (settlements are in time order)."""
        paid = self.engine.funding_payments
        start = bisect_left(paid, since_ms, key=lambda f: f.ts)
        return [funding_payment(f) for f in paid[start:]]

    async def fetch_account_events(
        self, since_ms: int
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        """Fills and funding since ``since_ms``."""
        return await self.fetch_executions(since_ms), await self.fetch_funding_payments(since_ms)

    async def fetch_cash_flows(self, since_ms: int, until_ms: int) -> list[CashFlow]:
        """Transfers in and out of the simulated account (its transaction log)."""
        return [
            CashFlow(f"transfer-{n}", t.ts, "USDT", t.change, t.kind)
            for n, t in enumerate(self.engine.account.transactions)
            if t.kind in ("TRANSFER_IN", "TRANSFER_OUT") and since_ms <= t.ts <= until_ms
        ]

    async def fetch_positions(self) -> list[PositionReport]:
        eng = self.engine
        now = eng.now_ms
        out: list[PositionReport] = []
        for sym, p in eng.positions.items():
            mark = Decimal(repr(eng.price_float(sym)))
            out.append(
                PositionReport(
                    symbol=sym,
                    side=p.side,
                    qty=p.size,
                    entry_price=p.avg_price,
                    leverage=p.leverage,
                    liquidation_price=eng.liq_price(sym),
                    margin=p.margin,
                    unrealized_pnl=p.unrealised_pnl(mark),
                    mark_price=mark,
                    ts=now,
                )
            )
        return out

    async def fetch_balance(self) -> BalanceReport:
        """The USDT wallet, as the venues' coin row shows it: wallet balance, wallet plus the
        perpetuals' unrealised PnL, free margin; plus a separate spot wallet's USDT (Binance's
        rules; 0 on a unified account). Coins are apart (``fetch_spot_holdings``)."""
        eng = self.engine
        equity, available = eng.wallet_equity_and_available()  # the futures wallet's
        usdt = eng.account.spot_usdt
        return BalanceReport(
            wallet_balance=eng.wallet_balance + usdt,
            equity=equity + usdt,
            available=available + usdt,
            ts=eng.now_ms,
        )

    async def fetch_futures_balance(self) -> BalanceReport:
        """The derivatives wallet alone (the futures sleeve's collateral)."""
        eng = self.engine
        equity, available = eng.wallet_equity_and_available()
        return BalanceReport(
            wallet_balance=eng.wallet_balance, equity=equity, available=available, ts=eng.now_ms
        )

    async def ensure_account_modes(self, margin_mode: MarginMode) -> None:
        """Switch the simulated account to ``margin_mode`` (it is always one-way)."""
        await set_sim_margin_mode(self.engine, margin_mode)

    async def close(self) -> None:
        return None


class SimVenue(EngineVenue):
    """``bot.venues.base.Venue`` over a ``SimEngine``; time moves only via ``engine.advance``."""

    name = "sim"

    def __init__(self, engine: SimEngine) -> None:
        self.engine: SimEngine = engine

    async def load_instruments(self) -> dict[str, Instrument]:
        """Every replayed symbol's instrument, as listed now."""
        return {s: self.engine.instrument_now(s) for s in self.engine.instruments}

    async def server_time(self) -> int:
        return self.engine.now_ms

    # --- ``bot.venues.base.ChangeTracking``: the replay sees every change of its account

    def account_mark(self) -> tuple[int, ...]:
        """The account's revision (bumped by every change of its orders, positions, wallet
        and modes: ``bot.sim.account.Account.revision``) and the lengths of its fill and
        funding lists (append-only: the cursor of ``fetch_account_events_after``)."""
        eng = self.engine
        return eng.account.revision, len(eng.executions), len(eng.account.funding_payments)

    async def fetch_account_events_after(
        self, mark: tuple[int, ...]
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        """The fills and funding appended since ``mark`` (``account_mark``)."""
        eng = self.engine
        return (
            [execution_report(e) for e in eng.executions[mark[1] :]],
            [funding_payment(f) for f in eng.account.funding_payments[mark[2] :]],
        )

    async def fetch_tickers(self) -> dict[str, Ticker]:
        return self.engine.tickers()

    async def fetch_bars(
        self, symbol: str, timeframe: str, since_ms: int | None, limit: int
    ) -> list[Bar]:
        """Closed 1h bars (the only timeframe the replay data has)."""
        if timeframe != "1h":
            raise RejectedError(f"sim replays 1h bars only (got {timeframe!r})", code="10001")
        try:
            return self.engine.klines(symbol, start_ms=since_ms, limit=limit)
        except SimError as exc:
            raise venue_error(exc, "fetch_bars") from exc

    async def fetch_funding_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[FundingRate]:
        try:
            return self.engine.funding_history(symbol, start_ms=since_ms, limit=limit)
        except SimError as exc:
            raise venue_error(exc, "fetch_funding_history") from exc

    async def fetch_open_interest_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[OpenInterest]:
        try:
            return self.engine.open_interest(symbol, start_ms=since_ms, limit=limit)
        except SimError as exc:
            raise venue_error(exc, "fetch_open_interest_history") from exc


async def set_sim_margin_mode(engine: EngineCore, margin_mode: MarginMode) -> None:
    """The sim engine's margin mode as rotor asks for it; a refusal is fatal, naming why."""
    want = ISOLATED if margin_mode == "isolated" else CROSS
    if engine.margin_mode == want:
        return
    try:
        engine.set_margin_mode(want)
    except SimError as exc:
        raise FatalError(
            f"cannot switch the account to {margin_mode} margin ({exc.msg}); close the "
            f"positions and orders, or set execution.margin_mode = "
            f"{'cross' if want == ISOLATED else 'isolated'!r}",
            code=str(exc.code),
            endpoint="set_margin_mode",
        ) from exc
