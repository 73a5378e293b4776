"""Rich tables for ``rotor scan``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:+.{digits}f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _cover(n: int, of: int) -> str:
    """``n/of``, dimmed when a layer had no input at all."""
    text = f"{n}/{of}"
    return f"[dim]{text}[/]" if n == 0 and of > 0 else text


def render(report: dict[str, Any], preset: str, tty: bool) -> None:
    """Print the regime line, the sector table and the laggard candidates."""
    con = Console(force_terminal=tty, width=None if tty else 160)
    reg = report["regime"]
    if not reg["known"]:
        state = "[yellow]UNKNOWN (no benchmark bar or no weighable alt: treated as risk-off)[/]"
    else:
        state = "[green]RISK-ON[/]" if reg["risk_on"] else "[red]RISK-OFF[/]"
    con.print(
        f"[bold]rotor scan[/] {report['t']}  preset {preset}  regime {state}  "
        f"alt/BTC slope {_pct(reg['alt_btc_slope'])} over {reg['alts']} alts  "
        f"breadth {_num(reg['breadth'])}"
    )
    inp = report["inputs"]
    con.print(
        f"inputs: {inp['members']} sector members, {inp['listed']} with a bar now, "
        f"{inp['eligible']} eligible (clean lookbacks); open interest for {inp['with_oi']} of "
        f"the eligible, funding for {inp['with_funding']} of the members; "
        f"{inp['scorable_sectors']}/{inp['sectors']} sectors scorable"
    )
    st = Table(title="Sectors (by score)")
    for col in (
        "sector",
        "members",
        "listed",
        "eligible",
        "OI",
        "funding",
        "ret 7d",
        "ret 30d",
        "RS 7d",
        "RS 30d",
        "accel",
        "OI flow",
        "heat F8h",
        "hot",
        "score",
        "leader",
    ):
        st.add_column(col, justify="left" if col == "sector" else "right")
    rows = sorted(
        report["sectors"], key=lambda s: -(s["score"] if s["score"] is not None else -1e9)
    )
    for s in rows:
        st.add_row(
            s["sector"],
            str(s["members"]),
            str(s["listed_members"]),
            str(s["eligible_members"]),
            _cover(s["oi_members"], s["eligible_members"]),
            _cover(s["funding_members"], s["listed_members"]),
            _pct(s["return_7d"]),
            _pct(s["return_30d"]),
            _pct(s["rs_7d"]),
            _pct(s["rs_30d"]),
            _pct(s["accel"]),
            _pct(s["oi_flow"]),
            _pct(s["funding_heat"], 4),
            "yes" if s["overheated"] else "",
            _num(s["score"]),
            "[bold green]LEADER[/]" if s["leader"] else "",
        )
    con.print(st)
    con.print(
        "OI: eligible members with an open-interest flow (the others count 0; none: the sector's "
        "OI term is 0). funding: listed members with a settlement in the heat window (the heat "
        "is their median). A sector scores with at least the preset's minimum eligible members."
    )
    ct = Table(title="Laggard candidates and actions")
    for col in (
        "symbol",
        "sector",
        "bar",
        "close",
        "gap",
        "zgap",
        "RSI",
        "ADX",
        "F8h",
        "confirmed",
        "action",
        "reasons",
    ):
        ct.add_column(col, justify="left" if col in ("symbol", "sector", "reasons") else "right")
    picked = [r for r in report["symbols"] if r["candidate"] or r["action"] != "none"]
    picked.sort(key=lambda r: r["zgap"] if r["zgap"] is not None else 0.0)
    for r in picked:
        ct.add_row(
            r["symbol"],
            r["sector"] or "-",
            r["bar_time"] or "-",
            _num(r["close"], 6),
            _pct(r["gap"]),
            _num(r["zgap"]),
            _num(r["rsi"], 1),
            _num(r["adx"], 1),
            _pct(r["funding_8h"], 4),
            "yes" if r["confirmed"] else "",
            r["action"],
            ", ".join(r["reasons"]),
        )
    if not picked:
        con.print("no laggard candidates at this time")
    else:
        con.print(ct)
