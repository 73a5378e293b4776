"""Turn the tables at one 1h index into an :class:`Evaluation` (entries, exits, records).

STRATEGY.md: layer 3 candidates and confirmation, the funding filter, ``risk_off_action``,
ranking ``-zgap × max(S_s, 0)``, exits, shorts, the stop policy, and one
explainable decision record per symbol.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from bot.data.panel import HOUR_MS
from bot.domain import Action, Decision, PositionSide
from bot.signals import rules
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
from bot.signals.select import active_rows, rotated_out, top_members
from bot.signals.tables import Tables

_NONE, _EXIT, _LONG, _SHORT = Action.NONE, Action.EXIT, Action.ENTER_LONG, Action.ENTER_SHORT
_SCORE_FIELDS = ("gap", "zgap", "rsi", "adx", "f8h", "oi_flow", "atr", "close")
_VALUE = {a: a.value for a in Action}  # enum .value lookups are slow in a hot loop
# Up to this many rows, ``symbols`` reads scalars instead of slicing each table.
_SCALAR_ROWS = 12


def _f(x: float) -> float | None:
    """A float for output, None for NaN/inf."""
    return x if x - x == 0 else None  # NaN - NaN and inf - inf are NaN


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


class _BarEvaluation:
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

    # ------------------------------------------------------------------ sectors

    def sector_row(self, k: int) -> SectorRow:
        """Sector ``k``'s row at this index (built on first use: most backtest bars never
        read one)."""
        row = self._sectors.get(k)
        if row is not None:
            return row
        if self._rotation is None:
            self._rotation = rotated_out(self.tables, self.j, self.p.rotation_out_evals)
        lay, col, u = self.lay, self.col, self.u
        mem, elig = u.member[k], lay.eligible[:, col]
        listed = mem & np.isfinite(lay.close[:, col])
        row = self._sectors[k] = SectorRow(
            sector=u.sectors[k],
            members=int(u.member[k].sum()),
            eligible_members=int(lay.members_eligible[k, col]),
            return_7d=_f(lay.ret_short[k, col]),
            return_30d=_f(lay.ret_long[k, col]),
            rs_7d=_f(lay.rs_short[k, col]),
            rs_30d=_f(lay.rs_long[k, col]),
            accel=_f(lay.accel[k, col]),
            oi_flow=float(lay.oi_sector[k, col]),
            oi_missing=bool(lay.oi_missing[k, col]),
            funding_heat=_f(lay.heat[k, col]),
            heat_threshold=_f(lay.heat_threshold[k, col]),
            overheated=bool(lay.overheated[k, col]),
            score=_f(lay.score[k, col]),
            leader=bool(lay.leader[k, col]),
            rotated_out=bool(self._rotation[k]),
            # The inputs each layer had: counted here, only for the rows a caller reads.
            listed_members=int(np.count_nonzero(listed)),
            oi_members=int(np.count_nonzero(mem & elig & np.isfinite(lay.oi_flow[:, col]))),
            funding_members=int(np.count_nonzero(listed & np.isfinite(lay.f8h_mean[:, col]))),
        )
        return row

    # ------------------------------------------------------------------ symbols

    def symbols(self) -> list[SymView]:
        """Scalar views of the rows to decide: every symbol with records, else the active ones.

        One numpy -> list conversion per field, not per symbol.
        """
        u, lay, cf, col, b = self.u, self.lay, self.cf, self.col, self.b
        if self.records:
            rows_i: list[int] = list(range(len(u.symbols)))
            sel: slice | np.ndarray = slice(None)
        else:
            rows_i = active_rows(self.tables, col, b, self.spec, self.positions)
            if self.settled:
                rows_i = [i for i in rows_i if u.symbols[i] not in self.settled]
            sel = np.asarray(rows_i, dtype=np.intp)
            if not rows_i:
                return []

        all_k: list[int] = self.tables.lookup("sector_rows", lambda: u.sector_rows)

        # The predicted rate only feeds the funding filter of new entries (and the records):
        # without records, ``_long`` looks it up for the would-be entries alone (a lookup
        # builds the venue's ticker, ~0.2 ms: once per active row and bar it was ~40 % of the
        # bar loop of a wide backtest).
        def f8h(i: int, settled: float) -> float:
            return self.pred.get(u.symbols[i], settled) if self.records else settled

        if len(rows_i) <= _SCALAR_ROWS:
            # A few rows (the backtest's held symbols and candidates): scalar reads, ~0.2 µs
            # each, instead of 19 fancy-indexed copies at ~1.5 µs each.
            return [self._scalar_view(i, all_k[i], f8h) for i in rows_i]

        def col1(a: np.ndarray) -> list[float]:
            return [float(x) for x in a[sel, col].tolist()]

        def htf(a: np.ndarray) -> list[float]:
            if b < 0:
                return [float("nan")] * len(rows_i)
            return a[sel, b].astype(np.float64).tolist()  # type: ignore[no-any-return]

        def hflag(a: np.ndarray) -> list[bool]:
            return [bool(x) for x in a[sel, b].tolist()] if b >= 0 else [False] * len(rows_i)

        cols = zip(
            [all_k[i] for i in rows_i],
            lay.eligible[sel, col].tolist(),
            col1(lay.close),
            col1(lay.gap),
            col1(lay.zgap),
            [f8h(i, f) for i, f in zip(rows_i, col1(lay.f8h_last), strict=True)],
            col1(lay.f8h_mean),
            col1(lay.oi_flow),
            htf(cf.rsi),
            htf(cf.adx),
            htf(cf.atr),
            htf(cf.ema),
            htf(cf.htf.close),
            hflag(cf.long_trigger),
            hflag(cf.lower_low),
            hflag(cf.divergence),
            hflag(cf.short_setup),
            htf(cf.tp_level),
            htf(cf.htf.high),
            strict=True,
        )
        return [SymView(i, u.sector_of[i], *vals) for i, vals in zip(rows_i, cols, strict=True)]

    def _scalar_view(self, i: int, k: int, f8h: Callable[[int, float], float]) -> SymView:
        """Row ``i``'s view read value by value (the same values ``symbols`` converts)."""
        lay, cf, col, b = self.lay, self.cf, self.col, self.b
        head = (
            i,
            self.u.sector_of[i],
            k,
            bool(lay.eligible.item(i, col)),
            float(lay.close.item(i, col)),
            float(lay.gap.item(i, col)),
            float(lay.zgap.item(i, col)),
            f8h(i, float(lay.f8h_last.item(i, col))),
            float(lay.f8h_mean.item(i, col)),
            float(lay.oi_flow.item(i, col)),
        )
        if b < 0:
            nan = float("nan")
            return SymView(*head, nan, nan, nan, nan, nan, False, False, False, False, nan, nan)
        htf = cf.htf
        return SymView(
            *head,
            float(cf.rsi.item(i, b)),
            float(cf.adx.item(i, b)),
            float(cf.atr.item(i, b)),
            float(cf.ema.item(i, b)),
            float(htf.close.item(i, b)),
            bool(cf.long_trigger.item(i, b)),
            bool(cf.lower_low.item(i, b)),
            bool(cf.divergence.item(i, b)),
            bool(cf.short_setup.item(i, b)),
            float(cf.tp_level.item(i, b)),
            float(htf.high.item(i, b)),
        )

    def _rank_members(self) -> None:
        """Momentum / shorts: the strongest (hottest) eligible members of each sector, over
        the whole universe whichever rows are evaluated."""
        lay, col, p = self.lay, self.col, self.p
        all_k: list[int] = self.tables.lookup("sector_rows", lambda: self.u.sector_rows)
        if p.entry_mode == "momentum":
            self.top_momentum = top_members(
                all_k,
                lay.eligible[:, col] & ~np.isnan(lay.zgap[:, col]),
                lay.zgap[:, col],
                p.momentum_top_n,
                lay.gap[:, col] > 0,
            )
        if self.spec.shorts_enabled:
            self.top_short = top_members(
                all_k, ~np.isnan(lay.f8h_mean[:, col]), lay.f8h_mean[:, col], p.short_top_n, None
            )

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
