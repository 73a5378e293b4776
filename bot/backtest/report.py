"""``report.html``: one self-contained page a trader can explore, that opens offline.

Sections: the headline figures, the honest caveat from STRATEGY.md, interactive charts (equity
with every entry and exit marked, drawdown, exposure per sector, PnL per sector and per exit
reason; plotly, its JavaScript inlined once, no external URL), monthly returns, every trade,
and the config. ``comparison_html`` puts several presets side by side for ``--compare``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from bot.backtest import charts
from bot.backtest.charts import NEG, POS
from bot.backtest.metrics import iso
from bot.backtest.result import BacktestResult

CAVEAT = (
    "Honest caveat. The published evidence for liquid coins points the other way: over 1–4 "
    "weeks, coins continue their moves (momentum); reversal only appears beyond about a month "
    "(Liu, Tsyvinski &amp; Wu, J. Finance 2022; Dobrynskaya, SSRN 3913263). Buying 20–30-day "
    "laggards is therefore a hypothesis to test, not a fact. Compare the presets "
    "(<code>rotor backtest --compare</code>) before trusting any of them, and remember that "
    "a backtest over one period is one sample."
)
MAX_TRADE_ROWS = 3000

_CSS = (
    """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e6ec;
padding-bottom:4px}.sub{color:#5b6472;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:16px 0}
.card{border:1px solid #e2e6ec;border-radius:6px;padding:8px 10px}.card b{display:block;font-size:18px}
.card span{color:#5b6472;font-size:12px}.caveat{background:#fff8e6;border:1px solid #f0d48a;
border-radius:6px;padding:10px 12px;font-size:13px}.two{display:grid;grid-template-columns:1fr 1fr;
gap:16px}table{border-collapse:collapse;font-size:12px;width:100%}th,td{padding:3px 6px;
border-bottom:1px solid #eef0f3;text-align:right}th{background:#f6f7f9;position:sticky;top:0}
td.l,th.l{text-align:left}.pos{color:"""
    + POS
    + """}.neg{color:"""
    + NEG
    + """}
.scroll{max-height:520px;overflow:auto;border:1px solid #e2e6ec}pre{background:#f6f7f9;
padding:10px;font-size:11px;overflow:auto;max-height:420px}
"""
)


def _pct(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{float(v) * 100:.{digits}f}%"


def _num(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{float(v):,.{digits}f}"


def _cls(v: float) -> str:
    return "pos" if v > 0 else ("neg" if v < 0 else "")


def _cards(s: dict[str, Any]) -> str:
    items = [
        ("Total return", _pct(s["total_return"])),
        ("CAGR", _pct(s["cagr"])),
        ("Sharpe", _num(s["sharpe"])),
        ("Sortino", _num(s["sortino"])),
        ("Max drawdown", _pct(s["max_drawdown"])),
        ("Trades", str(s["trades"])),
        ("Win rate", _pct(s["win_rate"], 1)),
        ("Profit factor", _num(s["profit_factor"])),
        ("Exposure", _pct(s["exposure"], 1)),
        ("Fees", _num(s["fees"])),
        ("Funding", _num(s["funding"])),
        ("Liquidations", str(s["liquidations"])),
    ]
    body = "".join(
        f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in items
    )
    return f'<div class="cards">{body}</div>'


def _monthly_table(rows: Sequence[tuple[str, float]]) -> str:
    by_year: dict[str, dict[int, float]] = {}
    for key, r in rows:
        year, month = key.split("-")
        by_year.setdefault(year, {})[int(month)] = r
    head = "".join(
        f"<th>{m}</th>"
        for m in [
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        ]
    )
    out = [f'<table><tr><th class="l">Year</th>{head}<th>Year</th></tr>']
    for year, months in sorted(by_year.items()):
        cells = []
        total = 1.0
        for m in range(1, 13):
            ret = months.get(m)
            if ret is None:
                cells.append("<td></td>")
                continue
            total *= 1 + ret
            alpha = min(0.6, abs(ret) * 6)
            rgb = "46,158,91" if ret >= 0 else "194,59,59"
            cells.append(f'<td style="background:rgba({rgb},{alpha:.2f})">{ret * 100:.1f}%</td>')
        out.append(
            f'<tr><td class="l">{year}</td>{"".join(cells)}<td>{(total - 1) * 100:.1f}%</td></tr>'
        )
    out.append("</table>")
    return "".join(out)


def _trade_table(r: BacktestResult) -> str:
    head = (
        "<tr><th class='l'>Symbol</th><th class='l'>Side</th><th class='l'>Entry (UTC)</th>"
        "<th>Entry</th><th class='l'>Exit (UTC)</th><th>Exit</th><th>Qty</th><th>Lev</th>"
        "<th>PnL</th><th>Fees</th><th>Funding</th><th class='l'>Exit reason</th></tr>"
    )
    rows = []
    for t in r.trades[:MAX_TRADE_ROWS]:
        pnl = float(t.pnl)
        rows.append(
            f"<tr><td class='l'>{escape(t.symbol)}</td><td class='l'>{t.side.value}</td>"
            f"<td class='l'>{iso(t.entry_time)[:16]}</td><td>{t.entry_price:.6g}</td>"
            f"<td class='l'>{iso(t.exit_time)[:16] if t.exit_time else 'open'}</td>"
            f"<td>{'' if t.exit_price is None else f'{t.exit_price:.6g}'}</td><td>{t.qty:.6g}</td>"
            f"<td>{'' if t.leverage is None else f'{t.leverage:.2f}'}</td>"
            f"<td class='{_cls(pnl)}'>{pnl:,.2f}</td><td>{float(t.fees):,.2f}</td>"
            f"<td>{float(t.funding):,.2f}</td><td class='l' title='{escape(t.exit_detail)}'>"
            f"{escape(t.exit_reason)}</td></tr>"
        )
    more = ""
    if len(r.trades) > MAX_TRADE_ROWS:
        more = f"<p class='sub'>First {MAX_TRADE_ROWS} of {len(r.trades)} trades; all are in trades.csv.</p>"
    return f"<div class='scroll'><table>{head}{''.join(rows)}</table></div>{more}"


def _page(title: str, body: str) -> str:
    # plotly.js is inlined once (~4.6 MB) so the page needs no network; each chart is a div.
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{charts.plotly_js()}</script></head>'
        f"<body>{body}</body></html>"
    )


def report_html(r: BacktestResult, data_label: str) -> str:
    """The single-run report."""
    s = r.summary
    eq = charts.div(charts.equity_figure(r))
    exposure = charts.div(charts.exposure_figure(r))
    sectors = charts.div(
        charts.bar_figure([(g, v) for g, v, _ in r.pnl_by_sector()], "Net PnL per sector")
    )
    reasons = charts.div(
        charts.bar_figure([(g, v) for g, v, _ in r.pnl_by_exit_reason()], "Net PnL per exit reason")
    )
    counts = ", ".join(f"{g}: {n}" for g, _, n in r.pnl_by_exit_reason())
    config = json.dumps(r.settings.masked_dump(), indent=2, sort_keys=True, default=str)
    halted = (
        "<p class='sub'><b>The max-drawdown breaker fired:</b> the kill switch flattened the "
        "account and trading stayed HALTED for the rest of the run, as it would live.</p>"
        if s.get("halted")
        else ""
    )
    body = f"""
<h1>rotor backtest: {escape(r.preset)}</h1>
<div class="sub">{escape(s["start"])} → {escape(s["end"])} · data {escape(data_label)} ·
starting equity {_num(s["starting_equity"])} → {_num(s["final_equity"])} USDT ·
config {escape(s["config_hash"])}</div>
{_cards(s)}
<div class="caveat">{CAVEAT}</div>{halted}
<h2>Equity and drawdown</h2>{eq}
<h2>Exposure</h2>{exposure}
<h2>Where the PnL came from</h2><div class="two"><div>{sectors}</div><div>{reasons}</div></div>
<p class="sub">Trades per exit reason: {escape(counts) or "none"}.</p>
<h2>Monthly returns</h2>{_monthly_table(r.monthly())}
<h2>Trades ({len(r.trades)})</h2>{_trade_table(r)}
<h2>Configuration</h2><pre>{escape(config)}</pre>
<p class="sub">Semantics: signals on the closed bar fill at the next open (taker fee + slippage);
stops trigger on the bar's deterministic path (O→L→H→C or O→H→L→C) and fill at the stop or at the
open on a gap; funding is paid per settlement on positions open then; an isolated liquidation loses
the position's margin; positions still open at the end are closed at the last close.</p>
"""
    return _page(f"rotor backtest {r.preset}", body)


def _str(v: Any) -> str:
    return "–" if v is None else str(v)


def _pct1(v: Any) -> str:
    return _pct(v, 1)


COMPARE_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("total_return", "Total return", _pct),
    ("cagr", "CAGR", _pct),
    ("sharpe", "Sharpe", _num),
    ("sortino", "Sortino", _num),
    ("max_drawdown", "Max DD", _pct),
    ("trades", "Trades", _str),
    ("win_rate", "Win rate", _pct1),
    ("profit_factor", "PF", _num),
    ("exposure", "Exposure", _pct1),
    ("fees", "Fees", _num),
    ("funding", "Funding", _num),
    ("liquidations", "Liq.", _str),
    ("halted", "Halted", lambda v: "yes" if v else ""),
)


def comparison_html(results: Sequence[BacktestResult], data_label: str) -> str:
    """Several presets on the same data: one table, overlaid equity and drawdown curves."""
    head = "".join(f"<th>{escape(t)}</th>" for _, t, _ in COMPARE_COLUMNS)
    rows = []
    for r in results:
        cells = "".join(f"<td>{escape(f(r.summary.get(k)))}</td>" for k, _, f in COMPARE_COLUMNS)
        rows.append(f"<tr><td class='l'><b>{escape(r.preset)}</b></td>{cells}</tr>")
    curves, reasons = charts.compare_figures(results)
    first = results[0].summary if results else {"start": "", "end": ""}
    body = f"""
<h1>rotor backtest: preset comparison</h1>
<div class="sub">{escape(first["start"])} → {escape(first["end"])} · data {escape(data_label)} ·
same data, same risk manager; only the entry and exit rules differ (STRATEGY.md, "Presets")</div>
<div class="caveat">{CAVEAT} The claim to check here: "combining rotation with reversion beats
either alone" (rotation-reversion against laggard-only and rsi-reversion).</div>
<h2>Side by side</h2><table><tr><th class='l'>Preset</th>{head}</tr>{"".join(rows)}</table>
<h2>Equity and drawdown</h2>{charts.div(curves)}
<h2>PnL per exit reason</h2>{charts.div(reasons)}
<p class="sub">Each preset's own report (trades, exposure per sector) is in its folder.</p>
"""
    return _page("rotor backtest comparison", body)
