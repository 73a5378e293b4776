"""The trades of both tools as (symbol, entry bar) sets, and how far they agree.

Runs in the driver's interpreter (rotor's), standard library only. An entry is the symbol and
the UTC ms of the bar whose open filled it: rotor's ``trades.csv`` ``entry_time`` and
freqtrade's ``open_timestamp`` (both tools fill a signal of closed bar t at the open of t+1).
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

Entry = tuple[str, int]  # (exchange symbol, entry bar open in UTC ms)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def rotor_trades(out_dir: Path) -> list[dict[str, Any]]:
    """``trades.csv`` of a ``rotor backtest --out`` directory, with ``entry_ms``/``exit_ms``."""
    with (out_dir / "trades.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["entry_ms"] = _ms(r["entry_time"])
        r["exit_ms"] = _ms(r["exit_time"]) if r["exit_time"] else None
    return rows


def freqtrade_result(export_dir: Path) -> dict[str, Any]:
    """The newest backtest result zip freqtrade exported into ``export_dir``: the strategy's
    result block (``trades``, ``total_trades``, ``profit_total`` …)."""
    zips = sorted(export_dir.glob("backtest-result-*.zip"), key=lambda p: p.stat().st_mtime)
    if not zips:
        raise SystemExit(f"freqtrade exported no result into {export_dir}")
    with zipfile.ZipFile(zips[-1]) as z:
        name = next(n for n in z.namelist() if n.endswith(".json") and not n.endswith(".meta.json"))
        doc = json.loads(z.read(name))
    strategies = doc["strategy"]
    return dict(next(iter(strategies.values())))


def freqtrade_trades(result: Mapping[str, Any], ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """freqtrade's trades with rotor's symbol (``ids``: pair → exchange id) and ms times."""
    out = []
    for t in result["trades"]:
        row = dict(t)
        row["symbol"] = ids[t["pair"]]
        row["entry_ms"] = int(t["open_timestamp"])
        row["exit_ms"] = int(t["close_timestamp"])
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class Agreement:
    """Entries in both runs (same symbol, same entry bar) against each side's total."""

    rotor: int
    freqtrade: int
    both: int

    @property
    def of_rotor(self) -> float:
        return self.both / self.rotor if self.rotor else 0.0

    @property
    def of_freqtrade(self) -> float:
        return self.both / self.freqtrade if self.freqtrade else 0.0


def agreement(a: list[dict[str, Any]], b: list[dict[str, Any]], since_ms: int = 0) -> Agreement:
    """How many entries of rotor's ``a`` and freqtrade's ``b`` (from ``since_ms`` on) agree."""
    ea = {(r["symbol"], r["entry_ms"]) for r in a if r["entry_ms"] >= since_ms}
    eb = {(r["symbol"], r["entry_ms"]) for r in b if r["entry_ms"] >= since_ms}
    return Agreement(len(ea), len(eb), len(ea & eb))
