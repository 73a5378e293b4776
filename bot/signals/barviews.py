"""The views of one bar an evaluation decides on: sector rows and per-symbol scalar views.

``BarViews`` is a mixin of ``bot.signals.decide._BarEvaluation``: what the bar at index
``j`` looks like (``sector_row``, ``symbols``, the members ranked for momentum and shorts),
read from the tables and built only for the rows a caller needs. The decision rules that
read these views stay in ``bot.signals.decide``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from bot.signals.confirm import Confirm
from bot.signals.evaluation import PositionView, SectorRow
from bot.signals.layers import Layers
from bot.signals.params import SignalParams, StrategySpec
from bot.signals.rules import SymView
from bot.signals.select import active_rows, rotated_out, top_members
from bot.signals.tables import Tables
from bot.signals.universe import Universe

# Up to this many rows, ``symbols`` reads scalars instead of slicing each table.
_SCALAR_ROWS = 12


def _f(x: float) -> float | None:
    """A float for output, None for NaN/inf."""
    return x if x - x == 0 else None  # NaN - NaN and inf - inf are NaN


class BarViews:
    """Mixin of ``_BarEvaluation``: the sector rows and symbol views at one index. The
    host's constructor sets the state below."""

    tables: Tables
    j: int
    spec: StrategySpec
    p: SignalParams
    u: Universe
    lay: Layers
    cf: Confirm
    col: int
    b: int
    positions: Sequence[PositionView]
    pred: Mapping[str, float]
    records: bool
    settled: frozenset[str]
    _rotation: np.ndarray | None
    _sectors: dict[int, SectorRow]
    top_momentum: set[int]
    top_short: set[int]

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
