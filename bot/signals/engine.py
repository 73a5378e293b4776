"""The signal engine: one API for the backtest (precompute) and the daemon (rolling window).

Backtest::

    engine = SignalEngine.from_settings(settings)
    engine.precompute(panel)               # vectorised over the whole panel, once
    ev = engine.evaluate_at(j, positions)  # only indexes into the tables

Live::

    ev = engine.evaluate(panel, j, positions)  # recomputes on the last window_hours bars

Both paths run the same code on different point sets and give the same decisions (tested).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, cast

import numpy as np

from bot.data.aggregate import TIMEFRAME_HOURS
from bot.data.panel import HOUR_MS, Panel
from bot.signals.confirm import compute_confirm
from bot.signals.decide import evaluate_tables
from bot.signals.evaluation import Evaluation, PositionView
from bot.signals.features import WindowData
from bot.signals.layers import Layers, compute_layers
from bot.signals.params import SignalParams, StrategySpec, resolve
from bot.signals.rules import exit_bars
from bot.signals.select import entry_bars, entry_rows
from bot.signals.tables import Tables, eval_points
from bot.signals.universe import Universe
from bot.signals.warmup import indicator_hours, reads_layers

if TYPE_CHECKING:
    from bot.config import Settings

# How many indicator warm-ups the live path computes over (see ``_compute``).
LIVE_TA_WARMUPS = 2


class _Reads:
    """The parameters, recording every one that is read (and its value)."""

    def __init__(self, params: SignalParams) -> None:
        self._params = params
        self.read: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._params, name)
        self.read[name] = value
        return value


class LayerMemo:
    """Whole-panel layers already computed, for engines that precompute the same panel again.

    Layers depend on the panel and on the parameters ``compute_layers`` reads, which are
    recorded while it runs; an engine whose parameters equal those values gets the same
    arrays back (read-only, like every table). An optimiser's trials mostly vary
    confirmation and exit parameters, so a warm worker computes the year of layers once per
    data window instead of once per trial. Holds at most ``size`` results (oldest dropped).
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._done: list[tuple[Panel, dict[str, Any], Layers]] = []
        self.hits = 0

    def layers(
        self, panel: Panel, params: SignalParams, compute: Callable[[SignalParams], Layers]
    ) -> Layers:
        for seen, read, layers in self._done:
            if seen is panel and all(getattr(params, k) == v for k, v in read.items()):
                self.hits += 1
                return layers
        reads = _Reads(params)
        layers = compute(cast(SignalParams, reads))
        self._done = [*self._done[-(self.size - 1) :], (panel, reads.read, layers)]
        return layers


class SignalEngine:
    """Evaluates the configured preset on a panel; pure and synchronous."""

    # The portfolio mode reads every sector row (``warmup_hours``); set by ``from_settings``.
    portfolio: bool = False

    def __init__(
        self, spec: StrategySpec, stop_max_pct: float = 0.09, memo: LayerMemo | None = None
    ) -> None:
        self.spec = spec
        self.params = spec.params
        self.stop_max_pct = stop_max_pct
        self.tf_hours = TIMEFRAME_HOURS[spec.entry_timeframe]
        self.memo = memo
        self._tables: Tables | None = None
        # Per held position: the window indices below ``hi`` where its exit rules may fire,
        # computed a chunk at a time (``next_intent_at``).
        # Per held position: the window indices [lo, hi) its exit arrays cover, and where
        # in them an exit may fire (``next_intent_at``, read by ``exits_ruled_out``).
        self._exit_idx: dict[PositionView, tuple[int, int, list[int]]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, preset: str | None = None, memo: LayerMemo | None = None
    ) -> Self:
        """Resolve ``settings.strategy`` (and an optional preset override) into an engine;
        ``memo`` shares whole-panel layers between engines (``precompute``)."""
        engine = cls(resolve(settings.strategy, preset), settings.risk.stop_max_pct, memo)
        engine.portfolio = settings.strategy.mode == "portfolio"
        return engine

    # ------------------------------------------------------------------ window sizes
    @property
    def layers_window_hours(self) -> int:
        """1h bars the layer computations need behind a decision (incl. a year of heat)."""
        p = self.params
        l_max = max(
            p.rs_short_h,
            p.rs_long_h,
            p.gap_lookback_h,
            p.vol_lookback_h,
            p.regime_lookback_h,
            p.regime_volume_h,
            p.breadth_lookback_h,
            p.oi_lookback_h,
            p.heat_window_h,
        )
        rotation = p.rotation_out_evals * self.tf_hours + p.accel_lag_h + l_max + 2
        heat = p.heat_history_days * 24 + 24 + p.heat_window_h + 1
        return max(rotation, heat)

    @property
    def min_history_hours(self) -> int:
        """1h bars every layer needs at least (all but the year of funding-heat history)."""
        p = self.params
        l_max = max(p.rs_long_h, p.gap_lookback_h, p.vol_lookback_h, p.regime_volume_h)
        rotation = p.rotation_out_evals * self.tf_hours + p.accel_lag_h + l_max + 2
        return max(rotation, self.ta_window_hours)

    @property
    def oi_window_hours(self) -> int:
        """1h bars of open interest a decision reads: the OI lookback behind every evaluation
        point the rotation-out counter revisits (OI is only sampled at those points)."""
        p = self.params
        return p.oi_lookback_h + p.rotation_out_evals * self.tf_hours + p.accel_lag_h + 2

    @property
    def ta_window_hours(self) -> int:
        """1h bars for entry-timeframe indicators: ≥ ``warmup_bars`` plus the longest lookback."""
        p = self.params
        extra = max(
            p.rsi_percentile_bars if p.rsi_mode == "percentile" else 0,
            p.tp_lookback_bars + 1,
            p.lower_low_long_bars,
            p.divergence_lookback_bars + 2 * p.divergence_k + 1 if p.divergence else 0,
            p.cross_lookback_bars + 1,
            2 * p.adx_period,
        )
        return (p.warmup_bars + extra + 1) * self.tf_hours

    @property
    def window_hours(self) -> int:
        """How many 1h bars a live panel should hold for :meth:`evaluate` to match the backtest."""
        return max(self.layers_window_hours, self.ta_window_hours)

    @property
    def warmup_hours(self) -> int:
        """1h bars from the first bar of the data to the first decision of a replay or
        backtest (``bot.signals.warmup``): the enabled rules' indicator lookbacks, or the live
        window when a layer is read. Not the live window: that stays ``window_hours``."""
        if reads_layers(self.spec, self.portfolio):
            return self.window_hours
        return indicator_hours(self.spec, self.tf_hours)

    # ------------------------------------------------------------------ backtest path
    def precompute(self, panel: Panel) -> Tables:
        """Vectorise every layer over the whole panel; then use :meth:`evaluate_at`."""
        self._tables = self._compute(panel, 0, panel.n_bars, None, self.memo)
        return self._tables

    def evaluate_at(
        self,
        j: int,
        positions: Sequence[PositionView] = (),
        predicted_f8h: Mapping[str, float] | None = None,
        *,
        records: bool = True,
        settled: frozenset[str] = frozenset(),
    ) -> Evaluation:
        """The evaluation at the close of panel bar ``j`` from the precomputed tables.

        ``records=False`` skips the decision records of symbols that cannot act (same intents),
        and then the held symbols in ``settled`` too (``exits_ruled_out``: none can exit at
        ``j``, and a held symbol never enters: their rows decide nothing).
        """
        if self._tables is None:
            raise RuntimeError("call precompute(panel) before evaluate_at(j)")
        return evaluate_tables(
            self._tables,
            j,
            self.spec,
            self.stop_max_pct,
            positions,
            predicted_f8h,
            records=records,
            settled=settled,
        )

    def exits_ruled_out(self, j: int, positions: Sequence[PositionView]) -> frozenset[str]:
        """The symbols of ``positions`` whose exit rules cannot fire at panel index ``j``, as
        the exit arrays of the last ``next_intent_at`` show (each rule's ``exit_bars``, a
        superset of the bars ``exit_reasons`` gives a reason); positions it did not see, or
        indices outside what their arrays cover, are not ruled out."""
        t = self._tables
        if t is None or not self._exit_idx:
            return frozenset()
        w = j - t.base
        out: list[str] = []
        for pos in positions:
            known = self._exit_idx.get(pos)
            if known is None:
                continue
            lo, hi, idx = known
            if lo <= w < hi:
                at = bisect_left(idx, w)
                if at == len(idx) or idx[at] != w:
                    out.append(pos.symbol)
        return frozenset(out)

    def next_intent_at(self, j: int, positions: Sequence[PositionView] = ()) -> int:
        """The first panel index after ``j`` whose evaluation may hold an intent (an entry
        passing its rule's vectorised pre-filter, or an exit rule of ``positions`` that may
        fire); the panel's length when none may. Every index between ``j`` and it evaluates
        to no entry and no exit (precompute path; the tests of each rule's ``*_bars``)."""
        t = self._tables
        if t is None:
            raise RuntimeError("call precompute(panel) before next_intent_at(j)")
        end = t.base + len(t.ts)
        w = j + 1 - t.base
        if w < 0:
            return j + 1
        entries = t.lookup("entry_idx", lambda: np.flatnonzero(entry_bars(t, self.spec)).tolist())
        best = 1 << 62
        index = t.lookup("index", lambda: {s: i for i, s in enumerate(t.universe.symbols)})
        kept: dict[PositionView, tuple[int, int, list[int]]] = {}
        for pos in positions:
            i = index.get(pos.symbol)
            if i is None:
                continue  # not in the tables: no row decides it (``active_rows``)
            # Known: below ``hi``, from ``first`` on, an exit may fire only at ``idx``.
            first, hi, idx = self._exit_idx.get(pos, (w, w, []))
            if first > w:  # asked about an earlier index than the arrays cover: start over
                first, hi, idx = w, w, []
            nxt = _next(idx, w)
            while nxt >= hi and hi < len(t.ts):  # none known below hi: the next chunk
                # None in [w, hi) either, so the new chunk [lo, hi') leaves [w, hi') known.
                lo, hi = max(w, hi), min(len(t.ts), max(w, hi) + _EXIT_CHUNK)
                first = w
                k = t.universe.sector_index(i)
                idx = (lo + np.flatnonzero(exit_bars(t, self.spec, i, k, pos, lo, hi))).tolist()
                nxt = _next(idx, w)
            kept[pos] = (first, hi, idx)
            best = min(best, nxt)
        self._exit_idx = kept
        held = {index[p.symbol] for p in positions if p.symbol in index}
        best = min(best, self._next_entry(entries, w, held, best))
        return t.base + best if best < len(t.ts) else end

    def _next_entry(self, entries: list[int], w: int, held: set[int], limit: int) -> int:
        """The first of the indices ``entries`` (where some row passes its entry rule's
        necessary condition) at or after ``w`` where a row not ``held`` does: a held symbol
        never enters, its row only decides its exit. Stops at ``limit`` (an exit may come
        first); a large number when none."""
        t = self._tables
        assert t is not None
        at = bisect_left(entries, w)
        while at < len(entries):
            x = entries[at]
            if x >= limit or not held:
                return x
            rows = entry_rows(t, self.spec, x)
            if rows is None or not rows <= held:
                return x
            at += 1
        return 1 << 62

    # ------------------------------------------------------------------ live path
    def evaluate(
        self,
        panel: Panel,
        j: int | None = None,
        positions: Sequence[PositionView] = (),
        predicted_f8h: Mapping[str, float] | None = None,
    ) -> Evaluation:
        """Recompute on the rolling window ending at bar ``j`` (default: the last bar)."""
        if panel.n_bars == 0:
            raise ValueError("empty panel")
        j = panel.n_bars - 1 if j is None else j
        if not 0 <= j < panel.n_bars:
            raise IndexError(f"bar index {j} outside the panel (0..{panel.n_bars - 1})")
        start = max(0, j + 1 - self.window_hours)
        close_ms = panel.close_time(j)
        pts = {j}
        for e_ms in eval_points(close_ms, self.params.rotation_out_evals, self.tf_hours):
            pts.add(j - (close_ms - e_ms) // HOUR_MS)
        at = np.array(sorted(x - start for x in pts if x >= start), dtype=np.int64)
        tables = self._compute(panel, start, j + 1, at)
        return evaluate_tables(tables, j, self.spec, self.stop_max_pct, positions, predicted_f8h)

    # ------------------------------------------------------------------ shared
    def _compute(
        self,
        panel: Panel,
        start: int,
        end: int,
        at: np.ndarray | None,
        memo: LayerMemo | None = None,
    ) -> Tables:
        sl = slice(start, end)
        ts = panel.ts[sl]
        win = WindowData.of(
            ts,
            panel.close[:, sl],
            panel.volume[:, sl],
            panel.funding[:, sl],
            panel.funding_interval_h[:, sl],
            panel.oi[:, sl],
        )
        u = Universe.from_panel(panel, self.params.benchmark)
        points = np.arange(end - start, dtype=np.int64) if at is None else at
        if memo is None:
            layers = compute_layers(win, points, u, self.params)
        else:
            # The universe is rebuilt from the recorded parameters too (its benchmark).
            layers = memo.layers(
                panel,
                self.params,
                lambda p: compute_layers(win, points, Universe.from_panel(panel, p.benchmark), p),
            )
        # The live path runs TA-Lib over two warm-ups (>= 400 entry-timeframe bars), not the
        # year-long layers window: after that much Wilder smoothing the seed's weight is
        # (13/14)^400 < 1e-12, so both paths see the same indicator values (to 1e-9, tested)
        # at a fifth of the cost on the default 4h timeframe.
        ta_start = start if at is None else max(start, end - LIVE_TA_WARMUPS * self.ta_window_hours)
        tsl = slice(ta_start, end)
        confirm = compute_confirm(
            panel.ts[tsl],
            panel.open[:, tsl],
            panel.high[:, tsl],
            panel.low[:, tsl],
            panel.close[:, tsl],
            panel.volume[:, tsl],
            self.tf_hours,
            self.params,
            tail=None if at is None else self.params.cross_lookback_bars + 2,
        )
        return Tables(u, ts, start, layers, confirm, ta_start, self.tf_hours)


# Bars of a position's exit arrays computed at a time: most positions exit within it.
_EXIT_CHUNK = 256


def _next(idx: list[int], w: int) -> int:
    """The first of the sorted ``idx`` at or after ``w`` (a large number when none)."""
    at = bisect_left(idx, w)
    return idx[at] if at < len(idx) else 1 << 62
