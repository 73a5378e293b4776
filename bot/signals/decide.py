"""Turn the tables at one 1h index into an :class:`Evaluation` (entries, exits, records).

STRATEGY.md: layer 3 candidates and confirmation, the funding filter, ``risk_off_action``,
ranking ``-zgap × max(S_s, 0)``, exits, shorts, the stop policy, and one
explainable decision record per symbol. The decision rules live here; the views of the bar
they read (sector rows, symbol views, ranked members) are built by
:class:`bot.signals.barviews.BarViews`, a mixin of ``_BarEvaluation``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from bot.data.panel import HOUR_MS
from bot.domain import Action, Decision, PositionSide
from bot.signals import rules
from bot.signals.barviews import BarViews, _f
from bot.signals.evaluation import (
    EntryIntent,
    Evaluation,
    ExitIntent,
    PositionView,
    RegimeRow,
    SectorRow,
    SymbolRow,
)
from bot.signals.params import StrategySpec
from bot.signals.rules import SymView
from bot.signals.tables import Tables

_NONE, _EXIT, _LONG, _SHORT = Action.NONE, Action.EXIT, Action.ENTER_LONG, Action.ENTER_SHORT
_SCORE_FIELDS = ("gap", "zgap", "rsi", "adx", "f8h", "oi_flow", "atr", "close")
_VALUE = {a: a.value for a in Action}  # enum .value lookups are slow in a hot loop


def evaluate_tables(
    tables: Tables,
    j: int,
    spec: StrategySpec,
    stop_max_pct: float,
    positions: Sequence[PositionView] = (),
    predicted_f8h: Mapping[str, float] | None = None,
    *,
    records: bool = True,
    settled: frozenset[str] = frozenset(),
) -> Evaluation:
    """The evaluation at the close of 1h panel index ``j``.

    ``records=False`` (the backtest) gives the same entries and exits but builds the
    decision records and sector rows only for the symbols that can act: the held ones and
    those whose entry rule can fire at ``j`` (a vectorised pre-filter that every entry must
    pass, so skipping the others changes no intent). The per-bar cost then scales with
    positions and candidates, not with the universe. ``settled``: held symbols known to have
    no exit at ``j`` (``SignalEngine.exits_ruled_out``); without records their rows are
    skipped too (a held symbol never enters, so its row could only give an exit).
    """
    ev = _BarEvaluation(tables, j, spec, stop_max_pct, positions, predicted_f8h, records)
    if not records:
        ev.settled = settled
    return ev.run()


class _BarEvaluation(BarViews):
    """One evaluation: the context every symbol's decision at index ``j`` shares, and the
    intents and records it collects."""

    def __init__(
        self,
        tables: Tables,
        j: int,
        spec: StrategySpec,
        stop_max_pct: float,
        positions: Sequence[PositionView],
        predicted_f8h: Mapping[str, float] | None,
        records: bool,
    ) -> None:
        col = tables.column(j)
        if col < 0:
            raise IndexError(f"index {j} was not computed by this engine run")
        self.tables, self.j, self.spec, self.p = tables, j, spec, spec.params
        self.stop_max_pct = stop_max_pct
        self.u, self.lay, self.cf = tables.universe, tables.layers, tables.confirm
        self.col, self.t, self.b = col, tables.close_time(j), tables.htf_bar(j)
        slope = float(self.lay.alt_btc_slope[col])
        self.risk_on = math.isfinite(slope) and slope > 0
        self.regime = RegimeRow(
            self.risk_on, _f(slope), _f(self.lay.breadth[col]), int(self.lay.regime_alts[col])
        )
        self.positions = positions
        self.by_pos = {ps.symbol: ps for ps in positions}
        self.pred = predicted_f8h if predicted_f8h is not None else {}  # no len(): may be lazy
        self.records = records
        self.tf_ms = tables.tf_hours * HOUR_MS
        self.bar_time = int(self.cf.htf.ts[self.b]) if self.b >= 0 else None
        self._rotation: np.ndarray | None = None  # rotated_out, computed when a row needs it
        self._sectors: dict[int, SectorRow] = {}
        self.top_momentum: set[int] = set()
        self.top_short: set[int] = set()
        self.entries: list[EntryIntent] = []
        self.exits: list[ExitIntent] = []
        self.rows: list[SymbolRow] = []
        self.decisions: list[Decision] = []
        self.settled: frozenset[str] = frozenset()  # held rows to skip (records off only)

    # ------------------------------------------------------------------ the evaluation

    def run(self) -> Evaluation:
        sectors = [self.sector_row(k) for k in range(self.u.n_sectors)] if self.records else []
        syms = self.symbols()
        if not syms and not self.records:  # nothing held and no entry rule can fire
            return Evaluation(
                self.t, self.j, self.spec.preset, self.regime, [], [], [], [], [],
                {"htf_bar": self.b},
            )  # fmt: skip
        self._rank_members()
        # Output values (None for NaN) for every symbol, converted once per field.
        out_cols = (
            [[v if v - v == 0 else None for v in (getattr(x, f) for x in syms)] for f in _SCORE_FIELDS]
            if self.records
            else []
        )  # fmt: skip
        out_vals = list(zip(*out_cols, strict=True))
        for n, s in enumerate(syms):
            self.decide(s, out_vals[n] if self.records else ())
        self.entries.sort(key=lambda e: (-e.rank, e.symbol))
        return Evaluation(
            t=self.t,
            index=self.j,
            preset=self.spec.preset,
            regime=self.regime,
            sectors=sectors,
            symbols=self.rows,
            decisions=self.decisions,
            entries=self.entries,
            exits=self.exits,
            flags={"htf_bar": self.b},
        )

    def decide(self, s: SymView, out: tuple[float | None, ...]) -> None:
        """One symbol: candidate → leader → confirmation → exit, long or short."""
        p = self.p
        name = self.u.symbols[s.i]
        is_bench = s.i == self.u.benchmark
        sec_row: SectorRow | None = None
        if s.k >= 0 and (self.records or s.k in self._sectors):
            sec_row = self.sector_row(s.k)
        candidate, reasons = self._candidate(s, is_bench)
        leader_ok = True
        if p.require_leader and p.entry_mode != "rsi" and s.sector is not None:
            sec_row = self.sector_row(s.k)
            leader_ok = sec_row.leader
            if candidate and not leader_ok:
                reasons.append("sector_not_leader")
        confirmed = self._confirmed(s, candidate and leader_ok, reasons)
        action = _NONE
        pos = self.by_pos.get(name)
        if pos is not None:
            if sec_row is None and s.k >= 0 and p.rotation_exit:
                sec_row = self.sector_row(s.k)  # the only exit rule that reads the sector
            action, reasons = self._exit(s, name, pos, sec_row)
        elif candidate and leader_ok and confirmed:
            action, reasons = self._long(s, name, sec_row)
        elif self._short_setup(s):
            action, reasons = self._short(s, name, reasons)
        if candidate and leader_ok and not confirmed and not reasons:
            reasons.append("not_confirmed")
        if action is _NONE and not reasons:
            reasons.append("no_signal")
        if self.records:
            self._record(s, name, is_bench, sec_row, candidate, confirmed, action, reasons, out)

    def _candidate(self, s: SymView, is_bench: bool) -> tuple[bool, list[str]]:
        """Layer 3 / the preset's entry rule, with the reasons a symbol is not a candidate."""
        p = self.p
        reasons: list[str] = []
        if p.entry_mode == "rsi":
            candidate = (s.sector is not None or is_bench) and math.isfinite(s.close)
            if not candidate:
                reasons.append("unmapped" if s.sector is None else "no_bar")
            return candidate, reasons
        if s.sector is None:
            reasons.append("benchmark" if is_bench else "unmapped")
        elif not s.eligible:
            reasons.append("not_eligible")
        elif s.k < 0 or not self.lay.scorable[s.k, self.col]:
            reasons.append("sector_not_scorable")
        elif p.entry_mode == "laggard":
            gap_ok = s.gap <= p.gap_max
            z_ok = s.zgap <= p.zgap_max
            if not gap_ok:
                reasons.append("gap_above_max")
            if not z_ok:
                reasons.append("zgap_above_max")
            return gap_ok and z_ok, reasons
        else:
            if s.i in self.top_momentum:
                return True, reasons
            reasons.append("not_strongest_member")
        return False, reasons

    def _confirmed(self, s: SymView, explain: bool, reasons: list[str]) -> bool:
        """Confirmation on the entry timeframe; ``explain`` adds what is missing to ``reasons``."""
        p = self.p
        if not p.confirm:
            return True
        confirmed = s.trigger and s.adx < p.adx_max
        if p.require_lower_low:
            confirmed = confirmed and s.lower_low
        if explain:
            if not s.trigger:
                reasons.append(f"rsi_no_{p.entry_trigger}")
            if not s.adx < p.adx_max:
                reasons.append("adx_trending")
            if p.require_lower_low and not s.lower_low:
                reasons.append("no_lower_low")
        return confirmed

    def _exit(
        self, s: SymView, name: str, pos: PositionView, sec_row: SectorRow | None
    ) -> tuple[Action, list[str]]:
        p, b = self.p, self.b
        tp = rules.tp_at_entry(self.tables, s.i, pos.entry_ms, b) if p.take_profit else math.nan
        why = rules.exit_reasons(self.spec, s, pos, sec_row, self.t, self.tf_ms, tp)
        if not why:
            return _NONE, ["holding"]
        self.exits.append(ExitIntent(name, pos.side, why))
        return _EXIT, list(why)

    def _long(self, s: SymView, name: str, sec_row: SectorRow | None) -> tuple[Action, list[str]]:
        spec, p = self.spec, self.p
        if not self.records and p.funding_filter:
            s.f8h = self.pred.get(name, s.f8h)  # see ``symbols``
        leader, score = self._standing(s.k, sec_row)
        reasons = rules.entry_reasons(spec, s, leader)
        blocked = rules.filters(spec, s, self.risk_on, self.regime.known)
        stop = rules.stop_distance(spec, s, self.stop_max_pct)
        if stop is None:
            blocked.append("no_atr")
        if blocked:
            return _NONE, reasons + blocked
        half = not self.risk_on and p.risk_off_action == "half"
        if half:
            reasons.append("risk_off_half")
        self.entries.append(
            EntryIntent(
                symbol=name,
                side=PositionSide.LONG,
                sector=s.sector,
                rank=rules.rank(spec, s, score),
                reference_price=s.close,
                stop_distance=float(stop or 0.0),
                size_factor=0.5 if half else 1.0,
                take_profit=_f(s.tp_level) if p.take_profit else None,
                reasons=tuple(reasons),
            )
        )
        return _LONG, reasons

    def _standing(self, k: int, row: SectorRow | None) -> tuple[bool, float | None]:
        """Sector ``k``'s leader flag and score (an entry's reasons and rank read no more):
        from its row when built, else the two values alone (a whole row is ~30 µs)."""
        if row is not None:
            return row.leader, row.score
        if k < 0:
            return False, None
        return bool(self.lay.leader[k, self.col]), _f(self.lay.score[k, self.col])

    def _short_setup(self, s: SymView) -> bool:
        if not (self.spec.shorts_enabled and s.k >= 0):
            return False
        row = self.sector_row(s.k)
        return (
            row.overheated
            and (row.accel or 0.0) < 0
            and s.i in self.top_short
            and s.eligible
            and s.short_setup
        )

    def _short(self, s: SymView, name: str, reasons: list[str]) -> tuple[Action, list[str]]:
        stop = rules.stop_distance(self.spec, s, self.stop_max_pct)
        if stop is None or not math.isfinite(s.close):
            return _NONE, reasons
        why = ["overheated_sector", "accel_negative", "top_funding", "rsi_overbought"]
        self.entries.append(
            EntryIntent(
                name, PositionSide.SHORT, s.sector, s.f8h_mean, s.close, stop, 1.0, None,
                tuple(why),
            )
        )  # fmt: skip
        return _SHORT, why

    def _record(
        self,
        s: SymView,
        name: str,
        is_bench: bool,
        sec_row: SectorRow | None,
        candidate: bool,
        confirmed: bool,
        action: Action,
        reasons: list[str],
        out: tuple[float | None, ...],
    ) -> None:
        """The explainable decision record and the symbol row of the evaluation."""
        p = self.p
        sc: dict[str, float | None] = {"S": sec_row.score if sec_row else None}
        sc.update(zip(_SCORE_FIELDS, out, strict=True))
        why_t = tuple(reasons)
        self.decisions.append(Decision(self.t, name, s.sector, action, why_t, sc))
        self.rows.append(
            SymbolRow(
                symbol=name,
                sector=s.sector if s.sector is not None else ("benchmark" if is_bench else None),
                eligible=s.eligible,
                timeframe=self.spec.entry_timeframe,
                bar_time=self.bar_time,
                close=sc["close"],
                gap=sc["gap"],
                zgap=sc["zgap"],
                rsi=sc["rsi"],
                adx=sc["adx"],
                atr=sc["atr"],
                funding_8h=sc["f8h"],
                oi_flow=sc["oi_flow"],
                candidate=candidate,
                confirmed=bool(confirmed and p.confirm) or (not p.confirm and candidate),
                action=_VALUE[action],
                reasons=why_t,
            )
        )
