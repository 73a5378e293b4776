"""Market data: closed bars, tickers, funding settlements and open interest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle; ``ts`` is the candle *open* time in UTC ms."""

    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Ticker:
    """A snapshot of one symbol's prices, funding and open interest."""

    symbol: str
    ts: int
    last: float
    mark: float
    index: float
    bid: float
    ask: float
    funding_rate: float
    next_funding_ms: int
    open_interest: float  # base units; NaN when the venue does not say


@dataclass(frozen=True, slots=True)
class FundingRate:
    """One funding settlement: ``rate`` is the fraction per settlement."""

    symbol: str
    ts: int
    rate: float


@dataclass(frozen=True, slots=True)
class OpenInterest:
    """Open interest in base-coin units at ``ts``."""

    symbol: str
    ts: int
    open_interest: float
