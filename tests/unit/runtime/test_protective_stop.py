"""The protective stop after an entry fills: never on the wrong side of the market."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import Instrument, LeverageTier, OrderIntent, Position, PositionSide
from bot.risk import Approved

D = Decimal
INST = Instrument(
    "XUSDT",
    "X",
    "USDT",
    D("0.01"),
    D("0.001"),
    D("0.001"),
    D("5"),
    (LeverageTier(D(0), D("1e9"), D("0.005"), D(100)),),
)


def approval(side: PositionSide, ref: str, stop: str, dist: str = "0.08") -> Approved:
    intent = OrderIntent("XUSDT", side, "entry", D(ref), stop_distance=D(dist))
    return Approved(
        intent,
        "XUSDT",
        side.entry_side,
        side,
        D(1),
        False,
        D(ref),
        D(10),
        D(8),
        D(8),
        D(10),
        D(8),
        None,
        None,
        D(stop),
        D(dist),
        D(ref),
    )


def position(side: PositionSide, fill: str) -> Position:
    return Position("XUSDT", side, D(1), D(fill), D(8), 0)


@pytest.mark.parametrize(
    ("side", "ref", "planned", "fill", "expected"),
    [
        # Fill at the reference: the approved stop stands.
        (PositionSide.LONG, "100", "92", "100", "92"),
        (PositionSide.SHORT, "100", "108", "100", "108"),
        # Long filled better (lower): the approved stop is tighter than 8% from the fill: keep it.
        (PositionSide.LONG, "100", "92", "98", "92"),
        # Long gapped down through its planned stop: 8% below the fill, rounded toward entry.
        (PositionSide.LONG, "100", "92", "90", "82.80"),
        # Long filled worse (higher): the approved stop would risk more than 8% → re-base.
        (PositionSide.LONG, "100", "92", "103", "94.76"),
        # Short gapped up through its planned stop.
        (PositionSide.SHORT, "100", "108", "111", "119.88"),
        (PositionSide.SHORT, "100", "108", "101.33", "108"),
    ],
)
def test_stop_is_on_the_loss_side_and_within_the_distance(
    side: PositionSide, ref: str, planned: str, fill: str, expected: str
) -> None:
    pos = position(side, fill)
    stop = approval(side, ref, planned).stop_for(pos, INST)
    assert stop == D(expected)
    assert side.sign * (pos.entry_price - stop) > 0, "stop must be on the loss side of the fill"
    assert side.sign * (pos.entry_price - stop) <= pos.entry_price * D("0.08")
