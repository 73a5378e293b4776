"""The instrument refresh after each bar's cycle: changed contract specs and closing symbols."""

from __future__ import annotations

import dataclasses

from bot.observability.logging import get_logger
from bot.runtime.services import Services
from bot.venues.base import VenueError

log = get_logger("rotor.daemon")

# What an instrument refresh compares (and logs when it changed).
INSTRUMENT_FIELDS = (
    "tick_size",
    "qty_step",
    "min_qty",
    "min_notional",
    "max_qty",
    "funding_interval_h",
    "status",
    "delivery_ms",
)


async def refresh_instruments(services: Services) -> None:
    """Re-read the instruments after each bar's cycle (RELIABILITY.md #43): tick, lot and
    funding-interval changes take effect from the next cycle, without a restart; a symbol no longer listed as
    trading, settling or with a delivery time is closing (no entry; its position is
    closed before the delivery)."""
    try:
        fresh = await services.venue.load_instruments()
    except VenueError as exc:
        log.warning("instruments_refresh_failed", error=str(exc)[:300])
        return
    closing: dict[str, str] = {}
    for sym in services.symbols:
        old = services.instruments[sym]
        new = fresh.get(sym)
        if new is None:
            closing[sym] = "no longer listed as trading"
            continue
        if new.status not in ("Trading", ""):
            closing[sym] = f"status {new.status}"
        elif new.delivery_ms:
            closing[sym] = f"delivery at {new.delivery_ms}"
        new = dataclasses.replace(new, sector=old.sector)
        changed = {
            f: [str(getattr(old, f)), str(getattr(new, f))]
            for f in INSTRUMENT_FIELDS
            if getattr(old, f) != getattr(new, f)
        }
        if changed:
            log.warning("instrument_changed", symbol=sym, changed=changed)
        services.instruments[sym] = services.core.instruments[sym] = new
    for sym in closing.keys() - services.core.closing.keys():
        log.error("symbol_closing", symbol=sym, why=closing[sym], alert=True)
    services.core.closing = closing
