"""Turn the tables at one 1h index into an :class:`Evaluation` (entries, exits, records).

STRATEGY.md: layer 3 candidates and confirmation, the funding filter, ``risk_off_action``,
ranking ``-zgap × max(S_s, 0)``, exits, shorts and the hedge, the stop policy, and one
explainable decision record per symbol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from bot.data.panel import HOUR_MS
from bot.domain import Action, Decision, PositionSide
from bot.signals import rules
from bot.signals.evaluation import (
    EntryIntent,
    Evaluation,
    ExitIntent,
    HedgeIntent,
    PositionView,
    RegimeRow,
    SectorRow,
    SymbolRow,
)
from bot.signals.params import StrategySpec
from bot.signals.rules import SymView
from bot.signals.tables import Tables, eval_points

_NONE, _EXIT, _LONG, _SHORT = Action.NONE, Action.EXIT, Action.ENTER_LONG, Action.ENTER_SHORT
_SCORE_FIELDS = ("gap", "zgap", "rsi", "adx", "f8h", "oi_flow", "atr", "close")
_VALUE = {a: a.value for a in Action}  # enum .value lookups are slow in a hot loop


def _f(x: float) -> float | None:
    """A float for output, None for NaN/inf."""
    return x if x - x == 0 else None  # NaN - NaN and inf - inf are NaN


def rotated_out(tables: Tables, j: int, n: int) -> np.ndarray:
    """[K] bool: not a leader at each of the last ``n`` entry-timeframe closes (all known)."""
    k = tables.universe.n_sectors
    out = np.ones(k, dtype=bool)
    for close_ms in eval_points(tables.close_time(j), n, tables.tf_hours):
        jj = j - (tables.close_time(j) - close_ms) // HOUR_MS
        col = tables.column(int(jj)) if jj >= tables.base else -1
        if col < 0:
            return np.zeros(k, dtype=bool)
        out &= ~tables.layers.leader[:, col]
    return out


def evaluate_tables(
    tables: Tables,
    j: int,
    spec: StrategySpec,
    stop_max_pct: float,
    positions: Sequence[PositionView] = (),
    predicted_f8h: Mapping[str, float] | None = None,
) -> Evaluation:
    """The evaluation at the close of 1h panel index ``j``."""
    p = spec.params
    u = tables.universe
    lay = tables.layers
    cf = tables.confirm
    col = tables.column(j)
    if col < 0:
        raise IndexError(f"index {j} was not computed by this engine run")
    t = tables.close_time(j)
    b = tables.htf_bar(j)
    slope = float(lay.alt_btc_slope[col])
    risk_on = math.isfinite(slope) and slope > 0
    regime = RegimeRow(risk_on, _f(slope), _f(lay.breadth[col]))
    out_mask = rotated_out(tables, j, p.rotation_out_evals)
    sectors = [
        SectorRow(
            sector=s,
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
            rotated_out=bool(out_mask[k]),
        )
        for k, s in enumerate(u.sectors)
    ]
    pred = predicted_f8h or {}
    n_s = len(u.symbols)

    def col1(a: np.ndarray) -> list[float]:
        return [float(x) for x in a[:, col].tolist()]

    def htf(a: np.ndarray) -> list[float]:
        return a[:, b].astype(np.float64).tolist() if b >= 0 else [float("nan")] * n_s

    def hflag(a: np.ndarray) -> list[bool]:
        return [bool(x) for x in a[:, b].tolist()] if b >= 0 else [False] * n_s

    # Bulk column extraction: one numpy -> list conversion per field, not per symbol.
    f8h_last = col1(lay.f8h_last)
    cols = zip(
        u.sector_rows,
        lay.eligible[:, col].tolist(),
        col1(lay.close),
        col1(lay.gap),
        col1(lay.zgap),
        [pred.get(name, f) for name, f in zip(u.symbols, f8h_last, strict=True)],
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
    syms = [SymView(i, u.sector_of[i], *vals) for i, vals in enumerate(cols)]
    by_pos = {ps.symbol: ps for ps in positions}
    # Momentum: the strongest eligible members of each sector by zgap.
    top_momentum: set[int] = set()
    top_short: set[int] = set()
    by_sector: list[list[SymView]] = [[] for _ in range(u.n_sectors)]
    for sy in syms:
        if sy.k >= 0:
            by_sector[sy.k].append(sy)
    for group in by_sector:
        strong = sorted(
            (x for x in group if x.eligible and x.zgap == x.zgap), key=lambda x: -x.zgap
        )
        top_momentum.update(x.i for x in strong[: p.momentum_top_n] if x.gap > 0)
        hot = sorted((x for x in group if x.f8h_mean == x.f8h_mean), key=lambda x: -x.f8h_mean)
        top_short.update(x.i for x in hot[: p.short_top_n])

    entries: list[EntryIntent] = []
    exits: list[ExitIntent] = []
    rows: list[SymbolRow] = []
    decisions: list[Decision] = []
    tf_ms = tables.tf_hours * HOUR_MS
    longs_open = any(ps.side is PositionSide.LONG and not ps.hedge for ps in positions)
    bar_time = int(cf.htf.ts[b]) if b >= 0 else None
    # Output values (None for NaN) for every symbol, converted once per field.
    out_cols = [
        [v if v - v == 0 else None for v in (getattr(x, f) for x in syms)] for f in _SCORE_FIELDS
    ]
    out_vals = list(zip(*out_cols, strict=True))
    for s in syms:
        name = u.symbols[s.i]
        reasons: list[str] = []
        action = _NONE
        sec_row = sectors[s.k] if s.k >= 0 else None
        score = sec_row.score if sec_row else None
        is_bench = s.i == u.benchmark
        # ---- candidate (layer 3 / preset entry rule)
        candidate = False
        if p.entry_mode == "rsi":
            candidate = (s.sector is not None or is_bench) and math.isfinite(s.close)
            if not candidate:
                reasons.append("unmapped" if s.sector is None else "no_bar")
        elif s.sector is None:
            reasons.append("benchmark" if is_bench else "unmapped")
        elif not s.eligible:
            reasons.append("not_eligible")
        elif sec_row is None or not lay.scorable[s.k, col]:
            reasons.append("sector_not_scorable")
        elif p.entry_mode == "laggard":
            gap_ok = s.gap <= p.gap_max
            z_ok = s.zgap <= p.zgap_max
            candidate = gap_ok and z_ok
            if not gap_ok:
                reasons.append("gap_above_max")
            if not z_ok:
                reasons.append("zgap_above_max")
        else:
            candidate = s.i in top_momentum
            if not candidate:
                reasons.append("not_strongest_member")
        leader_ok = True
        if p.require_leader and p.entry_mode != "rsi" and s.sector is not None:
            leader_ok = bool(sec_row and sec_row.leader)
            if candidate and not leader_ok:
                reasons.append("sector_not_leader")
        # ---- confirmation on the entry timeframe
        confirmed = True
        if p.confirm:
            confirmed = s.trigger and s.adx < p.adx_max
            if p.require_lower_low:
                confirmed = confirmed and s.lower_low
            if candidate and leader_ok:
                if not s.trigger:
                    reasons.append(f"rsi_no_{p.entry_trigger}")
                if not s.adx < p.adx_max:
                    reasons.append("adx_trending")
                if p.require_lower_low and not s.lower_low:
                    reasons.append("no_lower_low")
        # ---- exits for an open position
        pos = by_pos.get(name)
        if pos is not None:
            tp = rules.tp_at_entry(tables, s.i, pos.entry_ms, b) if p.take_profit else float("nan")
            why = rules.exit_reasons(spec, s, pos, sec_row, risk_on, longs_open, t, tf_ms, tp)
            if why:
                action = _EXIT
                reasons = list(why)
                exits.append(ExitIntent(name, pos.side, why))
            else:
                reasons = ["holding"]
        elif candidate and leader_ok and confirmed:
            reasons = rules.entry_reasons(spec, s, sec_row)
            blocked = rules.filters(spec, s, risk_on)
            stop = rules.stop_distance(spec, s, stop_max_pct)
            if stop is None:
                blocked.append("no_atr")
            if blocked:
                reasons += blocked
            else:
                action = _LONG
                half = not risk_on and p.risk_off_action == "half"
                if half:
                    reasons.append("risk_off_half")
                entries.append(
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
        elif (
            spec.shorts_enabled
            and sec_row is not None
            and sec_row.overheated
            and (sec_row.accel or 0.0) < 0
            and s.i in top_short
            and s.eligible
            and s.short_setup
        ):
            stop = rules.stop_distance(spec, s, stop_max_pct)
            if stop is not None and math.isfinite(s.close):
                action = _SHORT
                reasons = ["overheated_sector", "accel_negative", "top_funding", "rsi_overbought"]
                entries.append(
                    EntryIntent(
                        name,
                        PositionSide.SHORT,
                        s.sector,
                        s.f8h_mean,
                        s.close,
                        stop,
                        1.0,
                        None,
                        tuple(reasons),
                    )
                )
        if is_bench and pos is None and spec.hedge_enabled and not risk_on and longs_open:
            action = _SHORT
            reasons = ["hedge", "risk_off", "net_long"]
        if candidate and leader_ok and not confirmed and not reasons:
            reasons.append("not_confirmed")
        if action is _NONE and not reasons:
            reasons.append("no_signal")
        sc: dict[str, float | None] = {"S": score}
        sc.update(zip(_SCORE_FIELDS, out_vals[s.i], strict=True))
        why_t = tuple(reasons)
        decisions.append(Decision(t, name, s.sector, action, why_t, sc))
        rows.append(
            SymbolRow(
                symbol=name,
                sector=s.sector if s.sector is not None else ("benchmark" if is_bench else None),
                eligible=s.eligible,
                timeframe=spec.entry_timeframe,
                bar_time=bar_time,
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
    entries.sort(key=lambda e: (-e.rank, e.symbol))
    hedge = None
    if spec.hedge_enabled and not risk_on and longs_open and u.benchmark >= 0:
        bench = u.symbols[u.benchmark]
        if not any(ps.symbol == bench and ps.side is PositionSide.SHORT for ps in positions):
            hedge = HedgeIntent(bench, spec.hedge_ratio, ("risk_off", "net_long"))
    return Evaluation(
        t=t,
        index=j,
        preset=spec.preset,
        regime=regime,
        sectors=sectors,
        symbols=rows,
        decisions=decisions,
        entries=entries,
        exits=exits,
        hedge=hedge,
        flags={"htf_bar": b},
    )
