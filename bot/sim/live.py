"""The fill model over polled live tickers: paper trading's engine (``bot.venues.paper``).

The same ``EngineCore`` as the replay (order entry, validation, the path walk, the account),
with a different price source: each bulk-ticker poll moves every symbol's mark from the last
poll's value to the new one. What happened between two polls is unknown, so the move is a
*gap* (as a replay's bar-to-bar jump): a crossed stop fills from the new mark, a crossed
limit at its own price, a crossed liquidation level liquidates first. Funding settles as the
clock passes a settlement (before the move, as in the replay), at the venue's published rate.

Spot markets the venue lists are priced by the venue's polled spot tickers (``on_spot_prices``,
through the engine's ``spot_file_price`` hook, as a replay's spot file prices them); a market the
venue does not list follows its perpetual (the polled mark / multiplier, ``bot.sim.spot``).
Beside the price, the same markets take the venue's precision (``on_spot_rules``, through the
``spot_venue_rules`` hook): its tick, quantity step, minimum quantity and minimum order value,
so a paper order the venue would refuse is refused; an unlisted market keeps the derived ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal

from bot.domain import Instrument, Ticker
from bot.sim.account import CROSS, pkey
from bot.sim.core import EngineCore
from bot.sim.rules import BYBIT, VenueRules
from bot.sim.spot import DEFAULT_SPOT_FEE, SpotRules
from bot.sim.types import SimError


class LiveEngine(EngineCore):
    """One paper account whose prices are the latest polled tickers."""

    def __init__(
        self,
        *,
        equity: Decimal,
        fee_taker: Decimal,
        fee_maker: Decimal,
        slippage: Decimal,
        half_spread: Decimal = Decimal(0),
        margin_mode: str = CROSS,
        spot_fee: Decimal = DEFAULT_SPOT_FEE,
        rules: VenueRules = BYBIT,
    ) -> None:
        super().__init__(
            {},
            rules=rules,
            equity=equity,
            fee_taker=fee_taker,
            fee_maker=fee_maker,
            slippage=slippage,
            half_spread=half_spread,
            partial_fills=False,
            participation=Decimal(1),
            margin_mode=margin_mode,
            spot_fee=spot_fee,
        )
        self.tickers: dict[str, Ticker] = {}
        self._now = 0
        self.spot_listed: frozenset[str] | None = None  # the venue's spot markets, once read
        self.spot_last: dict[str, float] = {}  # their last polled price per coin
        self.spot_rules: dict[str, SpotRules] = {}  # their precision, as the venue lists it

    def on_spot_prices(self, listed: Iterable[str], prices: Mapping[str, Decimal]) -> None:
        """The venue's spot markets (exchange ids) and the prices per coin just polled: a
        listed market is priced by them from now on, the others follow their perpetual."""
        self.spot_listed = frozenset(listed)
        self.spot_last.update({s: float(p) for s, p in prices.items()})

    def on_spot_rules(self, rules: Mapping[str, SpotRules]) -> None:
        """The venue's precision of the spot markets it lists (tick, step, minimum quantity
        and order value): they replace the derived ones, the spot markets are rebuilt."""
        if dict(rules) != self.spot_rules:
            self.spot_rules = dict(rules)
            self._spot = self._spot_base = None

    def spot_venue_rules(self, spot_symbol: str) -> SpotRules | None:
        return self.spot_rules.get(spot_symbol)

    def spot_file_price(self, spot_symbol: str, first: bool = False) -> float | None:
        """The polled spot price of a market the venue lists (NaN before its first price);
        None for one it does not list (it follows its perpetual). ``first``: the price now,
        the first one the engine asks for."""
        if self.spot_listed is None or spot_symbol not in self.spot_listed:
            return None
        return self.spot_last.get(spot_symbol, math.nan)

    @property
    def now_ms(self) -> int:
        """The newest ticker time seen (the venue's clock)."""
        return self._now

    def set_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """The venue's instruments (``load_instruments``)."""
        self.instruments.update(instruments)

    def price_float(self, symbol: str) -> float:
        t = self.tickers.get(symbol)
        return t.mark if t is not None else math.nan

    def mark_price(self, symbol: str) -> Decimal:
        """The last polled mark (10001 when the symbol has no ticker yet)."""
        p = self.price_float(symbol)
        if not (math.isfinite(p) and p > 0):
            raise SimError(SimError.BAD_PARAMS, f"{symbol}: no price yet")
        return Decimal(repr(p))

    def due_settlements(self, tickers: Mapping[str, Ticker]) -> list[tuple[str, int, float]]:
        """(symbol, settlement time, rate shown before it) of every open position whose
        settlement the new tickers have passed."""
        out = []
        for sym in sorted({p.symbol for p in self.positions.values()}):
            prev, new = self.tickers.get(sym), tickers.get(sym)
            if prev is None or new is None or prev.next_funding_ms <= 0:
                continue
            if new.ts >= prev.next_funding_ms and new.next_funding_ms > prev.next_funding_ms:
                out.append((sym, prev.next_funding_ms, prev.funding_rate))
        return out

    def on_tickers(
        self, tickers: Mapping[str, Ticker], settled: Mapping[tuple[str, int], float]
    ) -> None:
        """Move to the new tickers: settle the funding passed (``settled`` gives the venue's
        rate per (symbol, time); funding first, as in the replay), then walk every symbol
        with orders or a position from its last mark to the new one."""
        if not tickers:
            return
        new_now = max(t.ts for t in tickers.values())
        for sym, ts, shown in self.due_settlements(tickers):
            rate = settled.get((sym, ts), shown)
            mark = tickers[sym].mark
            if not (math.isfinite(rate) and math.isfinite(mark)):
                continue
            self._event_ms = ts
            for pos in self.account.of_symbol(sym):
                key = pkey(sym, pos.idx)
                self.account.settle_funding(key, ts, Decimal(repr(rate)), Decimal(repr(mark)))
        moves: list[tuple[str, float, float]] = []
        for sym, t in tickers.items():
            prev = self.tickers.get(sym)
            if prev is not None and (self.account.of_symbol(sym) or sym in self._open):
                moves.append((sym, prev.mark, t.mark))
        self.tickers.update(tickers)
        self._now = max(self._now, new_now)
        if self.positions and self.account.any_cross():
            self._watch.clear()
        for sym, a, b in moves:
            if math.isfinite(a) and math.isfinite(b):
                t_ms = tickers[sym].ts
                self._leg(sym, a, b, t_ms, t_ms, True, math.nan)
