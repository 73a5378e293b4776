"""The futures sleeve's roles as perp intents, and the risk manager checking them."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import PositionSide
from bot.portfolio.account import account_view, check_perps
from bot.portfolio.allocate import allocate, funding_of
from bot.portfolio.explain import Rule
from bot.portfolio.holdings import Holdings, PerpHolding, Role
from bot.risk.decision import Approved
from bot.risk.manager import RiskManager
from bot.risk.params import RiskParams

from ..risk.factory import instrument
from .factory import T0, accumulating, config, core_rows, evaluation, members, sector, stats

SHORT, LONG = PositionSide.SHORT, PositionSide.LONG
HOT = 0.0005  # funding heat per 8h, above hedge.funding_on_8h (0.0003)


def _frothy(heat: float = HOT, oi: float = 0.05) -> list:
    return [
        sector(name, score=0.1, funding_heat=heat, oi_flow=oi, oi_missing=False)
        for name in ("defi", "l2", "meme")
    ]


def _rows() -> list:
    return [*core_rows(), *members("defi", 4), *members("l2", 4), *members("meme", 4)]


def _run(sectors: list, holdings: Holdings, **cfg: dict) -> tuple:
    rows = _rows()
    ev = evaluation(sectors, rows)
    alloc = allocate(config(**cfg), ev, stats(rows), holdings)
    return alloc, ev


def _risk_check(alloc, ev) -> list:  # type: ignore[no-untyped-def]
    insts = {s: instrument(s, step="0.00001", tick="0.00001", sector=None) for s in alloc.prices}
    view = account_view(alloc.holdings, alloc.valuation, alloc.prices, insts, funding_of(ev), T0)
    return check_perps(alloc.roles.actions, RiskManager(RiskParams(), "bybit"), view)


def test_frothy_market_hedges_btc_unleveraged_for_a_tenth_of_the_spot() -> None:
    alloc, ev = _run(_frothy(), Holdings.from_cash(D(10_000)))
    hedges = [a for a in alloc.roles.actions if a.role is Role.HEDGE]
    assert len(hedges) == 1
    h = hedges[0]
    i = h.intent
    assert (i.symbol, i.side, i.kind, i.leverage, i.stop_distance) == (
        "BTCUSDT", SHORT, "hedge", D(1), D("0.08"),
    )  # fmt: skip
    post_spot = sum((o.notional for o in alloc.spot.orders), D(0))  # from cash: all buys
    assert h.notional == D("0.10") * post_spot
    assert i.qty == h.notional / alloc.prices["BTCUSDT"]
    assert h.explanation.rule is Rule.HEDGE_OPEN
    assert h.explanation.inputs["market_funding_heat"] == HOT
    # The risk manager approves it at the role's leverage (risk.leverage stays 10x).
    [checked] = [c for c in _risk_check(alloc, ev) if c.action is h]
    assert isinstance(checked.decision, Approved)
    assert checked.decision.leverage_used == 1
    assert checked.decision.qty * checked.decision.reference_price <= h.notional


def test_hedge_needs_open_interest_rising() -> None:
    alloc, _ = _run(_frothy(oi=-0.05), Holdings.from_cash(D(10_000)))
    assert not [a for a in alloc.roles.actions if a.role is Role.HEDGE]
    assert any(n.rule is Rule.HEDGE_CLOSE for _, n in alloc.roles.notes)


def _hedged(cash: str = "10000") -> Holdings:
    return Holdings(
        cash=D(cash),
        perps=(PerpHolding("BTCUSDT", SHORT, D("0.01"), D(90_000), D(1), Role.HEDGE),),
    )


def test_hedge_stays_until_funding_normalises_then_closes() -> None:
    # between funding_off (0.0001) and funding_on (0.0003): an open hedge is kept
    alloc, _ = _run(_frothy(heat=0.0002), _hedged())
    assert not [a for a in alloc.roles.actions if a.role is Role.HEDGE]
    assert [n.rule for s, n in alloc.roles.notes if s == "BTCUSDT"] == [Rule.HEDGE_KEEP]
    # ... and none is opened at that heat
    alloc, _ = _run(_frothy(heat=0.0002), Holdings.from_cash(D(10_000)))
    assert not [a for a in alloc.roles.actions if a.role is Role.HEDGE]
    # below funding_off it is closed, reduce-only, for the whole position
    alloc, ev = _run(_frothy(heat=0.00005), _hedged())
    [close] = [a for a in alloc.roles.actions if a.role is Role.HEDGE]
    assert close.intent.kind == "exit" and close.intent.reduce_only
    assert close.intent.qty == D("0.01") and close.intent.side is SHORT
    assert close.explanation.rule is Rule.HEDGE_CLOSE
    [checked] = [c for c in _risk_check(alloc, ev) if c.action is close]
    assert isinstance(checked.decision, Approved) and checked.decision.reduce_only


def test_sector_leaders_hedge_shorts_the_hot_sectors_held_tokens() -> None:
    sectors = [
        sector("defi", score=0.1, funding_heat=HOT, oi_flow=0.1, oi_missing=False,
               overheated=True),
        sector("l2", score=0.1, funding_heat=HOT, oi_flow=0.1, oi_missing=False),
    ]  # fmt: skip
    held = Holdings(cash=D(1000), spot={"DEF0USDT": D(100), "DEF1USDT": D(50)})
    alloc, _ = _run(sectors, held, hedge={"target": "sector_leaders"})
    hedges = {a.intent.symbol: a for a in alloc.roles.actions if a.role is Role.HEDGE}
    assert set(hedges) <= {"DEF0USDT", "DEF1USDT"} and hedges
    assert all(a.intent.side is SHORT and a.intent.sector == "defi" for a in hedges.values())


def test_rotating_out_of_a_sector_shorts_its_leading_tokens_until_sold() -> None:
    held = Holdings(
        cash=D(6000),
        spot={"DEF0USDT": D(30), "DEF1USDT": D(20), "DEF2USDT": D(1)},  # 300, 200, 10 USDT
    )
    sectors = [sector("defi", score=-1.0), sector("l2", score=-0.5), sector("meme", score=-0.2)]
    alloc, ev = _run(sectors, held)
    sells = {o.symbol: o for o in alloc.spot.orders if o.sector == "defi"}
    assert set(sells) == {"DEF0USDT", "DEF1USDT"}  # DEF2 (0.16 %) is inside the band
    # never sell 100 % at once: 10 % of each holding stays
    assert sells["DEF0USDT"].qty == D(27) and sells["DEF1USDT"].qty == D(18)
    assert sells["DEF0USDT"].explanation.rule is Rule.TRADE_RESIDUAL
    shorts = [a for a in alloc.roles.actions if a.role is Role.TRANSITION]
    assert [a.intent.symbol for a in shorts] == ["DEF0USDT", "DEF1USDT"]  # the largest sales
    total = sum((o.notional for o in sells.values()), D(0))
    for a in shorts:
        assert a.intent.side is SHORT and a.intent.kind == "hedge"
        assert a.intent.leverage == D(2) and a.notional == total / 2
    for c in _risk_check(alloc, ev):
        if c.action.role is Role.TRANSITION:
            assert isinstance(c.decision, Approved)
            assert c.decision.leverage_used <= 2
    # once the sale is done the residuals (0.4 % and 0.3 %) stay inside the band, and the
    # transition short closes
    after = Holdings(
        cash=D(6450),
        spot={"DEF0USDT": D(3), "DEF1USDT": D(2), "DEF2USDT": D(1)},
        perps=(PerpHolding("DEF0USDT", SHORT, D(22), D(10), D(2), Role.TRANSITION),),
    )
    alloc, _ = _run(sectors, after)
    assert not [o for o in alloc.spot.orders if o.sector == "defi"]
    [close] = [a for a in alloc.roles.actions if a.role is Role.TRANSITION]
    assert close.intent.kind == "exit" and close.explanation.rule is Rule.TRANSITION_CLOSE


def test_amplify_longs_the_top_tokens_of_the_sector_rotated_into() -> None:
    sectors = [accumulating("defi", score=2.0), sector("l2", score=-1.0), sector("meme", score=-1)]
    alloc, ev = _run(sectors, Holdings.from_cash(D(10_000)))
    amps = [a for a in alloc.roles.actions if a.role is Role.AMPLIFY]
    picks = next(
        s for s in alloc.targets.sectors if s.sector == "defi" and s.bucket == "rotational"
    )
    assert [a.intent.symbol for a in amps] == list(picks.tokens[:2])
    nav = alloc.valuation.nav
    for a in amps:
        i = a.intent
        assert (i.side, i.kind, i.leverage, i.stop_distance) == (LONG, "entry", D(2), D("0.05"))
        assert a.notional == D("0.25") * D("0.2") * nav * 2 / 2
        assert a.explanation.inputs["oi_flow"] == 0.05
    for c in _risk_check(alloc, ev):
        if c.action.role is Role.AMPLIFY:
            assert isinstance(c.decision, Approved)
            assert c.decision.leverage_used <= 2  # the role's leverage, not risk.leverage
            assert c.decision.stop_price is not None
    # a neutral (not accumulating) favoured sector is not amplified
    alloc, _ = _run([sector("defi", score=2.0)], Holdings.from_cash(D(10_000)))
    assert not [a for a in alloc.roles.actions if a.role is Role.AMPLIFY]


def test_a_position_rotor_does_not_manage_is_left_alone() -> None:
    held = Holdings(
        cash=D(10_000),
        perps=(PerpHolding("BTCUSDT", LONG, D("0.01"), D(90_000)),),
    )
    alloc, _ = _run(_frothy(), held)
    assert not [a for a in alloc.roles.actions if a.intent.symbol == "BTCUSDT"]
    assert [n.rule for s, n in alloc.roles.notes if s == "BTCUSDT"] == [Rule.ROLE_CONFLICT]


def test_disabled_roles_send_nothing() -> None:
    off = {"enabled": False}
    alloc, _ = _run(
        [accumulating("defi", score=2.0, funding_heat=HOT), *_frothy()[1:]],
        Holdings.from_cash(D(10_000)),
        hedge=off,
        transition=off,
        amplify=off,
    )
    assert alloc.roles.actions == []


@pytest.mark.parametrize("lev", ["0.5", "5.5"])
def test_role_leverage_is_bounded(lev: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="leverage"):
        config(amplify={"leverage": lev})


def test_an_intent_cannot_raise_leverage_above_risk_leverage() -> None:
    from bot.domain import OrderIntent

    from ..risk.factory import view

    intent = OrderIntent("XUSDT", LONG, "entry", D(100), stop_distance=D("0.02"), leverage=D(50))
    d = RiskManager(RiskParams(leverage=D(3)), "bybit").check(intent, view())
    assert isinstance(d, Approved)
    assert d.leverage_requested == 3 and d.leverage_used <= 3
