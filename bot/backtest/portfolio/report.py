"""The portfolio backtest's outputs: ``summary.json``, ``equity.csv``, ``weights.csv``,
``decisions.jsonl`` and ``report.html`` (weights over time as stacked areas, NAV against the
baselines; plotly, the ``report`` extra).

Figures: return, CAGR, Sharpe and max drawdown over the hourly NAV (``bot.backtest.metrics``),
``turnover`` = Σ |spot notional traded| / mean NAV, ``fees`` (spot fees at the fill price —
a buy's fee is paid in coins — plus the perpetuals'), ``funding``, and each futures role's
P&L (closed PnL − fees + funding of the perpetuals it opened).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.metrics import EquityCurve, config_hash, iso, summarise
from bot.backtest.portfolio.flows import Flows
from bot.backtest.portfolio.run import PortfolioRun
from bot.backtest.portfolio.weights import Weights
from bot.portfolio.holdings import Role

STRATEGY = "portfolio"
_BUCKET_ORDER = ("core", "rotational", "speculative", "cash", "futures")


def _curve_stats(run: PortfolioRun, nav: np.ndarray, fl: Flows) -> dict[str, Any]:
    curve = EquityCurve(run.ts, nav, np.zeros(len(nav)))
    s = summarise(
        curve, [], start_equity=float(run.starting_equity), fees=fl.spot_fees + fl.perp_fees,
        funding=fl.funding, liquidations=0, start_ms=run.start_ms, end_ms=run.end_ms,
        cfg_hash=config_hash(run.settings), preset=STRATEGY,
    )  # fmt: skip
    mean_nav = float(np.mean(nav)) if len(nav) else float(run.starting_equity)
    keep = ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown")
    out: dict[str, Any] = {k: s[k] for k in keep}
    out |= {
        "turnover": round(float(fl.spot_traded) / mean_nav, 4) if mean_nav > 0 else None,
        "spot_traded": round(float(fl.spot_traded), 2),
        "spot_fees": round(float(fl.spot_fees), 2),
        "perp_fees": round(float(fl.perp_fees), 2),
        "fees": round(float(fl.spot_fees + fl.perp_fees), 2),
        "funding": round(float(fl.funding), 2),
        "spot_orders": fl.spot_orders,
        "perp_orders": fl.perp_orders,
        "venue_refusals": dict(sorted(fl.refused.items())),
    }
    return out


def summary(run: PortfolioRun) -> dict[str, Any]:
    """The ``summary.json`` object."""
    fl, rec = run.flows, run.recorder
    out: dict[str, Any] = {
        "strategy": STRATEGY,
        "start": iso(run.start_ms),
        "end": iso(run.end_ms),
        "bars": len(run.nav),
        "starting_equity": round(float(run.starting_equity), 2),
        "rebalances": rec.rebalances,
        "interval_h": run.settings.portfolio.rebalance.interval_h,
        "portfolio": _curve_stats(run, run.nav, fl),
        # Every role, 0 when it never traded (hedge P&L is a headline figure).
        "role_pnl": {r.value: round(float(fl.role_pnl.get(r.value, 0)), 2) for r in Role},
        "risk_refusals": dict(sorted(run.risk_refusals.items())),
        "skipped_rebalances": dict(sorted(rec.skips.items())),
        "state_changes": [
            {"t": iso(t.ts_ms), "state": t.new.value, "reason": t.reason} for t in run.transitions
        ],
        "kills": [k | {"t": iso(k["t"]), "last_t": iso(k["last_t"])} for k in rec.kills],
        "baselines": {
            name: _curve_stats(run, run.baselines[name], flows)
            for name, flows in run.baseline_flows.items()
        },
        "mean_weights": mean_weights(rec.weights),
        "config_hash": config_hash(run.settings),
        "elapsed_s": round(run.elapsed_s, 2),
    }
    return out


def mean_weights(ws: Sequence[Weights]) -> dict[str, float]:
    """Each bucket's mean weight over the rebalances."""
    if not ws:
        return {}
    return {b: round(float(sum((w.buckets.get(b, Decimal(0)) for w in ws), Decimal(0))) / len(ws), 4)
            for b in _BUCKET_ORDER}  # fmt: skip


def _sector_names(ws: Sequence[Weights]) -> list[str]:
    total: dict[str, Decimal] = {}
    for w in ws:
        for s, x in w.sectors.items():
            total[s] = total.get(s, Decimal(0)) + x
    names = sorted(total, key=lambda s: (-total[s], s))
    return ["core", *[s for s in names if s != "core"]] if "core" in total else names


def write_outputs(out: Path, run: PortfolioRun, data_label: str) -> dict[str, Any]:
    """Write every output file; returns the summary. ``report.html`` needs the ``report``
    extra: without it the data files are still written and ``ReportExtraMissing`` is raised."""
    out.mkdir(parents=True, exist_ok=True)
    s = summary(run) | {"data": data_label}
    (out / "summary.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
    with (out / "equity.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        names = list(run.baselines)
        w.writerow(["time", STRATEGY, *names])
        for k in range(len(run.nav)):
            row = [f"{run.nav[k]:.4f}", *(f"{run.baselines[n][k]:.4f}" for n in names)]
            w.writerow([iso(int(run.ts[k])), *row])
    weights = run.recorder.weights
    sectors = _sector_names(weights)
    with (out / "weights.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["time", "nav", *_BUCKET_ORDER, *(f"sector:{s}" for s in sectors)])
        for x in weights:
            w.writerow(
                [iso(x.t), f"{x.nav:.2f}", *(f"{x.buckets.get(b, 0):.6f}" for b in _BUCKET_ORDER),
                 *(f"{x.sectors.get(sec, 0):.6f}" for sec in sectors)]
            )  # fmt: skip
    with (out / "decisions.jsonl").open("w", encoding="utf-8") as f:
        for rec in run.recorder.records:
            f.write(json.dumps(rec | {"t": iso(rec["t"])}, default=str) + "\n")
    (out / "report.html").write_text(html(run, s, sectors), encoding="utf-8")
    return s


# --------------------------------------------------------------------------- the page


def _stacked(ws: Sequence[Weights], keys: Sequence[str], attr: str, title: str) -> dict[str, Any]:
    from bot.backtest.charts import PALETTE, _dates, _layout

    x = _dates(np.asarray([w.t for w in ws], dtype=np.int64))
    data = []
    for i, k in enumerate(keys):
        y = [100 * float(getattr(w, attr).get(k, 0)) for w in ws]
        data.append(
            {"type": "scatter", "x": x, "y": y, "name": k, "stackgroup": "one",
             "mode": "lines", "line": {"width": 0.5, "color": PALETTE[i % len(PALETTE)]}}
        )  # fmt: skip
    layout = _layout(title, 420, yaxis={"title": {"text": "% of NAV"}})
    return {"data": data, "layout": layout}


def _nav_figure(run: PortfolioRun) -> dict[str, Any]:
    from bot.backtest.charts import PALETTE, _dates, _layout

    x = _dates(run.ts)
    data = [{"type": "scatter", "x": x, "y": run.nav.tolist(), "name": STRATEGY,
             "line": {"color": PALETTE[0], "width": 1.8}}]  # fmt: skip
    for i, (name, nav) in enumerate(run.baselines.items()):
        data.append({"type": "scatter", "x": x, "y": nav.tolist(), "name": name,
                     "line": {"color": PALETTE[i + 1], "width": 1.2}})  # fmt: skip
    return {"data": data, "layout": _layout("NAV against the baselines (USDT)", 420)}


def _pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.2f}%"


def table_rows(s: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The comparison table (the terminal's and the README's)."""
    header = ["", "return", "CAGR", "max DD", "Sharpe", "turnover", "fees", "funding"]
    rows = []
    for name, st in [(STRATEGY, s["portfolio"]), *s["baselines"].items()]:
        rows.append(
            [name, _pct(st["total_return"]), _pct(st["cagr"]), _pct(st["max_drawdown"]),
             "–" if st["sharpe"] is None else f"{st['sharpe']:.2f}",
             "–" if st["turnover"] is None else f"{st['turnover']:.2f}",
             f"{st['fees']:,.2f}", f"{st['funding']:,.2f}"]
        )  # fmt: skip
    return header, rows


def html(run: PortfolioRun, s: dict[str, Any], sectors: list[str]) -> str:
    """The self-contained page (plotly.js inlined once)."""
    from bot.backtest import charts
    from bot.backtest.report import _CSS

    js = charts.plotly_js()
    figs = [
        _nav_figure(run),
        _stacked(
            run.recorder.weights, _BUCKET_ORDER, "buckets", "Weights by bucket after each rebalance"
        ),
        _stacked(run.recorder.weights, sectors, "sectors", "Spot weights by sector (core apart)"),
    ]
    header, rows = table_rows(s)
    table = "<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"
    table += "".join(
        f"<tr><td class=l>{escape(r[0])}</td>" + "".join(f"<td>{c}</td>" for c in r[1:]) + "</tr>"
        for r in rows
    )
    table += "</table>"
    roles = (
        "".join(
            f"<tr><td class=l>{escape(k)}</td><td>{v:,.2f}</td></tr>"
            for k, v in s["role_pnl"].items()
        )
        or "<tr><td class=l colspan=2>no role traded</td></tr>"
    )
    events = "".join(
        f"<tr><td class=l>{escape(e['t'])}</td><td class=l>{escape(e['state'])}</td>"
        f"<td class=l>{escape(e['reason'])}</td></tr>"
        for e in s["state_changes"]
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>rotor portfolio backtest</title>"
        f"<style>{_CSS}</style><script>{js}</script></head><body>"
        f"<h1>Portfolio backtest</h1><div class=sub>{escape(s['start'])} → {escape(s['end'])} · "
        f"{s['rebalances']} rebalances every {s['interval_h']} h · data {escape(s['data'])} · "
        f"config {s['config_hash']}</div>"
        f"<h2>Against the baselines</h2>{table}"
        + "".join(charts.div(f) for f in figs)
        + f"<h2>Futures roles: P&amp;L</h2><table>{roles}</table>"
        f"<h2>Risk: state changes and kill switch</h2><table>{events}</table>"
        f"<pre>{escape(json.dumps(s['kills'], indent=1))}</pre>"
        f"<h2>Summary</h2><pre>{escape(json.dumps(s, indent=1, default=str))}</pre>"
        "</body></html>"
    )
