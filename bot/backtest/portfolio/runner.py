"""The portfolio backtest: the allocation of ``bot.portfolio`` replayed bar by bar on the
simulator's engine (docs/portfolio.md, "Backtest").

Every bar: the engine walks the bar (the roles' stops, liquidations, funding), the book
counts the perpetuals' cash flows against their roles, and the risk manager's breakers look
at the whole portfolio's equity (spot coins included): the daily-loss limit moves the state
to REDUCING (sells and closes only) until the next UTC day, the drawdown limit fires the
kill switch, which sells what ``portfolio.kill_spot`` says, closes every perpetual, checks
the account is flat in that sense and halts (a backtest never resumes).

Every ``portfolio.rebalance.interval_h`` hours (at the close of the bar that ends on the
interval): the signals are evaluated at that close (only bars closed by then: the panel's
precomputed tables at ``j`` read nothing later), the targets and the spot plan are computed
from the holdings the venue shows, and the orders go to the engine: spot sells, the
collateral transfer, spot buys (trimmed to the cash at the fill price), then the roles'
perpetuals, closes first, every one through the ``RiskManager`` against the account as it
is then, each opening followed by its protective stop. Fills are the engine's: the next
bar's open with slippage and the spot fee (paid in the coin on a buy, as Bybit does).

The baselines (``bot.backtest.portfolio.baselines``) trade on their own engines over the
same bars with the same planner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.data import BacktestData, bar_of
from bot.backtest.portfolio.baselines import Baseline, baselines_for
from bot.backtest.portfolio.book import Book
from bot.backtest.portfolio.weights import Weights, weights_of
from bot.backtest.runner import default_start
from bot.config import Settings
from bot.domain import Instrument, TradingState
from bot.portfolio.account import account_view
from bot.portfolio.allocate import Allocation, allocate, funding_of
from bot.portfolio.explain import AllocationRecord, Rule
from bot.portfolio.flat import kill_plan
from bot.portfolio.holdings import MissingPrice, value
from bot.portfolio.selection import MarketStats, market_stats
from bot.portfolio.targets import Targets, compute_targets
from bot.risk import Rejected, Source, StateRequest, TradingStateMachine, Transition
from bot.risk.account import AccountView
from bot.risk.decision import Approved
from bot.risk.manager import RiskManager
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation
from bot.sim.account import CROSS, ISOLATED
from bot.sim.engine import SimEngine

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
ProgressHook = Callable[[int, int], None]


def _worth_keeping(r: AllocationRecord) -> bool:
    """decisions.jsonl leaves out a token inside its band and the daily "no hedge" note;
    every other record (targets, trades, waits, transfers, roles) is written."""
    rule = r.explanation.rule
    return rule is not Rule.HOLD_IN_BAND and not (r.subject == "hedge" and rule is Rule.HEDGE_CLOSE)


@dataclass(slots=True)
class PortfolioRun:
    """Everything the report needs."""

    settings: Settings
    start_ms: int
    end_ms: int
    starting_equity: Decimal
    ts: np.ndarray  # bar close times of the NAV series (int64 ms)
    nav: np.ndarray  # the strategy's NAV after each bar
    baselines: dict[str, np.ndarray]  # baseline name → NAV on the same bars
    weights: list[Weights] = field(default_factory=list)
    book: Book | None = None
    baseline_books: dict[str, Book] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    kills: list[dict[str, Any]] = field(default_factory=list)
    rebalances: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    risk_refusals: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


class PortfolioRunner:
    """One portfolio backtest of one configuration over one data set."""

    def __init__(
        self,
        settings: Settings,
        data: BacktestData,
        *,
        start_ms: int | None = None,
        progress: ProgressHook | None = None,
    ) -> None:
        self.settings, self.data, self.progress = settings, data, progress
        self.pf = settings.portfolio
        self.signals = SignalEngine.from_settings(settings)
        market = data.market
        self.start_ms = (
            start_ms
            if start_ms is not None
            else default_start(market.ts, self.signals.window_hours)
        )
        self.engine = self._engine()
        self.book = Book(self.engine)
        self.baselines: list[Baseline] = baselines_for(settings, lambda: Book(self._engine()))
        self.risk = RiskManager.from_settings(settings)
        self.state = TradingStateMachine()
        self.state_log: list[Transition] = []
        self.interval_ms = self.pf.rebalance.interval_h * HOUR_MS
        self.day = -1
        self.day_start = self.peak = self.engine.equity()
        self.run_out = PortfolioRun(
            settings, self.start_ms, self.start_ms, self.engine.equity(),
            np.zeros(0, dtype=np.int64), np.zeros(0), {},
        )  # fmt: skip

    def _engine(self) -> SimEngine:
        bt, s = self.settings.backtest, self.settings
        eng = SimEngine(
            self.data.market,
            equity=_dec(bt.starting_equity),
            fee_taker=_dec(bt.fee_taker),
            fee_maker=_dec(bt.fee_maker),
            slippage=_dec(bt.slippage),
            spot_fee=s.portfolio.rebalance.spot_fee,
            partial_fills=False,
            start_ms=self.start_ms,
            margin_mode=ISOLATED if s.execution.margin_mode == "isolated" else CROSS,
        )
        return eng

    # ------------------------------------------------------------------ the loop

    def run(self) -> PortfolioRun:
        started = time.perf_counter()
        panel = self.data.panel
        self.signals.precompute(panel)
        self.present = np.any(~np.isnan(panel.close), axis=0)
        eng = self.engine
        first_j = bar_of(self.data.market, self.start_ms)
        total = max(0, self.data.n_bars - first_j)
        ts: list[int] = []
        navs: list[float] = []
        base_navs: dict[str, list[float]] = {b.name: [] for b in self.baselines}
        done = 0
        while True:
            j = eng._k - 1  # the bar that closed at ``now``
            if j >= first_j and bool(self.present[j]):
                self._cycle(j)
                ts.append(eng.now_ms)
                navs.append(float(eng.equity()))
                for b in self.baselines:
                    base_navs[b.name].append(float(b.book.engine.equity()))
                done += 1
                if self.progress is not None and done % 250 == 0:
                    self.progress(done, total)
            if eng.at_end:
                break
            eng.advance(1)
            for b in self.baselines:
                b.book.engine.advance(1)
        self.book.sync()
        out = self.run_out
        out.end_ms = eng.now_ms
        out.ts = np.asarray(ts, dtype=np.int64)
        out.nav = np.asarray(navs, dtype=np.float64)
        out.baselines = {k: np.asarray(v, dtype=np.float64) for k, v in base_navs.items()}
        out.book = self.book
        out.baseline_books = {b.name: b.book for b in self.baselines}
        out.transitions = list(self.state_log)
        out.elapsed_s = time.perf_counter() - started
        return out

    def _commit(self, transition: Transition | None) -> None:
        if transition is None:
            return
        self.state.commit(transition)
        self.state_log = [*self.state_log, transition]

    def _cycle(self, j: int) -> None:
        eng, now = self.engine, self.engine.now_ms
        self.book.sync()
        nav = eng.equity()
        if now // DAY_MS != self.day:
            self.day, self.day_start = now // DAY_MS, nav
        self.peak = max(self.peak, nav)
        if self.state.state is not TradingState.HALTED:
            self._commit(self.state.propose_tick(now))
            view = AccountView(
                now, nav, eng.wallet_balance, eng.available(), self.day_start, self.peak,
                self.state.state, {},
            )  # fmt: skip
            for req in self.risk.breakers(view):
                if req.kill:
                    self._kill(j, req)
                    break
                self._commit(self.state.propose(req, now))
        if now % self.interval_ms == 0:
            self._rebalance(j)

    # ------------------------------------------------------------------ rebalance

    def _evaluation(self, j: int) -> Evaluation:
        return self.signals.evaluate_at(j, records=True)

    def _skip(self, why: str) -> None:
        sk = self.run_out.skipped
        sk[why] = sk.get(why, 0) + 1

    def _rebalance(self, j: int) -> None:
        """The portfolio's rebalance (none once halted), then the baselines' (they trade on
        whatever the portfolio's state), then the weights as they are."""
        ev = self._evaluation(j)
        rc = self.pf.rotation
        stats = market_stats(self.data.panel, j, rc.liquidity_lookback_h, rc.momentum_lookback_h)
        targets = self._allocate(ev, stats) if self.state.state is not TradingState.HALTED else None
        if targets is None:
            targets = compute_targets(self.pf, ev, stats)
        for b in self.baselines:
            b.rebalance(ev, stats, targets, self.pf)
        self._record_weights(targets, ev)

    def _allocate(self, ev: Evaluation, stats: MarketStats) -> Targets | None:
        """Allocate and send the orders; the targets, or None when the rebalance is skipped."""
        holdings = self.book.holdings()
        try:
            alloc = allocate(self.pf, ev, stats, holdings, self.book.markets())
        except MissingPrice:
            self._skip("held_symbol_without_price")
            return None
        except ValueError:
            self._skip("nothing_to_allocate")
            return None
        active = self.state.state is TradingState.ACTIVE
        self._execute(alloc, ev, active)
        self.run_out.rebalances += 1
        self.run_out.records.extend(r.to_json() for r in alloc.records() if _worth_keeping(r))
        return alloc.targets

    def _execute(self, alloc: Allocation, ev: Evaluation, active: bool) -> None:
        book = self.book
        for o in alloc.spot.orders:
            if o.side.value == "sell":
                book.spot(o)
        # The planner sized the transfer on the closes; the sells filled at the venue's prices:
        # never move more than the spot cash there is (spot cash stays ≥ 0).
        move = alloc.spot.transfer
        if move > 0:
            move = min(move, book.holdings().cash) if active else Decimal(0)
        book.transfers += move
        if active:
            for o in alloc.spot.orders:
                if o.side.value == "buy":
                    book.spot(o, cash_cap=book.holdings().cash)
        sectors = {r.symbol: r.sector for r in ev.symbols}
        actions = sorted(alloc.roles.actions, key=lambda a: 0 if a.intent.reduce_only else 1)
        for a in actions:
            if not a.intent.reduce_only and not active:
                continue
            d = self.risk.check(a.intent, self._view(alloc, ev, sectors))
            if isinstance(d, Rejected):
                code = d.codes[0].value if d.codes else "rejected"
                rr = self.run_out.risk_refusals
                rr[code] = rr.get(code, 0) + 1
                continue
            assert isinstance(d, Approved)
            if d.reduce_only:
                book.close_perp(d.symbol)
            else:
                book.open_perp(d, a.role)

    def _instruments(
        self, symbols: set[str], sectors: dict[str, str | None]
    ) -> dict[str, Instrument]:
        eng = self.engine
        return {s: replace(eng.instrument_now(s), sector=sectors.get(s)) for s in symbols}

    def _view(
        self, alloc: Allocation, ev: Evaluation, sectors: dict[str, str | None]
    ) -> AccountView:
        """The account the risk manager checks a role's intent against: the venue's holdings
        and prices now, with the run's day start, peak and state."""
        eng = self.engine
        h = self.book.holdings()
        prices = dict(alloc.prices)
        for p in h.perps:  # a held perp is valued at the venue's price
            prices[p.symbol] = eng.mark_price(p.symbol)
        symbols = {p.symbol for p in h.perps} | {a.intent.symbol for a in alloc.roles.actions}
        val = value(h, prices)
        view = account_view(
            h, val, prices, self._instruments(symbols, sectors), funding_of(ev), eng.now_ms
        )
        # Equity and free margin as part 1's unified-account view has them (spot coins are
        # collateral); the engine still refuses an order its USDT cannot margin.
        return replace(
            view,
            day_start_equity=self.day_start,
            peak_equity=self.peak,
            trading_state=self.state.state,
        )

    def _record_weights(self, targets: Targets, ev: Evaluation) -> None:
        h = self.book.holdings()
        prices = {s: self._price(s) for s in h.spot} | {
            p.symbol: self._price(p.symbol) for p in h.perps
        }
        self.run_out.weights.append(weights_of(h, prices, targets, self.pf, ev, self.engine.now_ms))

    def _price(self, symbol: str) -> Decimal:
        return _dec(self.engine.price_float(symbol))

    # ------------------------------------------------------------------ kill switch

    def _kill(self, j: int, req: StateRequest) -> None:
        """The kill switch over both sleeves: ``kill_plan``'s sells and closes, then
        verify flat against the venue and halt."""
        eng, book = self.engine, self.book
        self._commit(self.state.propose(replace(req, source=Source.LIMIT), eng.now_ms))
        h = book.holdings()
        prices = {s: self._price(s) for s in h.spot} | {
            p.symbol: self._price(p.symbol) for p in h.perps
        }
        sectors = {r.symbol: r.sector for r in self._evaluation(j).symbols}
        plan = kill_plan(h, prices, book.markets(), self.pf, sectors)
        for o in plan.spot:
            book.spot(o)
        for p in plan.perps:
            book.close_perp(p.symbol)
        after = book.holdings()
        kept = {s for s, _ in plan.kept}
        markets = book.markets()
        left = sorted(
            s
            for s, q in after.spot.items()
            if s not in kept
            and (q >= markets[s].min_qty and q * prices[s] >= markets[s].min_notional)
        )
        self.run_out.kills.append(
            {
                "t": eng.now_ms,
                "reason": req.reason,
                "sold": [o.symbol for o in plan.spot],
                "closed": [p.symbol for p in plan.perps],
                "kept": sorted(kept),
                "flat": not after.perps and not left,
                "left": left,
                "nav": str(eng.equity()),
            }
        )


def run_portfolio(
    settings: Settings,
    data_dir: Path,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    progress: ProgressHook | None = None,
) -> PortfolioRun:
    """Load ``data_dir`` (with the history the signals and the leaders' windows need before
    ``start_ms``) and backtest the portfolio over ``[start_ms, end_ms)``."""
    from bot.backtest.data import prepare

    begin = None
    if start_ms is not None:
        rc = settings.portfolio.rotation
        hours = max(
            SignalEngine.from_settings(settings).window_hours,
            rc.liquidity_lookback_h,
            rc.momentum_lookback_h,
        )
        begin = start_ms - (hours + 48) * HOUR_MS
    effective, data = prepare(settings, data_dir, end_ms, begin_ms=begin)
    return PortfolioRunner(effective, data, start_ms=start_ms, progress=progress).run()
