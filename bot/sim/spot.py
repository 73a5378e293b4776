"""Spot markets on the simulated unified account (Bybit v5 ``category=spot``).

A spot trade is cash-settled: no position, no margin, no funding. The account's USDT wallet
pays or receives the quote and a coin balance (``Account.coins``) takes or gives the base.

Prices: a spot market with a spot file in the data (``spot/PEPEUSDT.parquet``,
``bot.data.spotfiles``) takes its price from it, as a perpetual from its own file (the open
of the bar now, else the last close before it; none before the file's first bar); without
one it follows its perpetual, a ``1000PEPEUSDT`` contract being 1000 coins of ``PEPEUSDT``:
``spot price = perp price / multiplier``. Precision is static per market, fixed from the
first price in the data (the spot file's, else the perpetual's per coin): the quantity step is the power of ten worth at most 0.1 USDT (Bybit's BTC and ETH spot
steps), the tick the perpetual's divided by the multiplier, the minimum order 5 USDT. Paper
trading replaces it with the venue's own (``spot_venue_rules``) for the markets it lists.

This module holds the markets, their prices and the spot wallet (``SpotBook``); the orders
and their fills are ``bot.sim.spot_orders``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from bot.data.spotmap import spot_symbol_of as spot_symbol_of  # (re-exported)
from bot.domain import Instrument
from bot.sim.account import Account
from bot.sim.rules import VenueRules
from bot.sim.types import ZERO, SimError, SimExecution, SimOrder

SPOT_ORDER_ID_PREFIX = 0x5907
SPOT_EXEC_ID_PREFIX = 0x5E8C
DEFAULT_SPOT_FEE = Decimal("0.001")  # Bybit's spot taker fee (VIP 0)
SPOT_MIN_ORDER_AMT = Decimal(5)
BASE_COIN, QUOTE_COIN = "baseCoin", "quoteCoin"  # Bybit marketUnit
SPOT_TRANSFER_ID_BASE = 13_526_853_623  # the first tranId (Binance's are large integers)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class SpotSpec:
    """One spot market: its coin, the perpetual whose price it follows, its precision."""

    symbol: str  # PEPEUSDT
    base: str  # PEPE
    quote: str  # USDT
    perp: str  # 1000PEPEUSDT
    multiplier: Decimal  # coins per perpetual unit
    tick: Decimal
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal  # Bybit minOrderAmt (USDT)

    def floor(self, qty: Decimal) -> Decimal:
        """``qty`` rounded down to the step."""
        return (qty / self.qty_step).to_integral_value(rounding=ROUND_DOWN) * self.qty_step


@dataclass(frozen=True, slots=True)
class SpotRules:
    """A spot market's precision as a real venue lists it (paper: the listed market's)."""

    tick: Decimal
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclass(frozen=True, slots=True)
class SpotTransfer:
    """One USDT transfer between the derivatives and the spot wallet; ``amount`` > 0 went
    into the spot wallet."""

    tran_id: int
    amount: Decimal
    ts: int


def spot_spec(
    perp: Instrument, first_price: float, coin_price: float | None = None
) -> SpotSpec | None:
    """The spot market of ``perp`` (None without a usable first price): its precision from
    ``coin_price``, the first price in the market's spot file, else from the perpetual's
    ``first_price`` / multiplier."""
    symbol, mult = spot_symbol_of(perp.symbol)
    if coin_price is not None:
        if not math.isfinite(coin_price) or coin_price <= 0:
            return None
        price = Decimal(repr(coin_price))
    elif not math.isfinite(first_price) or first_price <= 0:
        return None
    else:
        price = Decimal(repr(first_price)) / mult
    step = _ONE.scaleb((Decimal("0.1") / price).adjusted())
    tick = (perp.tick_size / mult).normalize()
    return SpotSpec(symbol, symbol[: -len("USDT")], "USDT", perp.symbol, mult, tick, step, step,
                    SPOT_MIN_ORDER_AMT)  # fmt: skip


class SpotBook:
    """Mixin of ``bot.sim.core.EngineCore``: the spot markets, their prices and the spot wallet
    (orders: ``bot.sim.spot_orders.SpotOrders``)."""

    account: Account
    rules: VenueRules
    instruments: dict[str, Instrument]
    slippage: Decimal
    half_spread: Decimal
    spot_fee: Decimal
    _spot: dict[str, SpotSpec] | None = None
    _spot_base: dict[str, SpotSpec] | None = None

    # Provided by the engine.
    @property
    def now_ms(self) -> int:
        raise NotImplementedError

    def price_float(self, symbol: str) -> float:
        raise NotImplementedError

    def available(self) -> Decimal:
        raise NotImplementedError

    def first_price(self, symbol: str) -> float:
        """The price that fixes a spot market's precision: the replay engine's is the
        perpetual's first price in the data; a live engine's the price now."""
        return self.price_float(symbol)

    def spot_file_price(self, spot_symbol: str, first: bool = False) -> float | None:
        """The price per coin of a spot market from its own series, now (or its first one,
        ``first``): the replay engine's spot file (``SimMarket.spot``), paper's polled spot
        tickers (``bot.sim.live``); NaN where the series has no price yet. None: the market
        has no series of its own and follows its perpetual (price / multiplier)."""
        return None

    def spot_venue_rules(self, spot_symbol: str) -> SpotRules | None:
        """The venue's own precision of a spot market (paper: the listed market's tick, step
        and minimums, ``bot.sim.live``); None: the precision derived from its first price."""
        return None

    def _coin_price(self, spec: SpotSpec) -> Decimal | None:
        """The spot price per coin now (None when there is none): the spot file's where the
        data has one, else the perpetual's / multiplier."""
        own = self.spot_file_price(spec.symbol)
        if own is not None:
            return Decimal(repr(own)) if math.isfinite(own) and own > 0 else None
        p = self.price_float(spec.perp)
        if not math.isfinite(p) or p <= 0:
            return None
        return Decimal(repr(p)) / spec.multiplier

    def _init_spot(self, fee: Decimal) -> None:
        self.spot_fee = fee
        self.spot_orders: list[SimOrder] = []
        self.spot_executions: list[SimExecution] = []
        self._spot_by_id: dict[str, SimOrder] = {}
        self._spot_by_link: dict[str, SimOrder] = {}
        self.spot_transfers: list[SpotTransfer] = []

    # --- markets and prices ---

    def spot_markets(self) -> dict[str, SpotSpec]:
        """Every spot market, by spot symbol (built once, from the perpetuals)."""
        if self._spot is None:
            out: dict[str, SpotSpec] = {}
            for sym in sorted(self.instruments):
                own = self.spot_file_price(spot_symbol_of(sym)[0], first=True)
                spec = spot_spec(self.instruments[sym], self.first_price(sym), own)
                rules = self.spot_venue_rules(spec.symbol) if spec is not None else None
                if spec is not None and rules is not None:
                    spec = dataclasses.replace(spec, **dataclasses.asdict(rules))
                if spec is not None and spec.symbol not in out:
                    out[spec.symbol] = spec
            self._spot = out
            self._spot_base = {s.base: s for s in out.values()}
        return self._spot

    def spot_market(self, symbol: str) -> SpotSpec:
        spec = self.spot_markets().get(symbol)
        if spec is None:
            raise SimError(SimError.SPOT_SYMBOL, f"Not supported symbols ({symbol!r} on spot)")
        return spec

    def spot_price(self, symbol: str) -> Decimal:
        """The spot price now (10001 when the market has no price now)."""
        p = self._coin_price(self.spot_market(symbol))
        if p is None:
            raise SimError(SimError.BAD_PARAMS, f"{symbol} has no price at {self.now_ms}")
        return p

    def spot_cash(self) -> Decimal:
        """The USDT a spot buy may spend: the unified account's available balance, or the
        separate spot wallet's USDT."""
        return self.available() if self.rules.unified_spot else self.account.spot_usdt

    def spot_transfer(self, amount: Decimal) -> SpotTransfer:
        """Move USDT from the derivatives wallet to the separate spot wallet (> 0) or back
        (< 0), at most what the source has free (Binance's universal transfer); the transfer
        as the history lists it."""
        if self.rules.unified_spot:
            raise SimError(SimError.BAD_PARAMS, "a unified account has one wallet: no transfer")
        if not amount.is_finite() or amount == 0:
            raise SimError(SimError.BAD_PARAMS, f"amount must be a non-zero number ({amount})")
        acct = self.account
        free = self.available() if amount > 0 else acct.spot_usdt
        if abs(amount) > free:
            raise SimError(
                SimError.SPOT_INSUFFICIENT_BALANCE,
                f"Insufficient balance: moving {abs(amount)} USDT, {free} free",
            )
        acct.transfer(-amount, self.now_ms)
        acct.spot_usdt += amount
        done = SpotTransfer(SPOT_TRANSFER_ID_BASE + len(self.spot_transfers), amount, self.now_ms)
        self.spot_transfers.append(done)
        return done

    def coin_balances(self) -> dict[str, Decimal]:
        """Every coin held (USDT is the wallet balance)."""
        return {c: q for c, q in self.account.coins.items() if q > 0}

    def spot_value(self) -> Decimal:
        """Σ coins at the spot price now (a coin whose market has no price now counts at its
        last price in the data)."""
        total = ZERO
        if not self.account.coins:
            return total
        self.spot_markets()
        by_base = self._spot_base or {}
        for coin, qty in self.account.coins.items():
            spec = by_base.get(coin)
            if qty == 0 or spec is None:
                continue
            own = self.spot_file_price(spec.symbol)
            if own is not None:
                if math.isfinite(own) and own > 0:
                    total += qty * Decimal(repr(own))
                continue
            p = self.price_float(spec.perp)
            if math.isfinite(p) and p > 0:  # (the order of operations of before spot files)
                total += qty * Decimal(repr(p)) / spec.multiplier
        return total
