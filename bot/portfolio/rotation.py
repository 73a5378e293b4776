"""Sector states from the futures signals rotor already computes (STRATEGY.md, layer 2).

A sector's spot weight goes up with accumulation and healthy funding (rising open interest
and price, low and stable funding) and down with over-leverage or fading momentum (funding
extreme, open interest falling after a pump). The tests run in a fixed order and the first
that matches names the state; each state carries the inputs it read and a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from bot.portfolio.config import RotationConfig
from bot.portfolio.explain import Explanation, Input, Rule
from bot.signals.evaluation import Evaluation, SectorRow, SymbolRow

STATES = (
    Rule.SECTOR_UNSCORED,
    Rule.SECTOR_OVERLEVERAGED,
    Rule.SECTOR_FADING,
    Rule.SECTOR_ACCUMULATION,
    Rule.SECTOR_NEUTRAL,
)
INVESTABLE = frozenset({Rule.SECTOR_ACCUMULATION, Rule.SECTOR_NEUTRAL})


@dataclass(frozen=True, slots=True)
class SectorSignal:
    """One sector's state and its tilt: ``max(score, 0) × boost`` when investable, else 0."""

    sector: str
    state: Rule
    score: float | None
    tilt: float
    explanation: Explanation

    @property
    def investable(self) -> bool:
        """Accumulation or neutral: the rotational bucket may hold it."""
        return self.state in INVESTABLE


def _fmt(x: float | None, digits: int = 2) -> str:
    """``+1.23%``, or ``n/a`` for an unknown value."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}%}"


def latest_funding(symbols: Sequence[SymbolRow]) -> dict[str, float]:
    """Median over each sector's members of their latest F8h (the "stable" test's input)."""
    by: dict[str, list[float]] = {}
    for r in symbols:
        if r.sector is not None and r.funding_8h is not None and math.isfinite(r.funding_8h):
            by.setdefault(r.sector, []).append(r.funding_8h)
    return {k: float(median(v)) for k, v in by.items()}


def inputs_of(row: SectorRow, funding_now: float | None) -> dict[str, Input]:
    """The score inputs a sector record shows."""
    return {
        "score": row.score,
        "rs_7d": row.rs_7d,
        "rs_30d": row.rs_30d,
        "return_7d": row.return_7d,
        "return_30d": row.return_30d,
        "accel": row.accel,
        "oi_flow": row.oi_flow,
        "oi_missing": row.oi_missing,
        "funding_heat": row.funding_heat,
        "funding_latest": funding_now,
        "heat_threshold": row.heat_threshold,
        "overheated": row.overheated,
        "leader": row.leader,
        "rotated_out": row.rotated_out,
        "eligible_members": row.eligible_members,
    }


def _v(x: float | None) -> float:
    """NaN for an unknown input: every comparison with it is False (no evidence)."""
    return math.nan if x is None else float(x)


def classify(row: SectorRow, funding_now: float | None, cfg: RotationConfig) -> SectorSignal:
    """The state of one sector and its tilt (docs/portfolio.md, "Sector states")."""
    inputs = inputs_of(row, funding_now)
    name = row.sector
    score, heat, now = _v(row.score), _v(row.funding_heat), _v(funding_now)
    ret7, ret30, rs7, accel = _v(row.return_7d), _v(row.return_30d), _v(row.rs_7d), _v(row.accel)
    oi = math.nan if row.oi_missing else row.oi_flow  # missing OI is no evidence either way

    def out(state: Rule, text: str, tilt: float = 0.0) -> SectorSignal:
        return SectorSignal(name, state, row.score, tilt, Explanation(state, text, inputs))

    if not math.isfinite(score):
        return out(
            Rule.SECTOR_UNSCORED,
            f"{name}: no score ({row.eligible_members} eligible members; the signal needs more)",
        )
    if row.overheated:
        return out(
            Rule.SECTOR_OVERLEVERAGED,
            f"{name}: over-leveraged, funding heat {_fmt(heat, digits=4)} per 8h above its "
            f"threshold {_fmt(row.heat_threshold, digits=4)}",
        )
    if oi < 0 and ret30 > 0:
        return out(
            Rule.SECTOR_FADING,
            f"{name}: fading, open interest {_fmt(oi)} over 7d after a {_fmt(ret30)} 30d pump",
        )
    if accel < 0 and rs7 < 0:
        return out(
            Rule.SECTOR_FADING,
            f"{name}: fading momentum, acceleration {_fmt(accel)} and 7d relative strength "
            f"{_fmt(rs7)}",
        )
    positive = max(score, 0.0) if score > cfg.min_score else 0.0
    low = heat <= cfg.healthy_funding_8h
    stable = abs(now - heat) <= cfg.stable_funding_8h
    if oi > 0 and ret7 > 0 and rs7 > 0 and low and stable:
        tilt = positive * cfg.accumulation_boost
        return out(
            Rule.SECTOR_ACCUMULATION,
            f"{name}: accumulation, open interest {_fmt(oi)} and price {_fmt(ret7)} over 7d "
            f"with funding {_fmt(heat, digits=4)} (latest {_fmt(now, digits=4)}) low and "
            f"stable; tilt = score {score:.2f} × boost {cfg.accumulation_boost:g} = {tilt:.2f}",
            tilt,
        )
    why = "open interest unknown" if row.oi_missing else "no accumulation"
    return out(
        Rule.SECTOR_NEUTRAL,
        f"{name}: neutral ({why}); tilt = score {score:.2f}"
        + ("" if score > cfg.min_score else f" ≤ min_score {cfg.min_score:g} → 0"),
        positive,
    )


def sector_signals(ev: Evaluation, cfg: RotationConfig) -> dict[str, SectorSignal]:
    """Every rotation sector of the evaluation, classified."""
    now = latest_funding(ev.symbols)
    return {row.sector: classify(row, now.get(row.sector), cfg) for row in ev.sectors}
