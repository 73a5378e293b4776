"""Write a backtest's files: summary.json, trades.csv, equity.csv, report.html, equity.png.

The data files are always written; the report and the PNG need the ``report`` extra
(plotly, Pillow), and without it :class:`~bot.backtest.charts.ReportExtraMissing` is raised
after the data files exist, so nothing computed is lost.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.backtest.metrics import iso, iso_all
from bot.backtest.result import BacktestResult

TRADE_COLUMNS = (
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "qty",
    "leverage",
    "pnl",
    "fees",
    "funding",
    "exit_reason",
)


def _dec(x: Any) -> str:
    return "" if x is None else format(x, "f")


def write_trades(path: Path, result: BacktestResult) -> None:
    """One row per round trip; money as exact decimals, times as UTC ISO 8601."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow((*TRADE_COLUMNS, "sector", "gross_pnl", "stop_price", "exit_detail"))
        for t in result.trades:
            w.writerow(
                (
                    t.symbol,
                    t.side.value,
                    iso(t.entry_time),
                    _dec(t.entry_price),
                    iso(t.exit_time) if t.exit_time is not None else "",
                    _dec(t.exit_price),
                    _dec(t.qty),
                    _dec(t.leverage),
                    _dec(t.pnl),
                    _dec(t.fees),
                    _dec(t.funding),
                    t.exit_reason or "open",
                    t.sector or "",
                    _dec(t.gross),
                    _dec(t.stop_price),
                    t.exit_detail,
                )
            )


def write_equity(path: Path, result: BacktestResult) -> None:
    """Equity after every cycle with its drawdown and gross exposure."""
    c = result.curve
    dd = c.drawdown
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("time", "ts_ms", "equity", "drawdown", "exposure"))
        for when, ts, e, d, x in zip(
            iso_all(c.ts),
            c.ts.tolist(),
            c.equity.tolist(),
            dd.tolist(),
            c.exposure.tolist(),
            strict=True,
        ):
            w.writerow((when, ts, f"{e:.6f}", f"{d:.6f}", f"{x:.6f}"))


def write_all(out: Path, result: BacktestResult, data_label: str) -> list[Path]:
    """Every output of one run in ``out`` (created if needed); returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": out / "summary.json",
        "trades": out / "trades.csv",
        "equity": out / "equity.csv",
        "report": out / "report.html",
        "png": out / "equity.png",
    }
    paths["summary"].write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
    write_trades(paths["trades"], result)
    write_equity(paths["equity"], result)
    from bot.backtest.charts import equity_png
    from bot.backtest.report import report_html

    paths["report"].write_text(report_html(result, data_label), encoding="utf-8")
    c = result.curve
    equity_png(paths["png"], c.ts, c.equity, c.drawdown)
    return list(paths.values())


def write_comparison(out: Path, results: Sequence[BacktestResult], data_label: str) -> list[Path]:
    """``comparison.json`` and ``report.html`` for several presets, plus one folder each."""
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "comparison.json"
    summary.write_text(
        json.dumps({r.preset: r.summary for r in results}, indent=2) + "\n", encoding="utf-8"
    )
    written: list[Path] = []
    for r in results:
        written += write_all(out / r.preset, r, data_label)
    from bot.backtest.report import comparison_html

    report = out / "report.html"
    report.write_text(comparison_html(results, data_label), encoding="utf-8")
    return [summary, report, *written]
