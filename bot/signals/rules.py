"""Per-symbol rules of one evaluation: entry reasons and filters, stops, ranking, exits.

STRATEGY.md: the funding filter, ``risk_off_action``, ranking ``-zgap × max(S_s, 0)``, the stop
policy ``clamp(1.5·ATR/price, 2%, d_max)`` or fixed, and the exit rules (shorts mirror longs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bot.data.panel import HOUR_MS
from bot.domain import PositionSide
from bot.signals.evaluation import PositionView, SectorRow
from bot.signals.params import StrategySpec
from bot.signals.tables import Tables


@dataclass(slots=True)
class SymView:
    """Scalar view of one symbol at the evaluation time."""

    i: int
    sector: str | None
    k: int
    eligible: bool
    close: float
    gap: float
    zgap: float
    f8h: float
    f8h_mean: float
    oi_flow: float
    rsi: float
    adx: float
    atr: float
    ema: float
    tf_close: float
    trigger: bool
    lower_low: bool
    divergence: bool
    short_setup: bool
    tp_level: float
    tf_high: float


def tp_at_entry(tables: Tables, i: int, entry_ms: int, b: int) -> float:
    """Take-profit level fixed at entry: the highest high of the bars completed by then.

    NaN until a bar that completed after the entry exists (bar ``b``), so an entry bar that
    is itself the highest high does not take profit on its own high.
    """
    htf = tables.confirm.htf
    closes = htf.ts + tables.tf_hours * HOUR_MS
    be = int(np.searchsorted(closes, entry_ms, side="right")) - 1
    return float(tables.confirm.tp_level[i, be]) if 0 <= be < b else float("nan")


def entry_reasons(spec: StrategySpec, s: SymView, leader: bool) -> list[str]:
    """Why a long enters; ``leader``: its sector leads."""
    p = spec.params
    out = {"laggard": ["laggard"], "momentum": ["strongest_member"], "rsi": ["rsi_reversion"]}[
        p.entry_mode
    ]
    out = list(out)
    if leader:
        out.append("leader_sector")
    if p.confirm:
        out += [f"rsi_{p.entry_trigger}", "adx_range"]
        if p.require_lower_low:
            out.append("lower_low")
    if p.divergence and s.divergence:
        out.append("bullish_divergence")
    if p.funding_filter and not math.isfinite(s.f8h):
        # No settlement in the last day: the filter cannot judge, and the record says so.
        out.append("funding_unknown")
    return out


def filters(spec: StrategySpec, s: SymView, risk_on: bool, regime_known: bool = True) -> list[str]:
    """Reasons that block an entry (an empty list lets it through)."""
    p = spec.params
    out: list[str] = []
    if not math.isfinite(s.close):
        out.append("no_bar")
    if p.funding_filter and math.isfinite(s.f8h) and s.f8h > p.funding_max_8h:
        out.append("funding_hot")
    if not risk_on and p.risk_off_action == "block":
        # An unknown regime (no benchmark bar, no weighable alt) counts as risk-off, visibly.
        out.append("risk_off_block" if regime_known else "regime_unknown_block")
    return out


def stop_distance(spec: StrategySpec, s: SymView, d_max: float) -> float | None:
    """STRATEGY.md, "Exits": ``clamp(1.5·ATR/price, 2%, d_max)`` or the fixed percentage."""
    if spec.stop_mode == "fixed":
        return spec.stop_pct
    if not (math.isfinite(s.atr) and math.isfinite(s.close) and s.close > 0):
        return None
    raw = spec.params.atr_stop_mult * s.atr / s.close
    return float(min(max(raw, spec.params.stop_min_pct), d_max))


def rank(spec: StrategySpec, s: SymView, score: float | None) -> float:
    p = spec.params
    bonus = p.divergence_bonus if (p.divergence and s.divergence) else 0.0
    if p.rank_by == "zgap_score":
        return -s.zgap * max(score or 0.0, 0.0) + bonus
    if p.rank_by == "zgap":
        return -s.zgap + bonus
    if p.rank_by == "momentum":
        return s.zgap + bonus
    return (100.0 - s.rsi) + bonus


def exit_reasons(
    spec: StrategySpec,
    s: SymView,
    pos: PositionView,
    sec_row: SectorRow | None,
    t: int,
    tf_ms: int,
    tp: float,
) -> tuple[str, ...]:
    """STRATEGY.md, "Exits" (shorts mirror the long rules)."""
    p = spec.params
    long = pos.side is PositionSide.LONG
    why: list[str] = []
    sign = 1.0 if long else -1.0
    hit = {
        "rsi": sign * (s.rsi - (p.exit_rsi if long else 100.0 - p.exit_rsi)) >= 0,
        "ema": sign * (s.tf_close - s.ema) >= 0,
        "gap": sign * (s.gap - sign * p.exit_gap) >= 0,
        "none": False,
    }[p.exit_rule]
    if hit:  # NaN comparisons are False, so missing indicators never trigger an exit
        why.append(f"exit_{p.exit_rule}")
    if p.time_stop_bars > 0:
        held = t // tf_ms - pos.entry_ms // tf_ms
        if held >= p.time_stop_bars:
            why.append("time_stop")
    if p.rotation_exit and long and sec_row is not None and sec_row.rotated_out:
        why.append("rotation_out")
    if p.take_profit and long and math.isfinite(tp) and s.tf_high >= tp:
        why.append("take_profit")
    return tuple(why)


def exit_bars(
    tables: Tables,
    spec: StrategySpec,
    i: int,
    k: int,
    pos: PositionView,
    lo: int = 0,
    hi: int | None = None,
) -> np.ndarray:
    """[hi - lo] bool over the window indices ``lo ≤ w < hi`` (panel index ``base + w``;
    default the whole window): where ``exit_reasons`` may give the position held in row ``i``
    (rotation sector ``k``) a reason, each rule tested on the same values (a superset: the
    rotation exit only on its latest point)."""
    p = spec.params
    long = pos.side is PositionSide.LONG
    sign = 1.0 if long else -1.0
    cols, bars = tables.columns()[lo:hi], tables.htf_bars()[lo:hi]
    all_cols = tables.columns()
    cf, lay, htf = tables.confirm, tables.layers, tables.confirm.htf
    has_b, b0 = bars >= 0, np.maximum(bars, 0)

    def at_bar(a: np.ndarray) -> np.ndarray:  # row i at each index's bar; NaN before bar 0
        return np.where(has_b, a[i, b0], np.nan)

    out = np.zeros(len(bars), dtype=bool)
    with np.errstate(invalid="ignore"):
        if p.exit_rule == "rsi":
            out |= sign * (at_bar(cf.rsi) - (p.exit_rsi if long else 100.0 - p.exit_rsi)) >= 0
        elif p.exit_rule == "ema":
            out |= sign * (at_bar(htf.close) - at_bar(cf.ema)) >= 0
        elif p.exit_rule == "gap":
            gap = np.where(cols >= 0, lay.gap[i, np.maximum(cols, 0)], np.inf * sign)
            out |= sign * (gap - sign * p.exit_gap) >= 0
        tf_ms = tables.tf_hours * HOUR_MS
        close_ms = tables.ts[lo:hi] + HOUR_MS
        if p.time_stop_bars > 0:
            out |= close_ms // tf_ms - pos.entry_ms // tf_ms >= p.time_stop_bars
        if p.rotation_exit and long and k >= 0:
            if p.rotation_out_evals <= 0:
                out[:] = True
            else:  # rotated out needs "not a leader" at the latest entry-timeframe close
                w_e = (
                    lo + np.arange(len(bars)) - (close_ms - (close_ms // tf_ms) * tf_ms) // HOUR_MS
                )
                c_e = np.where(w_e >= 0, all_cols[np.maximum(w_e, 0)], -1)
                out |= (c_e >= 0) & ~lay.leader[k, np.maximum(c_e, 0)]
        if p.take_profit and long:
            closes = htf.ts + tables.tf_hours * HOUR_MS
            be = int(np.searchsorted(closes, pos.entry_ms, side="right")) - 1
            if be >= 0:
                out |= (bars > be) & (at_bar(htf.high) >= float(cf.tp_level[i, be]))
    return out
