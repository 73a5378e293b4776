"""The report's charts, drawn with plotly (interactive) and Pillow (the static PNG).

Both are the optional ``report`` extra (``pip install 'rotor-bot[report]'``): the daemon never
imports this module, and a backtest without them still writes its data files and says what is
missing. plotly's own JavaScript is embedded once per page, so a report opens offline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest import plotly_page
from bot.backtest.metrics import iso
from bot.backtest.plotly_page import EXTRA_HINT
from bot.backtest.plotly_page import ReportExtraMissing as ReportExtraMissing  # re-exported
from bot.backtest.result import BacktestResult

# Figures are plain plotly specs ({"data": [...], "layout": {...}}), drawn in the page by
# plotly.js itself (``bot.backtest.plotly_page``: the plotly package is read, not imported).
Fig = dict[str, Any]

PALETTE = ("#1f5fbf", "#d9822b", "#2e9e5b", "#b03a8c", "#6b6f76", "#c23b3b", "#17becf", "#8c564b")
POS = "#2e9e5b"
NEG = "#c23b3b"
_CONFIG = {"displaylogo": False, "responsive": True}


def plotly_js() -> str:
    """plotly.js itself, to inline in a ``<script>`` (no CDN: the page works offline)."""
    return plotly_page.plotly_js()


def div(fig: Fig) -> str:
    """The figure as an HTML ``<div>`` plus its inline script (plotly.js loaded once per page)."""
    return plotly_page.div(fig, _CONFIG)


def _dates(ts: np.ndarray) -> list[str]:
    """UTC ISO times for plotly's date axis (``YYYY-MM-DD HH:MM``)."""
    return [str(t)[:16].replace("T", " ") for t in ts.astype("datetime64[ms]")]


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 48, "b": 36},
        "template": plotly_page.template("plotly_white"),
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        **extra,
    }


def _two_rows(split: float) -> dict[str, Any]:
    """Axes of two stacked panels sharing one time axis (the top one ``split`` tall)."""
    return {
        "xaxis": {"anchor": "y", "matches": "x2", "showticklabels": False},
        "xaxis2": {"anchor": "y2"},
        "yaxis": {"domain": [1 - split + 0.03, 1.0]},
        "yaxis2": {"domain": [0.0, 1 - split - 0.01]},
    }


def equity_figure(r: BacktestResult) -> Fig:
    """Equity with every entry (▲) and exit (▼) marked, and the drawdown below it."""
    c = r.curve
    x = _dates(c.ts)
    data: list[dict[str, Any]] = [
        {"type": "scatter", "x": x, "y": c.equity, "name": "equity",
         "line": {"color": PALETTE[0], "width": 1.6}},
        {"type": "scatter", "x": x, "y": -100 * c.drawdown, "name": "drawdown %",
         "xaxis": "x2", "yaxis": "y2", "fill": "tozeroy", "line": {"color": NEG, "width": 1},
         "fillcolor": "rgba(194,59,59,0.25)"},
    ]  # fmt: skip
    for kind, marker, color in (
        ("entry", "triangle-up", PALETTE[1]),
        ("exit", "triangle-down", "#333"),
    ):
        xs, ys, text = _trade_points(r, kind)
        if xs:
            data.append(
                {"type": "scatter", "x": xs, "y": ys, "mode": "markers",
                 "name": f"{kind} ({len(xs)})", "text": text,
                 "hovertemplate": "%{text}<extra></extra>",
                 "marker": {"symbol": marker, "size": 9, "color": color}}
            )  # fmt: skip
    axes = _two_rows(0.72)
    axes["yaxis"]["title"] = {"text": "USDT"}
    axes["yaxis2"]["title"] = {"text": "drawdown %"}
    title = "Equity, trades and drawdown (zoom: drag; reset: double-click)"
    return {"data": data, "layout": _layout(title, 560, **axes)}


def _trade_points(r: BacktestResult, kind: str) -> tuple[list[str], list[float], list[str]]:
    """Entry or exit times placed on the equity curve, with a hover line per trade."""
    c = r.curve
    xs: list[str] = []
    ys: list[float] = []
    text: list[str] = []
    if len(c.ts) == 0:
        return xs, ys, text
    for t in r.trades:
        when = t.entry_time if kind == "entry" else t.exit_time
        if when is None:
            continue
        k = min(int(np.searchsorted(c.ts, when, side="left")), len(c.ts) - 1)
        xs.append(iso(when)[:16].replace("T", " "))
        ys.append(float(c.equity[k]))
        if kind == "entry":
            text.append(
                f"{t.symbol} {t.side.value} {t.sector or ''}<br>entry {iso(t.entry_time)[:16]} "
                f"@ {float(t.entry_price):.6g}, qty {float(t.qty):.6g}"
            )
        else:
            text.append(
                f"{t.symbol} exit {t.exit_reason} @ {float(t.exit_price or 0):.6g}<br>"
                f"PnL {float(t.pnl):,.2f} (fees {float(t.fees):,.2f}, funding {float(t.funding):,.2f})"
            )
    return xs, ys, text


def sector_exposure(r: BacktestResult) -> dict[str, np.ndarray]:
    """Per sector, the notional held at entry prices after each cycle (like ``exposure``)."""
    ts = r.curve.ts
    out: dict[str, np.ndarray] = {}
    for t in r.trades:
        i0 = int(np.searchsorted(ts, t.entry_time, side="left"))
        i1 = len(ts) if t.exit_time is None else int(np.searchsorted(ts, t.exit_time, side="left"))
        if i1 <= i0:
            continue
        row = out.setdefault(t.sector or "none", np.zeros(len(ts)))
        row[i0:i1] += float(t.qty * t.entry_price)
    return dict(sorted(out.items()))


def exposure_figure(r: BacktestResult) -> Fig:
    """Stacked notional per sector over time (what the account was exposed to, and when)."""
    x = _dates(r.curve.ts)
    data = [
        {"type": "scatter", "x": x, "y": row, "name": sector, "stackgroup": "one",
         "mode": "lines", "line": {"width": 0.5, "shape": "hv", "color": PALETTE[k % len(PALETTE)]}}
        for k, (sector, row) in enumerate(sector_exposure(r).items())
    ]  # fmt: skip
    layout = _layout(
        "Exposure per sector", 320, yaxis={"title": {"text": "notional at entry, USDT"}}
    )
    return {"data": data, "layout": layout}


def bar_figure(items: Sequence[tuple[str, float]], title: str) -> Fig:
    """Horizontal bars, green above zero and red below."""
    values = [v for _, v in items]
    data = [
        {"type": "bar", "orientation": "h", "x": values, "y": [g for g, _ in items],
         "marker": {"color": [POS if v >= 0 else NEG for v in values]},
         "hovertemplate": "%{y}: %{x:,.2f} USDT<extra></extra>"}
    ]  # fmt: skip
    layout = _layout(title, 120 + 24 * max(1, len(items)), yaxis={"autorange": "reversed"})
    return {"data": data, "layout": layout}


def compare_figures(results: Sequence[BacktestResult]) -> tuple[Fig, Fig]:
    """Overlaid equity and drawdown curves, and net PnL per exit reason for each preset."""
    data: list[dict[str, Any]] = []
    bars: list[dict[str, Any]] = []
    for k, r in enumerate(results):
        color = PALETTE[k % len(PALETTE)]
        x = _dates(r.curve.ts)
        data.append(
            {"type": "scatter", "x": x, "y": r.curve.equity, "name": r.preset,
             "legendgroup": r.preset, "line": {"color": color, "width": 1.5}}
        )  # fmt: skip
        data.append(
            {"type": "scatter", "x": x, "y": -100 * r.curve.drawdown, "name": r.preset,
             "legendgroup": r.preset, "showlegend": False, "xaxis": "x2", "yaxis": "y2",
             "line": {"color": color, "width": 1}}
        )  # fmt: skip
        items = r.pnl_by_exit_reason()
        bars.append(
            {"type": "bar", "x": [g for g, _, _ in items], "y": [v for _, v, _ in items],
             "name": r.preset, "marker": {"color": color},
             "hovertemplate": "%{x}: %{y:,.2f} USDT<extra>" + r.preset + "</extra>"}
        )  # fmt: skip
    axes = _two_rows(0.7)
    axes["yaxis"]["title"] = {"text": "USDT"}
    axes["yaxis2"]["title"] = {"text": "drawdown %"}
    curves = {
        "data": data,
        "layout": _layout("Equity and drawdown, same data and risk manager", 560, **axes),
    }
    pnl = {
        "data": bars,
        "layout": _layout("Net PnL per exit reason", 360, barmode="group",
                          yaxis={"title": {"text": "net PnL, USDT"}}),
    }  # fmt: skip
    return curves, pnl


def _nice_step(span: float, target: int) -> float:
    """A 1-2-5 × 10^k step giving about ``target`` ticks over ``span``."""
    raw = span / max(target, 1) if span > 0 else 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    return next((m * mag for m in (1, 2, 5) if m * mag >= raw), 10 * mag)


def _month_ticks(t0_ms: int, t1_ms: int, most: int) -> list[datetime]:
    """First days of months in ``[t0, t1]``, every n-th month so at most ``most`` remain."""
    d0 = datetime.fromtimestamp(t0_ms / 1000, tz=UTC)
    d1 = datetime.fromtimestamp(t1_ms / 1000, tz=UTC)
    months = (d1.year - d0.year) * 12 + d1.month - d0.month + 1
    every = max(1, math.ceil(months / most))
    out = []
    y, m = d0.year, d0.month
    for _ in range(months + 1):
        d = datetime(y, m, 1, tzinfo=UTC)
        if d0 <= d <= d1 and (y * 12 + m - 1) % every == 0:
            out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def equity_png(path: Path, ts: np.ndarray, equity: np.ndarray, drawdown: np.ndarray) -> None:
    """``equity.png`` (1000×420): the equity curve over its drawdown band.

    Drawn with Pillow on a 2× canvas and scaled down (anti-aliased lines and text): the same
    picture matplotlib drew, at a tenth of its cost (importing matplotlib alone took ~0.3 s,
    a sixth of a whole ``rotor backtest``).
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:
        raise ReportExtraMissing(f"equity.png needs Pillow: {EXTRA_HINT}") from exc
    k = 2  # supersampling factor
    w, h = 1000 * k, 420 * k
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11 * k)
    left, right, top, bottom, gap = 80 * k, 985 * k, 12 * k, 354 * k, 8 * k
    split = top + (bottom - top - gap) * 3 // 4  # equity panel 3/4, drawdown panel 1/4
    panels = ((top, split), (split + gap, bottom))
    grid, axis, ink = (222, 222, 222), (90, 90, 90), (40, 40, 40)
    n = len(ts)
    t0, t1 = (int(ts[0]), int(ts[-1])) if n else (0, 1)
    tspan = max(t1 - t0, 1)
    xs = left + (ts.astype(np.float64) - t0) * ((right - left) / tspan)

    def y_axis(lo: float, hi: float, y0: int, y1: int, label: str, fmt: str) -> Any:
        if not hi > lo:
            lo, hi = lo - 1.0, hi + 1.0
        pad = (hi - lo) * 0.04
        lo, hi = lo - pad, hi + pad

        def to_y(v: Any) -> Any:
            return y1 - (v - lo) * ((y1 - y0) / (hi - lo))

        step = _nice_step(hi - lo, 5 if y1 - y0 > 300 * k else 3)
        v = math.ceil(lo / step) * step
        while v <= hi:
            y = float(to_y(v))
            draw.line([(left, y), (right, y)], fill=grid, width=k)
            draw.text((left - 6 * k, y), format(v, fmt), fill=ink, font=font, anchor="rm")
            v += step
        draw.text((22 * k, (y0 + y1) / 2), label, fill=ink, font=font, anchor="mm")
        return to_y

    # Vertical grid and date labels under the lower panel.
    for d in _month_ticks(t0, t1, 8):
        x = left + (d.timestamp() * 1000 - t0) * ((right - left) / tspan)
        for y0, y1 in panels:
            draw.line([(x, y0), (x, y1)], fill=grid, width=k)
        draw.text((x, bottom + 6 * k), d.strftime("%Y-%m-%d"), fill=ink, font=font, anchor="mt")
    if n:
        eq_y = y_axis(float(np.min(equity)), float(np.max(equity)), *panels[0], "USDT", ",.0f")
        draw.line(list(zip(xs.tolist(), eq_y(equity).tolist(), strict=True)),
                  fill=PALETTE[0], width=int(1.2 * k + 0.5), joint="curve")  # fmt: skip
        dd = -100.0 * drawdown
        dd_y = y_axis(float(np.min(dd)), 0.0, *panels[1], "DD %", ".0f")
        band = list(zip(xs.tolist(), dd_y(dd).tolist(), strict=True))
        zero = float(dd_y(0.0))
        band_img = Image.new("RGB", (w, h), NEG)
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).polygon([(left, zero), *band, (xs[-1], zero)], fill=int(255 * 0.35))
        img.paste(band_img, (0, 0), mask)
    for y0, y1 in panels:
        draw.rectangle([(left, y0), (right, y1)], outline=axis, width=k)
    img.resize((w // k, h // k), Image.Resampling.LANCZOS).save(path, format="PNG")
