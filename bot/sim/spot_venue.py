"""The spot half of the engine's venues (replay's ``SimVenue``, paper's ``PaperVenue``).

The portfolio daemon reads and trades spot the same way on every face: ``spot_markets``,
``fetch_spot_holdings``, ``fetch_spot_prices``, ``fetch_spot_executions`` and orders on a ``spot:`` symbol
(``bot.venues.spot``). Against ``rotor sim serve`` or a real venue ccxt does it
(``bot.venues.ccxt_spot``); here the engine's spot book does (``bot.sim.spot``: one fill
model, the spot price (the data's spot file, else the perpetual's per coin), the fee in the
coin received). A spot order fills whole on
arrival or is refused, so it is never open and never cancellable.

On a unified account (Bybit's rules) coins and perpetuals share one wallet. Under Binance's
rules (``VenueRules.unified_spot`` false) the spot wallet is apart, as on the Binance face:
``two_wallets`` is true and the sleeves move USDT by ``send_transfer`` (the engine's
``spot_transfer``), listed by ``fetch_transfers``, as ``BinanceSpotVenue`` does over HTTP.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from decimal import Decimal
from typing import NoReturn

from bot.domain import ExecutionReport, OrderType
from bot.sim.core import EngineCore
from bot.sim.reports import execution_report
from bot.sim.types import SimError, SimExecution, SimOrder
from bot.venues.base import OrderNotFoundError, OrderRequest, RejectedError
from bot.venues.spot import (
    TO_FUTURES,
    TO_SPOT,
    SpotHolding,
    SpotInfo,
    VenueTransfer,
    market_id,
    spot_id,
)


def spot_execution_report(e: SimExecution) -> ExecutionReport:
    """A spot fill as the venue-neutral ``ExecutionReport`` (rotor's ``spot:`` symbol, the fee
    in the currency it was paid in)."""
    return replace(execution_report(e), symbol=spot_id(e.symbol), fee_currency=e.fee_currency)


class SpotEngineVenue:
    """Mixin of ``bot.sim.venue.EngineVenue``: spot markets, coins, orders and fills."""

    engine: EngineCore

    @property
    def two_wallets(self) -> bool:
        """Spot in a wallet of its own (Binance's rules)."""
        return not self.engine.rules.unified_spot

    async def fetch_spot_usdt(self) -> Decimal:
        """The separate spot wallet's USDT (0 on a unified account)."""
        return self.engine.account.spot_usdt

    async def send_transfer(self, kind: str, amount: Decimal) -> str:
        """USDT between the futures and the spot wallet (``TO_SPOT`` / ``TO_FUTURES``)."""
        if kind not in (TO_FUTURES, TO_SPOT):
            raise RejectedError(f"transfer type {kind!r}: not between spot and futures")
        try:
            done = self.engine.spot_transfer(amount if kind == TO_SPOT else -amount)
        except SimError as exc:
            raise RejectedError(str(exc), code=str(exc.code), endpoint="transfer") from exc
        return str(done.tran_id)

    async def fetch_transfers(self, kind: str, since_ms: int) -> list[VenueTransfer]:
        """The engine's transfers of one type since ``since_ms``, oldest first."""
        into_spot = kind == TO_SPOT
        return [
            VenueTransfer(str(t.tran_id), kind, abs(t.amount), t.ts)
            for t in self.engine.spot_transfers
            if (t.amount > 0) == into_spot and t.ts >= since_ms
        ]

    async def spot_markets(self) -> dict[str, SpotInfo]:
        """Every spot market of the engine, keyed by exchange id (``BTCUSDT``)."""
        return dict(self._spot_infos()[0])

    def _spot_infos(self) -> tuple[dict[str, SpotInfo], dict[str, SpotInfo]]:
        """The engine's spot markets as ``SpotInfo`` by symbol and by coin, built once (the
        engine builds its markets once; every sync reads the coins)."""
        specs = self.engine.spot_markets()
        cached: tuple[object, dict[str, SpotInfo], dict[str, SpotInfo]] | None = getattr(
            self, "_spot_info_cache", None
        )
        if cached is None or cached[0] is not specs:
            infos = {
                s: SpotInfo(s, m.base, m.qty_step, m.min_qty, m.min_notional)
                for s, m in specs.items()
            }
            cached = (specs, infos, {m.base: m for m in infos.values()})
            self._spot_info_cache = cached
        return cached[1], cached[2]

    async def fetch_spot_holdings(self) -> list[SpotHolding]:
        """The coins held, each with its spot price now (0 when its market has none)."""
        await self.spot_markets()  # a face may first fix its markets (paper: from tickers)
        by_base = self._spot_infos()[1]
        out: list[SpotHolding] = []
        for coin, qty in sorted(self.engine.coin_balances().items()):
            m = by_base.get(coin)
            if m is None:
                continue
            try:
                price = self.engine.spot_price(m.symbol)
            except SimError:
                price = Decimal(0)
            out.append(SpotHolding(m, qty, price))
        return out

    async def fetch_spot_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        """The spot price per coin now of each of ``symbols`` (exchange ids) that has one."""
        await self.spot_markets()
        out: dict[str, Decimal] = {}
        for s in symbols:
            try:
                out[s] = self.engine.spot_price(s)
            except SimError:
                continue
        return out

    async def fetch_spot_executions(self, since_ms: int) -> list[ExecutionReport]:
        """Spot fills at or after ``since_ms``, oldest first."""
        fills = self.engine.spot_executions  # in time order: start where ``since_ms`` does
        first = bisect_left(fills, since_ms, key=lambda e: e.ts)
        return [spot_execution_report(e) for e in fills[first:]]

    def _spot_order(self, request: OrderRequest) -> SimOrder:
        """Fill a ``spot:`` market order on the engine's spot book (coins, base unit)."""
        if request.type is not OrderType.MARKET or request.reduce_only:
            raise RejectedError(f"{request.client_order_id}: spot orders are plain market orders")
        return self.engine.place_spot_order(
            market_id(request.symbol),
            request.side,
            request.qty,
            order_link_id=request.client_order_id,
        )

    def _spot_get(self, symbol: str, **by: str) -> SimOrder | None:
        o = self.engine.get_spot_order(**by)
        if o is None or spot_id(o.symbol) != symbol:
            return None
        return o

    def _spot_cancel(self, symbol: str, **by: str) -> NoReturn:
        """A spot order is never open (filled or refused on arrival): nothing to cancel."""
        o = self._spot_get(symbol, **by)
        state = "no such order" if o is None else f"the order is {o.status.value}"
        raise OrderNotFoundError(
            f"{symbol}: {state}; too late to cancel",
            code=str(SimError.SPOT_ORDER_NOT_FOUND),
            endpoint="cancel_order",
        )
