"""The daemon's portfolio mode (``strategy.mode = "portfolio"``, issue #20): the trading core
with the portfolio's rebalance in place of the perpetual presets' entries and exits.

Everything else is ``TradingCore``'s, unchanged: each bar reconciles with the venue, runs the
breakers, evaluates the signals, keeps the protective stops and persists equity; every order
goes through the one ``OrderManager`` (persisted before it is sent, idempotent client id,
Unknown resolved by a targeted query) and every perp intent through the risk manager.

What this adds:
- **Holdings from the venue.** Spot coins come from the wallet (Bybit's wallet-balance coin
  rows) at their spot prices (the venue's spot tickers: a rebalance values coins and sizes
  spot orders at them, the perps at the perpetuals' prices); they count in the equity the breakers, marks and equity
  snapshots see (one unified account: USDT + coins + the perps' PnL).
- **The rebalance** every ``portfolio.rebalance.interval_h`` hours (at the close of a bar that
  ends on a multiple of it, UTC): ``allocate`` on the holdings the venue shows, the spot sells,
  then the buys (held to the USDT left, fee included), then the roles' perp intents, closes
  first. REDUCING only sells and closes; HALTED does not rebalance.
- **Spot fills in the books**: each sync records the venue's spot executions once each
  (``Ledger.apply_spot``: the ``executions`` table, the fee in the venue's currency).
- **Records**: the holdings read and every allocation decision (trades and holds) are journaled
  as ``decisions`` rows with action ``portfolio``.
- **The kill switch over both sleeves**: once the kill switch has closed the perps and the
  state is HALTED by it, the spot sells of ``kill_plan`` (``portfolio.kill_spot``) are sent and
  "flat" is checked against the venue's coins (``bot.runtime.portfolio_kill``).

The sleeves are bookkeeping on one unified wallet: the futures sleeve's collateral is the USDT
the spot sleeve leaves for it, ``min(USDT wallet, (1 − spot_share) × NAV)``, read afresh from the
venue at each rebalance (nothing rotor remembers can disagree with the venue). On Binance the
sleeves are two wallets (spot, USDⓈ-M): before the roles' orders a stored transfer brings the
futures wallet to that collateral (``bot.runtime.sleeves``), and the buys spend no more than
the spot wallet's USDT.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol, cast

from bot.data.panel import HOUR_MS, Panel
from bot.domain import ExecutionReport, OrderType, Side, Ticker, TradingState
from bot.execution.orders import NewOrder
from bot.execution.reconcile import FIRST_LOOKBACK_MS, OVERLAP_MS
from bot.observability.logging import get_logger
from bot.portfolio.allocate import Allocation, allocate, prices_of
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import AllocationRecord
from bot.portfolio.holdings import Holdings, MissingPrice, PerpHolding, Role
from bot.portfolio.rebalance import SpotMarket, SpotOrder, spot_prices_of
from bot.portfolio.selection import MarketStats, market_stats
from bot.risk import MarketSnapshot
from bot.runtime.pipeline import TradingCore
from bot.runtime.portfolio_holdings import SpotLeg, legs_of, venue_holdings
from bot.runtime.portfolio_kill import KillObserver, PortfolioKill
from bot.runtime.portfolio_records import decision_rows
from bot.runtime.sleeves import Sleeves
from bot.runtime.views import CycleReport
from bot.signals.evaluation import Evaluation
from bot.venues.spot import SpotHolding, SpotInfo, spot_id

log = get_logger("rotor.portfolio")

ROLE_REASON = "portfolio:"  # the reason the roles' intents carry: ``portfolio:<role>``
_ZERO = Decimal(0)


class SpotVenue(Protocol):
    """What the portfolio reads from the venue besides the perpetuals (``SpotCcxtVenue``)."""

    async def spot_markets(self) -> dict[str, SpotInfo]: ...

    async def fetch_spot_holdings(self) -> list[SpotHolding]: ...

    async def fetch_spot_executions(self, since_ms: int) -> list[ExecutionReport]: ...

    async def fetch_spot_prices(self, symbols: list[str]) -> dict[str, Decimal]: ...


# What a rebalance trades toward: ``allocate`` (the portfolio), or a baseline's fixed rule.
Policy = Callable[
    [PortfolioConfig, Evaluation, MarketStats, Holdings, Mapping[str, SpotMarket]], Allocation
]


class Observer(KillObserver, Protocol):
    """A report's view of the core (the backtest's): each rebalance, skip and kill."""

    def rebalanced(
        self, ev: Evaluation, alloc: Allocation, after: Holdings, prices: Mapping[str, Decimal]
    ) -> None: ...

    def skipped(self, t: int, why: str) -> None: ...


class OrderHistory(Protocol):
    """Stored orders (the repository): where a perp's role is found after a restart."""

    async def list_orders(self, *, symbol: str | None = None) -> list[Any]: ...


class PortfolioCore(PortfolioKill, TradingCore):
    """``TradingCore`` whose decisions are the portfolio's (see the module docstring)."""

    history: OrderHistory | None = None
    # Binance: the sleeves are two wallets and a rebalance moves USDT between them
    # (``bot.runtime.sleeves``); None on a unified account (one wallet).
    sleeves: Sleeves | None = None

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pf = self.settings.portfolio
        self.spot_venue = cast(SpotVenue, self.venue)
        self.roles: dict[str, Role] = {}
        self.coins: list[SpotHolding] = []
        self.usdt = _ZERO  # the USDT wallet at the last refresh
        self._panel: Panel | None = None
        self._j = 0
        self._live = False
        self._missing: frozenset[str] = frozenset()
        self._intervals: Mapping[str, float] = {}
        self._spot_sync_ms: int | None = None
        self.policy: Policy = allocate
        self.observer: Observer | None = None

    # ------------------------------------------------------------------ hooks into the cycle

    async def on_bar(
        self, panel: Panel, j: int, tickers: Mapping[str, Ticker], **kw: Any
    ) -> CycleReport:
        self._panel, self._j = panel, j
        ticker_ms = kw.get("ticker_ms")
        poll_ms = self.settings.exchange.poll_interval_s * 1000
        # Tickers that moved this poll may be read again during the rebalance; frozen ones
        # (the daemon passes when they last changed) may not: the risk manager refuses them.
        self._live = ticker_ms is None or self.clock() - ticker_ms <= poll_ms
        self._missing = frozenset(kw.get("missing_bars") or ())
        # Kept as given (read only by a rebalance's fresh tickers): no copy every bar.
        self._intervals = kw.get("funding_interval_h") or {}
        return await super().on_bar(panel, j, tickers, **kw)

    def _evaluate(
        self, panel: Panel, j: int, market: Mapping[str, MarketSnapshot]
    ) -> Evaluation | None:
        """A portfolio decides only at a rebalance (the roles' stops and the breakers run every
        bar without the signals): the other bars skip the evaluation of the universe."""
        if not self._due(panel.close_time(j)) or self.state.state is TradingState.HALTED:
            return None
        return super()._evaluate(panel, j, market)

    def _due(self, t: int) -> bool:
        return t % (self.pf.rebalance.interval_h * HOUR_MS) == 0

    async def _fresh(self, market: Mapping[str, MarketSnapshot]) -> Mapping[str, MarketSnapshot]:
        """The market with the venue's tickers now (a rebalance sends many orders; each perp
        intent is checked against current prices), unless the tickers were frozen."""
        if not self._live:
            return market
        tickers = await self.venue.fetch_tickers()
        return self.market_snapshots(tickers, self._missing, self._intervals, self.clock())

    async def sync(self) -> Any:
        """The core's reconciliation and the coins (``refresh``); after a kill, the spot side
        of "flat"."""
        rec = await self.refresh()
        if self._killed():
            await self._kill_spot()
        return rec

    async def refresh(self) -> Any:
        """Reconcile, record the spot fills, then read the coins (the venue's) and count them
        in the equity."""
        started = self.clock()
        rec = await super().sync()
        await self._spot_fills(started)
        self.usdt = self.balance.wallet_balance if self.balance is not None else _ZERO
        self.coins = await self.spot_venue.fetch_spot_holdings()
        coins = sum((c.value for c in self.coins), _ZERO)
        if self.balance is not None and coins:
            b = self.balance
            # Coins are collateral on a unified account: the free margin the risk manager
            # sees counts them as the backtest does (no haircut: Bybit's are not modelled).
            self.balance = dataclasses.replace(
                b,
                wallet_balance=b.wallet_balance + coins,
                equity=b.equity + coins,
                available=b.available + coins,
            )
        return rec

    async def _spot_fills(self, started: int) -> None:
        """The venue's spot fills since the last pass (with the reconciler's overlap; the
        first pass from where the stored fills end), recorded once each by the ledger."""
        rc = self.reconciler
        if self._spot_sync_ms is not None:
            since = self._spot_sync_ms - OVERLAP_MS
        elif rc.resume_from_ms is not None:
            since = min(rc.resume_from_ms, started) - OVERLAP_MS
        else:
            since = started - FIRST_LOOKBACK_MS
        fills = await self.spot_venue.fetch_spot_executions(max(0, since))
        await rc.ledger.apply_spot(fills)
        self._spot_sync_ms = started

    async def _exits(
        self, evaluation: Evaluation, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> None:
        """The presets' exits do not run: the roles close their own perps."""
        return None

    async def _entries(
        self, evaluation: Evaluation, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> None:
        """The rebalance, when one is due at this bar's close."""
        if not self._due(report.t) or self._panel is None:
            return
        if self.state.state is TradingState.HALTED:
            return
        await self.rebalance(evaluation, self._panel, self._j, market, report)

    # ------------------------------------------------------------------ the rebalance

    async def rebalance(
        self,
        ev: Evaluation,
        panel: Panel,
        j: int,
        market: Mapping[str, MarketSnapshot],
        report: CycleReport,
    ) -> None:
        rc = self.pf.rotation
        stats = market_stats(panel, j, rc.liquidity_lookback_h, rc.momentum_lookback_h)
        legs = await self._legs()
        markets = await self._markets(legs)
        spot_prices = spot_prices_of(prices_of(ev), markets)
        holdings = await self.holdings(legs, spot_prices)
        try:
            alloc = self.policy(self.pf, ev, stats, holdings, markets)
        except (MissingPrice, ValueError) as exc:
            log.warning("rebalance_skipped", t=report.t, why=str(exc))
            if self.observer is not None:
                self.observer.skipped(report.t, type(exc).__name__)
            return
        active = self.state.state is TradingState.ACTIVE
        # The roles first, closes first: checked against this bar's market data while it is
        # fresh (the risk manager refuses stale tickers), and a transition short is on before
        # the sale it hedges.
        actions = sorted(alloc.roles.actions, key=lambda a: 0 if a.intent.reduce_only else 1)
        await self._fund_sleeves(holdings.futures_collateral)
        perps: list[str] = []
        for a in actions:
            if not a.intent.reduce_only and not active:
                continue
            market = await self._fresh(market)
            if await self._send(a.intent, market, report):
                perps.append(f"{a.role.value}:{a.intent.symbol}")
                if a.intent.reduce_only:
                    self.roles.pop(a.intent.symbol, None)
                else:
                    self.roles[a.intent.symbol] = a.role
        sells = [o for o in alloc.spot.orders if o.side is Side.SELL]
        buys = [o for o in alloc.spot.orders if o.side is Side.BUY] if active else []
        sent = [await self._spot(o, legs[o.symbol], "rebalance") for o in sells]
        if buys:
            await self.refresh()  # the USDT the sells brought, as the venue has it
            cash = await self._spot_cash(max(_ZERO, self.usdt - holdings.futures_collateral))
            for planned in buys:
                o = (
                    planned
                    if planned.notional + planned.fee <= cash
                    else self._scaled(planned, cash, markets[planned.symbol])
                )
                if o is None:
                    continue
                sent.append(await self._spot(o, legs[o.symbol], "rebalance"))
                cash -= o.notional + o.fee
        await self.sync()
        await self._journal(alloc.records(), holdings, report.t)
        if self.observer is not None:
            after = await self.holdings(legs, spot_prices)
            self.observer.rebalanced(ev, alloc, after, prices_of(ev))
        log.info(
            "rebalance_done",
            t=report.t,
            state=self.state.state.value,
            nav=str(alloc.valuation.nav),
            spot_orders=[s for s in sent if s],
            perp_orders=perps,
            roles={s: r.value for s, r in self.roles.items() if s in self.portfolio.positions},
        )

    async def _legs(self) -> dict[str, SpotLeg]:
        """The universe's perpetuals that have a spot market on the venue."""
        return legs_of(self.instruments, await self.spot_venue.spot_markets())

    async def _markets(self, legs: Mapping[str, SpotLeg]) -> dict[str, SpotMarket]:
        """The legs' spot markets in the planner's units, with the venue's spot prices now:
        coins are valued and spot orders sized at them (``spot_prices_of``), not at the
        perpetuals' (the basis)."""
        coin = await self.spot_venue.fetch_spot_prices([g.market.symbol for g in legs.values()])
        return {p: leg.planner_market(p, coin.get(leg.market.symbol)) for p, leg in legs.items()}

    async def holdings(
        self, legs: Mapping[str, SpotLeg], prices: Mapping[str, Decimal]
    ) -> Holdings:
        """What the venue holds now, in the planner's units (``venue_holdings``), with the
        role of each perp."""
        perps = [
            PerpHolding(
                p.symbol, p.side, p.qty, p.entry_price, p.leverage, await self._role(p.symbol)
            )
            for p in self.portfolio.positions.values()
        ]
        upnl = self.balance.equity - self.balance.wallet_balance if self.balance else _ZERO
        return venue_holdings(self.usdt, upnl, self.coins, legs, perps, self.pf.spot_share, prices)

    @staticmethod
    def _scaled(o: SpotOrder, cash: Decimal, m: SpotMarket) -> SpotOrder | None:
        """``o`` cut to what ``cash`` pays, fee included; None below the market's minimum."""
        if o.notional <= 0:
            return None
        q = m.floor(o.qty * cash / (o.notional + o.fee))
        if q < m.min_qty or q * o.price < m.min_notional:
            return None
        return dataclasses.replace(o, qty=q, fee=o.fee * q / o.qty)

    async def _spot(self, o: SpotOrder, leg: SpotLeg, why: str) -> str:
        """Send one spot market order through the order manager; its client id, or "" when
        the venue refused it."""
        coins = (o.qty * leg.multiplier / leg.market.qty_step).to_integral_value() * (
            leg.market.qty_step
        )
        if coins <= 0:
            return ""
        new = NewOrder(
            symbol=spot_id(leg.market.symbol),
            side=o.side,
            type=OrderType.MARKET,
            qty=coins,
            intent="spot",
            reason=f"{why}:{o.bucket}:{o.explanation.rule.value}"[:200],
        )
        self.order_rate.record(self.clock())
        result = await self.orders.submit(new)
        log.info(
            "spot_order",
            client_order_id=result.order.client_order_id,
            symbol=new.symbol,
            side=o.side.value,
            qty=str(coins),
            outcome=result.outcome,
            status=result.order.status.value,
        )
        return "" if result.outcome == "rejected" else result.order.client_order_id

    async def _role(self, symbol: str) -> Role | None:
        """The role that opened the perp on ``symbol``: remembered, else the reason of the
        last opening order stored for it (``portfolio:<role>``); None: not the portfolio's."""
        if symbol in self.roles:
            return self.roles[symbol]
        if self.history is None:
            return None
        for order in reversed(await self.history.list_orders(symbol=symbol)):
            reason = str(getattr(order, "reason", ""))
            if not order.reduce_only and order.filled_qty > 0 and reason.startswith(ROLE_REASON):
                try:
                    self.roles[symbol] = Role(reason.removeprefix(ROLE_REASON))
                except ValueError:
                    return None
                return self.roles[symbol]
        return None

    # ------------------------------------------------------------------ sleeves (two wallets)

    async def _fund_sleeves(self, collateral: Decimal) -> None:
        """Two wallets (Binance): bring the futures wallet to the futures sleeve's collateral
        by a stored transfer, then read the account again."""
        if self.sleeves is not None and await self.sleeves.fund(collateral) is not None:
            await self.refresh()

    async def _spot_cash(self, cash: Decimal) -> Decimal:
        """What the spot buys may spend: ``cash``, on two wallets at most the spot USDT."""
        return cash if self.sleeves is None else await self.sleeves.spot_cash(cash)

    # ------------------------------------------------------------------ records

    async def _journal(self, records: list[AllocationRecord], h: Holdings, t: int) -> None:
        await self.journal.write_records(decision_rows(records, self.coins, h, t))
