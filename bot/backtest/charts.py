"""The report's charts, drawn with plotly (interactive) and matplotlib (the static PNG).

Both are the optional ``report`` extra (``pip install 'rotor-bot[report]'``): the daemon never
imports this module, and a backtest without them still writes its data files and says what is
missing. plotly's own JavaScript is embedded once per page, so a report opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.backtest.metrics import iso
from bot.backtest.result import BacktestResult

if TYPE_CHECKING:
    import plotly.graph_objects as go

PALETTE = ("#1f5fbf", "#d9822b", "#2e9e5b", "#b03a8c", "#6b6f76", "#c23b3b", "#17becf", "#8c564b")
POS = "#2e9e5b"
NEG = "#c23b3b"
EXTRA_HINT = "pip install 'rotor-bot[report]'"
_CONFIG = {"displaylogo": False, "responsive": True}


class ReportExtraMissing(RuntimeError):
    """plotly or matplotlib is not installed; the message says how to get them."""


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise ReportExtraMissing(
            f"report.html and equity.png need plotly and matplotlib: {EXTRA_HINT}"
        ) from exc
    return go


def plotly_js() -> str:
    """plotly.js itself, to inline in a ``<script>`` (no CDN: the page works offline)."""
    _plotly()
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    return js


def div(fig: go.Figure) -> str:
    """The figure as an HTML ``<div>`` plus its inline script (plotly.js loaded once per page)."""
    html: str = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG)
    return html


def _dates(ts: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(t / 1000, tz=UTC) for t in ts.tolist()]


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 60, "r": 20, "t": 48, "b": 36},
        template="plotly_white",
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def equity_figure(r: BacktestResult) -> go.Figure:
    """Equity with every entry (▲) and exit (▼) marked, and the drawdown below it."""
    go = _plotly()
    from plotly.subplots import make_subplots

    c = r.curve
    x = _dates(c.ts)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04
    )
    fig.add_trace(
        go.Scatter(x=x, y=c.equity, name="equity", line={"color": PALETTE[0], "width": 1.6}),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=-100 * c.drawdown, name="drawdown %", fill="tozeroy",
            line={"color": NEG, "width": 1}, fillcolor="rgba(194,59,59,0.25)",
        ),
        row=2,
        col=1,
    )  # fmt: skip
    for kind, marker, color in (
        ("entry", "triangle-up", PALETTE[1]),
        ("exit", "triangle-down", "#333"),
    ):
        xs, ys, text = _trade_points(r, kind)
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs, y=ys, mode="markers", name=f"{kind} ({len(xs)})", text=text,
                    hovertemplate="%{text}<extra></extra>",
                    marker={"symbol": marker, "size": 9, "color": color, "line": {"width": 0}},
                ),
                row=1,
                col=1,
            )  # fmt: skip
    fig.update_yaxes(title_text="USDT", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_xaxes(rangeslider={"visible": False})
    return _layout(fig, "Equity, trades and drawdown (zoom: drag; reset: double-click)", 560)


def _trade_points(r: BacktestResult, kind: str) -> tuple[list[datetime], list[float], list[str]]:
    """Entry or exit times placed on the equity curve, with a hover line per trade."""
    c = r.curve
    xs: list[datetime] = []
    ys: list[float] = []
    text: list[str] = []
    if len(c.ts) == 0:
        return xs, ys, text
    for t in r.trades:
        when = t.entry_time if kind == "entry" else t.exit_time
        if when is None:
            continue
        k = min(int(np.searchsorted(c.ts, when, side="left")), len(c.ts) - 1)
        xs.append(datetime.fromtimestamp(when / 1000, tz=UTC))
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


def exposure_figure(r: BacktestResult) -> go.Figure:
    """Stacked notional per sector over time (what the account was exposed to, and when)."""
    go = _plotly()
    x = _dates(r.curve.ts)
    fig = go.Figure()
    for k, (sector, row) in enumerate(sector_exposure(r).items()):
        fig.add_trace(
            go.Scatter(
                x=x, y=row, name=sector, stackgroup="one", mode="lines",
                line={"width": 0.5, "color": PALETTE[k % len(PALETTE)], "shape": "hv"},
            )
        )  # fmt: skip
    fig.update_yaxes(title_text="notional at entry, USDT")
    return _layout(fig, "Exposure per sector", 300)


def bar_figure(items: Sequence[tuple[str, float]], title: str) -> go.Figure:
    """Horizontal bars, green above zero and red below."""
    go = _plotly()
    labels = [g for g, _ in items]
    values = [v for _, v in items]
    fig = go.Figure(
        go.Bar(
            x=values, y=labels, orientation="h",
            marker={"color": [POS if v >= 0 else NEG for v in values]},
            hovertemplate="%{y}: %{x:,.2f} USDT<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, 120 + 24 * max(1, len(items)))


def compare_figures(results: Sequence[BacktestResult]) -> tuple[go.Figure, go.Figure]:
    """Overlaid equity and drawdown curves, and net PnL per exit reason for each preset."""
    go = _plotly()
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    for k, r in enumerate(results):
        color = PALETTE[k % len(PALETTE)]
        x = _dates(r.curve.ts)
        fig.add_trace(
            go.Scatter(x=x, y=r.curve.equity, name=r.preset, legendgroup=r.preset,
                       line={"color": color, "width": 1.5}),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=x, y=-100 * r.curve.drawdown, name=r.preset, legendgroup=r.preset,
                       showlegend=False, line={"color": color, "width": 1}),
            row=2, col=1,
        )  # fmt: skip
    fig.update_yaxes(title_text="USDT", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    _layout(fig, "Equity and drawdown, same data and risk manager", 560)
    bars = go.Figure()
    for k, r in enumerate(results):
        items = r.pnl_by_exit_reason()
        bars.add_trace(
            go.Bar(x=[g for g, _, _ in items], y=[v for _, v, _ in items], name=r.preset,
                   marker={"color": PALETTE[k % len(PALETTE)]},
                   hovertemplate="%{x}: %{y:,.2f} USDT<extra>" + r.preset + "</extra>"),
        )  # fmt: skip
    bars.update_layout(barmode="group")
    bars.update_yaxes(title_text="net PnL, USDT")
    return fig, _layout(bars, "Net PnL per exit reason", 360)


def equity_png(path: Path, ts: np.ndarray, equity: np.ndarray, drawdown: np.ndarray) -> None:
    """``equity.png``: the equity curve over its drawdown band (matplotlib, no display)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ReportExtraMissing(f"equity.png needs matplotlib: {EXTRA_HINT}") from exc
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(10, 4.2), dpi=100, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    try:
        x = _dates(ts)
        ax1.plot(x, equity, color=PALETTE[0], linewidth=1.2)
        ax1.set_ylabel("equity, USDT")
        ax1.grid(alpha=0.3)
        ax2.fill_between(x, -100 * drawdown, 0, color=NEG, alpha=0.35, linewidth=0)
        ax2.set_ylabel("drawdown %")
        ax2.grid(alpha=0.3)
        ax2.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
