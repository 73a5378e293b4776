"""Wiring: which venue and clock each mode uses, and the universe it trades.

Only this module knows that replay means the in-process simulator, testnet/live mean ccxt,
and paper means live public data with local fills. Everything downstream sees a ``Venue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.data.panel import HOUR_MS, I64
from bot.data.sectors import SectorResolution, load_sector_map
from bot.domain import Instrument
from bot.observability.logging import get_logger
from bot.venues.base import Venue

if TYPE_CHECKING:
    from bot.sim.market import SimMarket

log = get_logger("rotor.build")

# Replays start at most this far into the data so indicators have history (capped by the data
# length); a preset that reads no layer needs far less (``SignalEngine.warmup_hours``).
MAX_REPLAY_WARMUP_H = 40 * 24


@dataclass(slots=True)
class VenueBundle:
    """The venue for a mode, plus the simulator engine when rotor drives the clock."""

    venue: Venue
    engine: object | None = None  # SimEngine in replay mode

    @property
    def drives_clock(self) -> bool:
        return self.engine is not None


def parse_start(text: str | None) -> int | None:
    """ISO8601 → UTC ms (naive times are taken as UTC)."""
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def replay_data_dir(settings: Settings) -> Path:
    if settings.sim.data_dir is not None:
        return Path(settings.sim.data_dir)
    from bot.data.sample import sample_dir

    return sample_dir()


def replay_start(market_ts: I64, warmup_hours: int) -> int:
    """Where a replay or backtest without a start begins: ``warmup_hours`` after the first bar
    (``SignalEngine.warmup_hours``), 40 days at most, half the data at most."""
    first = int(market_ts[0])
    span = int(market_ts[-1]) - first
    warm = min(warmup_hours, MAX_REPLAY_WARMUP_H) * HOUR_MS
    return first + min(warm, span // 2)


def build_venue(
    settings: Settings, warmup_hours: int, market: SimMarket | None = None
) -> VenueBundle:
    """The venue for ``settings.mode``; a replay's on ``market`` when it is already loaded
    (``lifecycle.check_start``), else on the data directory read now. A replay without
    ``sim.start`` starts ``warmup_hours`` into the data (``replay_start``)."""
    mode = settings.mode
    if mode == "replay":
        from bot.sim.engine import SimEngine
        from bot.sim.market import SimMarket
        from bot.sim.rules import rules_for
        from bot.sim.venue import SimVenue

        if market is None:
            market = SimMarket.load(replay_data_dir(settings))
        start = parse_start(settings.sim.start)
        if start is None:
            start = replay_start(market.ts, warmup_hours)
        engine = SimEngine(
            market,
            equity=Decimal(repr(settings.sim.equity)),
            fee_taker=Decimal(repr(settings.sim.fee_taker)),
            fee_maker=Decimal(repr(settings.sim.fee_maker)),
            slippage=Decimal(repr(settings.sim.slippage)),
            partial_fills=settings.sim.partial_fills,
            start_ms=start,
            rules=rules_for(settings.exchange.name),  # the venue traded: its account rules
            spot_fee=settings.portfolio.rebalance.spot_fee,
        )
        return VenueBundle(SimVenue(engine), engine)
    if mode == "paper":
        from bot.venues.paper import PaperVenue

        return VenueBundle(PaperVenue.from_settings(settings))
    from bot.venues.ccxt_venue import CcxtVenue

    if settings.strategy.mode == "portfolio":
        from bot.venues.factory import portfolio_venue

        return VenueBundle(portfolio_venue(settings))
    return VenueBundle(CcxtVenue.from_settings(settings))


def sector_map_path(settings: Settings) -> Path | None:
    """``universe.sector_map``, else (replay only) the data directory's own ``sectors.csv``,
    as the backtester uses; None means the bundled, versioned map."""
    if settings.universe.sector_map is not None:
        return Path(settings.universe.sector_map)
    if settings.mode == "replay":
        own = replay_data_dir(settings) / "sectors.csv"
        if own.is_file():
            return own
    return None


def universe(
    settings: Settings, instruments: dict[str, Instrument]
) -> tuple[list[str], list[str | None], SectorResolution]:
    """The symbols to trade (mapped, trading, minus exclusions) and their sector tags."""
    smap = load_sector_map(sector_map_path(settings))
    tradable = [s for s, i in instruments.items() if i.status in ("Trading", "")]
    resolution = smap.resolve(tradable)
    wanted = set(settings.universe.symbols)
    excluded = set(settings.universe.exclude)
    symbols: list[str] = []
    tags: list[str | None] = []
    for s in sorted(tradable):
        tag = resolution.sector_of(s)
        if tag is None or s in excluded:
            continue
        if wanted and s not in wanted and s != resolution.benchmark:
            continue
        symbols.append(s)
        tags.append(tag)
    if not symbols:
        raise ValueError("universe: no tradable symbol is mapped to a sector")
    log.info(
        "universe",
        symbols=len(symbols),
        benchmark=resolution.benchmark,
        excluded=len(tradable) - len(symbols),
    )
    return symbols, tags, resolution
