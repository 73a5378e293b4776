"""Portfolio limits, guards and breakers (RISK.md, "Portfolio limits"). Pure functions.

Each guard returns a ``Reason`` when it refuses, else None; breakers return state requests
the caller applies to the trading state machine.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import OrderIntent, PositionSide, TradingState
from bot.risk.account import AccountView
from bot.risk.codes import Reason, ReasonCode
from bot.risk.params import RiskParams
from bot.risk.state import DAILY_LOSS, MAX_DRAWDOWN, ORDER_RATE, StateRequest, allows

MINUTE_MS = 60_000
_ZERO = Decimal(0)


def state_guard(state: TradingState, intent: OrderIntent, reduce_only: bool) -> Reason | None:
    """REDUCING refuses anything that is not reduce-only; HALTED all but the kill switch."""
    if allows(state, intent.kind, reduce_only):
        return None
    code = ReasonCode.STATE_HALTED if state is TradingState.HALTED else ReasonCode.STATE_REDUCING
    return Reason(
        code, f"trading is {state}: {intent.kind} orders are not allowed", {"state": state.value}
    )


def price_ok(p: Decimal | None) -> bool:
    """A usable price: present, finite and positive."""
    return p is not None and p.is_finite() and p > 0


def stale_guard(view: AccountView, symbol: str, params: RiskParams) -> Reason | None:
    """No new entries when the ticker is older than N poll intervals or a bar is missing."""
    snap = view.market.get(symbol)
    limit_ms = params.stale_after_polls * view.poll_interval_ms
    if snap is None or snap.ticker_ms is None:
        return Reason(
            ReasonCode.STALE_DATA, f"{symbol}: no ticker received", {"max_age_ms": limit_ms}
        )
    age = view.now_ms - snap.ticker_ms
    if age > limit_ms:
        return Reason(
            ReasonCode.STALE_DATA,
            f"{symbol}: last ticker is {age} ms old (limit {limit_ms} ms = "
            f"{params.stale_after_polls} polls)",
            {"age_ms": age, "max_age_ms": limit_ms},
        )
    if snap.missing_bar:
        return Reason(
            ReasonCode.STALE_DATA, f"{symbol}: the latest bar is missing", {"age_ms": age}
        )
    return None


def price_guard(
    view: AccountView, symbol: str, reference: Decimal, params: RiskParams
) -> Reason | None:
    """Refuse NaN/zero/negative prices and ``|last − mark|/mark`` above the sanity limit."""
    snap = view.market.get(symbol)
    last = None if snap is None else snap.last
    mark = None if snap is None else snap.mark
    bad = {
        name: str(v)
        for name, v in (("reference", reference), ("last", last), ("mark", mark))
        if v is not None and not price_ok(v)
    }
    if not price_ok(reference):
        bad.setdefault("reference", str(reference))
    if bad:
        return Reason(ReasonCode.BAD_PRICE, f"{symbol}: unusable price {bad}", bad)
    if last is None or mark is None:
        return None  # absence is the stale-data guard's business
    dev = abs(last - mark) / mark
    if dev > params.price_sanity_max_dev:
        return Reason(
            ReasonCode.BAD_PRICE,
            f"{symbol}: last {last} deviates {dev:.2%} from mark {mark} "
            f"(limit {params.price_sanity_max_dev:.2%})",
            {"last": last, "mark": mark, "deviation": dev, "limit": params.price_sanity_max_dev},
        )
    return None


def slippage_guard(
    view: AccountView, symbol: str, side: PositionSide, reference: Decimal, params: RiskParams
) -> Reason | None:
    """Refuse a market entry whose expected fill, the touch (ask to buy a long, bid to sell a
    short), is more than ``max_slippage`` worse than the price it was sized on: a thin book or
    a gap since the bar closed (RELIABILITY.md #45). No quote: nothing to judge by."""
    snap = view.market.get(symbol)
    touch = None if snap is None else (snap.ask if side is PositionSide.LONG else snap.bid)
    if touch is None or not price_ok(touch) or not price_ok(reference):
        return None
    worse = side.sign * (touch - reference) / reference
    if worse <= params.max_slippage:
        return None
    return Reason(
        ReasonCode.SLIPPAGE,
        f"{symbol}: a market {side} would fill near {touch}, {worse:.2%} worse than the "
        f"sizing price {reference} (limit {params.max_slippage:.2%})",
        {"touch": touch, "reference": reference, "slippage": worse, "limit": params.max_slippage},
    )


def funding_guard(
    view: AccountView, symbol: str, side: PositionSide, params: RiskParams
) -> Reason | None:
    """Longs refuse predicted F8h above the cap; shorts (mirrored) refuse it below −cap."""
    snap = view.market.get(symbol)
    f8 = None if snap is None else snap.funding_8h
    if f8 is None or not f8.is_finite():
        return None
    cap = params.funding_cap_8h
    if side.sign * f8 > cap:
        return Reason(
            ReasonCode.FUNDING_CAP,
            f"{symbol}: predicted 8h funding {f8:.4%} is beyond the {side} cap "
            f"{'+' if side is PositionSide.LONG else '-'}{cap:.4%}",
            {"funding_8h": f8, "cap": cap},
        )
    return None


def orders_last_minute(view: AccountView) -> int:
    """Orders sent in the 60 s before ``now_ms``."""
    return sum(1 for t in view.recent_order_ms if view.now_ms - MINUTE_MS < t <= view.now_ms)


def order_rate_guard(view: AccountView, params: RiskParams) -> tuple[Reason, StateRequest] | None:
    """More than N orders in a minute is a runaway: refuse and ask for REDUCING."""
    n = orders_last_minute(view)
    if n + 1 <= params.max_orders_per_minute:
        return None
    text = f"{n} orders in the last minute; one more exceeds {params.max_orders_per_minute}/min"
    reason = Reason(
        ReasonCode.ORDER_RATE,
        text,
        {"orders_last_minute": n, "limit": params.max_orders_per_minute},
    )
    return reason, StateRequest(TradingState.REDUCING, f"{ORDER_RATE}: {text}")


def count_limits(view: AccountView, symbol: str, sector: str, params: RiskParams) -> list[Reason]:
    """``max_open_positions`` and ``max_positions_per_sector`` (adding to a held symbol is free)."""
    if view.position(symbol) is not None:
        return []
    out: list[Reason] = []
    held = [p for p in view.positions if p.qty > 0]
    if len(held) >= params.max_open_positions:
        out.append(
            Reason(
                ReasonCode.MAX_POSITIONS,
                f"{len(held)} positions open, limit {params.max_open_positions}",
                {"open_positions": len(held), "limit": params.max_open_positions},
            )
        )
    same = [p for p in held if view.sector_of(p) == sector]
    if len(same) >= params.max_positions_per_sector:
        out.append(
            Reason(
                ReasonCode.SECTOR_LIMIT,
                f"{len(same)} positions open in sector {sector}, limit {params.max_positions_per_sector}",
                {
                    "sector": sector,
                    "sector_positions": len(same),
                    "limit": params.max_positions_per_sector,
                },
            )
        )
    return out


def gross_notional(view: AccountView) -> Decimal:
    """Sum of open notionals at mark."""
    return sum((view.notional_of(p) for p in view.positions if p.qty > 0), _ZERO)


def sector_notional(view: AccountView, sector: str) -> Decimal:
    """Sum of open notionals at mark in one sector."""
    return sum(
        (view.notional_of(p) for p in view.positions if p.qty > 0 and view.sector_of(p) == sector),
        _ZERO,
    )


def open_risk(view: AccountView) -> Decimal:
    """Money at risk in open positions: the distances to their stops times Q."""
    return sum((view.open_risk_of(p) for p in view.positions if p.qty > 0), _ZERO)


def breakers(view: AccountView, params: RiskParams) -> list[StateRequest]:
    """Daily loss → REDUCING until the next UTC day; max drawdown → kill switch then HALTED."""
    out: list[StateRequest] = []
    e = view.equity
    if view.peak_equity > 0:
        dd = (view.peak_equity - e) / view.peak_equity
        if dd >= params.max_drawdown:
            out.append(
                StateRequest(
                    TradingState.HALTED,
                    f"{MAX_DRAWDOWN}: equity {e} is {dd:.2%} below peak {view.peak_equity} "
                    f"(limit {params.max_drawdown:.2%})",
                    kill=True,
                )
            )
    if view.day_start_equity > 0:
        loss = (view.day_start_equity - e) / view.day_start_equity
        if loss >= params.daily_loss_limit:
            out.append(
                StateRequest(
                    TradingState.REDUCING,
                    f"{DAILY_LOSS}: equity {e} is {loss:.2%} below the day's start "
                    f"{view.day_start_equity} (limit {params.daily_loss_limit:.2%})",
                )
            )
    return out
