"""The backtest: the daemon's pipeline on a virtual clock over the in-process simulator.

Every bar goes through the same objects as ``rotor run`` in replay mode: ``SimEngine`` and
``SimVenue`` (fills, fees, slippage, funding, stops, liquidation), ``Reconciler`` and
``OrderManager`` (orders, fills applied once), ``TradingCore.on_bar`` (signals → risk →
orders → stops) and the ``KillSwitch``. Only storage is in memory and the signal engine uses
its precompute path. The loop mirrors ``Daemon._replay_loop`` (``bot.runtime.daemon``) step
for step: operator requests (a pending kill) → cycle on the bar that just closed → advance one bar;
at the end of the data every position is closed at the last close.

The shortcuts for bars that change nothing (quiet and skipped bars) are
``bot.backtest.shortcuts``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from bot.backtest.data import BacktestData, bar_of
from bot.backtest.memory import MemoryJournal, MemoryStore
from bot.backtest.shortcuts import Shortcuts
from bot.backtest.signals import PrecomputedSignals
from bot.backtest.views import IntervalsAt, LazyTickers, latest_interval_table
from bot.config import Settings
from bot.domain import Instrument
from bot.observability.logging import get_logger
from bot.risk import (
    Source,
    StateRequest,
    TradingStateMachine,
    Transition,
)
from bot.runtime.assembly import assemble_core, with_sectors
from bot.runtime.build import replay_start, universe
from bot.runtime.killswitch import flatten_and_halt
from bot.sim.engine import SimEngine
from bot.sim.rules import rules_for
from bot.sim.venue import SimVenue

log = get_logger("rotor.backtest")

RUN_ID = "backtest"
END_OF_DATA = "end of data"
HOUR_MS = 3_600_000

# Called with (bars done, bars total) every few hundred bars.
ProgressHook = Callable[[int, int], None]


@dataclass(slots=True)
class RunStats:
    """Counters of one run (for the summary and the benchmark)."""

    bars: int = 0
    # Refused intents by their first reason code (the gate that refused them first).
    rejections: dict[str, int] = field(default_factory=dict)
    full_cycles: int = 0
    quiet_cycles: int = 0
    skipped_cycles: int = 0  # quiet bars whose evaluation the signal engine ruled out
    kills: int = 0
    elapsed_s: float = 0.0


@dataclass(slots=True)
class RunOutput:
    """Everything a report needs, straight from the objects that traded."""

    settings: Settings
    start_ms: int
    end_ms: int
    starting_equity: Decimal
    engine: SimEngine
    store: MemoryStore
    journal: MemoryJournal
    instruments: dict[str, Instrument]
    transitions: list[Transition] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)


def default_start(market_ts: np.ndarray, warmup_hours: int) -> int:
    """The daemon's replay start (``replay_start``), the same rule."""
    return replay_start(market_ts, warmup_hours)


class BacktestRunner(Shortcuts):
    """One backtest of one configuration over one data set."""

    def __init__(
        self,
        settings: Settings,
        data: BacktestData,
        *,
        start_ms: int | None = None,
        progress: ProgressHook | None = None,
        quiet_bars: bool = True,
        skip: bool = True,
        signals: PrecomputedSignals | None = None,
    ) -> None:
        self.settings = settings
        # The quiet-bar shortcut models the perpetual presets' cycle (entries, exits, stops;
        # the USDT wallet as the equity). A portfolio cycle reads the coins and the spot fills
        # at every sync and rebalances on its own clock: every bar runs in full.
        self.quiet_bars = quiet_bars and settings.strategy.mode != "portfolio"
        self.skip = skip and self.quiet_bars
        self._skip_to = 0  # bars before this index have an empty evaluation (``_skipped``)
        self.data = data
        self.progress = progress
        self.signals = signals or PrecomputedSignals.from_settings(settings)
        self.signals.records = settings.strategy.mode == "portfolio"
        market = data.market
        self.start_ms = (
            start_ms
            if start_ms is not None
            else default_start(market.ts, self.signals.warmup_hours)
        )
        bt = settings.backtest
        self.engine = SimEngine(
            market,
            equity=Decimal(repr(bt.starting_equity)),
            fee_taker=Decimal(repr(bt.fee_taker)),
            fee_maker=Decimal(repr(bt.fee_maker)),
            slippage=Decimal(repr(bt.slippage)),
            partial_fills=settings.sim.partial_fills,
            start_ms=self.start_ms,
            rules=rules_for(settings.exchange.name),  # the venue traded: its account rules
            spot_fee=settings.portfolio.rebalance.spot_fee,
        )
        self.venue = SimVenue(self.engine)
        self.kill_pending = False
        self.kill_reason = ""
        self.transitions: list[Transition] = []
        self.stats = RunStats()

    # ------------------------------------------------------------------ wiring

    async def _build(self) -> None:
        s = self.settings
        # The account modes the daemon sets at start-up (bot.venues.modes), on the same engine.
        await self.venue.ensure_account_modes(s.execution.margin_mode)
        instruments = await self.venue.load_instruments()
        symbols, tags, _ = universe(s, instruments)
        panel = self.data.panel
        if list(panel.symbols) != symbols:
            raise ValueError("backtest panel and universe disagree on the symbols")
        self.instruments = with_sectors(
            {k: instruments[k] for k in symbols},
            {sym: tag for sym, tag in zip(symbols, tags, strict=True) if tag},
        )
        self.signals.precompute(panel)
        self.intervals = latest_interval_table(panel)
        absent = np.isnan(panel.close)
        self.bar_present = ~np.all(absent, axis=0)  # some symbol has this bar
        self.bar_gaps = np.any(absent, axis=0).tolist()  # some symbol misses it
        self.store = MemoryStore()
        self.journal = MemoryJournal()
        self.state = TradingStateMachine()

        async def no_sleep(_s: float) -> None:
            return None

        parts = assemble_core(
            s,
            self.venue,
            self.instruments,
            self.signals,
            self.store,
            self.state,
            run_id=RUN_ID,
            clock=self._now,
            journal=self.journal,
            change_state=self._change_state,
            commit_transition=self._commit,
            kill_sleep=no_sleep,
        )
        self.portfolio, self.orders, self.risk = parts.portfolio, parts.orders, parts.risk
        self.core, self.killswitch = parts.core, parts.killswitch

    def _now(self) -> int:
        return self.engine.now_ms

    # ------------------------------------------------------------------ state

    async def _change_state(self, request: StateRequest) -> None:
        if request.kill:
            self.kill_pending = True
            self.kill_reason = request.reason
            return
        await self._commit(self.state.propose(request, self._now()))

    async def _commit(self, transition: Transition | None) -> None:
        if transition is None:
            return
        self.state.commit(transition)
        self.transitions.append(transition)

    async def _run_kill(self) -> None:
        """The daemon's kill switch: REDUCING while flattening, HALTED once verified flat."""
        await flatten_and_halt(
            self.killswitch,
            self.state,
            self._commit,
            self._now,
            source=Source.LIMIT,
            why=self.kill_reason,
            max_attempts=5,
        )
        self.kill_pending = False
        self.stats.kills += 1
        await self.core.sync()

    # ------------------------------------------------------------------ the loop

    async def run(self) -> RunOutput:
        """Replay from the start to the end of the data; close what is open at the last close."""
        started = time.perf_counter()
        await self._build()
        eng = self.engine
        start_equity = eng.equity()
        await self.core.sync()  # the daemon reconciles before its first cycle
        first_j = bar_of(self.data.market, self.start_ms)
        total = max(0, self.data.n_bars - first_j)
        self._mark = self._venue_state()
        while True:
            if self.kill_pending and not (self.quiet_bars and self._halted_flat()):
                await self._run_kill()
                self._mark = self._venue_state()
            j = eng._k - 1  # the bar that closed at ``now``
            if j >= first_j and self._has_bar(j):
                if j < self._skip_to and await self._skipped():
                    self.stats.skipped_cycles += 1
                else:
                    await self._cycle(j)
                    self._skip_to = self._next_intent(j)
                self.stats.bars += 1
                if self.progress is not None and self.stats.bars % 250 == 0:
                    self.progress(self.stats.bars, total)
            if eng.at_end:
                break
            eng.advance(1)
        await self._close_out()
        if self.progress is not None:
            self.progress(total, total)
        self.stats.elapsed_s = time.perf_counter() - started
        return RunOutput(
            settings=self.settings,
            start_ms=self.start_ms,
            end_ms=eng.now_ms,
            starting_equity=start_equity,
            engine=eng,
            store=self.store,
            journal=self.journal,
            instruments=self.instruments,
            transitions=self.transitions,
            stats=self.stats,
        )

    def _has_bar(self, j: int) -> bool:
        """The daemon cycles only when some symbol has a new closed bar."""
        return bool(self.bar_present[j])

    def _venue_state(self) -> tuple[int, int, int]:
        eng = self.engine
        return len(eng.executions), len(eng.orders), len(eng.open_orders())

    async def _cycle(self, j: int) -> None:
        now = self._now()
        panel = self.data.panel
        tickers = LazyTickers(self.engine)
        missing = (
            frozenset(panel.symbols[i] for i in np.flatnonzero(np.isnan(panel.close[:, j])))
            if self.bar_gaps[j]
            else frozenset()
        )
        intervals = IntervalsAt(self.intervals, panel.index, j)
        # One set of snapshots for the quiet-bar check and the cycle (same tickers and time).
        market = self.core.market_snapshots(tickers, missing, intervals, now)
        if await self._quiet(j, now, market):
            self.stats.quiet_cycles += 1
            return
        report = await self.core.on_bar(
            panel,
            j,
            tickers,
            missing_bars=missing,
            funding_interval_h=intervals,
            ticker_ms=now,
            market=market,
        )
        self.stats.full_cycles += 1
        for codes in report.rejections.values():
            if codes:  # one refused intent per symbol and cycle
                self._count_rejection(codes[0])
        self._mark = self._venue_state()

    def _count_rejection(self, code: str) -> None:
        self.stats.rejections[code] = self.stats.rejections.get(code, 0) + 1

    def _record_equity(self, now: int) -> None:
        """The equity snapshot ``TradingCore._persist`` writes for a cycle."""
        snap = self.core.equity_snapshot(now)
        assert snap is not None
        self.journal.equity.append(snap)

    async def _close_out(self) -> None:
        """Close what is still open at the last close (reduce-only market orders)."""
        await self.core.close_out(END_OF_DATA)
        for order in list(self.orders.open_orders()):
            await self.orders.cancel(order.client_order_id)
        await self.core.sync()
        self._record_equity(self._now())
