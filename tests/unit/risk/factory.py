"""Builders for risk tests: instruments, account views and intents with sensible defaults."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D

from bot.domain import Instrument, LeverageTier, OrderIntent, Position, PositionSide, TradingState
from bot.risk.account import AccountView, MarketSnapshot

NOW = 1_700_000_000_000
SYM = "XUSDT"
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


def flat(mmr: str | D, max_lev: int = 125) -> tuple[LeverageTier, ...]:
    return (LeverageTier(D(0), D(10) ** 12, D(mmr), D(max_lev)),)


def instrument(
    symbol: str = SYM,
    mmr: str = "0.005",
    *,
    tiers: Sequence[LeverageTier] | None = None,
    tick: str = "0.001",
    step: str = "0.001",
    min_qty: str | None = None,
    min_notional: str = "0",
    sector: str | None = "L1",
) -> Instrument:
    return Instrument(
        symbol,
        symbol.removesuffix("USDT"),
        "USDT",
        D(tick),
        D(step),
        D(min_qty or step),
        D(min_notional),
        tuple(tiers) if tiers is not None else flat(mmr),
        sector=sector,
    )


def snapshot(price: str | D = "100", **kw: object) -> MarketSnapshot:
    p = D(price)
    args: dict[str, object] = {"last": p, "mark": p, "ticker_ms": NOW, "funding_8h": D(0)}
    args.update(kw)
    return MarketSnapshot(**args)  # type: ignore[arg-type]


def view(
    *,
    equity: str | D = "10000",
    free_margin: str | D | None = None,
    day_start: str | D | None = None,
    peak: str | D | None = None,
    state: TradingState = TradingState.ACTIVE,
    instruments: Sequence[Instrument] | None = None,
    market: dict[str, MarketSnapshot] | None = None,
    positions: Sequence[Position] = (),
    orders: Sequence[int] = (),
) -> AccountView:
    e = D(equity)
    insts = list(instruments) if instruments is not None else [instrument()]
    mk = market if market is not None else {i.symbol: snapshot() for i in insts}
    return AccountView(
        now_ms=NOW,
        equity=e,
        wallet_balance=e,
        free_margin=D(free_margin) if free_margin is not None else e,
        day_start_equity=D(day_start) if day_start is not None else e,
        peak_equity=D(peak) if peak is not None else e,
        trading_state=state,
        instruments={i.symbol: i for i in insts},
        market=mk,
        positions=tuple(positions),
        recent_order_ms=tuple(orders),
    )


def entry(
    side: PositionSide = LONG,
    stop: str | D = "0.05",
    price: str | D = "100",
    symbol: str = SYM,
    **kw: object,
) -> OrderIntent:
    return OrderIntent(symbol, side, "entry", D(price), stop_distance=D(stop), **kw)  # type: ignore[arg-type]


def position(
    symbol: str,
    side: PositionSide = LONG,
    qty: str = "10",
    entry_price: str = "100",
    stop: str | None = "95",
    sector: str | None = "L1",
    leverage: str = "5",
) -> Position:
    return Position(
        symbol,
        side,
        D(qty),
        D(entry_price),
        D(leverage),
        NOW - 3_600_000,
        stop_price=None if stop is None else D(stop),
        sector=sector,
    )
