"""Instrument life on the sim clock: scheduled changes and the instruments as of now.

An ``InstrumentEvent`` changes one symbol from its time on (SIM-VENUE.md "Instrument life"):
``status`` (``Trading``, ``PreLaunch``, ``Settling``, ``Closed``), ``deliveryTime`` (a
delisting: at that instant orders are cancelled and positions settled at the mark),
``tickSize``, ``qtyStep`` (``minOrderQty`` follows the step when it was the step),
``fundingInterval`` (minutes, as Bybit's instruments-info gives it) and ``launchTime`` (a new
listing: the symbol does not exist before it). Events come from ``instrument_events.json`` in
the data directory (a list of objects with ``time`` in UTC ms and ``symbol``; format in
docs/simulator.md) or from ``POST /sim/instrument`` (time = now).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bot.data.datadir import DataFileError
from bot.domain import Instrument

EVENTS_FILE = "instrument_events.json"
STATUSES = ("Trading", "PreLaunch", "Settling", "Closed")
_KEYS = {"time", "symbol", "status", "deliveryTime", "tickSize", "qtyStep", "fundingInterval"}
_KEYS |= {"launchTime"}


@dataclass(frozen=True, slots=True)
class InstrumentEvent:
    """One scheduled change of one instrument."""

    ts: int
    symbol: str
    status: str | None = None
    delivery_ms: int | None = None
    tick_size: Decimal | None = None
    qty_step: Decimal | None = None
    funding_interval_h: int | None = None
    launch_ms: int | None = None


class InstrumentEventError(ValueError):
    """An instrument event is malformed; the message names the entry and the key."""


def _pos_dec(where: str, key: str, v: Any) -> Decimal:
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise InstrumentEventError(f"{where}.{key}: not a number ({v!r})") from None
    if not d.is_finite() or d <= 0:
        raise InstrumentEventError(f"{where}.{key}: must be > 0 (got {v!r})")
    return d


def _ms(where: str, key: str, v: Any) -> int:
    try:
        t = int(v)
    except (TypeError, ValueError):
        raise InstrumentEventError(f"{where}.{key}: expected UTC milliseconds, got {v!r}") from None
    if t < 0:
        raise InstrumentEventError(f"{where}.{key}: must be >= 0 (got {t})")
    return t


def parse_event(raw: Any, where: str, now_ms: int | None, known: set[str]) -> InstrumentEvent:
    """One event object (``time`` may be omitted when ``now_ms`` is given: the admin API)."""
    if not isinstance(raw, dict):
        raise InstrumentEventError(f"{where}: expected an object")
    unknown = set(raw) - _KEYS
    if unknown:
        raise InstrumentEventError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
            f"{', '.join(sorted(_KEYS))}"
        )
    sym = raw.get("symbol")
    if not isinstance(sym, str) or sym not in known:
        raise InstrumentEventError(f"{where}.symbol: unknown symbol {sym!r}")
    if "time" in raw:
        ts = _ms(where, "time", raw["time"])
    elif now_ms is not None:
        ts = now_ms
    else:
        raise InstrumentEventError(f"{where}.time: required (UTC ms)")
    status = raw.get("status")
    if status is not None and status not in STATUSES:
        raise InstrumentEventError(f"{where}.status: one of {', '.join(STATUSES)} (got {status!r})")
    fi = raw.get("fundingInterval")
    fi_h: int | None = None
    if fi is not None:
        if isinstance(fi, bool) or not isinstance(fi, int) or fi <= 0 or fi % 60 or fi > 1440:
            raise InstrumentEventError(
                f"{where}.fundingInterval: minutes, a multiple of 60 up to 1440 (got {fi!r})"
            )
        fi_h = fi // 60
    out = InstrumentEvent(
        ts=ts,
        symbol=sym,
        status=status,
        delivery_ms=_ms(where, "deliveryTime", raw["deliveryTime"])
        if raw.get("deliveryTime") not in (None, "", "0", 0)
        else None,
        tick_size=_pos_dec(where, "tickSize", raw["tickSize"]) if "tickSize" in raw else None,
        qty_step=_pos_dec(where, "qtyStep", raw["qtyStep"]) if "qtyStep" in raw else None,
        funding_interval_h=fi_h,
        launch_ms=_ms(where, "launchTime", raw["launchTime"]) if "launchTime" in raw else None,
    )
    if out == InstrumentEvent(ts, sym):
        raise InstrumentEventError(f"{where}: changes nothing (give at least one field)")
    return out


def load_events(root: Path, known: set[str]) -> list[InstrumentEvent]:
    """``<root>/instrument_events.json`` (absent: no events), sorted by time."""
    path = root / EVENTS_FILE
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataFileError(path, f"not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise DataFileError(path, "expected a JSON list of events")
    try:
        events = [parse_event(e, f"[{i}]", None, known) for i, e in enumerate(raw)]
    except InstrumentEventError as exc:
        raise DataFileError(path, str(exc)) from None
    return sorted(events, key=lambda e: e.ts)


def apply_event(inst: Instrument, ev: InstrumentEvent) -> Instrument:
    """The instrument after ``ev`` (the funding interval is the schedule's business)."""
    changes: dict[str, Any] = {}
    if ev.status is not None:
        changes["status"] = ev.status
    if ev.tick_size is not None:
        changes["tick_size"] = ev.tick_size
    if ev.qty_step is not None:
        changes["qty_step"] = ev.qty_step
        if inst.min_qty == inst.qty_step or inst.min_qty < ev.qty_step:
            changes["min_qty"] = ev.qty_step
    if ev.funding_interval_h is not None:
        changes["funding_interval_h"] = ev.funding_interval_h
    if ev.launch_ms is not None:
        changes["launch_ms"] = ev.launch_ms
    extra = dict(inst.extra)
    if ev.delivery_ms is not None:
        extra["deliveryTime"] = str(ev.delivery_ms)
        if ev.status is None and inst.status == "Trading":
            changes["status"] = "Settling"
    changes["extra"] = extra
    return replace(inst, **changes)
