"""Instruments: precision, limits and maintenance-margin tiers of a linear USDT perpetual."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal


@dataclass(frozen=True, slots=True)
class LeverageTier:
    """One maintenance-margin tier, looked up by position notional (RISK.md).

    ``mm_deduction`` is the tier's cumulative maintenance amount ("cum" on Binance,
    "mmDeduction" on Bybit): ``cum_n = cum_{n-1} + floor_n * (mmr_n - mmr_{n-1})``.
    """

    floor: Decimal  # minimum notional of the tier (inclusive)
    cap: Decimal  # maximum notional of the tier (inclusive)
    mmr: Decimal  # maintenance margin rate
    max_leverage: Decimal
    mm_deduction: Decimal = Decimal(0)


def cumulative_deductions(tiers: list[LeverageTier]) -> list[LeverageTier]:
    """Return the tiers with ``mm_deduction`` derived from floors and rates (RISK.md)."""
    out: list[LeverageTier] = []
    cum = Decimal(0)
    prev_mmr = Decimal(0)
    for i, t in enumerate(sorted(tiers, key=lambda t: t.floor)):
        if i > 0:
            cum += t.floor * (t.mmr - prev_mmr)
        out.append(LeverageTier(t.floor, t.cap, t.mmr, t.max_leverage, cum))
        prev_mmr = t.mmr
    return out


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable linear perpetual as the venue defines it."""

    symbol: str  # exchange id, e.g. BTCUSDT
    base: str
    quote: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal
    tiers: tuple[LeverageTier, ...]
    funding_interval_h: int = 8
    sector: str | None = None
    status: str = "Trading"
    max_qty: Decimal | None = None
    # The venue's limit for one market order (Bybit maxMktOrderQty, Binance MARKET_LOT_SIZE),
    # often far below max_qty; None: max_qty applies.
    max_mkt_qty: Decimal | None = None
    launch_ms: int | None = None
    delivery_ms: int | None = None  # a delisting's delivery (settlement) time
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ccxt_symbol(self) -> str:
        """Unified ccxt symbol, e.g. ``BTC/USDT:USDT``."""
        return f"{self.base}/{self.quote}:{self.quote}"

    @property
    def max_leverage(self) -> Decimal:
        """Highest leverage any tier allows (the first tier's)."""
        return max(t.max_leverage for t in self.tiers) if self.tiers else Decimal(1)

    def tier_for_notional(self, notional: Decimal) -> LeverageTier:
        """The tier whose [floor, cap] range contains ``notional`` (the last one beyond)."""
        if not self.tiers:
            raise ValueError(f"{self.symbol}: instrument has no leverage tiers")
        for t in self.tiers:
            if notional <= t.cap:
                return t
        return self.tiers[-1]

    def round_qty_down(self, qty: Decimal) -> Decimal:
        """Round a quantity down to the venue's quantity step."""
        return (qty / self.qty_step).to_integral_value(rounding=ROUND_DOWN) * self.qty_step

    def round_price(self, price: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
        """Round a price to the tick size."""
        return (price / self.tick_size).to_integral_value(rounding=rounding) * self.tick_size
