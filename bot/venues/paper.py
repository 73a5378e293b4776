"""``PaperVenue``: real public market data, local fills (ARCHITECTURE.md, "the Venue").

Market data comes from a keyless ``CcxtMarketData`` (the real exchange, or ``rotor sim
serve``). Orders never leave the process: they fill against the latest bulk tickers, in an
isolated one-way USDT account (``bot.sim.account.Account``, the simulator's own cash rules):

- market orders fill at once at ask (buy) / bid (sell), worsened by ``slippage``; taker fee;
- limit orders rest and fill at their price, maker fee, once ``last`` trades through it;
- stop-market orders trigger when mark (or last) reaches the trigger in the stop's direction
  (a sell stop on a falling price) and then fill like a market order;
- reduce-only orders never increase a position; one that would is rejected (Bybit 110017);
- funding is settled when a ticker's ``next_funding_ms`` rolls over, at the rate shown before;
- a position whose mark crosses its liquidation price is closed at the bankruptcy price.

Resting orders are checked on every ``fetch_tickers`` (the feed polls it), so stops react at
the polling cadence, as they would be seen by rotor on a real venue.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.config import Settings
from bot.domain import (
    BalanceReport,
    Bar,
    ExecutionReport,
    FundingPayment,
    FundingRate,
    Instrument,
    OpenInterest,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionReport,
    PositionSide,
    Side,
    Ticker,
    TriggerBy,
)
from bot.sim.account import Account
from bot.venues.base import (
    DuplicateClientIdError,
    InsufficientFundsError,
    OrderNotFoundError,
    OrderRequest,
    RejectedError,
    Venue,
)
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_core import CcxtMarketData

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PaperCosts:
    fee_taker: Decimal = Decimal("0.00055")
    fee_maker: Decimal = Decimal("0.0002")
    slippage: Decimal = Decimal("0.0005")


class PaperVenue:
    """Implements ``Venue``: public data from ``data``, fills in a local account."""

    def __init__(
        self,
        data: CcxtMarketData,
        equity: Decimal,
        costs: PaperCosts | None = None,
        default_leverage: Decimal = Decimal(1),
    ) -> None:
        self.data = data
        self.name = f"paper:{data.name}"
        self.costs = costs or PaperCosts()
        self.account = Account(equity)
        self.default_leverage = default_leverage
        self._leverage: dict[str, Decimal] = {}
        self._orders: dict[str, OrderReport] = {}  # by client order id, every order ever
        self._open: list[str] = []  # resting client ids, placement order
        self._executions: list[ExecutionReport] = []
        self._tickers: dict[str, Ticker] = {}
        self._seq = itertools.count(1)

    @classmethod
    def from_settings(cls, settings: Settings) -> PaperVenue:
        """Paper trading for ``settings``: keys are never used, costs from ``sim.*``."""
        spec = ClientSpec.from_exchange_config(settings.exchange, "paper")
        costs = PaperCosts(
            Decimal(str(settings.sim.fee_taker)),
            Decimal(str(settings.sim.fee_maker)),
            Decimal(str(settings.sim.slippage)),
        )
        return cls(
            CcxtMarketData(spec),
            Decimal(str(settings.sim.equity)),
            costs,
            Decimal(str(settings.risk.leverage)),
        )

    # ------------------------------------------------------------------ market data

    async def load_instruments(self) -> dict[str, Instrument]:
        return await self.data.load_instruments()

    async def server_time(self) -> int:
        return await self.data.server_time()

    async def fetch_tickers(self) -> dict[str, Ticker]:
        """Bulk tickers from the venue; every resting order is checked against them."""
        tickers = await self.data.fetch_tickers()
        self._on_tickers(tickers)
        return tickers

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

    # ------------------------------------------------------------------ local matching

    def _inst(self, symbol: str) -> Instrument:
        inst = self.data.instrument(symbol)
        if inst is None:
            raise RejectedError(f"{symbol}: unknown instrument", code="10001")
        return inst

    def _lev(self, symbol: str) -> Decimal:
        return self._leverage.get(symbol, self.default_leverage)

    def _taker_price(self, inst: Instrument, side: Side, t: Ticker) -> Decimal:
        ref = t.ask if side is Side.BUY else t.bid
        if math.isnan(ref) or ref <= 0:  # missing book: use last
            ref = t.last
        slip = Decimal(1) + side.sign * self.costs.slippage
        return inst.round_price(Decimal(repr(ref)) * slip)

    def _fill(
        self, o: OrderReport, price: Decimal, maker: bool, ts: int, liquidation: bool = False
    ) -> OrderReport:
        inst = self._inst(o.symbol)
        pos = self.account.positions.get(o.symbol)
        qty = o.qty - o.filled_qty
        if o.reduce_only:
            if pos is None or pos.side.exit_side is not o.side:
                return self._close(
                    o, OrderStatus.CANCELED, ts, "reduce-only: no position to reduce"
                )
            qty = min(qty, pos.size)
        rate = self.costs.fee_maker if maker else self.costs.fee_taker
        fee = qty * price * rate
        self.account.apply_fill(inst, o.side, qty, price, fee, self._lev(o.symbol), ts)
        n = next(self._seq)
        self._executions.append(
            ExecutionReport(
                f"paper-x{n}",
                o.symbol,
                o.client_order_id,
                o.venue_order_id,
                o.side,
                qty,
                price,
                fee,
                ts,
                is_maker=maker,
                is_liquidation=liquidation,
            )
        )
        done = replace(
            o,
            status=OrderStatus.FILLED,
            filled_qty=o.filled_qty + qty,
            avg_fill_price=price,
            updated_ms=ts,
        )
        self._orders[o.client_order_id] = done
        return done

    def _close(self, o: OrderReport, status: OrderStatus, ts: int, reason: str = "") -> OrderReport:
        done = replace(o, status=status, updated_ms=ts, reject_reason=reason)
        self._orders[o.client_order_id] = done
        return done

    def _on_tickers(self, tickers: dict[str, Ticker]) -> None:
        for sym, t in tickers.items():
            prev = self._tickers.get(sym)
            self._tickers[sym] = t
            pos = self.account.positions.get(sym)
            if pos is None:
                continue
            mark = Decimal(repr(t.mark))
            if prev is not None and t.next_funding_ms > prev.next_funding_ms > 0:
                rate = Decimal(repr(prev.funding_rate))
                self.account.settle_funding(sym, prev.next_funding_ms, rate, mark)
            crossed = (
                mark <= pos.liq_price if pos.side is PositionSide.LONG else mark >= pos.liq_price
            )
            if crossed and pos.liq_price > 0:
                closed, _ = self.account.liquidate(sym, t.ts)
                n = next(self._seq)
                self._executions.append(
                    ExecutionReport(
                        f"paper-x{n}",
                        sym,
                        "",
                        f"paper-liq{n}",
                        closed.side.exit_side,
                        closed.size,
                        closed.bust_price,
                        ZERO,
                        t.ts,
                        is_liquidation=True,
                    )
                )
        still: list[str] = []
        for cid in self._open:
            o = self._orders[cid]
            tick = self._tickers.get(o.symbol)
            if tick is None or self._try_fill(o, tick) is None:
                still.append(cid)
        self._open = still

    def _try_fill(self, o: OrderReport, t: Ticker) -> OrderReport | None:
        """Fill a resting order if this ticker reaches it; None when it keeps resting."""
        inst = self._inst(o.symbol)
        if o.type is OrderType.LIMIT:
            assert o.price is not None
            last = Decimal(repr(t.last))
            if (o.side is Side.BUY and last <= o.price) or (
                o.side is Side.SELL and last >= o.price
            ):
                return self._fill(o, o.price, True, t.ts)
            return None
        assert o.trigger_price is not None
        ref = Decimal(repr(t.mark if o.trigger_by is not TriggerBy.LAST else t.last))
        falling = o.side is Side.SELL
        if (falling and ref <= o.trigger_price) or (not falling and ref >= o.trigger_price):
            return self._fill(o, self._taker_price(inst, o.side, t), False, t.ts)
        return None

    # ------------------------------------------------------------------ trading

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        inst = self._inst(symbol)
        if not Decimal(1) <= leverage <= inst.max_leverage:
            raise RejectedError(f"{symbol}: leverage {leverage} outside [1, {inst.max_leverage}]")
        self._leverage[symbol] = leverage
        self.account.set_leverage(inst, leverage, self.data.now_ms())

    def _validate(self, r: OrderRequest, inst: Instrument, ref: Decimal) -> None:
        if len(r.client_order_id) > 36:
            raise RejectedError(f"client order id longer than 36: {r.client_order_id!r}")
        if r.client_order_id in self._orders:
            raise DuplicateClientIdError(f"{r.client_order_id}: duplicate", code="110072")
        if r.qty < inst.min_qty or r.qty % inst.qty_step:
            raise RejectedError(
                f"{r.symbol}: qty {r.qty} not ≥ {inst.min_qty} in steps of {inst.qty_step}",
                code="10001",
            )
        if r.qty * ref < inst.min_notional and not r.reduce_only:
            raise RejectedError(f"{r.symbol}: notional below {inst.min_notional}", code="110094")
        pos = self.account.positions.get(r.symbol)
        if r.reduce_only and (pos is None or pos.side.exit_side is not r.side):
            raise RejectedError(f"{r.symbol}: reduce-only order would not reduce", code="110017")
        opening = ZERO if r.reduce_only else self.account.opening_qty(r.symbol, r.side, r.qty)
        need = opening * ref / self._lev(r.symbol) + r.qty * ref * self.costs.fee_taker
        if opening > 0 and need > self._available():
            raise InsufficientFundsError(f"{r.symbol}: needs {need:.2f} USDT", code="110007")

    async def create_order(self, request: OrderRequest) -> OrderReport:
        """Accept and (market) fill locally; rejections mirror Bybit's codes."""
        inst = self._inst(request.symbol)
        t = self._tickers.get(request.symbol)
        if t is None:
            await self.fetch_tickers()
            t = self._tickers.get(request.symbol)
            if t is None:
                raise RejectedError(f"{request.symbol}: no ticker to price the order")
        ref = Decimal(repr(t.last))
        self._validate(request, inst, request.price or ref)
        now = max(t.ts, self.data.now_ms())
        n = next(self._seq)
        order = OrderReport(
            request.symbol,
            request.client_order_id,
            f"paper-o{n}",
            request.side,
            request.type,
            OrderStatus.ACCEPTED,
            request.qty,
            ZERO,
            request.price if request.type is OrderType.LIMIT else None,
            None,
            request.trigger_price,
            request.trigger_by
            or (TriggerBy.MARK if request.type is OrderType.STOP_MARKET else None),
            request.reduce_only,
            now,
            now,
        )
        self._orders[order.client_order_id] = order
        if request.type is OrderType.MARKET:
            return self._fill(order, self._taker_price(inst, order.side, t), False, now)
        self._open.append(order.client_order_id)
        return order

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        if client_order_id not in self._open:
            raise OrderNotFoundError(f"{client_order_id}: no open order", code="110001")
        self._open.remove(client_order_id)
        return self._close(self._orders[client_order_id], OrderStatus.CANCELED, self.data.now_ms())

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        o = self._orders.get(client_order_id)
        return o if o is not None and o.symbol == symbol else None

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        orders = (self._orders[c] for c in self._open)
        return [o for o in orders if symbol is None or o.symbol == symbol]

    async def fetch_executions(
        self, since_ms: int, symbol: str | None = None
    ) -> list[ExecutionReport]:
        return [
            e
            for e in self._executions
            if e.ts >= since_ms and (symbol is None or e.symbol == symbol)
        ]

    async def fetch_funding_payments(self, since_ms: int) -> list[FundingPayment]:
        """Funding settled on the local account at or after ``since_ms``."""
        return [
            FundingPayment(
                f.symbol, f.ts, f.rate, f.qty, f.mark, f.amount, f"funding-{f.symbol}-{f.ts}"
            )
            for f in self.account.funding_payments
            if f.ts >= since_ms
        ]

    def _mark(self, symbol: str, fallback: Decimal) -> Decimal:
        t = self._tickers.get(symbol)
        return Decimal(repr(t.mark)) if t is not None else fallback

    async def fetch_positions(self) -> list[PositionReport]:
        now = self.data.now_ms()
        out = []
        for sym, p in sorted(self.account.positions.items()):
            mark = self._mark(sym, p.avg_price)
            out.append(
                PositionReport(
                    sym,
                    p.side,
                    p.size,
                    p.avg_price,
                    p.leverage,
                    p.liq_price,
                    p.margin,
                    p.unrealised_pnl(mark),
                    mark,
                    now,
                )
            )
        return out

    def _available(self) -> Decimal:
        order_margin = ZERO
        for cid in self._open:
            o = self._orders[cid]
            if not o.reduce_only:
                px = o.price or o.trigger_price or ZERO
                order_margin += o.qty * px / self._lev(o.symbol)
        return self.account.wallet_balance - self.account.position_margin() - order_margin

    async def fetch_balance(self) -> BalanceReport:
        upnl = sum(
            (
                p.unrealised_pnl(self._mark(s, p.avg_price))
                for s, p in self.account.positions.items()
            ),
            ZERO,
        )
        wallet = self.account.wallet_balance
        return BalanceReport(wallet, wallet + upnl, self._available(), self.data.now_ms())

    async def close(self) -> None:
        await self.data.close()


def _conforms(v: PaperVenue) -> Venue:
    """Static proof (mypy) that ``PaperVenue`` implements the ``Venue`` protocol."""
    return v
