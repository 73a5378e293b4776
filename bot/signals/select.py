"""Which symbols and sectors can act at one index: vectorised pre-selection over the tables.

Every entry rule has a necessary condition that is cheap over the whole universe (the
confirmation, the laggard gap, a sector's strongest members); ``decide`` evaluates symbol by
symbol only the rows that pass it, plus the held ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bot.data.panel import HOUR_MS
from bot.signals.evaluation import PositionView
from bot.signals.params import StrategySpec
from bot.signals.tables import Tables, eval_points


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


def top_members(
    sector_rows: list[int], ok: np.ndarray, key: np.ndarray, n: int, keep: np.ndarray | None
) -> set[int]:
    """Per rotation sector, the ``n`` members with the highest ``key`` among ``ok`` ones
    (ties by panel order, like a stable sort), then only those with ``keep``."""
    k = np.asarray(sector_rows)
    idx = np.flatnonzero(ok & (k >= 0))
    if idx.size == 0:
        return set()
    order = idx[np.lexsort((idx, -key[idx], k[idx]))]
    out: set[int] = set()
    taken: dict[int, int] = {}
    for i in order.tolist():
        g = int(k[i])
        c = taken.get(g, 0)
        if c < n:
            taken[g] = c + 1
            if keep is None or bool(keep[i]):
                out.add(i)
    return out


def confirmed_by_bar(tables: Tables, spec: StrategySpec) -> np.ndarray:
    """[B, S] bool: the confirmation every entry needs, one contiguous row per bar."""

    def build() -> np.ndarray:
        p, cf = spec.params, tables.confirm
        m = cf.long_trigger & (cf.adx < p.adx_max)
        if p.require_lower_low:
            m &= cf.lower_low
        return np.ascontiguousarray(m.T)

    return tables.lookup("confirmed", build)  # type: ignore[no-any-return]


def active_rows(
    tables: Tables, col: int, b: int, spec: StrategySpec, positions: Sequence[PositionView]
) -> list[int]:
    """Rows that can produce an intent at ``col``: held symbols plus every symbol passing a
    necessary condition of its entry rule (confirmation, or the candidate test without it)."""
    p = spec.params
    u = tables.universe
    lay = tables.layers
    cf = tables.confirm
    index = tables.lookup("index", lambda: {s: i for i, s in enumerate(u.symbols)})
    rows = {index[ps.symbol] for ps in positions if ps.symbol in index}
    if p.confirm:
        if b >= 0:
            rows.update(np.flatnonzero(confirmed_by_bar(tables, spec)[b]).tolist())
    elif p.entry_mode == "rsi":
        rows.update(np.flatnonzero(np.isfinite(lay.close[:, col])).tolist())
    elif p.entry_mode == "laggard":
        m = (lay.gap[:, col] <= p.gap_max) & (lay.zgap[:, col] <= p.zgap_max)
        rows.update(np.flatnonzero(m).tolist())
    else:
        rows.update(
            top_members(
                u.sector_rows,
                lay.eligible[:, col] & ~np.isnan(lay.zgap[:, col]),
                lay.zgap[:, col],
                p.momentum_top_n,
                lay.gap[:, col] > 0,
            )
        )
    if spec.shorts_enabled and b >= 0:
        rows.update(np.flatnonzero(cf.short_setup[:, b]).tolist())
    return sorted(rows)


def entry_bars(tables: Tables, spec: StrategySpec) -> np.ndarray:
    """[W] bool over the tables' window (panel index ``base + w``): some symbol passes the
    necessary condition of ``active_rows`` there, so an entry intent may be born. A superset:
    a bar left False has no entry whatever the positions; the momentum ranking (no cheap
    whole-window form) and columns not computed are always True."""

    def build() -> np.ndarray:
        p = spec.params
        lay, cf = tables.layers, tables.confirm
        cols, bars = tables.columns(), tables.htf_bars()
        n_b = cf.long_trigger.shape[1]

        def per_bar(any_b: Any) -> np.ndarray:  # [B] -> [W] through each index's bar
            padded = np.append(any_b, False)  # bar -1 (none completed yet): index n_b
            return padded[np.where(bars >= 0, bars, n_b)]

        def per_col(any_c: Any) -> np.ndarray:  # [C] -> [W]; not computed: True
            return np.where(cols >= 0, np.append(any_c, True)[cols], True)

        if p.confirm:
            m = cf.long_trigger & (cf.adx < p.adx_max)
            if p.require_lower_low:
                m &= cf.lower_low
            out = per_bar(m.any(axis=0)) | (cols < 0)
        elif p.entry_mode == "rsi":
            out = per_col(np.isfinite(lay.close).any(axis=0))
        elif p.entry_mode == "laggard":
            m = (lay.gap <= p.gap_max) & (lay.zgap <= p.zgap_max)
            out = per_col(m.any(axis=0))
        else:
            out = np.ones(len(cols), dtype=bool)
        if spec.shorts_enabled:
            out = out | per_bar(cf.short_setup.any(axis=0))
        return out

    return tables.lookup("entry_bars", build)  # type: ignore[no-any-return]


def entry_rows(tables: Tables, spec: StrategySpec, w: int) -> frozenset[int] | None:
    """The rows passing, at window index ``w``, the necessary condition ``entry_bars`` tests
    (the rows ``active_rows`` adds beside the held ones); None when it cannot name them
    (the momentum ranking, a column not computed): any row may enter."""
    p = spec.params
    col, b = int(tables.columns()[w]), int(tables.htf_bars()[w])
    if col < 0:
        return None
    cf, lay = tables.confirm, tables.layers
    if p.confirm:
        rows = np.flatnonzero(confirmed_by_bar(tables, spec)[b]) if b >= 0 else np.empty(0, int)
    elif p.entry_mode == "rsi":
        rows = np.flatnonzero(np.isfinite(lay.close[:, col]))
    elif p.entry_mode == "laggard":
        rows = np.flatnonzero((lay.gap[:, col] <= p.gap_max) & (lay.zgap[:, col] <= p.zgap_max))
    else:
        return None
    out = set(rows.tolist())
    if spec.shorts_enabled and b >= 0:
        out.update(np.flatnonzero(cf.short_setup[:, b]).tolist())
    return frozenset(out)
