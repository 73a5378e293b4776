"""Rich tables for ``rotor allocate``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(text: str | None) -> str:
    return "-" if text is None else f"{100 * float(text):.2f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def render(report: dict[str, Any], tty: bool) -> None:
    """Sleeves and buckets, sectors with their signals, and the orders."""
    con = Console(force_terminal=tty, width=None if tty else 180)
    sl, cash = report["sleeves"], report["cash"]
    reg = report["regime"]
    con.print(
        f"[bold]rotor allocate[/] {report['t']}  NAV {report['nav']} USDT  "
        f"regime {'RISK-ON' if reg['risk_on'] else 'RISK-OFF'}  "
        f"spot {_pct(sl['spot']['current'])} → {_pct(sl['spot']['target'])}  "
        f"futures {_pct(sl['futures']['current'])} → {_pct(sl['futures']['target'])}"
    )
    bt = Table(title="Buckets (weights of the portfolio)")
    for col in ("bucket", "current", "target", "invested", "why"):
        bt.add_column(col, justify="left" if col in ("bucket", "why") else "right")
    for name, b in report["buckets"].items():
        bt.add_row(
            name,
            _pct(b["current"]),
            _pct(b["target"]),
            _pct(b["invested_target"]),
            b["why"]["text"],
        )
    con.print(bt)
    st = Table(title="Sectors")
    for col in ("bucket", "sector", "state", "score", "tilt", "current", "target", "tokens"):
        st.add_column(
            col, justify="right" if col in ("score", "tilt", "current", "target") else "left"
        )
    for s in report["sectors"]:
        if s["target"] == "0" and s["current"] == "0" and s["bucket"] != "rotational":
            continue
        st.add_row(
            s["bucket"],
            s["sector"],
            (s["state"] or "-").removeprefix("sector."),
            _num(s["inputs"].get("score")),
            _num(s["tilt"]),
            _pct(s["current"]),
            _pct(s["target"]),
            ", ".join(s["tokens"]),
        )
    con.print(st)
    ot = Table(title="Orders a rebalance would send")
    for col in ("market", "symbol", "side", "qty", "notional", "reason"):
        ot.add_column(col, justify="right" if col in ("qty", "notional") else "left")
    for o in report["orders"]:
        notional = o["notional"] if o["market"] == "spot" else f"{o['risk']['notional']:.2f}"
        ot.add_row(o["market"], o["symbol"], o["side"], o["qty"], notional, o["reason"])
    if report["orders"]:
        con.print(ot)
    else:
        con.print("no orders: every token is inside its drift band")
    for o in report["refused"]:
        codes = ", ".join(o["risk"]["reasons"])
        con.print(f"refused by the risk manager ({codes}): {o['reason']}")
    for t in report["transfers"]:
        con.print(f"transfer {t['amount']} USDT {t['from']} → {t['to']}: {t['why']['text']}")
    for n in report["futures_roles"]["notes"]:
        con.print(f"futures: {n['why']['text']}")
    con.print(f"cash {cash['before']} → {cash['after']} USDT, fees {cash['fees']}")
