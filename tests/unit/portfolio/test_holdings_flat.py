"""The holdings file, valuation, and what "flat" means for the portfolio's kill switch."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from bot.domain import PositionSide, Side
from bot.portfolio.explain import Rule
from bot.portfolio.flat import kill_plan
from bot.portfolio.holdings import (
    Holdings,
    HoldingsError,
    MissingPrice,
    PerpHolding,
    Role,
    parse_holdings,
    value,
)

from .factory import config

GOOD: dict[str, Any] = {
    "cash": "6000",
    "futures_collateral": 2000,
    "spot": {"BTCUSDT": "0.02", "ETHUSDT": 0.5},
    "perps": [
        {"symbol": "BTCUSDT", "side": "short", "qty": "0.01", "entry_price": "90000",
         "leverage": "1", "role": "hedge"},
    ],
}  # fmt: skip


def test_parse_and_value() -> None:
    h = parse_holdings(GOOD, "h.json")
    assert h.cash == D(6000) and h.futures_collateral == D(2000)
    assert h.spot == {"BTCUSDT": D("0.02"), "ETHUSDT": D("0.5")}
    assert h.perps == (
        PerpHolding("BTCUSDT", PositionSide.SHORT, D("0.01"), D(90000), D(1), Role.HEDGE),
    )
    v = value(h, {"BTCUSDT": D(100_000), "ETHUSDT": D(3000)})
    assert v.spot_value == D(2000) + D(1500)
    assert v.upnl == D(-100)  # the short lost 10,000 × 0.01
    assert v.futures_value == D(1900)
    assert v.nav == D(6000) + D(3500) + D(1900)
    assert v.perp_margin == D(900)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"cash": None}, "h.json: cash: required"),
        ({"cash": "-1"}, "h.json: cash: must be a finite number >= 0"),
        ({"cash": True}, "h.json: cash: expected a decimal number"),
        ({"bonus": 1}, "h.json: bonus: unknown key"),
        ({"spot": {"BTCUSDT": "lots"}}, "h.json: spot.BTCUSDT: not a decimal number"),
        ({"spot": ["BTCUSDT"]}, "h.json: spot: expected an object"),
        ({"perps": [{"symbol": "X"}]}, "h.json: perps[0].side: required"),
        ({"perps": [{**GOOD["perps"][0], "side": "up"}]}, "perps[0].side: expected long or short"),
        ({"perps": [{**GOOD["perps"][0], "role": "yolo"}]}, "perps[0].role: expected one of"),
        (
            {"perps": [{**GOOD["perps"][0], "qty": "0"}]},
            "perps[0].qty: must be a finite number > 0",
        ),
        ({"perps": [{**GOOD["perps"][0], "x": 1}]}, "perps[0].x: unknown key"),
        ({"perps": [GOOD["perps"][0], GOOD["perps"][0]]}, "two positions in BTCUSDT"),
    ],
)
def test_bad_holdings_name_the_key(patch: dict[str, Any], message: str) -> None:
    raw = {**GOOD, **patch}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(HoldingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_holdings(raw, "h.json")


def test_a_held_symbol_without_a_price_is_an_error() -> None:
    with pytest.raises(MissingPrice, match="ETHUSDT"):
        value(parse_holdings(GOOD, "h"), {"BTCUSDT": D(1)})


PRICES = {"BTCUSDT": D(90_000), "DOGEUSDT": D("0.15"), "AAVEUSDT": D(200)}
SECTORS = {"BTCUSDT": "benchmark", "DOGEUSDT": "meme", "AAVEUSDT": "defi"}
HELD = Holdings(
    cash=D(100),
    spot={"BTCUSDT": D("0.1"), "DOGEUSDT": D("1000.75"), "AAVEUSDT": D("0.001")},
    perps=(PerpHolding("ETHUSDT", PositionSide.LONG, D(1), D(3000), D(2), Role.AMPLIFY),),
)


def test_kill_keeps_the_core_by_default_and_closes_every_perp() -> None:
    k = kill_plan(HELD, PRICES, {}, config(), SECTORS)
    assert [(o.symbol, o.side, o.qty) for o in k.spot] == [
        ("DOGEUSDT", Side.SELL, D("1000.7"))
    ]  # on the 0.1 step
    assert k.spot[0].bucket == "speculative"  # meme is a speculative sector
    kept = {s: why.rule for s, why in k.kept}
    assert kept == {"BTCUSDT": Rule.KILL_KEEP_CORE, "AAVEUSDT": Rule.KILL_DUST}
    [p] = k.perps
    assert (p.symbol, p.kind, p.reduce_only, p.qty) == ("ETHUSDT", "kill", True, D(1))
    assert p.reference_price == D(3000)  # no price known: the entry is the reference


def test_kill_all_sells_the_core_too() -> None:
    k = kill_plan(HELD, PRICES, {}, config(kill_spot="all"), SECTORS)
    assert {o.symbol for o in k.spot} == {"BTCUSDT", "DOGEUSDT"}
    assert next(o for o in k.spot if o.symbol == "BTCUSDT").qty == D("0.1")
    # a kill sale ignores the residual rule and the minimum trade of rebalancing
    assert next(o for o in k.spot if o.symbol == "DOGEUSDT").notional < D(200)
