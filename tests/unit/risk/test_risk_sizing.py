"""Sizing by risk, rounding to the venue, and the RISK.md acceptance cases through the manager."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import PositionSide
from bot.risk.codes import ReasonCode
from bot.risk.decision import Approved, Rejected
from bot.risk.manager import RiskManager
from bot.risk.params import RiskParams
from bot.risk.sizing import floor_to_step, notional_for_risk, realised_risk, stop_price_for

from .factory import LONG, SHORT, entry, instrument, view

NO_BUFFERS = {"min_liquidation_distance": D(0), "stop_liquidation_gap": D(0)}


def mgr(venue: str = "binance", **kw: object) -> RiskManager:
    return RiskManager(RiskParams(**kw), venue)  # type: ignore[arg-type]


def approved(result: Approved | Rejected) -> Approved:
    assert isinstance(result, Approved), getattr(result, "reasons", None)
    return result


def test_sizing_formulas() -> None:
    assert notional_for_risk(D(200), D("0.08"), D(0)) == D(2500)
    assert notional_for_risk(D(200), D("0.08"), D("0.0021")) == D(200) / D("0.0821")
    assert floor_to_step(D("25.4999"), D("0.5")) == D("25.0")
    assert floor_to_step(D("0.0999"), D("0.01")) == D("0.09")
    # Stops round towards entry: the safe side for both risk and the liquidation gap.
    assert stop_price_for(LONG, D(100), D("0.08123"), D("0.01")) == D("91.88")
    assert stop_price_for(SHORT, D(100), D("0.08123"), D("0.01")) == D("108.12")
    assert realised_risk(LONG, D(100), D(25), D(92), D("0.001")) == D("202.5")
    with pytest.raises(ValueError, match="stop distance"):
        notional_for_risk(D(200), D(0), D(0))


@pytest.mark.parametrize("venue", ["binance", "bybit"])
@pytest.mark.parametrize("side", [LONG, SHORT])
def test_worked_example_through_the_manager(venue: str, side: PositionSide) -> None:
    """E = 10,000, R = 200, EP = 100, d = 8%, L = 10, no costs: N = 2,500, Q = 25, WB = 250."""
    r = approved(
        mgr(venue, cost_allowance=D(0), taker_fee=D(0), **NO_BUFFERS).check(
            entry(side, "0.08"), view()
        )
    )
    assert (r.qty, r.notional, r.margin, r.leverage_used) == (D(25), D(2500), D(250), D(10))
    assert r.risk_amount == r.risk_budget == D(200)
    assert r.stop_price == (D(92) if side is LONG else D(108))
    expected = {
        ("binance", LONG): "90.452",
        ("binance", SHORT): "109.453",
        ("bybit", LONG): "90.500",
        ("bybit", SHORT): "109.500",
    }[(venue, side)]
    assert r.liquidation_price is not None
    assert r.liquidation_price.quantize(D("0.001")) == D(expected)
    assert r.side is side.entry_side and not r.reduce_only


def test_leverage_never_changes_dollar_risk() -> None:
    results = [
        approved(mgr(leverage=D(lev), **NO_BUFFERS).check(entry(stop="0.05"), view()))
        for lev in (1, 3, 10, 20)
    ]
    assert {r.qty for r in results} == {results[0].qty}
    assert {r.risk_amount for r in results} == {results[0].risk_amount}
    assert [r.margin for r in results] == sorted((r.margin for r in results), reverse=True)


def test_rounding_down_to_the_step_keeps_risk_below_budget() -> None:
    inst = instrument(step="1", tick="0.01")
    r = approved(mgr(**NO_BUFFERS).check(entry(stop="0.07"), view(instruments=[inst])))
    # N = 200 / 0.0721 = 2773.9 -> Q = 27.739 -> 27
    assert r.qty == D(27)
    assert r.risk_amount < r.risk_budget
    assert r.risk_amount == realised_risk(LONG, D(100), D(27), r.stop_price or D(0), D("0.0021"))


def test_below_min_qty_and_min_notional_are_rejected() -> None:
    small = view(equity="50", instruments=[instrument(step="1", min_notional="0")])
    r = mgr(**NO_BUFFERS).check(entry(stop="0.05"), small)
    assert isinstance(r, Rejected) and ReasonCode.BELOW_MIN_QTY in r.codes
    inst = instrument(step="0.001", min_notional="5000")
    r = mgr(**NO_BUFFERS).check(entry(stop="0.05"), view(instruments=[inst]))
    assert isinstance(r, Rejected) and r.codes == (ReasonCode.BELOW_MIN_NOTIONAL,)
    assert r.reasons[0].numbers["min_notional"] == D(5000)


def test_size_factor_scales_the_budget() -> None:
    full = approved(mgr(**NO_BUFFERS).check(entry(stop="0.05"), view()))
    half = approved(mgr(**NO_BUFFERS).check(entry(stop="0.05", size_factor=D("0.5")), view()))
    assert half.risk_budget == full.risk_budget / 2
    assert half.qty <= full.qty / 2


def test_intent_qty_caps_an_entry() -> None:
    r = approved(mgr(**NO_BUFFERS).check(entry(stop="0.05", qty=D("3.5")), view()))
    assert r.qty == D("3.5")


@pytest.mark.parametrize(
    ("stop", "why"), [("0", "stop distance"), ("0.2", "stop_max_pct"), ("1.5", "stop distance")]
)
def test_bad_stops_are_risk_per_trade(stop: str, why: str) -> None:
    r = mgr().check(entry(stop=stop), view())
    assert isinstance(r, Rejected) and r.codes == (ReasonCode.RISK_PER_TRADE,)
    assert why in r.reasons[0].message


def test_stop_within_one_tick_is_rejected() -> None:
    r = mgr(**NO_BUFFERS).check(entry(stop="0.00001"), view(instruments=[instrument(tick="1")]))
    assert isinstance(r, Rejected) and r.codes == (ReasonCode.RISK_PER_TRADE,)


def test_no_equity_is_rejected() -> None:
    r = mgr().check(entry(), view(equity="0", free_margin="0"))
    assert isinstance(r, Rejected) and ReasonCode.RISK_PER_TRADE in r.codes


def test_unknown_kind_and_reduce_only_entry_raise() -> None:
    from bot.domain import OrderIntent

    with pytest.raises(ValueError, match="unknown kind"):
        mgr().check(OrderIntent("XUSDT", LONG, "teleport", D(100)), view())
    with pytest.raises(ValueError, match="reduce-only"):
        mgr().check(entry(reduce_only=True), view())
