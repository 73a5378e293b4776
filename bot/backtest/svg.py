"""Inline SVG charts for the self-contained HTML report (no scripts, no external files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from itertools import pairwise

import numpy as np

PALETTE = ("#1f5fbf", "#d9822b", "#2e9e5b", "#b03a8c", "#6b6f76", "#c23b3b")
POS = "#2e9e5b"
NEG = "#c23b3b"


@dataclass(frozen=True, slots=True)
class Series:
    """One line: UTC ms on x, values on y."""

    label: str
    ts: np.ndarray
    values: np.ndarray
    color: str = PALETTE[0]


def _decimate(ts: np.ndarray, v: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ~2 points per bucket (each bucket's min and max, in time order)."""
    n = len(v)
    if n <= 2 * buckets:
        return ts, v
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep: list[int] = []
    for a, b in pairwise(edges.tolist()):
        if b <= a:
            continue
        seg = v[a:b]
        i, k = a + int(np.argmin(seg)), a + int(np.argmax(seg))
        keep.extend(sorted({i, k}))
    idx = np.array(keep, dtype=int)
    return ts[idx], v[idx]


def _date(ts_ms: float) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def line_chart(
    series: Sequence[Series],
    *,
    width: int = 960,
    height: int = 300,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    area: bool = False,
    invert: bool = False,
    title: str = "",
) -> str:
    """A multi-line (or filled area) time chart with a y grid, date ticks and a legend."""
    left, right, top, bottom = 70, 36, 28 if title else 12, 28
    pw, ph = width - left - right, height - top - bottom
    live = [s for s in series if len(s.values)]
    if not live:
        return f'<svg width="{width}" height="{height}" role="img"></svg>'
    t0 = min(float(s.ts[0]) for s in live)
    t1 = max(float(s.ts[-1]) for s in live)
    lo = min(float(np.nanmin(s.values)) for s in live)
    hi = max(float(np.nanmax(s.values)) for s in live)
    if area:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    span_t = max(t1 - t0, 1.0)

    def x(t: float) -> float:
        return left + pw * (t - t0) / span_t

    def y(v: float) -> float:
        frac = (v - lo) / (hi - lo)
        return top + (frac if invert else 1.0 - frac) * ph

    out = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        'font-family="sans-serif" font-size="11">'
    ]
    if title:
        out.append(
            f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'
        )
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        yy = y(v)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e2e6ec"/>'
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">{escape(fmt(v))}</text>'
        )
    for k in range(6):
        t = t0 + span_t * k / 5
        xx = x(t)
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{top + ph}" stroke="#f0f2f5"/>'
            f'<text x="{xx:.1f}" y="{height - 8}" text-anchor="middle" fill="#555">{_date(t)}</text>'
        )
    for s in live:
        ts, vs = _decimate(s.ts.astype(np.float64), s.values.astype(np.float64), pw)
        pts = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(ts, vs, strict=True) if v == v)
        if area:
            base = y(0.0)
            poly = f"{x(float(ts[0])):.1f},{base:.1f} {pts} {x(float(ts[-1])):.1f},{base:.1f}"
            out.append(
                f'<polygon points="{poly}" fill="{s.color}" fill-opacity="0.35" stroke="{s.color}"/>'
            )
        else:
            out.append(
                f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="1.6"/>'
            )
    if len(live) > 1:
        lx = left + 10
        for s in live:
            out.append(
                f'<rect x="{lx}" y="{top + 6}" width="12" height="3" fill="{s.color}"/>'
                f'<text x="{lx + 16}" y="{top + 11}">{escape(s.label)}</text>'
            )
            lx += 24 + 7 * len(s.label)
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    width: int = 460,
    bar_h: int = 22,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    title: str = "",
) -> str:
    """Horizontal bars around a zero line: green for gains, red for losses."""
    top = 26 if title else 6
    height = top + bar_h * max(1, len(rows)) + 8
    label_w, value_w = 120, 70
    pw = width - label_w - value_w
    m = max((abs(v) for _, v in rows), default=1.0) or 1.0
    has_neg = any(v < 0 for _, v in rows)
    zero = label_w + (pw / 2 if has_neg else 0)
    scale = (pw / 2 if has_neg else pw) / m
    out = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        'font-family="sans-serif" font-size="11">'
    ]
    if title:
        out.append(f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>')
    for k, (label, v) in enumerate(rows):
        yy = top + k * bar_h
        w = abs(v) * scale
        xx = zero - w if v < 0 else zero
        color = NEG if v < 0 else POS
        out.append(
            f'<text x="{label_w - 6}" y="{yy + bar_h * 0.65:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{xx:.1f}" y="{yy + 3}" width="{max(w, 0.5):.1f}" height="{bar_h - 6}" fill="{color}"/>'
            f'<text x="{width - 4}" y="{yy + bar_h * 0.65:.1f}" text-anchor="end">{escape(fmt(v))}</text>'
        )
    out.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{height - 6}" stroke="#888"/></svg>'
    )
    return "".join(out)
