"""What ``rotor scan`` shows: one evaluation as plain data (STRATEGY.md, "Output").

A scan reads a Panel from any source (a data directory, or a venue) and an "as of" index;
``scan_panel`` drops everything after that index first, so the report can only use bars
closed, funding settled and OI stamped by then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.data.panel import Panel
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation


def iso(ms: int | None) -> str | None:
    """UTC ISO-8601 with a ``Z`` suffix."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_of_index(panel: Panel, at_ms: int | None) -> int:
    """Index of the last bar closed at or before ``at_ms`` (the last bar when None)."""
    if panel.n_bars == 0:
        raise ValueError("the panel has no bars")
    if at_ms is None:
        return panel.n_bars - 1
    j = panel.bar_at_or_before(at_ms)
    if j < 0:
        raise ValueError(f"no bar has closed by {iso(at_ms)} (data starts {iso(int(panel.ts[0]))})")
    return j


def scan_panel(engine: SignalEngine, panel: Panel, j: int) -> Evaluation:
    """Evaluate at bar ``j`` on the panel truncated after ``j`` (the live path)."""
    # The live path only reads bars up to j; copying a panel it already ends at is waste.
    view = panel if j == panel.n_bars - 1 else panel.truncate(j + 1)
    return engine.evaluate(view, j)


def inputs(ev: Evaluation) -> dict[str, Any]:
    """What the evaluation had to work with, over the rotation members (STRATEGY.md:
    missing funding or OI degrades a layer, and that must be visible)."""
    rows = ev.sectors
    return {
        "symbols": len(ev.symbols),
        "members": sum(s.members for s in rows),
        "listed": sum(s.listed_members for s in rows),
        "eligible": sum(s.eligible_members for s in rows),
        "with_oi": sum(s.oi_members for s in rows),
        "with_funding": sum(s.funding_members for s in rows),
        "scorable_sectors": sum(1 for s in rows if s.score is not None),
        "sectors": len(rows),
    }


def scan_report(ev: Evaluation) -> dict[str, Any]:
    """The ``--json`` object: ``t``, ``regime``, ``sectors`` and every symbol."""
    return {
        "t": iso(ev.t),
        "regime": {
            "risk_on": ev.regime.risk_on,
            "known": ev.regime.known,
            "alt_btc_slope": ev.regime.alt_btc_slope,
            "breadth": ev.regime.breadth,
            "alts": ev.regime.alts,
        },
        "inputs": inputs(ev),
        "sectors": [
            {
                "sector": s.sector,
                "members": s.members,
                "listed_members": s.listed_members,
                "eligible_members": s.eligible_members,
                "oi_members": s.oi_members,
                "funding_members": s.funding_members,
                "return_7d": s.return_7d,
                "return_30d": s.return_30d,
                "rs_7d": s.rs_7d,
                "rs_30d": s.rs_30d,
                "accel": s.accel,
                "oi_flow": s.oi_flow,
                "oi_missing": s.oi_missing,
                "funding_heat": s.funding_heat,
                "overheated": s.overheated,
                "score": s.score,
                "leader": s.leader,
            }
            for s in ev.sectors
        ],
        "symbols": [
            {
                "symbol": r.symbol,
                "sector": r.sector,
                "eligible": r.eligible,
                "timeframe": r.timeframe,
                "bar_time": iso(r.bar_time),
                "close": r.close,
                "gap": r.gap,
                "zgap": r.zgap,
                "rsi": r.rsi,
                "adx": r.adx,
                "atr": r.atr,
                "funding_8h": r.funding_8h,
                "oi_flow": r.oi_flow,
                "candidate": r.candidate,
                "confirmed": r.confirmed,
                "action": r.action,
                "reasons": list(r.reasons),
            }
            for r in ev.symbols
        ],
    }
