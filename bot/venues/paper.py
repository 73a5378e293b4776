"""``PaperVenue``: real public market data, fills by the simulator's engine (one fill model).

Market data comes from a keyless ``CcxtMarketData`` (the real exchange, or ``rotor sim
serve``). Orders never leave the process: they go to a ``bot.sim.live.LiveEngine``, the same
order entry, validation, path walk and account as the replay and the HTTP face, fed by the
bulk tickers (``bot.sim.live`` explains how a poll moves the prices). So the same order on the
same prices gets the same answer in a backtest, a replay, paper trading and against ``rotor
sim serve``:

- market orders fill at once at the mark ± (half-spread + slippage), taker fee (the engine's
  model, not the venue's book);
- limit orders rest and fill at their price, maker fee, when the mark trades through them;
- stop-market orders need the price to come from the other side of the trigger (Bybit's
  110092/110093 otherwise) and fill from the mark that crossed it;
- reduce-only orders never increase a position (110017);
- funding settles when a ticker's ``next_funding_ms`` rolls over, at the venue's published
  rate for that settlement (its funding history; the rate shown before it if that fails);
- the account starts cross margin like a new Bybit account; rotor sets its modes at start-up;
- spot orders (``spot:BTCUSDT``, the portfolio mode) fill on the engine's spot book
  (``bot.sim.spot``), fee in the coin received, at the venue's spot price: its spot tickers,
  read in bulk when a spot price is first needed in a bar (``bot.venues.paper_spot``), as a
  replay reads a spot file; a market the venue does not list follows its perpetual's polled
  mark / multiplier.

Resting orders are checked on every ``fetch_tickers`` (the feed polls it), so stops react at
the polling cadence, as they would be seen by rotor on a real venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.config import Settings
from bot.domain import Bar, FundingRate, Instrument, OpenInterest, OrderReport, Ticker
from bot.observability.logging import get_logger
from bot.sim.live import LiveEngine
from bot.sim.rules import rules_for
from bot.sim.spot import DEFAULT_SPOT_FEE
from bot.sim.types import SimError
from bot.sim.venue import EngineVenue
from bot.venues.base import OrderRequest, RejectedError, Venue, VenueError
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_core import CcxtMarketData
from bot.venues.paper_spot import SpotMarketData, SpotPriceFeed
from bot.venues.spot import SpotInfo, is_spot

log = get_logger("rotor.venues.paper")


@dataclass(frozen=True, slots=True)
class PaperCosts:
    fee_taker: Decimal = Decimal("0.00055")
    fee_maker: Decimal = Decimal("0.0002")
    slippage: Decimal = Decimal("0.0005")
    spot_fee: Decimal = DEFAULT_SPOT_FEE


class PaperVenue(EngineVenue):
    """Implements ``Venue``: public data from ``data``, fills by a ``LiveEngine``."""

    def __init__(
        self, data: CcxtMarketData, equity: Decimal, costs: PaperCosts | None = None
    ) -> None:
        self.data = data
        self.name = f"paper:{data.name}"
        self.costs = costs or PaperCosts()
        self.engine: LiveEngine = LiveEngine(
            equity=equity,
            fee_taker=self.costs.fee_taker,
            fee_maker=self.costs.fee_maker,
            slippage=self.costs.slippage,
            spot_fee=self.costs.spot_fee,
            rules=rules_for(
                data.name
            ),  # the venue polled: its account rules (Binance: two wallets)
        )
        self._spot_feed: SpotPriceFeed | None = None  # made at the first spot need

    @classmethod
    def from_settings(cls, settings: Settings) -> PaperVenue:
        """Paper trading for ``settings``: keys are never used, costs from ``sim.*``."""
        spec = ClientSpec.from_exchange_config(settings.exchange, "paper")
        costs = PaperCosts(
            Decimal(str(settings.sim.fee_taker)),
            Decimal(str(settings.sim.fee_maker)),
            Decimal(str(settings.sim.slippage)),
            settings.portfolio.rebalance.spot_fee,
        )
        return cls(CcxtMarketData(spec), Decimal(str(settings.sim.equity)), costs)

    # ------------------------------------------------------------------ market data

    async def load_instruments(self) -> dict[str, Instrument]:
        instruments = await self.data.load_instruments()
        self.engine.set_instruments(instruments)
        return instruments

    async def server_time(self) -> int:
        return await self.data.server_time()

    async def fetch_tickers(self) -> dict[str, Ticker]:
        """Bulk tickers from the venue; the engine moves to them (fills, funding)."""
        tickers = await self.data.fetch_tickers()
        if not self.engine.instruments:
            self.engine.set_instruments(self.data.instruments)
        settled: dict[tuple[str, int], float] = {}
        for sym, ts, _shown in self.engine.due_settlements(tickers):
            rate = await self._settled_rate(sym, ts)
            if rate is not None:
                settled[(sym, ts)] = rate
        self.engine.on_tickers(tickers, settled)
        return tickers

    async def _settled_rate(self, symbol: str, ts: int) -> float | None:
        """The venue's published rate of the settlement at ``ts`` (None when unavailable)."""
        try:
            rows = await self.data.fetch_funding_history(symbol, ts, 1)
        except VenueError as exc:
            log.warning("paper_funding_rate_unavailable", symbol=symbol, ts=ts, error=str(exc))
            return None
        return next((r.rate for r in rows if r.ts == ts), None)

    async def fetch_bars(
        self, symbol: str, timeframe: str, since_ms: int | None, limit: int
    ) -> list[Bar]:
        return await self.data.fetch_bars(symbol, timeframe, since_ms, limit)

    async def fetch_funding_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[FundingRate]:
        return await self.data.fetch_funding_history(symbol, since_ms, limit)

    async def fetch_open_interest_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[OpenInterest]:
        return await self.data.fetch_open_interest_history(symbol, since_ms, limit)

    # ------------------------------------------------------------------ trading

    async def spot_markets(self) -> dict[str, SpotInfo]:
        """The engine's spot markets at the venue's spot prices of this bar (read now if not
        yet), fixed from the first tickers (polled now if there are none yet)."""
        if not self.engine.tickers:
            await self.fetch_tickers()
        if self._spot_feed is None:
            self._spot_feed = SpotPriceFeed(SpotMarketData(self.data.spec), self.engine)
        await self._spot_feed.refresh()
        return await super().spot_markets()

    async def create_order(self, request: OrderRequest) -> OrderReport:
        """Place an order with the engine (priced by the latest tickers, polled if none)."""
        if is_spot(request.symbol):
            await self.spot_markets()
            try:
                return await super().create_order(request)
            except RejectedError as exc:
                raise self._spot_refusal(exc) from exc
        if request.symbol not in self.engine.tickers:
            await self.fetch_tickers()
            if request.symbol not in self.engine.tickers:
                raise RejectedError(f"{request.symbol}: no ticker to price the order", code="10001")
        return await super().create_order(request)

    def _spot_refusal(self, exc: RejectedError) -> RejectedError:
        """A spot order's refusal in the venue's words: on Binance its spot error code and
        message (``-1013 Filter failure: LOT_SIZE``, as the simulator's Binance face words the
        engine's refusal); on Bybit the engine's are Bybit's already."""
        cause = exc.__cause__
        if self.data.name != "binanceusdm" or not isinstance(cause, SimError):
            return exc
        from bot.sim.http.binance.routes_spot import spot_error

        err = spot_error(cause)
        return type(exc)(f"{err.msg} ({cause.msg})", code=str(err.code), endpoint=exc.endpoint)

    async def close(self) -> None:
        if self._spot_feed is not None:
            await self._spot_feed.close()
        await self.data.close()


def _conforms(v: PaperVenue) -> Venue:
    """Static proof (mypy) that ``PaperVenue`` implements the ``Venue`` protocol."""
    return v
